"""Pieces every app's admin shares: the audit trail, read-only bookkeeping, cheap counts and
numbers shown as people read them."""

import csv
import json
import re
import tempfile
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IS_FACETS_VAR, IS_POPUP_VAR, TO_FIELD_VAR
from django.contrib.admin.views.main import ALL_VAR, ERROR_FLAG, ORDER_VAR, PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections, models, router
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX
from simple_history.admin import SimpleHistoryAdmin

from cryptopredict import formatting
from cryptopredict.audit import activity_record, audit_channel
from cryptopredict.choices import ActivityAction, ActivityType
from cryptopredict.constraints import explain
from cryptopredict.filters import AutocompleteFilter
from cryptopredict.resources import resource_for

# Columns that only the system writes; shown, never edited, in every admin.
SYSTEM_FIELDS = (
    "created_at",
    "updated_at",
    "archived_at",
    "added_by",
    "last_modified_by",
    "deleted_at",
    "deleted_by",
)


class EstimatedCountPaginator(Paginator):
    """A paginator for tables of millions of rows: never a full COUNT(*), never a deep OFFSET.

    - The unfiltered table's size comes from PostgreSQL's statistics (`pg_class.reltuples`, scaled
      to the table's current size as the planner itself does).
    - A filtered list's size is the planner's estimate (EXPLAIN) when that is large; otherwise it is
      counted, reading at most `count_cap + 1` rows. A count that reaches the cap is shown as
      "10,000+"; an estimate as "about 1,234,000".
    - Pages stop at `max_offset` rows: the last page link is never an OFFSET of millions (an
      analyst narrows the list by its filters or search instead).

    Other databases (SQLite) get the capped count.
    """

    count_cap = 10_000
    max_offset = 10_000

    #: How `count` was found: "exact", "capped" (at least `count`) or "estimated".
    count_kind = "exact"

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if queryset.query.is_empty():
            return 0
        if connections[queryset.db].vendor == "postgresql":
            estimate = self._table_estimate(queryset) if self._is_whole_table(queryset) else None
            if estimate is None:
                estimate = self._plan_estimate(queryset)
            if estimate > self.count_cap:
                self.count_kind = "estimated"
                return estimate
        # Small by the statistics (or no statistics): count, but never more than the cap.
        counted = queryset.order_by()[: self.count_cap + 1].count()
        if counted > self.count_cap:
            self.count_kind = "capped"
            return self.count_cap
        return counted

    @property
    def count_label(self) -> str:
        """Return the count as an analyst should read it: "42", "10,000+" or "about 1,234,000"."""
        number = f"{self.count:,}"
        return {"capped": f"{number}+", "estimated": f"about {number}"}.get(self.count_kind, number)

    @property
    def limit_note(self) -> str:
        """Return a note when pages stop before the end of the list, else ""."""
        if self.num_pages * self.per_page >= self.count and self.count_kind == "exact":
            return ""
        return f"Pages reach the first {self.max_offset:,} rows; filter or search to see the rest."

    @cached_property
    def num_pages(self) -> int:
        reachable = max(1, -(-self.max_offset // self.per_page))
        return min(super().num_pages, reachable)

    @staticmethod
    def _is_whole_table(queryset) -> bool:
        query = queryset.query
        return not (query.where or query.is_sliced or query.distinct or query.combinator)

    @staticmethod
    def _table_estimate(queryset) -> int | None:
        """Return the planner's row estimate for the queryset's table, or None if never analyzed.

        A partitioned table (price_data) is the sum over its partitions; an empty partition counts
        0 even if never analyzed, a filled one never analyzed makes the whole unknown.
        """
        sql = (
            "SELECT CASE WHEN bool_or(n IS NULL) THEN NULL ELSE sum(n)::bigint END FROM ("
            " SELECT CASE WHEN pg_relation_size(c.oid) = 0 THEN 0"
            " WHEN c.reltuples < 0 OR c.relpages = 0 THEN NULL ELSE"
            " c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::int)"
            " END AS n FROM pg_partition_tree(to_regclass(%s)) t JOIN pg_class c ON c.oid = t.relid"
            " WHERE t.isleaf) leaves"
        )
        connection = connections[queryset.db]
        with connection.cursor() as cursor:
            cursor.execute(sql, [connection.ops.quote_name(queryset.model._meta.db_table)])
            row = cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    @staticmethod
    def _plan_estimate(queryset) -> int:
        """Return the rows the planner expects the (filtered) queryset to return."""
        plan = json.loads(queryset.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])


class ConstraintForm(forms.ModelForm):
    """A ModelForm that puts a broken database constraint's rule on the field at fault.

    Django reports a CheckConstraint as a bare "Constraint chk_x is violated" above the form;
    an analyst needs to see which field breaks which rule. Decimal inputs show their value
    without the column's trailing zeros (97457, not 97457.000000000000000000).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            value = self.initial.get(name)
            if isinstance(field, forms.DecimalField) and isinstance(value, Decimal) and value.is_finite():
                self.initial[name] = Decimal(format(value.normalize(), "f"))

    def validate_constraints(self):
        model = self._meta.model
        exclude = self._get_validation_exclusions()
        using = router.db_for_write(model)
        for constraint in model._meta.constraints:
            try:
                constraint.validate(model, self.instance, exclude=exclude, using=using)
            except ValidationError as error:
                fields, rule = explain(constraint)
                field = next((name for name in fields if name in self.fields), None)
                if getattr(error, "code", None) == "unique" and field is None:
                    self._update_errors(error)  # Django's own message names the duplicate values
                else:
                    self.add_error(field, f"{rule.capitalize()} ({constraint.name}).")


class BaseInline(admin.TabularInline):
    """A tabular inline whose rows, like BaseAdmin's forms, name the field a broken constraint is about."""

    form = ConstraintForm
    extra = 0


# Decimal columns whose values are already in percent (12.5 means 12.5 %).
PERCENT_NAME = re.compile(r"percentage|_pct$|dominance|allocation|_change_24h$|^weight$|breadth")


def json_table(value):
    """Return a JSON value as a labelled HTML table (nested values as nested tables)."""
    if isinstance(value, dict):
        if not value:
            return formatting.EMPTY
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td{}>{}</td></tr>',
            ((k, _num_class(v), json_table(v)) for k, v in value.items()),
        )
        return format_html('<table class="json-table">{}</table>', rows)
    if isinstance(value, list):
        if not value:
            return formatting.EMPTY
        if all(isinstance(item, dict) for item in value):
            keys = list(dict.fromkeys(key for item in value for key in item))
            head = format_html_join("", "<th>{}</th>", ((key,) for key in keys))
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (
                        format_html_join(
                            "",
                            "<td{}>{}</td>",
                            ((_num_class(item.get(k)), json_table(item.get(k))) for k in keys),
                        ),
                    )
                    for item in value
                ),
            )
            return format_html(
                '<table class="json-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body
            )
        return ", ".join(str(json_table(item)) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return formatting.number(value)
    return formatting.EMPTY if value is None else str(value)


def _num_class(value) -> str:
    return ' class="num"' if isinstance(value, int | float) and not isinstance(value, bool) else ""


class FormattedFieldsMixin:
    """Show decimal and JSON columns as people read them, in changelists and read-only fields.

    Decimals get thousands separators and no trailing zeros (`97,457`, `0.00002854`); columns in
    percent (`percent_fields`, or named like one) and fractions (`fraction_fields`: 0.125 is
    12.5 %) get a % sign; `multiple_fields` an x. A read-only JSON field becomes a table. Editable
    fields keep their widgets.
    """

    percent_fields: tuple[str, ...] = ()
    fraction_fields: tuple[str, ...] = ()
    multiple_fields: tuple[str, ...] = ()
    plain_fields: tuple[str, ...] = ()
    # Fields set when the object is added and read-only afterwards (moved by services only).
    readonly_on_change: tuple[str, ...] = ()

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self._links = {}
        for field in model._meta.concrete_fields:
            if field.many_to_one and admin_site.is_registered(field.related_model):
                name = f"{field.name}_link"
                if not hasattr(type(self), name):
                    setattr(self, name, self._link(field))
                self._links[field.name] = name
        self._shown = {}
        for field in model._meta.concrete_fields:
            if field.name in self.plain_fields or not isinstance(
                field, models.DecimalField | models.FloatField | models.JSONField
            ):
                continue
            name = f"{field.name}_shown"
            if not hasattr(type(self), name):  # an admin may show a field its own way
                setattr(self, name, self._display(field))
            self._shown[field.name] = name

    def _formatter(self, field):
        if isinstance(field, models.JSONField):
            return json_table
        if field.name in self.fraction_fields:
            return lambda value: formatting.percent(value, fraction=True)
        if field.name in self.multiple_fields:
            return formatting.multiple
        if field.name in self.percent_fields or PERCENT_NAME.search(field.name):
            return formatting.percent
        return formatting.number

    def _display(self, field):
        formatter = self._formatter(field)
        name = field.name

        @admin.display(
            description=field.verbose_name,
            ordering=None if field.get_internal_type() == "JSONField" else name,
        )
        def shown(obj):
            value = getattr(obj, name)
            return None if value is None else formatter(value)

        return shown

    def _link(self, field):
        """Return a column showing the related object as a link to its own page."""
        name, opts = field.name, field.related_model._meta
        url_name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change"

        @admin.display(description=field.verbose_name, ordering=name)
        def linked(obj):
            related = getattr(obj, name)
            if related is None:
                return None
            return format_html('<a href="{}">{}</a>', reverse(url_name, args=[related.pk]), related)

        return linked

    def get_list_display(self, request):
        links = set(self.list_display_links or ())
        names = list(super().get_list_display(request))
        # Without list_display_links the first column links to the row itself: no link inside it.
        first = 1 if self.list_display_links == () and names else 0
        names[first:] = [
            self._links[name] if isinstance(name, str) and name in self._links and name not in links else name
            for name in names[first:]
        ]
        return [
            self._shown[name]
            if isinstance(name, str)
            and name in self._shown
            and name not in links
            and not isinstance(self.model._meta.get_field(name), models.JSONField)
            else name
            for name in names
        ]

    def with_shown(self, names):
        """Return `names` with the formatted column of each (for sortable_by and the like)."""
        return (*names, *(self._shown[name] for name in names if name in self._shown))

    def _read_only(self, request, obj):
        """Return the formattable fields shown read-only on this page."""
        editable = (
            self.has_add_permission(request) if obj is None else self.has_change_permission(request, obj)
        )
        if not editable:
            return set(self._shown)
        names = [*super().get_readonly_fields(request, obj), *(self.readonly_on_change if obj else ())]
        return {name for name in names if name in self._shown}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        fields += [name for name in (self.readonly_on_change if obj else ()) if name not in fields]
        return fields + [
            self._shown[name] for name in self._read_only(request, obj) if self._shown[name] not in fields
        ]

    def get_fieldsets(self, request, obj=None):
        shown = {name: self._shown[name] for name in self._read_only(request, obj)}
        seen = set()

        def swap(names):
            result = []
            for name in names:
                if isinstance(name, list | tuple):
                    row = swap(name)
                    if row:
                        result.append(tuple(row))
                    continue
                name = shown.get(name, name) if isinstance(name, str) else name
                if name not in seen:
                    seen.add(name)
                    result.append(name)
            return result

        return [
            (title, {**options, "fields": swap(options["fields"])})
            for title, options in super().get_fieldsets(request, obj)
        ]


class BaseAdmin(ExportMixin, FormattedFieldsMixin, admin.ModelAdmin):
    """A ModelAdmin that shows system columns read-only and writes each change to the audit trail.

    Django's LogEntry is kept; every addition, change and deletion also goes to UserActivity
    with the names of the fields that changed, except the actions `service_records` names (the
    admin's saves of those go through a service that records them itself). The services an
    action or form calls record as the admin's (its views open the audit channel). Numbers and
    JSON read as FormattedFieldsMixin says.
    """

    form = ConstraintForm
    service_records: tuple[str, ...] = ()
    list_per_page = 50
    # Every changelist exports what its filters and search show (django-import-export).
    export_formats = (CSV, XLSX, JSON)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def action_checkbox(self, obj):
        """Return Django's row checkbox, the same HTML without rendering a widget template per row
        (a third of a 50-row candle page's rendering)."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            _("Select this object for an action - {}").format(obj),
        )

    def get_export_resource_classes(self, request):
        return self.resource_classes or [resource_for(self.model)]

    def changelist_view(self, request, extra_context=None):
        # Filters with widgets of their own (autocomplete) bring their scripts.
        media = self.media
        for spec in self.get_list_filter(request):
            field = spec[1] if isinstance(spec, tuple) else spec
            if isinstance(field, type) and issubclass(field, AutocompleteFilter):
                media += AutocompleteFilter.widget_media(self.model, spec[0], self.admin_site)
        with audit_channel(ActivityType.ADMIN, request):  # actions run here
            return super().changelist_view(request, {"media": media, **(extra_context or {})})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with audit_channel(ActivityType.ADMIN, request):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        with audit_channel(ActivityType.ADMIN, request):
            return super().delete_view(request, object_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        names = {field.name for field in self.model._meta.get_fields()}
        fields += [name for name in SYSTEM_FIELDS if name in names and name not in fields]
        return fields

    @staticmethod
    def _stamp(obj, user) -> None:
        # Who did it is bookkeeping of the admin itself (UserTrackingMixin), not a business rule.
        if hasattr(obj, "last_modified_by_id"):
            obj.last_modified_by = user
            if obj._state.adding:
                obj.added_by = user

    def save_model(self, request, obj, form, change):
        self._stamp(obj, request.user)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.has_changed():
                self._stamp(inline_form.instance, request.user)
        super().save_formset(request, form, formset, change)

    def construct_change_message(self, request, form, formsets, add=False):
        # Keep the changed field names for log_addition/log_change, which only get the message.
        changed = list(form.changed_data)
        changed += [formset.prefix for formset in formsets or () if formset.has_changed()]
        request._audit_changed_fields = changed
        return super().construct_change_message(request, form, formsets, add)

    def _audit(self, request, obj, action: str, details: dict) -> None:
        if action not in self.service_records:
            activity_record(actor=request.user, action=action, entity=obj, details=details)

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        changed = getattr(request, "_audit_changed_fields", [])
        self._audit(request, obj, ActivityAction.CREATE, {"changed_fields": changed})
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        changed = getattr(request, "_audit_changed_fields", [])
        self._audit(request, obj, ActivityAction.UPDATE, {"changed_fields": changed})
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            self._audit(request, obj, ActivityAction.DELETE, {"changed_fields": [], "object": str(obj)})
        return entries


class AIOutputAdmin(BaseAdmin):
    """The admin of what a model wrote (analyses, signals): read, filtered, exported, never edited.

    AI output changes only through the services that write it; a wrong row is deleted, not
    corrected by hand.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HistoryAdmin(SimpleHistoryAdmin):
    """Show an object's change history with old and new values (django-simple-history).

    Put it before BaseAdmin: `class AssetAdmin(HistoryAdmin, BaseAdmin)`. The history is read,
    never reverted from: a revert would write around the services and their rules.
    """

    def has_change_history_permission(self, request, obj=None):
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyAdmin(BaseAdmin):
    """An admin that shows rows and never adds, changes or deletes them (append-only tables)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CandleChangeList(ChangeList):
    """A changelist that sorts only by the columns its admin offers (`sortable_by`), even from a URL."""

    def get_ordering_field(self, field_name):
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


# Changelist parameters that are not filters.
NOT_FILTERS = {
    ALL_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    IS_POPUP_VAR,
    TO_FIELD_VAR,
    IS_FACETS_VAR,
    ERROR_FLAG,
}


def is_filtered(request) -> bool:
    """Return whether a changelist request narrows the rows (a search or any filter)."""
    return bool(request.GET.get(SEARCH_VAR, "").strip()) or any(key not in NOT_FILTERS for key in request.GET)


class _Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value):
        return value


class StreamedExportMixin:
    """Stream exports row by row from a server-side cursor instead of building them in memory.

    django-import-export builds a whole tablib Dataset; a table of millions of candles does not
    fit. The resource's fields and widgets are kept: each row is the resource's export_resource.
    CSV and JSON stream to the client; XLSX is written by openpyxl's write-only workbook to a
    temporary file (rows beyond Excel's limit are refused with a message).
    """

    export_chunk_size = 2000
    xlsx_row_limit = 1_048_575

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        if not self.has_export_permission(request):
            raise PermissionDenied
        resource = self.choose_export_resource_class(export_form, request)(
            **self.get_export_resource_kwargs(request)
        )
        fields = self.get_export_resource_fields_from_form(export_form)
        headers = resource.get_export_headers(selected_fields=fields)
        rows = (
            resource.export_resource(obj, selected_fields=fields)
            for obj in queryset.iterator(chunk_size=self.export_chunk_size)
        )
        filename = self.get_export_filename(request, queryset, file_format)
        if isinstance(file_format, XLSX):
            response = self._xlsx(headers, rows, filename)
        else:
            body = self._csv(headers, rows) if isinstance(file_format, CSV) else self._json(headers, rows)
            response = StreamingHttpResponse(body, content_type=file_format.get_content_type())
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @staticmethod
    def _csv(headers, rows):
        writer = csv.writer(_Echo())
        yield writer.writerow(headers)
        for row in rows:
            yield writer.writerow(row)

    @staticmethod
    def _json(headers, rows):
        yield "["
        for index, row in enumerate(rows):
            yield ("," if index else "") + json.dumps(dict(zip(headers, row, strict=True)), default=str)
        yield "]"

    def _xlsx(self, headers, rows, filename):
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(headers)
        for count, row in enumerate(rows, start=1):
            if count > self.xlsx_row_limit:
                limit = f"{self.xlsx_row_limit:,}"
                raise ValueError(
                    f"More than {limit} rows do not fit in an XLSX sheet: filter them or export CSV."
                )
            sheet.append([str(value) if isinstance(value, Decimal) else value for value in row])
        file = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
        book.save(file)
        file.seek(0)
        return FileResponse(
            file, as_attachment=True, filename=filename, content_type=XLSX().get_content_type()
        )


class SoftDeletedFilter(admin.SimpleListFilter):
    """Filter soft-deletable rows into live and deleted ones."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "Live"), ("yes", "Deleted"))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class InSampleFilter(admin.SimpleListFilter):
    """Hide rows a model wrote about its own training period unless asked (AIAnalysisMixin.in_sample)."""

    title = "in sample"
    parameter_name = "in_sample"

    def lookups(self, request, model_admin):
        return (("all", "All"), ("yes", "In sample only"))

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Out of sample (default)",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(in_sample=self.value() == "yes")


class RecentRowsFormSet(BaseInlineFormSet):
    """An inline formset that shows only the parent's latest rows (a model may have thousands of jobs)."""

    def get_queryset(self):
        return super().get_queryset()[: self.limit]


class RecentRowsInline(BaseInline):
    """A read-only inline of a parent's `limit` latest rows, each linked to its own change page."""

    formset = RecentRowsFormSet
    limit = 10
    extra = 0
    max_num = 0
    show_change_link = True
    can_delete = False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.limit = self.limit
        return formset

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
