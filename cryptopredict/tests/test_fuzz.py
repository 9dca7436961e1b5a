"""schemathesis over every operation of the OpenAPI schema: no server error, answers as documented.

Bounded for CI: one example per operation and generation mode by default (valid inputs and
invalid ones), derandomized so a failure reproduces; every operation must have been called. Each
example runs as a fresh administrator (who may do everything, so inputs get past permissions to
validation) with a fresh token after any request that may have changed something, so an example
that logs out, revokes its session or deletes its user does not spoil the next; after a read the
administrator is kept (making one was a fifth of the time).

`FUZZ_EXAMPLES=20 pytest cryptopredict/tests/test_fuzz.py` explores further.
"""

import os
from collections import Counter

import pytest
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_wsgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from assets.tests.factories import AssetFactory, PriceDataFactory
from sectors.tests.factories import SectorFactory
from users.services.auth import session_create
from users.tests.factories import AdminUserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1"))
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def app(settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.SECURE_SSL_REDIRECT = False  # read when the middleware loads: before the app is made
    return get_wsgi_application()


@pytest.fixture
def unthrottled(monkeypatch):
    from rest_framework.settings import api_settings

    for scope in api_settings.DEFAULT_THROTTLE_RATES:
        monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, scope, "100000/min")


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class _Bearer:
    """A fresh administrator's token, made again after any request that was not a read."""

    def __init__(self):
        self.headers: dict[str, str] | None = None

    def get(self) -> dict[str, str]:
        if self.headers is None:
            user = AdminUserFactory(subscription_plan="enterprise")
            self.headers = {"Authorization": f"Bearer {session_create(user=user).access_token}"}
        return self.headers

    def used_for(self, method: str) -> None:
        if method.upper() not in SAFE_METHODS:
            self.headers = None


def _run(operation, mode: GenerationMode, sent: Counter, bearer: _Bearer) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def examples(case):
        headers = bearer.get()
        bearer.used_for(case.method)
        response = case.call(headers=headers)
        sent[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    examples()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_operation_answers_without_server_errors_and_as_documented(app, unthrottled):
    # Something to find, so detail and filter operations get past 404 now and then.
    asset = AssetFactory(symbol="BTC")
    PriceDataFactory(asset=asset)
    SectorFactory(slug="defi")
    schema = from_wsgi("/api/schema/?format=json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    sent: Counter = Counter()
    called: Counter = Counter()  # requests per operation
    failures = {}
    bearer = _Bearer()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            before = sum(sent.values())
            try:
                _run(operation, mode, sent, bearer)
            except Unsatisfiable:  # no invalid input exists for an operation without parameters
                continue
            except Exception as error:  # every operation runs; all failures are listed at the end
                failures[f"{operation.label} ({mode.value})"] = str(error)[:2000]
            finally:
                called[operation.label] += sum(sent.values()) - before
    print(f"\nschemathesis: {len(operations)} operations, {sum(sent.values())} requests, {dict(sent)}")
    assert len(operations) > 100
    assert [op.label for op in operations if not called[op.label]] == []  # every operation was called
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
