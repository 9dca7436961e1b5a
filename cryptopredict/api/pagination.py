"""Page-number pagination for plain lists, cursor pagination (no COUNT) for time series."""

from rest_framework.exceptions import ValidationError
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
