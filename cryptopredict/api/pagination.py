"""Page-number pagination for plain lists, cursor pagination (no COUNT) for time series."""

from datetime import UTC, datetime

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, models
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class PageSizeMixin:
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        """Return the requested page size; a bad or oversized one is a 400 naming `page_size`."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({"page_size": ["A whole number is required."]}) from None
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"page_size": [f"Must be between 1 and {self.max_page_size}."]})
        return size


class StandardPagination(PageSizeMixin, PageNumberPagination):
    """`?page=N&page_size=M` (M up to 500); answers count, next, previous, results."""


class TimeSeriesPagination(PageSizeMixin, CursorPagination):
    """`?cursor=...&page_size=M`; never counts rows. Orders by the view's `ordering` (newest first)."""

    ordering = "-pk"
    invalid_cursor_message = "Invalid cursor: use the `next` or `previous` link of an answer."

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model  # decode_cursor checks the position against the ordering field
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """Return the request's cursor; one that was not made here is a 400 naming `cursor`."""
        try:
            cursor = super().decode_cursor(request)
            if cursor is None or cursor.position is None:
                return cursor
            return cursor._replace(position=self._position(cursor.position))
        except (NotFound, DjangoValidationError, ValueError, OverflowError, UnicodeError):
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None

    def _position(self, position: str) -> str:
        """Return the cursor's position as a value of the ordering column, or raise ValueError."""
        name = self.ordering[0].lstrip("-")
        try:
            field = self.model._meta.get_field("id" if name == "pk" else name)
        except FieldDoesNotExist:
            return position
        value = field.to_python(position)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        if isinstance(field, (models.IntegerField, models.AutoField)):
            low, high = connection.ops.integer_field_range(field.get_internal_type())
            if not low <= value <= high:
                raise ValueError(position)
        return position
