from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and notifications"

    def ready(self):
        # The lower apps announce their writes; alerts subscribes (they never import alerts).
        from . import receivers

        receivers.connect()
        from celery.signals import worker_ready

        from . import tasks

        # A worker that starts (again) sends what is due at once: retries and dead workers' claims.
        worker_ready.connect(
            lambda **kwargs: tasks.deliveries_dispatch.delay(), weak=False, dispatch_uid="alerts.worker_ready"
        )
