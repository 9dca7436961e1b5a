import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now

from cryptopredict.choices import ActivityAction, ActivityType, UserRole
from cryptopredict.models import SoftDeleteMixin, SoftDeleteQuerySet, TimestampedModel, choices_check

from .choices import SubscriptionPlan

REFERRAL_CODE_BYTES = 6  # 8 URL-safe characters


def generate_referral_code() -> str:
    """Return a fresh random referral code of 8 URL-safe characters."""
    return secrets.token_urlsafe(REFERRAL_CODE_BYTES)


class UserManager(BaseUserManager.from_queryset(SoftDeleteQuerySet)):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        """Create and return a public user on the free plan."""
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        """Create and return an admin who may use the Django admin."""
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", UserRole.ADMIN)
        extra_fields.setdefault("is_verified", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin, SoftDeleteMixin, TimestampedModel):
    email = models.EmailField(max_length=255, unique=True)
    first_name = models.CharField(max_length=50, null=True, blank=True)
    last_name = models.CharField(max_length=50, null=True, blank=True)
    role = models.CharField(
        max_length=10, choices=UserRole.choices, default=UserRole.PUBLIC, db_default=UserRole.PUBLIC
    )
    # PermissionsMixin's field, with the database default every NOT NULL default has here.
    is_superuser = models.BooleanField(
        "superuser status",
        default=False,
        db_default=False,
        help_text="Designates that this user has all permissions without explicitly assigning them.",
    )

    is_active = models.BooleanField(default=True, db_default=True)
    is_staff = models.BooleanField(
        default=False, db_default=False, help_text="May log in to the admin console."
    )
    is_verified = models.BooleanField(default=False, db_default=False)
    login_count = models.IntegerField(null=True, blank=True, default=0, db_default=0)

    preferences = models.JSONField(null=True, blank=True, default=dict, db_default={})
    timezone = models.CharField(max_length=50, null=True, blank=True, default="UTC", db_default="UTC")
    language = models.CharField(max_length=10, default="en", db_default="en")

    bio = models.TextField(null=True, blank=True)
    profile_picture_url = models.URLField(max_length=500, null=True, blank=True)

    # Tokens are stored as SHA-256 digests, never in clear.
    reset_password_token = models.CharField(max_length=255, null=True, blank=True)
    reset_password_expires = models.DateTimeField(null=True, blank=True)
    email_verification_token = models.CharField(max_length=255, null=True, blank=True)
    email_verification_expires = models.DateTimeField(null=True, blank=True)
    failed_login_attempts = models.IntegerField(null=True, blank=True, default=0, db_default=0)
    lockout_expires = models.DateTimeField(null=True, blank=True)

    referral_code = models.CharField(
        max_length=50, null=True, blank=True, unique=True, default=generate_referral_code
    )
    referred_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    referral_count = models.IntegerField(null=True, blank=True, default=0, db_default=0)

    account_balance = models.DecimalField(
        max_digits=15, decimal_places=2, null=True, blank=True, default=0, db_default=0
    )
    subscription_plan = models.CharField(
        max_length=20,
        choices=SubscriptionPlan.choices,
        null=True,
        blank=True,
        default=SubscriptionPlan.FREE,
        db_default=SubscriptionPlan.FREE,
    )
    subscription_expires_at = models.DateTimeField(null=True, blank=True)

    notes = models.TextField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []
    # Never filtered, searched or sorted on through the API (cryptopredict.api.filters).
    secret_fields = ("password", "reset_password_token", "email_verification_token")

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(condition=Q(login_count__gte=0), name="chk_login_count_positive"),
            models.CheckConstraint(condition=Q(referral_count__gte=0), name="chk_referral_count_positive"),
            models.CheckConstraint(
                condition=Q(failed_login_attempts__gte=0),
                name="chk_failed_login_attempts_positive",
            ),
            models.CheckConstraint(condition=Q(account_balance__gte=0), name="chk_account_balance_positive"),
            # Stored lower-case, so the unique index on email is also case-insensitive.
            models.CheckConstraint(condition=Q(email=Lower("email")), name="chk_users_email_lowercase"),
            choices_check("role", UserRole, name="chk_users_role"),
            choices_check(
                "subscription_plan", SubscriptionPlan, name="chk_users_subscription_plan", null=True
            ),
        ]
        indexes = [
            models.Index(fields=["role"], name="idx_users_role"),
            models.Index(fields=["is_active"], name="idx_users_is_active"),
            models.Index(fields=["subscription_plan"], name="idx_users_subscription_plan"),
            models.Index(fields=["created_at"], name="idx_users_created_at"),
        ]

    def __str__(self):
        return self.email

    @property
    def full_name(self) -> str:
        """Return first and last name, either one, or the email's local part."""
        if self.first_name and self.last_name:
            return f"{self.first_name} {self.last_name}"
        return self.first_name or self.last_name or self.email.split("@")[0]

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.first_name or self.email


class UserSession(TimestampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    secret_fields = ("session_token", "refresh_token", "rotated_refresh_tokens")
    # SHA-256 digests of the bearer tokens, which are handed out once at login.
    session_token = models.CharField(max_length=255, unique=True)
    refresh_token = models.CharField(max_length=255, null=True, blank=True, unique=True)
    device_info = models.JSONField(null=True, blank=True, default=dict, db_default={})
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    is_active = models.BooleanField(null=True, blank=True, default=True, db_default=True)
    # expires_at ends the access token; refresh_expires_at ends the session (fixed at login).
    expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # Digests of refresh tokens already rotated out: presenting one again revokes the session.
    rotated_refresh_tokens = models.JSONField(default=list, db_default=[], blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_sessions"
        ordering = ["-created_at"]

    def __str__(self):
        return f"Session {self.pk} of {self.user}"


class UserActivity(models.Model):
    # Empty for a command, a task or the demo (ActivityType.SYSTEM): nobody signed in asked for it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        db_index=False,
    )
    # Admin and command actions have no API session.
    session = models.ForeignKey(
        UserSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    activity_type = models.CharField(max_length=50, choices=ActivityType.choices, db_index=True)
    entity_type = models.CharField(max_length=50, null=True, blank=True)
    entity_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=50, choices=ActivityAction.choices, db_index=True)
    details = models.JSONField(null=True, blank=True, default=dict, db_default={})
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False, db_index=True)

    class Meta:
        db_table = "user_activities"
        ordering = ["-created_at"]
        verbose_name_plural = "user activities"
        indexes = [models.Index(fields=["user", "-created_at"], name="idx_user_activities_user")]
        constraints = [
            choices_check("activity_type", ActivityType, name="chk_user_activities_type"),
            choices_check("action", ActivityAction, name="chk_user_activities_action"),
        ]

    def __str__(self):
        return f"{self.activity_type}/{self.action} by {self.user_id or 'the system'}"
