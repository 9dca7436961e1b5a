"""Abstract bases, mixins and constraint helpers shared by every app's models."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone


def choices_check(field: str, choices: type[models.Choices], *, name: str, null: bool = False):
    """Return a CheckConstraint holding `field` to the values of `choices` in the database."""
    condition = Q(**{f"{field}__in": choices.values})
    if null:
        condition |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=name)


def range_check(field: str, *, name: str, low=None, high=None, low_open: bool = False):
    """Return a CheckConstraint keeping `field` within [low, high] (or (low, high]); NULL passes."""
    condition = Q()
    if low is not None:
        condition &= Q(**{f"{field}__gt" if low_open else f"{field}__gte": low})
    if high is not None:
        condition &= Q(**{f"{field}__lte": high})
    return models.CheckConstraint(condition=Q(**{f"{field}__isnull": True}) | condition, name=name)


class TimestampedModel(models.Model):
    # db_default so that rows written by COPY or raw SQL get timestamps too.
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        abstract = True


class ActiveMixin(models.Model):
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        abstract = True


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self):
        """Return the rows that are not soft-deleted."""
        return self.filter(deleted_at__isnull=True)

    def dead(self):
        """Return the soft-deleted rows."""
        return self.filter(deleted_at__isnull=False)


class SoftDeleteMixin(models.Model):
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self, by=None) -> None:
        """Mark the row deleted, keeping it in the table."""
        self.deleted_at = timezone.now()
        self.deleted_by = by
        self.save(update_fields=["deleted_at", "deleted_by"])

    def restore(self) -> None:
        """Bring a soft-deleted row back."""
        self.deleted_at = None
        self.deleted_by = None
        self.save(update_fields=["deleted_at", "deleted_by"])


class UserTrackingMixin(models.Model):
    # Nullable, unlike the plan: imports and AI models write rows with no user behind them.
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True


class ValidationMixin(models.Model):
    is_validated = models.BooleanField(default=False, db_default=False)

    class Meta:
        abstract = True


class AIAnalysisMixin(models.Model):
    ai_confidence_score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    signal_agreement_score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    analysis_data = models.JSONField(default=dict, db_default={}, blank=True)
    # Written by a model whose training data covered this row's time: what the model learnt, not
    # what it would have said then. No model, evaluation or alert reads such rows; the API and
    # the admin hide them unless asked.
    in_sample = models.BooleanField(default=False, db_default=False)

    class Meta:
        abstract = True
        constraints = [
            range_check("ai_confidence_score", low=0, high=1, name="%(class)s_chk_confidence"),
            range_check("signal_agreement_score", low=0, high=1, name="%(class)s_chk_agreement"),
        ]
