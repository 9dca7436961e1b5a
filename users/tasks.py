"""Celery tasks of the users app: mail goes out here, never in the request that asked for it; the
daily retention."""

import logging

from celery import shared_task
from django.core.mail import send_mail
from django.core.management import call_command

logger = logging.getLogger(__name__)

MAIL_RETRIES = 5


@shared_task(
    name="users.mail_send",
    bind=True,
    autoretry_for=(Exception,),  # a mail server down or misconfigured: try again later
    max_retries=MAIL_RETRIES,
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
)
def mail_send(self, *, to: str, subject: str, body: str) -> None:
    """Send one plain-text mail to `to` (retried with backoff; the last failure is logged)."""
    try:
        send_mail(subject, body, None, [to], using="default")
    except Exception:
        if self.request.retries >= MAIL_RETRIES:
            logger.exception("Gave up mailing %r after %d attempts", subject, MAIL_RETRIES + 1)
        raise


@shared_task(name="users.prune", ignore_result=True)
def prune() -> None:
    """Delete old activity records and ended sessions (the prune_users command)."""
    call_command("prune_users")
