"""Authentication: bearer-token sessions, lockout, registration, password reset, email verification."""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from cryptopredict.choices import ActivityAction, ActivityType

from ..models import User, UserSession
from .audit import activity_record, client_ip

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
LOCKOUT_THRESHOLD = 5
LOCKOUT_DURATION = timedelta(minutes=15)
PASSWORD_RESET_LIFETIME = timedelta(hours=1)
EMAIL_VERIFICATION_LIFETIME = timedelta(days=3)


class AuthError(Exception):
    """Base of the refusals of the authentication services; the API maps each to its status."""


class InvalidCredentials(AuthError):
    """Unknown email, wrong password, locked, inactive or deleted user: one answer for all (no
    enumeration)."""


class TooManyAttempts(AuthError):
    """Too many logins from one client IP or for one account: wait `wait` seconds."""

    def __init__(self, wait: float | None):
        super().__init__("Too many login attempts; try again later.")
        self.wait = wait


class InvalidToken(AuthError):
    """A bearer, refresh, reset or verification token that is unknown, expired or revoked."""


@dataclass(frozen=True)
class IssuedTokens:
    session: UserSession
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _token_new() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def _counter_plus_one(field: str):
    # The counters are nullable in the plan; NULL + 1 would stay NULL.
    return Coalesce(F(field), 0) + 1


def _mail_send(*, to: str, subject: str, body: str) -> None:
    """Queue a mail once the current transaction commits (users.tasks.mail_send retries it).

    Neither the mail server nor the broker can fail the request: the account change is kept,
    and operators see a failure in the log.
    """

    def queue() -> None:
        from users.tasks import mail_send

        try:
            mail_send.delay(to=to, subject=subject, body=body)
        except Exception:  # e.g. the broker is down
            logger.exception("Could not queue the mail %r", subject)

    transaction.on_commit(queue)


def session_create(*, user: User, request=None) -> IssuedTokens:
    """Open a session for `user` and return its tokens, which are shown only this once."""
    now = timezone.now()
    access, access_digest = _token_new()
    refresh, refresh_digest = _token_new()
    session = UserSession.objects.create(
        user=user,
        session_token=access_digest,
        refresh_token=refresh_digest,
        ip_address=client_ip(request),
        device_info={"user_agent": request.META.get("HTTP_USER_AGENT", "")} if request is not None else {},
        expires_at=now + settings.ACCESS_TOKEN_LIFETIME,
        refresh_expires_at=now + settings.REFRESH_TOKEN_LIFETIME,
        last_used_at=now,
    )
    # The session id in front locates the session when a rotated-out token comes back.
    return IssuedTokens(
        session, access, f"{session.pk}.{refresh}", session.expires_at, session.refresh_expires_at
    )


