"""The export resources of django-import-export: plain decimals and ISO 8601 times in files.

A file is read by programs as much as by people: decimals are exact and without trailing zeros
(97457.5, never 97,457.5 or 97457.500000000000000000), times ISO 8601 with their offset.
"""

from decimal import Decimal

from import_export import fields, resources, widgets


class PlainDecimalWidget(widgets.DecimalWidget):
    def render(self, value, obj=None, **kwargs):
        if not isinstance(value, Decimal):
            return "" if value is None else value
        return format(value.normalize(), "f") if value.is_finite() else str(value)


class IsoDateTimeWidget(widgets.DateTimeWidget):
    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class BaseResource(resources.ModelResource):
    """A ModelResource writing decimals and times as the module docstring says."""

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "DecimalField": PlainDecimalWidget,
        "DateTimeField": IsoDateTimeWidget,
    }


def resource_for(model, *, first: tuple[str, ...] = (), **symbols: str):
    """Return the export resource of `model`; each keyword names a column by a related attribute.

    resource_for(PriceData, asset="asset__symbol") exports the asset's symbol, not its id; the
    columns named in `first` lead, the others follow in the model's order.
    """
    declared = {
        name: fields.Field(attribute=path, column_name=name, readonly=True) for name, path in symbols.items()
    }
    meta = type("Meta", (), {"model": model, "export_order": first})
    return type(f"{model.__name__}Resource", (BaseResource,), {**declared, "Meta": meta})
