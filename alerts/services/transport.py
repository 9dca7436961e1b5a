"""How a message reaches each kind of channel: a signed webhook POST, a mail, a Telegram sendMessage.

Every sender raises SendError on failure (an unreachable host, a non-2xx answer, a refused mail)
and returns the HTTP status (or None) on success; what to do about it is the caller's business.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail

from alerts.choices import ChannelKind
from alerts.models import NotificationChannel

SIGNATURE_HEADER = "X-CryptoPredict-Signature"
TIMESTAMP_HEADER = "X-CryptoPredict-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-CryptoPredict-Event"
# A receiver's answer is only needed for its status; a huge error page is cut to this.
ERROR_BODY_CHARS = 500


class SendError(Exception):
    """A channel did not take the message; `status` is the HTTP answer when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def signature(secret: str, body: bytes) -> str:
    """Return the X-CryptoPredict-Signature value of `body`: "sha256=" and the HMAC-SHA256 hex digest."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def json_body(payload: dict) -> bytes:
    """Return the exact bytes that are signed and sent (compact, keys sorted)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def webhook_address_problem(url: str) -> str | None:
    """Return why a webhook must not be sent to `url`'s host, or None when it may.

    The host is resolved and every address it names must be public: a private, loopback,
    link-local (cloud metadata), reserved or multicast one would let a user make the server call
    into its own network (SSRF). Loopback is allowed only with WEBHOOK_ALLOW_LOOPBACK (the tests'
    receivers listen on 127.0.0.1).
    """
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return "The URL has no host."
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        return f"The host {host} does not resolve."
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback and settings.WEBHOOK_ALLOW_LOOPBACK:
            continue
        if not address.is_global or address.is_multicast:
            return f"The host {host} resolves to {address}, a private or local address; use a public one."
    return None


def webhook_post(*, channel: NotificationChannel, payload: dict, idempotency_key: str, event: str) -> int:
    """POST `payload` as signed JSON to the channel's URL; return the 2xx status or raise SendError."""
    timestamp = str(int(time.time()))
    body = json_body({**payload, "timestamp": int(timestamp)})
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CryptoPredict-Webhook/1",
        SIGNATURE_HEADER: signature(channel.secret, body),
        TIMESTAMP_HEADER: timestamp,
        IDEMPOTENCY_HEADER: idempotency_key,
        EVENT_HEADER: event,
    }
    # Checked again at each send: the name may resolve elsewhere now than when it was verified.
    problem = webhook_address_problem(channel.url)
    if problem:
        raise SendError(problem)
    try:
        # No redirects: a redirect would send the signed body somewhere the user did not verify.
        response = requests.post(
            channel.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise SendError(
            f"HTTP {response.status_code}: {response.text[:ERROR_BODY_CHARS]}", response.status_code
        )
    return response.status_code


def telegram_send(*, chat_id: str, text: str) -> int:
    """Send `text` to a chat with the Bot API's sendMessage; return 200 or raise SendError."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        raise SendError("TELEGRAM_BOT_TOKEN is not set")
    url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{token}/sendMessage"
    try:
        response = requests.post(
            url,
            json={"chat_id": chat_id, "text": text, "disable_web_page_preview": True},
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        )
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    # The Bot API answers {"ok": true, "result": {...}} or {"ok": false, "error_code": N, "description": ...}.
    if not (isinstance(answer, dict) and answer.get("ok") is True):
        description = answer.get("description") if isinstance(answer, dict) else None
        raise SendError(
            f"Telegram {response.status_code}: {description or response.text[:ERROR_BODY_CHARS]}",
            response.status_code,
        )
    return response.status_code


def mail_send(*, to: str, subject: str, body: str) -> None:
    """Send one mail through Django's mailer; raise SendError when the server refuses it."""
    try:
        send_mail(subject, body, None, [to], using="default")
    except OSError as exc:  # smtplib's errors included
        raise SendError(f"{type(exc).__name__}: {exc}") from exc


def channel_send(
    *, channel: NotificationChannel, subject: str, text: str, payload: dict, key: str, event: str
) -> int | None:
    """Send one message to `channel`; return the HTTP status (None for mail) or raise SendError."""
    if channel.kind == ChannelKind.WEBHOOK:
        return webhook_post(channel=channel, payload=payload, idempotency_key=key, event=event)
    if channel.kind == ChannelKind.TELEGRAM:
        return telegram_send(chat_id=channel.chat_id, text=f"{subject}\n{text}".strip())
    mail_send(to=channel.email, subject=subject, body=text)
    return None
