"""What every source client shares: one-line errors naming the source, retries with backoff.

A request is retried on a timeout, a dropped connection, a 5xx and a 429, waiting
SOURCE_BACKOFF_SECONDS x 2^attempt (capped at SOURCE_BACKOFF_MAX_SECONDS) or, when the source
says so, its `Retry-After`. Anything else the source answers (400, 401, 404, a body that is no
JSON) fails at once: asking again would get the same answer.
"""

import logging
import time
from decimal import Decimal
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


class SourceError(Exception):
    """A source failed; str() is one line naming the source and what failed."""

    def __init__(self, source: str, message: str):
        super().__init__(f"{source}: {message}")
        self.source = source


class SourceUnavailable(SourceError):
    """The source timed out, dropped the connection or answered 5xx / 429, and kept doing so
    through every retry: worth trying again later (tasks retry it)."""


class SourceNotFound(SourceError):
    """The source has no such resource (404): an archive month not published yet, an unknown id."""


def sleep(seconds: float) -> None:
    """Wait between attempts (module-level, so that tests record the waits instead of sleeping)."""
    time.sleep(seconds)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Return the wait before retry number `attempt` (0-based): the source's Retry-After if given."""
    ceiling = settings.SOURCE_BACKOFF_MAX_SECONDS
    if retry_after is not None:
        return min(max(retry_after, 0.0), ceiling)
    return min(settings.SOURCE_BACKOFF_SECONDS * 2**attempt, ceiling)


def retry_after_seconds(headers) -> float | None:
    """Return a Retry-After header (seconds or an HTTP date) in seconds, None when absent or unreadable."""
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    value = str(value).strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return (parsedate_to_datetime(value) - timezone.now()).total_seconds()
    except (TypeError, ValueError):
        return None


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[:limit]}..."


class HttpClient:
    """A JSON/bytes client of one source over `requests`, with the retry policy above."""

    source = "http"

    def __init__(self, base_url: str, *, headers: dict | None = None, timeout: float | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if timeout is not None else settings.SOURCE_TIMEOUT_SECONDS
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "CryptoPredict"
        self.session.headers.update(headers or {})

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: dict | None = None) -> requests.Response:
        """GET `path` (relative to the base URL), retrying what is transient; return a 2xx response."""
        retries = settings.SOURCE_RETRIES
        what = f"GET {path.split('?')[0]}"
        for attempt in range(retries + 1):
            retry_after = None
            try:
                response = self.session.get(self.url(path), params=params, timeout=self.timeout)
                # Read the whole body here, so that a connection dropped mid-body is retried too.
                response.content  # noqa: B018
            except requests.Timeout:
                problem = f"{what} timed out after {self.timeout:g}s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"{what} failed: connection error ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status == 404:
                    raise SourceNotFound(self.source, f"{what} answered 404 (not found)")
                if status != 429 and status < 500:
                    raise SourceError(self.source, f"{what} answered {status}: {_short(response.text)}")
                problem = f"{what} answered {status}"
                retry_after = retry_after_seconds(response.headers)
            if attempt == retries:
                raise SourceUnavailable(self.source, f"{problem} ({retries + 1} attempts)")
            wait = backoff_seconds(attempt, retry_after)
            logger.warning("%s: %s; retrying in %.1fs", self.source, problem, wait)
            sleep(wait)
        raise AssertionError("unreachable")

    def get_json(self, path: str, params: dict | None = None):
        """GET `path` and return its JSON document (numbers with a fraction as Decimal)."""
        response = self.get(path, params)
        try:
            return response.json(parse_float=Decimal)
        except ValueError:
            raise SourceError(
                self.source, f"GET {path.split('?')[0]} answered no JSON: {_short(response.text)}"
            ) from None
