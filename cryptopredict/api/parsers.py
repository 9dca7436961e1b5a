"""The API's JSON parser: refuse, with a 400 naming the place, what no endpoint could store.

DRF's JSONParser hands on anything `json.load` accepts. Some of that fails far from the parser
as a 500: `1e400` becomes infinity (OverflowError in an integer or key field), a lone surrogate
cannot be rendered back in an error message, a NUL byte cannot be stored by PostgreSQL, and
deep nesting ends in RecursionError. They are refused here, once for every endpoint.
"""

import codecs
import json
import math

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.settings import api_settings

# Deeper than any payload of the API (a candle list is 2 levels, a JSON column a few more).
MAX_DEPTH = 32


# Here, not in .exceptions: that module imports rest_framework.views, whose APIView reads
# DEFAULT_PARSER_CLASSES (this module) as it is defined, a cycle when this module is imported first.
class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than {limit} bytes.")


def _string_error(text: str) -> str | None:
    if "\x00" in text:
        return "Null characters are not allowed."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Contains a lone surrogate (not valid Unicode)."
    return None


def _path(parts: list) -> str:
    """Return a place in the document as a field name: `asset`, `rows.3.close`."""
    return ".".join(str(part) for part in parts) or api_settings.NON_FIELD_ERRORS_KEY


def check_document(data) -> None:
    """Raise ValidationError naming the first string or number that cannot be stored (a NUL, a lone
    surrogate, an infinite or NaN number), or ParseError when
    the document nests deeper than MAX_DEPTH. Walks iteratively: no recursion to run out of."""
    stack = [(data, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            if error := _string_error(value):
                raise ValidationError({_path(path): [error]})
        elif isinstance(value, float) and not math.isfinite(value):
            # 1e400 reads as infinity; NaN and Infinity are not JSON at all.
            raise ValidationError({_path(path): ["A number out of range (or not a number)."]})
        elif isinstance(value, dict):
            for key, item in value.items():
                if error := _string_error(key):
                    raise ValidationError({_path(path) if path else "non_field_errors": [f"Key: {error}"]})
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, index]) for index, item in enumerate(value))


class JSONParser(parsers.JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes, with finite numbers and storable text."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        if limit is not None and request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise PayloadTooLarge(limit)
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read(-1 if limit is None else limit + 1)
            if limit is not None and len(text) > limit:
                raise PayloadTooLarge(limit)
            data = json.loads(text)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
        check_document(data)
        return data