def _login_failure_record(*, user: User, channel: str, request=None) -> None:
    """Count a failed login towards the lockout; mail the owner when it starts."""
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.lockout_expires is not None and user.lockout_expires <= now:
            # A lockout that has run out starts a fresh count.
            user.failed_login_attempts, user.lockout_expires = 0, None
        user.failed_login_attempts = (user.failed_login_attempts or 0) + 1
        locks = user.failed_login_attempts == LOCKOUT_THRESHOLD
        if user.failed_login_attempts >= LOCKOUT_THRESHOLD:
            user.lockout_expires = now + LOCKOUT_DURATION
        user.save(update_fields=["failed_login_attempts", "lockout_expires"])
        activity_record(
            user=user,
            activity_type=ActivityType.AUTH,
            action=ActivityAction.LOGIN_FAILED,
            details={
                "channel": channel,
                "failed_login_attempts": user.failed_login_attempts,
                "locked": user.lockout_expires is not None,
            },
            request=request,
        )
        if locks:
            # The login answer does not tell a locked account from a wrong password: the owner
            # learns it here.
            minutes = int(LOCKOUT_DURATION.total_seconds() // 60)
            _mail_send(
                to=user.email,
                subject="Your CryptoPredict account is locked for a while",
                body=f"After {LOCKOUT_THRESHOLD} failed logins, logins to your account are refused for "
                f"{minutes} minutes, even with the right password. If that was not you, reset your "
                "password.\n",
            )


def _login_throttle(*, email: str, request) -> None:
    """Count this attempt against its client IP and its account; raise TooManyAttempts past either
    rate (REST_FRAMEWORK's `login` and `login_account` rates)."""
    from users.throttling import LoginAccountRateThrottle, LoginRateThrottle

    if request is None:
        return
    for throttle in (LoginRateThrottle(), LoginAccountRateThrottle(email=email)):
        if not throttle.allow_request(request, None):
            raise TooManyAttempts(throttle.wait())


def user_authenticate(*, email: str, password: str, request=None, channel: str, staff: bool = False) -> User:
    """Check a login, the one policy of every door (the API's `auth/login/` and `/admin/login/`).

    Throttled per client IP and per account; a locked account is refused exactly like a wrong
    password (same error, and the password hasher runs all the same); each failure counts
    towards the lockout; every success and failure is recorded in UserActivity with `channel`.
    `staff` refuses users who may not use the admin, like a wrong password too.

    Raise TooManyAttempts or InvalidCredentials; return the user, whose login is recorded.
    """
    email = (email or "").strip().lower()
    _login_throttle(email=email, request=request)
    user = User.objects.filter(email=email).first()
    locked = user is not None and user.lockout_expires is not None and user.lockout_expires > timezone.now()
    # authenticate() runs the hasher for unknown emails too, so timing does not tell them apart.
    authenticated = authenticate(request, email=email, password=password)
    if locked or authenticated is None or (staff and not authenticated.is_staff):
        if locked or (authenticated is not None and staff):
            reason = "locked" if locked else "not_staff"
            activity_record(
                user=user,
                activity_type=ActivityType.AUTH,
                action=ActivityAction.LOGIN_FAILED,
                details={"channel": channel, "reason": reason, "locked": locked},
                request=request,
            )
        elif user is not None:
            _login_failure_record(user=user, channel=channel, request=request)
        raise InvalidCredentials("Unable to log in with the provided credentials.")
    user = authenticated
    User.objects.filter(pk=user.pk).update(
        failed_login_attempts=0,
        lockout_expires=None,
        login_count=_counter_plus_one("login_count"),
        last_login=timezone.now(),
    )
    user.refresh_from_db()
    return user


def user_login(*, email: str, password: str, request=None) -> IssuedTokens:
    """Check the credentials (user_authenticate), open a session and return its tokens.

    Raise TooManyAttempts or InvalidCredentials (a locked account included).
    """
    # Outside the transaction: a refusal raises, and the failures it counted must stay counted.
    user = user_authenticate(email=email, password=password, request=request, channel="api")
    with transaction.atomic():
        tokens = session_create(user=user, request=request)
        activity_record(
            user=user,
            activity_type=ActivityType.AUTH,
            action=ActivityAction.LOGIN,
            session=tokens.session,
            details={"channel": "api"},
            request=request,
        )
    return tokens


def session_refresh(*, refresh_token: str, request=None) -> IssuedTokens:
    """Exchange a refresh token for a new access and refresh token (rotation).

    A refresh token that was already rotated out revokes its session: someone holds a copy.
    """
    session_id, _, secret = (refresh_token or "").partition(".")
    digest = token_digest(secret)
    now = timezone.now()
    reused = False
    with transaction.atomic():
        session = (
            UserSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=int(session_id) if session_id.isdecimal() else None)
            .first()
        )
        if session is None:
            raise InvalidToken("The refresh token is invalid.")
        if not hmac.compare_digest(session.refresh_token or "", digest):
            reused = session.is_active and digest in session.rotated_refresh_tokens
            if reused:
                session.is_active = False
                session.save(update_fields=["is_active", "updated_at"])
                activity_record(
                    user=session.user,
                    activity_type=ActivityType.AUTH,
                    action=ActivityAction.REFRESH_REUSED,
                    session=session,
                    request=request,
                )
        elif (
            session.is_active
            and session.refresh_expires_at is not None
            and session.refresh_expires_at > now
            and session.user.is_active
            and session.user.deleted_at is None
        ):
            access, access_digest = _token_new()
            refresh, refresh_digest = _token_new()
            session.rotated_refresh_tokens = [*session.rotated_refresh_tokens, digest]
            session.session_token, session.refresh_token = access_digest, refresh_digest
            session.expires_at = now + settings.ACCESS_TOKEN_LIFETIME
            session.last_used_at = now
            session.save()
            return IssuedTokens(
                session, access, f"{session.pk}.{refresh}", session.expires_at, session.refresh_expires_at
            )
    if reused:
        raise InvalidToken("The refresh token was already used; the session is revoked.")
    raise InvalidToken("The refresh token is invalid or expired.")


