"""Set Django up as production runs it, for the benchmarks that drive the admin and the API.

DEBUG off (no query log), a throwaway key, and no TLS redirects or secure-only cookies for the test
client; static files served without a collectstatic manifest. Import it before any Django module.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup(**settings_env: str) -> None:
    """Configure the environment (plus `settings_env`), then run django.setup()."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptopredict.settings")
    os.environ.update(
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-key-" + "x" * 40),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        **settings_env,
    )
    import django
    from django.conf import settings

    django.setup()
    settings.STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
