"""Read replicas: read-only queries of a read-only request go to a replica, everything else to the primary.

    DATABASE_REPLICA_URLS=postgres://replica1/cp,postgres://replica2/cp

A replica lags its primary, so the router sends a query to one only when nothing in the request
can depend on that lag:

- only inside a GET, HEAD or OPTIONS request (`ReplicaRequestMiddleware`), never in commands,
  Celery tasks or form posts, which read what they are about to write;
- never once the request has written anything, or inside a transaction (a read after a write
  in the same request stays on the primary);
- never for the tables of logging in (users, sessions, auth, content types), which a client
  reads right after writing them in the previous request.
"""

import random
from contextlib import contextmanager
from contextvars import ContextVar

import environ
from django.conf import settings
from django.db import connections

PRIMARY = "default"
PRIMARY_ONLY_APPS = {"users", "sessions", "auth", "contenttypes", "admin"}

# None: replicas not allowed (outside a read-only request); False: allowed; True: pinned by a write.
_pinned: ContextVar[bool | None] = ContextVar("replica_pinned", default=None)


def replica_databases(urls: str, primary: dict) -> dict[str, dict]:
    """Return DATABASES entries `replica_1`, ... for a comma-separated list of database URLs.

    In tests each replica mirrors the primary, so the suite needs no second server.
    """
    replicas = {}
    for number, url in enumerate((u.strip() for u in urls.split(",") if u.strip()), start=1):
        config = environ.Env.db_url_config(url)
        config["CONN_MAX_AGE"] = primary.get("CONN_MAX_AGE", 0)
        config["TEST"] = {"MIRROR": PRIMARY}
        replicas[f"replica_{number}"] = config
    return replicas


@contextmanager
def replica_reads():
    """Let read-only queries inside the block go to a replica until something is written."""
    token = _pinned.set(False)
    try:
        yield
    finally:
        _pinned.reset(token)


class ReplicaRouter:
    """Send reads to a replica when `replica_reads` allows it; writes and migrations to the primary."""

    def __init__(self, replicas=None):
        self.replicas = list(replicas) if replicas is not None else self._configured()

    @staticmethod
    def _configured() -> list[str]:
        return [alias for alias in settings.DATABASES if alias.startswith("replica_")]

    def db_for_read(self, model, **hints):
        if not self.replicas or _pinned.get() is not False:
            return PRIMARY
        if model._meta.app_label in PRIMARY_ONLY_APPS or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return random.choice(self.replicas)

    def db_for_write(self, model, **hints):
        if _pinned.get() is False:
            _pinned.set(True)  # what this request reads from now on may depend on the write
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every alias holds the same data

    def allow_migrate(self, db, app_label, **hints):
        return db == PRIMARY


class ReplicaRequestMiddleware:
    """Allow replica reads for the duration of a GET, HEAD or OPTIONS request."""

    SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in self.SAFE_METHODS:
            return self.get_response(request)
        with replica_reads():
            return self.get_response(request)
