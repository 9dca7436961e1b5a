"""The project's own system checks (`manage.py check --deploy` runs the deployment ones)."""

from django.conf import settings
from django.core.checks import Warning, register

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@register("mail", deploy=True)
def mail_host_check(app_configs, **kwargs):
    """Warn when production would send mail over SMTP without a host to send it to."""
    mailer = getattr(settings, "MAILERS", {}).get("default", {})
    if settings.DEBUG or mailer.get("BACKEND") != SMTP_BACKEND or (mailer.get("OPTIONS") or {}).get("host"):
        return []
    return [
        Warning(
            "Mail goes over SMTP but no mail host is set: registration, password-reset and lockout "
            "mails cannot be delivered.",
            hint='Set MAIL_OPTIONS, e.g. {"host": "smtp.example.com", "port": 587, "use_tls": true}, '
            "or MAIL_BACKEND to another backend.",
            id="cryptopredict.W001",
        )
    ]
