"""The project's FilterSet base: every model field gets the lookups a client would use.

    class PriceDataFilterSet(BaseFilterSet):
        asset = IdOrSlugFilter(field_name="asset", slug_field="symbol")
        asset_symbol = filters.CharFilter(field_name="asset__symbol", lookup_expr="iexact")

        class Meta:
            model = PriceData
            fields = filter_fields(PriceData)

`filter_fields` gives exact and `__in` on every column, ranges (gt, gte, lt, lte) on numbers and
times, `__isnull` on nullable columns; JSON and long-text columns are left to `?search=`.
Foreign keys filter by id (no validation query); declare an `IdOrSlugFilter` to accept a symbol
or slug as well.
"""

from django.db import models
from django_filters import rest_framework as filters

RANGES = ["gt", "gte", "lt", "lte"]


def filter_fields(model: type[models.Model], exclude=()) -> dict[str, list[str]]:
    """Return FilterSet.Meta.fields for `model`: the natural lookups of each concrete column."""
    fields = {}
    for field in model._meta.concrete_fields:
        if field.name in exclude or isinstance(field, (models.JSONField, models.TextField)):
            continue
        if isinstance(field, models.BooleanField):
            lookups = ["exact"]
        elif field.is_relation or field.choices:
            lookups = ["exact", "in"]
        elif isinstance(field, (models.DateTimeField, models.DateField)):
            lookups = ["exact", *RANGES]
        elif isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
            lookups = ["exact", "in", *RANGES]
        else:
            lookups = ["exact", "in"]
        if field.null and not isinstance(field, models.BooleanField):
            lookups.append("isnull")
        fields[field.name] = lookups
    return fields


class NumberInFilter(filters.BaseInFilter, filters.NumberFilter):
    """`?x__in=1,2,3`."""


class IdOrSlugFilter(filters.CharFilter):
    """`?asset=12` or `?asset=BTC`: a related object by id, or by its `slug_field` in any case."""

    def __init__(self, *args, slug_field: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.slug_field = slug_field

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if value.isdecimal():
            return qs.filter(**{self.field_name: value})
        return qs.filter(**{f"{self.field_name}__{self.slug_field}__iexact": value})


class BaseFilterSet(filters.FilterSet):
    """A FilterSet whose foreign keys filter by plain ids and that never adds DISTINCT."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        if isinstance(field, models.ForeignKey) and lookup_type == "exact":
            return filters.NumberFilter, {"distinct": False}
        if isinstance(field, models.ForeignKey) and lookup_type == "in":
            return NumberInFilter, {"distinct": False}
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if not field.many_to_many:
            params = {**params, "distinct": False}
        return filter_class, params


class AIAnalysisFilterSet(BaseFilterSet):
    """A FilterSet of rows an AI model wrote, also filtered by the model's name."""

    ai_model_name = filters.CharFilter(field_name="ai_model__name", lookup_expr="iexact")