def session_authenticate(*, access_token: str) -> UserSession:
    """Return the live session of an access token, its user joined; raise InvalidToken otherwise."""
    session = (
        UserSession.objects.select_related("user")
        .filter(session_token=token_digest(access_token), is_active=True, expires_at__gt=timezone.now())
        .first()
    )
    if session is None or not session.user.is_active or session.user.deleted_at is not None:
        raise InvalidToken("The access token is invalid or expired.")
    now = timezone.now()
    # One write a minute at most: last_used_at is for people, not for accounting.
    if session.last_used_at is None or now - session.last_used_at >= timedelta(minutes=1):
        UserSession.objects.filter(pk=session.pk).update(last_used_at=now)
        session.last_used_at = now
    return session


def session_revoke(*, session: UserSession, by: User | None = None, request=None) -> UserSession:
    """Revoke a session: its tokens stop working at once."""
    session.is_active = False
    session.save(update_fields=["is_active", "updated_at"])
    activity_record(
        user=by or session.user,
        activity_type=ActivityType.AUTH,
        action=ActivityAction.SESSION_REVOKED,
        entity=session,
        request=request,
    )
    return session


def user_logout(*, user: User, session: UserSession | None, request=None) -> None:
    """Revoke the session the request came in with and record the logout."""
    if session is not None:
        session.is_active = False
        session.save(update_fields=["is_active", "updated_at"])
    activity_record(
        user=user,
        activity_type=ActivityType.AUTH,
        action=ActivityAction.LOGOUT,
        session=session,
        request=request,
    )


def email_verification_send(*, user: User) -> str:
    """Issue a fresh email verification token, mail it and return it."""
    token, digest = _token_new()
    user.email_verification_token = digest
    user.email_verification_expires = timezone.now() + EMAIL_VERIFICATION_LIFETIME
    user.save(update_fields=["email_verification_token", "email_verification_expires", "updated_at"])
    _mail_send(
        to=user.email,
        subject="Confirm your CryptoPredict email address",
        body=f"Your email verification token (valid {EMAIL_VERIFICATION_LIFETIME.days} days):\n\n{token}\n",
    )
    return token


