"""Hot candle ranges kept in the cache (Redis in production), dropped when the asset's candles change.

A cached page is keyed by the asset's candle version, which every write of the asset's candles
replaces after it commits; pages of the old version are never read again and expire.
"""

import hashlib
import uuid

from django.core.cache import cache
from django.db import transaction

TIMEOUT = 300  # seconds
MAX_BYTES = 2_000_000  # about 20,000 compact candles; longer ranges are not "hot"


def _version_key(asset_id: int) -> str:
    return f"candles:version:{asset_id}"


def _version(asset_id: int) -> str:
    key = _version_key(asset_id)
    version = cache.get(key)
    if version is None:
        # A fresh version, never an old one: pages from before an evicted version stay unreachable.
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return version


def _page_key(asset_id: int, query: tuple) -> str:
    digest = hashlib.blake2b(repr(query).encode(), digest_size=16).hexdigest()
    return f"candles:page:{asset_id}:{_version(asset_id)}:{digest}"


def page_get(asset_id: int, query: tuple):
    """Return the cached page of `query` (a tuple naming the request), or None."""
    return cache.get(_page_key(asset_id, query))


def page_set(asset_id: int, query: tuple, page) -> None:
    """Keep `page` for `query` if it is small enough to be worth a cache entry."""
    if len(page.body) <= MAX_BYTES:
        cache.set(_page_key(asset_id, query), page, timeout=TIMEOUT)


def candles_changed(*, asset_id: int) -> None:
    """Drop the asset's cached ranges once the current transaction commits."""
    transaction.on_commit(lambda: cache.set(_version_key(asset_id), uuid.uuid4().hex, timeout=None))
