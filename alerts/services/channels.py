"""Notification channels: create one, prove it reaches its owner, confirm an email link."""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from alerts.choices import ChannelKind
from alerts.models import NotificationChannel

from .transport import SendError, channel_send, webhook_address_problem

TARGET_FIELDS = {
    ChannelKind.EMAIL: ("email",),
    ChannelKind.WEBHOOK: ("url", "secret"),
    ChannelKind.TELEGRAM: ("chat_id",),
}
MIN_SECRET_CHARS = 16


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_target(kind: str, values: dict) -> None:
    errors = {}
    if kind not in ChannelKind.values:
        raise ValidationError(
            {"kind": f"Unknown channel kind {kind!r}; one of {', '.join(ChannelKind.values)}."}
        )
    for name in TARGET_FIELDS[kind]:
        if not values.get(name):
            errors[name] = f"A {kind} channel needs {name}."
    if kind == ChannelKind.WEBHOOK and values.get("url"):
        try:
            URLValidator(schemes=["http", "https"])(values["url"])
        except ValidationError:
            errors["url"] = "Enter an http or https URL."
        else:
            problem = webhook_address_problem(values["url"])
            if problem:
                errors["url"] = problem
    if kind == ChannelKind.WEBHOOK and values.get("secret") and len(values["secret"]) < MIN_SECRET_CHARS:
        errors["secret"] = f"Use a secret of at least {MIN_SECRET_CHARS} characters."
    if kind == ChannelKind.EMAIL and values.get("email"):
        try:
            validate_email(values["email"])
        except ValidationError:
            errors["email"] = "Enter a valid email address."
    if errors:
        raise ValidationError(errors)


def channel_create(
    *, user, kind: str, name: str = "", email: str = "", url: str = "", secret: str = "", chat_id: str = ""
) -> NotificationChannel:
    """Create an unverified channel of `user`; raise ValidationError naming the field at fault.

    Nothing is sent to it until channel_verify_start's ping (webhook, Telegram) or link (email)
    proves it.
    """
    values = {"email": email, "url": url, "secret": secret, "chat_id": chat_id}
    _check_target(kind, values)
    # Only the fields of its kind: a webhook keeps no stray email address.
    kept = {name_: values[name_] for name_ in TARGET_FIELDS[kind]}
    return NotificationChannel.objects.create(user=user, kind=kind, name=name, **kept)


def channel_verify_start(*, channel: NotificationChannel) -> NotificationChannel:
    """Prove the channel: a signed ping a webhook must answer 2xx, a Telegram message the Bot API
    accepts, or a mail with a confirmation link. Never raises for a channel that does not answer:
    the channel stays unverified with `last_error` set."""
    now = timezone.now()
    if channel.kind == ChannelKind.EMAIL:
        token = secrets.token_urlsafe(32)
        link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/notification-channels/confirm/?token={token}"
        channel.verification_digest = _digest(token)
        channel.save(update_fields=["verification_digest", "updated_at"])
        text = f"Confirm that CryptoPredict may send alerts to this address:\n\n{link}\n"
        subject = "Confirm your CryptoPredict alert address"
    else:
        text, subject = "CryptoPredict: this chat will receive your alerts.", "CryptoPredict channel check"
    payload = {"event": "channel.ping", "channel_id": channel.pk, "sent_at": now.isoformat()}
    try:
        channel_send(
            channel=channel,
            subject=subject,
            text=text,
            payload=payload,
            key=f"ping-{channel.pk}-{secrets.token_hex(8)}",
            event="channel.ping",
        )
    except SendError as exc:
        channel.last_error = str(exc)[:2000]
        channel.save(update_fields=["last_error", "updated_at"])
        return channel
    channel.last_error = ""
    if channel.kind != ChannelKind.EMAIL:
        channel.verified_at = now
    channel.save(update_fields=["last_error", "verified_at", "updated_at"])
    return channel


def channel_confirm(*, token: str) -> NotificationChannel:
    """Verify the email channel whose confirmation link carries `token`; ValidationError if none does."""
    if not token:
        raise ValidationError({"token": "The confirmation token is missing."})
    with transaction.atomic():
        channel = (
            NotificationChannel.objects.select_for_update()
            .filter(kind=ChannelKind.EMAIL, verification_digest=_digest(token))
            .first()
        )
        if channel is None:
            raise ValidationError({"token": "This confirmation link is unknown or was used already."})
        channel.verified_at = timezone.now()
        channel.verification_digest = ""
        channel.save(update_fields=["verified_at", "verification_digest", "updated_at"])
    return channel
