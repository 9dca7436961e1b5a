"""The Celery application; workers start with `celery -A cryptopredict worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptopredict.settings")

app = Celery("cryptopredict")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
