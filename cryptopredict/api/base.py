"""The project's base serializer and viewsets: each concrete viewset is a few lines.

    class AssetViewSet(BaseModelViewSet):
        queryset = Asset.objects.all()
        serializer_class = AssetSerializer
        filterset_class = AssetFilterSet
        search_fields = ("symbol", "name")
        slug_field = "symbol"          # optional: /assets/BTC/ as well as /assets/1/

The base class
- joins every relation the serializer reads (select_related for FKs, prefetch_related for
  to-many), so a list costs the same number of queries for 1 row or 500;
- lets `?ordering=` sort on the model's indexed fields unless `ordering_fields` is set, never on
  the model's `secret_fields` (token digests, password hashes);
- refuses a NUL character in the URL (404) or the query (400 naming the parameter): PostgreSQL
  cannot compare text with one;
- hides soft-deleted rows and soft-deletes instead of deleting (SoftDeleteMixin models);
- fills added_by / last_modified_by (UserTrackingMixin models);
- opens the audit channel of each request (cryptopredict.audit), so the services a view calls
  record their writes as the API's, with the request's address, agent and session;
- writes one UserActivity per create, update and delete it makes itself (a model with no service
  of its own), in the same transaction. A view that writes through a service leaves the record to
  the service.
"""

import copy
from functools import cache

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, router, transaction
from django.db.models import NOT_PROVIDED
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, serializers, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField
from rest_framework.settings import api_settings

from cryptopredict.api.filters import secret_fields
from cryptopredict.audit import activity_record, audit_channel
from cryptopredict.choices import ActivityAction, ActivityType, Timeframe
from cryptopredict.constraints import explain, referenced_fields
from cryptopredict.models import SoftDeleteMixin, UserTrackingMixin
from cryptopredict.timeframes import UNKNOWN_TIMEFRAME

from .pagination import TimeSeriesPagination


def constraint_errors(model: type[models.Model], instance, attrs: dict) -> dict[str, list[str]]:
    """Return field -> messages for each CheckConstraint of `model` that `attrs` would break."""
    candidate = copy.copy(instance) if instance is not None else model()
    for name, value in attrs.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.concrete and not field.many_to_many:
            setattr(candidate, name, value)
    errors: dict[str, list[str]] = {}
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.CheckConstraint):
            continue
        fields = [name for name in referenced_fields(constraint.condition) if name in attrs]
        if not fields:
            continue
        try:
            constraint.validate(model, candidate, using=router.db_for_write(model))
        except DjangoValidationError:
            _, text = explain(constraint)
            for name in fields:
                errors.setdefault(name, []).append(f"Breaks {constraint.name}: {text}.")
    return errors


class TimeframeField(serializers.ChoiceField):
    """A timeframe, refused in the words of cryptopredict.timeframes.timeframe_check."""

    default_error_messages = {"invalid_choice": UNKNOWN_TIMEFRAME}

    def __init__(self, **kwargs):
        super().__init__(choices=Timeframe.choices, **kwargs)


class IdOrSlugRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id (`12`) or by its model's `api_slug_field` (`"BTC"`, in any case).

    Writes accept what reads show: an asset by id or symbol, a sector by id or slug.
    Answers give the id.
    """

    default_error_messages = {"no_such_slug": "No {model} {value!r}."}

    def __init__(self, *, slug_field: str, **kwargs):
        self.slug_field = slug_field
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.isdecimal():
            queryset = self.get_queryset()
            found = list(queryset.filter(**{f"{self.slug_field}__iexact": data})[:2])
            if len(found) != 1:
                self.fail("no_such_slug", model=queryset.model._meta.verbose_name, value=data)
            return found[0]
        return super().to_internal_value(data)


def _nullable_path(model: type[models.Model], source: str) -> bool:
    """Return whether a dotted source (`asset.symbol`) crosses a relation that may be empty."""
    current = model
    for attr in source.split(".")[:-1]:
        try:
            field = current._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if not field.is_relation:
            return False
        if field.null:
            return True
        current = field.related_model
    return False


class BaseModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that checks the model's CheckConstraints and names the fields at fault.

    Relations to a model with `api_slug_field` accept its id or its slug; a read-only dotted
    field through an optional relation (`sector.slug`) is nullable, in the answers and the schema.
    """

    def build_relational_field(self, field_name, relation_info):
        field_class, kwargs = super().build_relational_field(field_name, relation_info)
        slug_field = getattr(relation_info.related_model, "api_slug_field", None)
        if slug_field and field_class is serializers.PrimaryKeyRelatedField:
            return IdOrSlugRelatedField, {**kwargs, "slug_field": slug_field}
        return field_class, kwargs

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_class is serializers.ChoiceField and list(model_field.choices) == Timeframe.choices:
            kwargs.pop("choices")
            return TimeframeField, kwargs
        return field_class, kwargs

    def get_fields(self):
        fields = super().get_fields()
        model = self.Meta.model
        # A column with a database default (e.g. a time defaulting to now) may be left out.
        for model_field in model._meta.concrete_fields:
            field = fields.get(model_field.name)
            if field is not None and model_field.db_default is not NOT_PROVIDED and not field.read_only:
                field.required = False
        for field in fields.values():
            source = field.source or ""
            if field.read_only and "." in source and _nullable_path(model, source):
                field.allow_null = True
        return fields

    def _get_constraint_violation_error_message(self, constraint):
        # DRF's unique validators say "The fields x, y must make a unique set."; name the rule too.
        _, text = explain(constraint)
        return f"{constraint.name} {text}."

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(self._unique_errors_by_field(error.detail)) from None

    def _unique_errors_by_field(self, detail):
        """Move each unique-rule error onto a field (`asset` of (watchlist, asset), `is_primary` of one
        primary per asset): DRF puts it under non_field_errors, and a client needs a field."""
        if not isinstance(detail, list):
            return detail
        unique = [c for c in self.Meta.model._meta.constraints if isinstance(c, models.UniqueConstraint)]
        errors: dict[str, list] = {}
        for message in detail:
            constraint = next((c for c in unique if c.fields and message.startswith(f"{c.name} ")), None)
            key = self._unique_error_field(constraint) if constraint else api_settings.NON_FIELD_ERRORS_KEY
            errors.setdefault(key, []).append(message)
        return errors

    def _unique_error_field(self, constraint: models.UniqueConstraint) -> str:
        # A partial rule (one primary per asset) is broken by the flag its condition reads.
        if constraint.condition is not None:
            writable = {name for name, field in self.fields.items() if not field.read_only}
            flags = [name for name in referenced_fields(constraint.condition) if name in writable]
            if flags:
                return flags[0]
        return constraint.fields[-1]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        errors = constraint_errors(self.Meta.model, self.instance, attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AIAnalysisSerializer(BaseModelSerializer):
    """A serializer of rows an AI model wrote: the model's name stands beside its id."""

    ai_model_name = serializers.CharField(source="ai_model.name", read_only=True)


def related_paths(serializer: serializers.Serializer) -> tuple[list[str], list[str]]:
    """Return (select_related, prefetch_related) paths for every relation the serializer reads."""
    model = serializer.Meta.model
    select, prefetch = set(), set()
    for field in serializer.fields.values():
        if field.write_only or field.source == "*":
            continue
        attrs = field.source.split(".")
        path, current, many = [], model, isinstance(field, ManyRelatedField)
        for position, attr in enumerate(attrs):
            try:
                model_field = current._meta.get_field(attr)
            except FieldDoesNotExist:
                break
            if not model_field.is_relation:
                break
            to_many = model_field.many_to_many or model_field.one_to_many
            # A primary-key field on a FK reads the local *_id column: no join needed.
            if position == len(attrs) - 1 and isinstance(field, PrimaryKeyRelatedField) and not to_many:
                break
            path.append(attr)
            many = many or to_many
            current = model_field.related_model
        if path:
            (prefetch if many else select).add("__".join(path))
    return sorted(select), sorted(prefetch)


def indexed_fields(model: type[models.Model], *, relations: bool = True) -> list[str]:
    """Return the fields an index can sort on: pk, unique and indexed columns, leading index columns.

    Without `relations`, foreign keys are left out (a cursor cannot encode a related object).
    """
    meta = model._meta
    names = {meta.pk.name}
    for field in meta.concrete_fields:
        if field.unique or field.db_index:
            names.add(field.name)
    for index in meta.indexes:
        if index.fields:
            names.add(index.fields[0].lstrip("-"))
    for constraint in meta.constraints:
        if (
            isinstance(constraint, models.UniqueConstraint)
            and constraint.fields
            and constraint.condition is None
        ):
            names.add(constraint.fields[0])
    if not relations:
        names -= {field.name for field in meta.concrete_fields if field.is_relation}
    return sorted(names - secret_fields(model))


class BaseViewSetMixin:
    """What every project viewset shares; see the module docstring."""

    # A second lookup besides the id, e.g. "symbol" or "slug" (matched without regard to case).
    slug_field: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("queryset") is not None and "ordering_fields" not in cls.__dict__:
            cursor = issubclass(cls.pagination_class or object, CursorPagination)
            cls.ordering_fields = indexed_fields(cls.queryset.model, relations=not cursor)

    def initial(self, request, *args, **kwargs):
        for key, values in request.query_params.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                name = key.replace("\x00", "")
                raise exceptions.ValidationError({name: ["Null characters are not allowed."]})
        super().initial(request, *args, **kwargs)
        # Opened once the request is authenticated; closed by dispatch, whatever happens.
        self._audit_channel = audit_channel(ActivityType.API, request)
        self._audit_channel.__enter__()

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # An exception DRF does not handle skips finalize_response: close the channel here.
            channel = self.__dict__.pop("_audit_channel", None)
            if channel is not None:
                channel.__exit__(None, None, None)

    @classmethod
    @cache
    def related_paths(cls) -> tuple[list[str], list[str]]:
        """Return the joins of this viewset's serializer (computed once per class)."""
        return related_paths(cls.serializer_class())

    def get_queryset(self):
        queryset = super().get_queryset()
        select, prefetch = self.related_paths()
        if select:
            queryset = queryset.select_related(*select)
        if prefetch:
            queryset = queryset.prefetch_related(*prefetch)
        if issubclass(queryset.model, SoftDeleteMixin):
            queryset = queryset.alive()
        return queryset

    def get_object(self):
        """Return the object named by its id, or by `slug_field` when the URL holds a non-number."""
        value = str(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        if "\x00" in value:
            raise Http404
        if value.isdecimal():
            lookup = {"pk": value}
        elif self.slug_field:
            lookup = {f"{self.slug_field}__iexact": value}
        else:
            lookup = {"pk": None}
        obj = get_object_or_404(self.filter_queryset(self.get_queryset()), **lookup)
        self.check_object_permissions(self.request, obj)
        return obj

    def get_authenticate_header(self, request):
        # Without a header DRF turns "not authenticated" into 403; the contract says 401.
        return super().get_authenticate_header(request) or 'Bearer realm="api"'

    def audit(self, action: str, obj: models.Model, changed_fields=(), **details) -> None:
        """Append the generic write `action` on `obj` to the audit trail (`details` add to the record)."""
        activity_record(
            actor=self.request.user,
            action=action,
            entity=obj,
            details={"changed_fields": sorted(changed_fields), **details},
        )

    def tracking(self, *, created: bool) -> dict:
        """Return the added_by / last_modified_by values to save, for models that keep them."""
        if not issubclass(self.queryset.model, UserTrackingMixin):
            return {}
        user = self.request.user
        return {"added_by": user, "last_modified_by": user} if created else {"last_modified_by": user}

    def perform_create(self, serializer):
        with transaction.atomic():
            obj = serializer.save(**self.tracking(created=True))
            self.audit(ActivityAction.CREATE, obj, serializer.validated_data)

    def perform_update(self, serializer):
        with transaction.atomic():
            before = _values(serializer.instance, serializer.validated_data)
            obj = serializer.save(**self.tracking(created=False))
            after = _values(obj, serializer.validated_data)
            self.audit(ActivityAction.UPDATE, obj, [name for name in before if before[name] != after[name]])

    def perform_destroy(self, instance):
        with transaction.atomic():
            self.audit(ActivityAction.DELETE, instance)
            if isinstance(instance, SoftDeleteMixin):
                instance.soft_delete(by=self.request.user)
            else:
                instance.delete()


def _values(instance: models.Model, names) -> dict:
    """Return the stored values of the named fields (FK ids; to-many fields always count as changed)."""
    values = {}
    for name in names:
        try:
            field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        concrete = field is not None and field.concrete and not field.many_to_many
        values[name] = field.value_from_object(instance) if concrete else object()
    return values


class BaseModelViewSet(BaseViewSetMixin, viewsets.ModelViewSet):
    """CRUD on one model; see the module docstring."""


class BaseReadOnlyModelViewSet(BaseViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve only; see the module docstring."""


class TimeSeriesMixin:
    """Cursor pagination (no COUNT) on the view's `ordering`, newest first."""

    pagination_class = TimeSeriesPagination
