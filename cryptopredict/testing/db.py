"""Rows shared by the tests of a module: made once, rolled back after the module's last test."""

from contextlib import contextmanager

from django.db import transaction


@contextmanager
def rolled_back(django_db_blocker):
    """Open a transaction the module's tests run inside (each in its own savepoint); roll it back.

    Use it in a module-scoped fixture that depends on `django_db_setup`:

        @pytest.fixture(scope="module")
        def shared_market(django_db_setup, django_db_blocker):
            with rolled_back(django_db_blocker):
                yield real_market()

    Only for tests that need no committed rows (not `transaction=True`, no other connection).
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
