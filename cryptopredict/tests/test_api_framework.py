"""The API framework: health, OpenAPI schema and docs, error handling, pagination, routes."""

import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from assets.models import PriceData
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.api.exceptions import exception_handler
from cryptopredict.api.filters import filter_fields
from users.models import UserActivity
from users.tests.factories import UserFactory, UserSessionFactory, digest

ROUTES = [
    "assets",
    "price-data",
    "price-data-archive",
    "ai-models",
    "model-evaluations",
    "training-jobs",
    "prediction-jobs",
    "metrics-snapshots",
    "regime-analyses",
    "sectors",
    "sector-history",
    "sector-mappings",
    "sector-analyses",
    "cross-sector-analyses",
    "rotation-flows",
]


@pytest.fixture
def guest_client():
    client = APIClient()
    client.force_authenticate(UserFactory(role="guest"))
    return client


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "not configured",
        "stale_series": [],
    }


@pytest.mark.django_db
def test_health_reports_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/api/health/")
    assert response.status_code == 200
    assert response.json()["broker"].startswith("unavailable")


@pytest.mark.postgres
def test_health_is_503_when_the_database_is_unreachable(client, django_db_blocker):
    # No test database and no transaction to flush afterwards: the request connects to a port
    # where nothing listens, for real (unblocked, or pytest-django's refusal would answer 500).
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        with django_db_blocker.unblock():
            response = client.get("/api/health/")
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"].startswith("unavailable")


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_is_served_and_closed_to_anonymous(route, guest_client):
    assert guest_client.get(f"/api/v1/{route}/").status_code == 200
    assert APIClient().get(f"/api/v1/{route}/").status_code == 401


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_schema_documents_error_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.split("/")[3] in ROUTES
        for method, operation in item.items()
    ]
    assert len(operations) > 60
    for path, method, operation in operations:
        codes = set(operation["responses"])
        assert {"401", "403", "429"} <= codes, (path, method)
        if "{" in path:
            assert "404" in codes, (path, method)
        if method in ("post", "put", "patch"):
            assert "400" in codes, (path, method)


@pytest.mark.django_db
def test_schema_and_docs_are_served_offline(client):
    assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in url for url in assets)
    assert all(url.startswith("/") for url in assets), assets


@pytest.mark.django_db
def test_page_number_pagination(guest_client):
    AssetFactory.create_batch(3)
    body = guest_client.get("/api/v1/assets/?page_size=2").json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"]
    for bad in ("0", "abc", "501"):
        response = guest_client.get(f"/api/v1/assets/?page_size={bad}")
        assert response.status_code == 400
        assert "page_size" in response.json()


@pytest.mark.django_db
def test_time_series_pagination_runs_no_count(guest_client):
    PriceDataFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        body = guest_client.get("/api/v1/price-data/?page_size=2").json()
    assert "count" not in body and body["next"]
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.django_db
def test_duplicate_that_slips_past_validation_is_409_naming_the_constraint():
    candle = PriceDataFactory()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        PriceDataFactory(asset=candle.asset, timeframe=candle.timeframe, candle_time=candle.candle_time)
    response = exception_handler(caught.value, {})
    assert response.status_code == 409
    assert response.data["constraint"] == "unique_asset_timeframe_candle"
    assert response.data["fields"] == ["asset", "timeframe", "candle_time"]
    assert "one row per (asset, timeframe, candle_time)" in response.data["detail"]


@pytest.mark.django_db
def test_broken_check_that_slips_past_validation_is_400_explained():
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        PriceDataFactory(high_price=1, low_price=2)
    response = exception_handler(caught.value, {})
    assert response.status_code == 400
    assert response.data["constraint"] == "chk_ohlc_logic"
    assert response.data["fields"] == ["low_price", "open_price", "close_price", "high_price"]
    assert "low_price <= open_price" in response.data["detail"]


def test_filter_fields_give_ranges_on_numbers_and_times_only():
    fields = filter_fields(PriceData)
    assert fields["candle_time"] == ["exact", "gt", "gte", "lt", "lte"]
    assert fields["close_price"] == ["exact", "in", "gt", "gte", "lt", "lte"]
    assert fields["timeframe"] == ["exact", "in"]
    assert fields["asset"] == ["exact", "in"]
    assert fields["vwap"][-1] == "isnull"
    assert "technical_indicators" not in fields


def test_api_urls_are_namespaced():
    assert reverse("api:asset-candles", kwargs={"symbol": "BTC"}) == "/api/v1/assets/BTC/candles/"
    assert reverse("api:sectorrotationflow-list") == "/api/v1/rotation-flows/"


@pytest.mark.django_db
def test_bearer_token_writes_are_audited_with_their_session():
    admin = UserFactory(role="admin")
    session = UserSessionFactory(user=admin, session_token=digest("access-token-for-the-audit-test"))
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Bearer access-token-for-the-audit-test", HTTP_USER_AGENT="tests/1.0"
    )
    response = client.post("/api/v1/sectors/", {"name": "DeFi", "slug": "defi"}, format="json")
    assert response.status_code == 201, response.json()
    activity = UserActivity.objects.get(activity_type="api", action="create")
    assert (activity.user, activity.session, activity.entity_type, activity.entity_id) == (
        admin,
        session,
        "sectors.sector",
        response.json()["id"],
    )
    assert activity.details == {"changed_fields": ["name", "slug"]}
    assert (activity.ip_address, activity.user_agent) == ("127.0.0.1", "tests/1.0")


def test_unknown_api_route_answers_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_a_non_ascii_digit_in_a_detail_url_is_a_404(guest_client):
    AssetFactory(symbol="BTC")
    assert guest_client.get("/api/v1/assets/\u00b2/").status_code == 404
    assert guest_client.get("/api/v1/sectors/\u00b2/").status_code == 404