def user_register(
    *,
    email: str,
    password: str,
    referral_code: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    request=None,
) -> User | None:
    """Create a public user on the free plan, link the referrer if any and mail a verification token.

    An email that is taken gets a mail saying so instead, and None is returned: the caller answers
    both alike, so registration does not tell who has an account (the owner learns it by mail).
    The input is checked the same way either way.
    """
    email = User.objects.normalize_email((email or "").strip()).lower()
    referrer = None
    if referral_code:
        referrer = User.objects.alive().filter(referral_code=referral_code).first()
        if referrer is None:
            raise ValidationError({"referral_code": "Unknown referral code."})
    user = User(email=email, first_name=first_name, last_name=last_name, referred_by=referrer)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)  # hashed either way: the same work for a taken email
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        activity_record(
            user=existing,
            activity_type=ActivityType.AUTH,
            action=ActivityAction.REGISTER_EXISTING,
            entity=existing,
            request=request,
        )
        _mail_send(
            to=email,
            subject="Someone tried to register with your email address",
            body="Somebody tried to create a CryptoPredict account with this email address, which "
            "already has one. If it was you, log in, or reset your password if you forgot it. "
            "Otherwise there is nothing to do.\n",
        )
        return None
    with transaction.atomic():
        user.save()
        if referrer is not None:
            User.objects.filter(pk=referrer.pk).update(referral_count=_counter_plus_one("referral_count"))
        activity_record(
            user=user,
            activity_type=ActivityType.AUTH,
            action=ActivityAction.REGISTER,
            entity=user,
            request=request,
        )
        email_verification_send(user=user)
    return user


def user_verify_email(*, token: str, request=None) -> User:
    """Mark the user of a verification token verified; the token is consumed."""
    user = User.objects.filter(
        email_verification_token=token_digest(token or ""), email_verification_expires__gt=timezone.now()
    ).first()
    if user is None:
        raise InvalidToken("The verification token is invalid or expired.")
    user.is_verified = True
    user.email_verification_token = user.email_verification_expires = None
    user.save(
        update_fields=["is_verified", "email_verification_token", "email_verification_expires", "updated_at"]
    )
    activity_record(
        user=user,
        activity_type=ActivityType.AUTH,
        action=ActivityAction.EMAIL_VERIFIED,
        entity=user,
        request=request,
    )
    return user


def password_reset_request(*, email: str, request=None) -> None:
    """Mail a single-use reset token if the email belongs to a user who may log in; else do nothing."""
    user = User.objects.alive().filter(email=(email or "").strip().lower(), is_active=True).first()
    if user is None:
        return
    token, digest = _token_new()
    user.reset_password_token = digest
    user.reset_password_expires = timezone.now() + PASSWORD_RESET_LIFETIME
    user.save(update_fields=["reset_password_token", "reset_password_expires", "updated_at"])
    activity_record(
        user=user,
        activity_type=ActivityType.AUTH,
        action=ActivityAction.PASSWORD_RESET_REQUESTED,
        request=request,
    )
    _mail_send(
        to=user.email,
        subject="Reset your CryptoPredict password",
        body=f"Your password reset token (valid one hour, single use):\n\n{token}\n",
    )


def password_reset_confirm(*, token: str, password: str, request=None) -> User:
    """Set a new password with a reset token; consume the token, lift any lockout, revoke all sessions."""
    user = User.objects.filter(
        reset_password_token=token_digest(token or ""), reset_password_expires__gt=timezone.now()
    ).first()
    if user is None:
        raise InvalidToken("The reset token is invalid or expired.")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    with transaction.atomic():
        # Consume the token first, conditionally: of two requests racing with it, only one gets on.
        consumed = User.objects.filter(pk=user.pk, reset_password_token=user.reset_password_token).update(
            reset_password_token=None, reset_password_expires=None
        )
        if not consumed:
            raise InvalidToken("The reset token is invalid or expired.")
        user.set_password(password)
        user.reset_password_token = user.reset_password_expires = None
        user.failed_login_attempts, user.lockout_expires = 0, None
        user.save(
            update_fields=[
                "password",
                "reset_password_token",
                "reset_password_expires",
                "failed_login_attempts",
                "lockout_expires",
                "updated_at",
            ]
        )
        # updated_at: when they ended, which their retention counts from (prune_users).
        user.sessions.filter(is_active=True).update(is_active=False, updated_at=timezone.now())
        activity_record(
            user=user,
            activity_type=ActivityType.AUTH,
            action=ActivityAction.PASSWORD_RESET,
            entity=user,
            request=request,
        )
    return user
