"""Turn database and model errors that slip past validation into 400/409 answers, never a 500."""

import re

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError, UniqueConstraint
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from cryptopredict.constraints import constraint_index, explain

# SQLite names the constraint in its message; PostgreSQL's driver reports it in diag.
SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    if diag is not None and diag.constraint_name:
        return diag.constraint_name
    message = str(exc)
    if match := SQLITE_CHECK.search(message):
        return match.group(1)
    if match := SQLITE_UNIQUE.search(message):
        # SQLite names the columns, not the constraint: find the constraint over those columns.
        columns = [part.strip() for part in match.group(1).split(",")]
        table = columns[0].split(".")[0]
        names = {column.split(".")[-1] for column in columns}
        for name, (model, constraint) in constraint_index().items():
            if model._meta.db_table == table and isinstance(constraint, UniqueConstraint):
                fields = {model._meta.get_field(f).column for f in constraint.fields}
                if fields == names:
                    return name
    return None


def integrity_error_response(exc: IntegrityError) -> Response:
    """Return 409 for a duplicate and 400 for any other broken rule, naming the constraint."""
    name = _constraint_name(exc)
    found = constraint_index().get(name) if name else None
    unique = isinstance(found[1], UniqueConstraint) if found else "unique" in str(exc).lower()
    body = {"code": "unique_violation" if unique else "constraint_violation", "constraint": name}
    if found:
        model, constraint = found
        fields, text = explain(constraint)
        body["fields"] = fields
        body["detail"] = f"{model._meta.verbose_name} {name} {text}."
    else:
        body["detail"] = "The data breaks a database rule: " + str(exc).splitlines()[0]
    return Response(body, status=status.HTTP_409_CONFLICT if unique else status.HTTP_400_BAD_REQUEST)


def protected_error_response(exc: ProtectedError | RestrictedError) -> Response:
    """Return 409 naming what still refers to the object that was to be deleted."""
    referrers = sorted({obj._meta.verbose_name_plural for obj in exc.protected_objects})
    detail = f"Cannot delete: still referenced by {', '.join(referrers)}."
    return Response({"detail": detail, "code": "protected"}, status=status.HTTP_409_CONFLICT)


def exception_handler(exc, context):
    """Handle DRF's exceptions as DRF does, plus integrity, protected and Django validation errors."""
    if isinstance(exc, DjangoValidationError):
        detail = as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail["non_field_errors"] = detail.pop(NON_FIELD_ERRORS)
        set_rollback()
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    # ProtectedError is an IntegrityError: test it first.
    if isinstance(exc, (ProtectedError, RestrictedError)):
        set_rollback()
        return protected_error_response(exc)
    if isinstance(exc, IntegrityError):
        set_rollback()
        return integrity_error_response(exc)
    return drf_exception_handler(exc, context)
