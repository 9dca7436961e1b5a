"""Read database constraints back as field names and sentences, for API and admin error messages."""

from functools import cache

from django.apps import apps
from django.db import models
from django.db.models import F, Q

OPERATORS = {
    "exact": "=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "in": "in",
    "regex": "matches",
}


def _operand(value) -> str:
    if isinstance(value, F):
        return value.name
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _term(lookup: str, value) -> str:
    field, _, op = lookup.partition("__")
    op = op or "exact"
    if op == "isnull":
        return f"{field} is {'' if value else 'not '}null"
    if op == "range":
        return f"{field} between {_operand(value[0])} and {_operand(value[1])}"
    return f"{field} {OPERATORS.get(op, op)} {_operand(value)}"


def describe(condition: Q) -> str:
    """Return a condition as a sentence such as `low_price <= open_price and volume >= 0`."""
    joiner = f" {condition.connector.lower()} "
    parts = []
    for child in condition.children:
        if isinstance(child, Q):
            text = describe(child)
            parts.append(f"({text})" if len(child.children) > 1 and not child.negated else text)
        else:
            parts.append(_term(*child))
    text = joiner.join(parts)
    return f"not ({text})" if condition.negated else text


def referenced_fields(condition: Q) -> list[str]:
    """Return the field names a condition reads, in order of appearance, without repeats."""
    names: list[str] = []
    for child in condition.children:
        if isinstance(child, Q):
            found = referenced_fields(child)
        else:
            lookup, value = child
            found = [lookup.split("__")[0]] + ([value.name] if isinstance(value, F) else [])
        names.extend(name for name in found if name not in names and name != "pk")
    return names


def explain(constraint: models.BaseConstraint) -> tuple[list[str], str]:
    """Return the fields a constraint covers and one sentence saying what it requires."""
    if isinstance(constraint, models.CheckConstraint):
        fields = referenced_fields(constraint.condition)
        # Nullable columns add "x is null or ..." alternatives: the rule is the rest.
        text = describe(constraint.condition)
        return fields, f"requires {text}"
    if isinstance(constraint, models.UniqueConstraint):
        fields = list(constraint.fields)
        text = f"allows one row per ({', '.join(fields)})"
        if constraint.condition is not None:
            text += f" where {describe(constraint.condition)}"
        return fields, text
    return [], "is violated"


@cache
def constraint_index() -> dict[str, tuple[type[models.Model], models.BaseConstraint]]:
    """Return every named constraint of every installed model, by name."""
    index = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            index[constraint.name] = (model, constraint)
    return index
