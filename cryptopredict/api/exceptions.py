"""Every API error is one JSON shape, and errors that slip past validation are 400/409, never 500.

The shape (documented as `Error` in the OpenAPI schema):

    {"detail": "one line for people", "code": "machine_readable", ...}

plus, on a 400 about the input, `field -> [messages]` for each field at fault (`non_field_errors`
for the object as a whole; a nested object's errors nest the same way), and on a 409 what blocks
(`constraint` and `fields`, or `blocked_by`).
"""

import re

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError, UniqueConstraint
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from cryptopredict.constraints import constraint_index, explain

FIELD_ERRORS_DETAIL = "Invalid input: see the fields named."


# SQLite names the constraint in its message; PostgreSQL's driver reports it in diag.
SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")
POSTGRES_KEY = re.compile(r"^Key \(([\w, ]+)\)=")
# The monthly and DEFAULT partitions of a partitioned table (assets.services.partitions).
PARTITION = re.compile(r"_(p\d{6}|default)$")


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    if diag is not None and diag.constraint_name:
        if diag.constraint_name in constraint_index() or not diag.table_name:
            return diag.constraint_name
        # A partition's unique index has a name of its own (price_data_p202403_asset_id_..._key):
        # the rule is the partitioned table's constraint over the columns the detail names.
        match = POSTGRES_KEY.search(diag.message_detail or "")
        table = PARTITION.sub("", diag.table_name)
        found = match and _unique_over(table, {c.strip() for c in match.group(1).split(",")})
        return found or diag.constraint_name
    message = str(exc)
    if match := SQLITE_CHECK.search(message):
        return match.group(1)
    if match := SQLITE_UNIQUE.search(message):
        # SQLite names the columns, not the constraint: find the constraint over those columns.
        columns = [part.strip() for part in match.group(1).split(",")]
        return _unique_over(columns[0].split(".")[0], {column.split(".")[-1] for column in columns})
    return None


def _unique_over(table: str, columns: set[str]) -> str | None:
    """Return the name of the unique constraint of `table` over exactly `columns`, if any."""
    for name, (model, constraint) in constraint_index().items():
        if (
            model._meta.db_table == table
            and isinstance(constraint, UniqueConstraint)
            and {model._meta.get_field(f).column for f in constraint.fields} == columns
        ):
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
    """Return 409 naming the relations that still refer to the object that was to be deleted."""
    # verbose_name_plural is a lazy string: str() it before sorting and joining.
    blocked_by = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
    detail = f"Cannot delete: still referenced by {', '.join(blocked_by)}."
    return Response(
        {"detail": detail, "code": "protected", "blocked_by": blocked_by}, status=status.HTTP_409_CONFLICT
    )


def _first_code(codes) -> str:
    """Return the code of an APIException from DRF's get_codes() ("throttled", "not_found", ...)."""
    if isinstance(codes, dict):
        codes = codes.get("code", codes.get("detail", "error"))
    while isinstance(codes, list) and codes:
        codes = codes[0]
    return codes if isinstance(codes, str) else "error"


def error_body(data, *, code: str = "invalid") -> dict:
    """Return an error answer in the one shape: `detail` and `code`, then any field errors."""
    if isinstance(data, list):
        data = {api_settings.NON_FIELD_ERRORS_KEY: data}
    elif not isinstance(data, dict):
        data = {"detail": str(data)}
    for key in ("detail", "code"):  # ValidationError({"detail": ...}) makes lists of them
        if isinstance(data.get(key), list):
            data = {**data, key: " ".join(str(item) for item in data[key])}
    body = {"detail": data.get("detail", FIELD_ERRORS_DETAIL), "code": data.get("code", code)}
    body.update((key, value) for key, value in data.items() if key not in body)
    return body


def exception_handler(exc, context):
    """Handle DRF's exceptions as DRF does, plus integrity, protected and Django validation errors,
    and answer every one of them in the one shape (see the module docstring)."""
    if isinstance(exc, DjangoValidationError):
        detail = as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        set_rollback()
        return Response(error_body(detail), status=status.HTTP_400_BAD_REQUEST)
    # ProtectedError is an IntegrityError: test it first.
    if isinstance(exc, (ProtectedError, RestrictedError)):
        set_rollback()
        return protected_error_response(exc)
    if isinstance(exc, IntegrityError):
        set_rollback()
        return integrity_error_response(exc)
    if isinstance(exc, exceptions.ParseError):
        # A body that is not JSON is an error of the input as a whole, like any other bad input.
        message = str(exc.detail)
        exc = exceptions.ValidationError(
            {"detail": message, "code": "parse_error", api_settings.NON_FIELD_ERRORS_KEY: [message]}
        )
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(exc, exceptions.ValidationError):
            code = "invalid"
        elif isinstance(exc, exceptions.APIException):
            code = _first_code(exc.get_codes())
        else:  # Django's Http404 and PermissionDenied
            code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = error_body(response.data, code=code)
    return response


def _json_error(status_code: int, detail: str, code: str):
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


def _api(request) -> bool:
    return request.path.startswith("/api/")


# Django's own error views (handler400/403/404/500 in the root URLconf), JSON under /api/.


def bad_request(request, exception):
    """Answer a request Django refused before any view (e.g. a body over the size limit)."""
    if not _api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _json_error(413, "The request body is too large.", "payload_too_large")
    return _json_error(400, "Bad request.", "bad_request")


def permission_denied(request, exception):
    if not _api(request):
        return defaults.permission_denied(request, exception)
    return _json_error(403, "You do not have permission to perform this action.", "permission_denied")


def page_not_found(request, exception):
    if not _api(request):
        return defaults.page_not_found(request, exception)
    return _json_error(404, "Not found.", "not_found")


def server_error(request):
    if not _api(request):
        return defaults.server_error(request)
    return _json_error(500, "Server error: it is logged and will be looked at.", "server_error")
