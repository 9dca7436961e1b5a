"""One lock per fetched series, so that two overlapping runs never fetch or write it twice.

PostgreSQL: a session-level advisory lock, released by the server when the holder's connection
ends (a killed worker cannot leave it behind). Other databases: an entry added to the cache
(atomic on Redis and Memcached), expiring after SYNC_LOCK_TIMEOUT_SECONDS.
"""

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import connection


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def series_lock(name: str) -> Iterator[bool]:
    """Try to take the lock `name` without waiting; yield whether this caller holds it."""
    if connection.vendor == "postgresql":
        key = _advisory_key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    entry, token = f"series-lock:{name}", uuid.uuid4().hex
    held = cache.add(entry, token, timeout=settings.SYNC_LOCK_TIMEOUT_SECONDS)
    try:
        yield held
    finally:
        if held and cache.get(entry) == token:
            cache.delete(entry)
