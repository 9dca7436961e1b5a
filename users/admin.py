from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from cryptopredict.admin import BaseAdmin, EstimatedCountPaginator, ReadOnlyAdmin, SoftDeletedFilter
from cryptopredict.choices import ActivityAction, ActivityType

from .models import User, UserActivity, UserSession
from .services import auth as auth_services
from .services.audit import activity_record


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login under the API's login policy (users.services.auth.user_authenticate):
    throttled per IP and per account, the same lockout, every attempt in UserActivity."""

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = auth_services.user_authenticate(
                    email=email, password=password, request=self.request, channel="admin", staff=True
                )
            except auth_services.TooManyAttempts as error:
                wait = f" in {int(error.wait) + 1} seconds" if error.wait else " later"
                raise ValidationError(
                    f"Too many login attempts; try again{wait}.", code="throttled"
                ) from None
            except auth_services.InvalidCredentials:
                raise self.get_invalid_login_error() from None
            activity_record(
                user=self.user_cache,
                activity_type=ActivityType.AUTH,
                action=ActivityAction.LOGIN,
                details={"channel": "admin"},
                request=self.request,
            )
        return self.cleaned_data


admin.site.login_form = AdminLoginForm


class UserCreationForm(BaseUserCreationForm):
    """Create a user from an email and a password typed twice."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        # Emails are stored lower-case (see UserManager), so Foo@x.io and foo@x.io are one user.
        return self.cleaned_data["email"].strip().lower()


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Profile",
            {
                "fields": (
                    ("first_name", "last_name"),
                    "bio",
                    "profile_picture_url",
                    ("timezone", "language"),
                    "preferences",
                )
            },
        ),
        (
            "Status",
            {
                "fields": (
                    "role",
                    ("is_active", "is_verified"),
                    ("last_login", "login_count"),
                    ("deleted_at", "deleted_by"),
                    ("created_at", "updated_at"),
                )
            },
        ),
        (
            "Security",
            {
                "classes": ("collapse",),
                "fields": (
                    ("failed_login_attempts", "lockout_expires"),
                    ("reset_password_token", "reset_password_expires"),
                    ("email_verification_token", "email_verification_expires"),
                ),
            },
        ),
        ("Referral", {"fields": ("referral_code", "referred_by", "referral_count")}),
        (
            "Subscription",
            {"fields": ("subscription_plan", "subscription_expires_at", "account_balance")},
        ),
        (
            "Permissions",
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Notes", {"fields": ("notes",)}),
    )
    # Token digests are useless to read and dangerous to edit; counters are kept by users.services.auth.
    readonly_fields = (
        "last_login",
        "login_count",
        "reset_password_token",
        "email_verification_token",
        "referral_code",
        "referral_count",
    )
    list_display = (
        "email",
        "full_name",
        "role",
        "subscription_plan",
        "is_active",
        "is_verified",
        "is_staff",
        "last_login",
        "created_at",
    )
    list_filter = (
        "role",
        "subscription_plan",
        "is_active",
        "is_verified",
        "is_staff",
        "is_superuser",
        SoftDeletedFilter,
        "groups",
    )
    search_fields = ("email", "first_name", "last_name", "referral_code")
    ordering = ("email",)
    autocomplete_fields = ("referred_by",)


@admin.register(UserSession)
class UserSessionAdmin(BaseAdmin):
    list_display = (
        "id",
        "user",
        "ip_address",
        "is_active",
        "created_at",
        "last_used_at",
        "expires_at",
        "refresh_expires_at",
    )
    list_filter = ("is_active",)
    search_fields = ("user__email", "=ip_address")
    ordering = ("-created_at",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    # Digests of bearer tokens: nothing to read in them, and editing one would break the session.
    readonly_fields = ("session_token", "refresh_token", "rotated_refresh_tokens", "last_used_at")

    def has_add_permission(self, request):
        # A session exists only for the bearer tokens handed out at login.
        return False


@admin.register(UserActivity)
class UserActivityAdmin(ReadOnlyAdmin):
    """The audit trail: append-only, so nobody adds, edits or deletes a row here."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = (
        "created_at",
        "user",
        "activity_type",
        "action",
        "entity_type",
        "entity_id",
        "ip_address",
    )
    # Free-text columns get no value filter: listing their distinct values scans the whole trail.
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("user__email", "=activity_type", "=action", "=entity_type", "=ip_address")
    ordering = ("-created_at",)
    list_select_related = ("user",)
    raw_id_fields = ("user", "session")
