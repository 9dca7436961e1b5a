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
or slug as well. A model's `secret_fields` (token digests, password hashes) get no filter.

Every value is checked before it reaches the database, so a bad one is a 400 naming the filter:
whole numbers within the column's range, IP addresses, and times (in any UTC offset Python reads,
normalised to UTC; a time that would fall outside years 1-9999 in UTC is refused).
"""

from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection, models
from django_filters import rest_framework as filters
from rest_framework import exceptions
from rest_framework import filters as drf_filters

RANGES = ["gt", "gte", "lt", "lte"]


def secret_fields(model: type[models.Model]) -> frozenset[str]:
    """Return the names of the columns of `model` that no client may filter, search or sort on."""
    return frozenset(getattr(model, "secret_fields", ()))


def filter_fields(model: type[models.Model], exclude=()) -> dict[str, list[str]]:
    """Return FilterSet.Meta.fields for `model`: the natural lookups of each concrete column."""
    fields = {}
    exclude = {*exclude, *secret_fields(model)}
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


class UTCDateTimeField(forms.DateTimeField):
    """A time in any offset, returned in UTC; one that UTC cannot hold is a validation error."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError(
                "%(value)s is outside the times that can be stored (years 1 to 9999 in UTC).",
                code="overflow",
                params={"value": value},
            ) from None


class UTCDateTimeFilter(filters.DateTimeFilter):
    field_class = UTCDateTimeField


class WholeNumberFilter(filters.NumberFilter):
    """A whole number within the range of the column's integer type."""

    field_class = forms.IntegerField


class WholeNumberInFilter(filters.BaseInFilter, WholeNumberFilter):
    """`?x__in=1,2,3`."""


class IPAddressFilter(filters.CharFilter):
    field_class = forms.GenericIPAddressField


def _integer_target(field: models.Field) -> models.Field | None:
    """Return the integer column a field compares with (a foreign key's target), else None."""
    target = field.target_field if field.is_relation and field.many_to_one else field
    return target if isinstance(target, (models.IntegerField, models.AutoField)) else None


class IdOrSlugFilter(filters.CharFilter):
    """`?asset=12` or `?asset=BTC`: a related object by id, or by its `slug_field` in any case.

    A slug is resolved to its id first (one indexed lookup), so the filtered table is read through
    its own foreign-key index instead of a join matching `UPPER(symbol)` on every row. With
    `ids=False` only slugs are accepted (`?asset_symbol=BTC`).
    """

    def __init__(self, *args, slug_field: str, ids: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.slug_field = slug_field
        self.ids = ids

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if self.ids and value.isdecimal():
            # No row has an id beyond what a bigint holds (and PostgreSQL would refuse to compare).
            if int(value) > connection.ops.integer_field_range("BigIntegerField")[1]:
                return qs.none()
            return qs.filter(**{self.field_name: value})
        related = qs.model._meta.get_field(self.field_name).related_model
        found = related._base_manager.filter(**{f"{self.slug_field}__iexact": value})
        pk = found.values_list("pk", flat=True).first()
        return qs.none() if pk is None else qs.filter(**{self.field_name: pk})


class BaseFilterSet(filters.FilterSet):
    """A FilterSet whose foreign keys filter by plain ids and that never adds DISTINCT."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": UTCDateTimeFilter},
        models.GenericIPAddressField: {"filter_class": IPAddressFilter},
    }

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        integer = _integer_target(field)
        if integer is not None and lookup_type in ("exact", "in", *RANGES):
            low, high = connection.ops.integer_field_range(integer.get_internal_type())
            params = {"distinct": False, "min_value": low, "max_value": high}
            return (WholeNumberInFilter if lookup_type == "in" else WholeNumberFilter), params
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if not field.many_to_many:
            params = {**params, "distinct": False}
        return filter_class, params


class AIAnalysisFilterSet(BaseFilterSet):
    """A FilterSet of rows an AI model wrote, also filtered by the model's name.

    In-sample rows (written about the model's own training period) are left out unless the
    client asks for them with `in_sample=true` (only them) or `in_sample=all`.
    """

    ai_model_name = filters.CharFilter(field_name="ai_model__name", lookup_expr="iexact")
    in_sample = filters.ChoiceFilter(
        choices=(("false", "out of sample (default)"), ("true", "in sample"), ("all", "all")),
        method="filter_in_sample",
        empty_label=None,
    )

    def filter_in_sample(self, queryset, name, value):
        if value == "all":
            return queryset
        return queryset.filter(in_sample=value == "true")

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("in_sample"):
            queryset = queryset.filter(in_sample=False)
        return super().filter_queryset(queryset)


class OrderingFilter(drf_filters.OrderingFilter):
    """`?ordering=-candle_time,id`: an unknown or secret field is a 400 naming the valid ones,
    not silently ignored."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]
        secret = secret_fields(queryset.model)
        unknown = [term for term in fields if term.lstrip("-") not in valid or term.lstrip("-") in secret]
        if unknown:
            choices = ", ".join(name for name in valid if name not in secret)
            raise exceptions.ValidationError(
                {self.ordering_param: [f"Cannot order by {', '.join(unknown)}; choose from: {choices}."]}
            )
        return fields


class IndexedOrderingFilter(OrderingFilter):
    """`?ordering=` limited to the orderings an index serves under the request's filters.

    The view's `orderings(request)` names them (its `ordering_fields` are the unfiltered ones, for
    the schema). Any other term is a 400 naming the choices, never a silently different order.
    """

    def remove_invalid_fields(self, queryset, fields, view, request):
        allowed = view.orderings(request)
        terms = [term for term in fields if term]
        for term in terms:
            if term.lstrip("-") not in allowed:
                choices = ", ".join(allowed)
                raise exceptions.ValidationError(
                    {
                        self.ordering_param: [
                            f"Cannot order by {term!r} with these filters; choose from {choices}."
                        ]
                    }
                )
        return terms
