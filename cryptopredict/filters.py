"""Changelist filters an analyst expects: a related object by autocomplete, timeframes that exist."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from cryptopredict.choices import Timeframe

FILTER_JS = ["cryptopredict/autocomplete_filter.js"]


class AutocompleteFilter(admin.RelatedFieldListFilter):
    """Filter by one related object picked with the admin's autocomplete (select2), not a list.

    A list of every asset would be long; the autocomplete asks the related admin's search. The
    related model's admin needs search_fields, as for autocomplete_fields.
    """

    template = "admin/cryptopredict/autocomplete_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.widget = AutocompleteSelect(field, model_admin.admin_site)
        self.model_admin = model_admin

    def field_choices(self, field, request, model_admin):
        return []  # the choices come from the autocomplete view, not from a list of every object

    def has_output(self):
        return True

    def widget_html(self):
        value = self.lookup_val[0] if self.lookup_val else None
        attrs = {"id": f"filter-{self.field_path}", "data-filter-param": self.lookup_kwarg}
        # The widget renders only the chosen object, looked up through a ModelChoiceField's choices.
        self.widget.choices = forms.ModelChoiceField(
            self.field.remote_field.model._default_manager.all()
        ).choices
        return self.widget.render(self.lookup_kwarg, value or None, attrs=attrs)

    @staticmethod
    def widget_media(model, field_path: str, admin_site) -> forms.Media:
        field = model._meta.get_field(field_path)
        return AutocompleteSelect(field, admin_site).media + forms.Media(
            js=["cryptopredict/autocomplete_filter.js"]
        )


class ExistingTimeframeFilter(admin.SimpleListFilter):
    """Offer only the timeframes present in the table: those the admin's `timeframes_present()`
    names, else one index probe per timeframe."""

    title = "timeframe"
    parameter_name = "timeframe__exact"

    def lookups(self, request, model_admin):
        if hasattr(model_admin, "timeframes_present"):
            present = set(model_admin.timeframes_present())
        else:
            manager = model_admin.model._default_manager
            present = {value for value in Timeframe.values if manager.filter(timeframe=value).exists()}
        return [(value, label) for value, label in Timeframe.choices if value in present]

    def queryset(self, request, queryset):
        return queryset.filter(timeframe=self.value()) if self.value() else queryset
