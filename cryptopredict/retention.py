"""Retention: what every prune does, so that a growing table is trimmed without long locks."""

from django.db import transaction
from django.db.models import QuerySet

PRUNE_BATCH = 5_000


def delete_in_batches(queryset: QuerySet, *, batch: int = PRUNE_BATCH) -> int:
    """Delete the rows of `queryset` `batch` at a time, one transaction each, so that a big
    backlog never holds long locks; return how many were deleted (the rows its delete cascades
    to not counted)."""
    model, deleted = queryset.model, 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
