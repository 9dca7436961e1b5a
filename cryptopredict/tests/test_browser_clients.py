"""What a browser app on another origin needs: CORS, rate-limit headers, the schema as JSON."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from assets.tests.factories import AssetFactory, PriceDataFactory
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

APP = "http://localhost:3000"


@pytest.fixture(autouse=True)
def _react_app_allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


def test_a_preflight_from_the_app_is_answered_before_authentication():
    response = APIClient().options(
        "/api/v1/assets/BTC/candles/",
        HTTP_ORIGIN=APP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 200  # no token: still not a 401
    assert response["Access-Control-Allow-Origin"] == APP
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Credentials"] == "true"


def test_the_app_logs_in_and_draws_candles_with_cors_headers():
    user = UserFactory(email="react@example.com")
    asset = AssetFactory(symbol="BTC")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    PriceDataFactory(asset=asset, timeframe="1d", candle_time=day)
    browser = APIClient(HTTP_ORIGIN=APP)

    login = browser.post("/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    assert login["Access-Control-Allow-Origin"] == APP
    assert login["Access-Control-Allow-Credentials"] == "true"

    token = login.json()["access_token"]
    candles = browser.get(
        "/api/v1/assets/BTC/candles/", {"timeframe": "1d"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert candles.status_code == 200, candles.content
    assert candles["Access-Control-Allow-Origin"] == APP
    # The app may read the rate-limit headers.
    exposed = candles["Access-Control-Expose-Headers"]
    assert "X-RateLimit-Remaining" in exposed and "Retry-After" in exposed
    assert len(candles.json()) == 1


def test_another_origin_gets_no_cors_headers():
    response = APIClient().get("/api/v1/assets/", HTTP_ORIGIN="http://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_cors_origins_come_from_the_environment(monkeypatch):
    import environ

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://app.example,https://admin.example")
    assert environ.Env().list("CORS_ALLOWED_ORIGINS") == ["https://app.example", "https://admin.example"]
    from django.conf import settings

    assert settings.CORS_URLS_REGEX == r"^/api/.*$"


def test_rate_limit_headers_count_down_and_stand_beside_retry_after(monkeypatch):
    from users.throttling import PlanRateThrottle

    monkeypatch.setattr(
        PlanRateThrottle, "THROTTLE_RATES", {**PlanRateThrottle.THROTTLE_RATES, "plan_free": "2/min"}
    )
    client = APIClient()
    client.force_authenticate(UserFactory(subscription_plan="free"))
    first, second, third = (client.get("/api/v1/assets/") for _ in range(3))
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("2", "1")
    assert second["X-RateLimit-Remaining"] == "0"
    assert 0 < int(second["X-RateLimit-Reset"]) <= 60
    assert third.status_code == 429
    assert third["X-RateLimit-Remaining"] == "0" and int(third["Retry-After"]) > 0
    assert third.json()["code"] == "throttled"


def test_login_answers_carry_the_per_ip_limit():
    response = APIClient().post("/api/v1/auth/login/", {"email": "x@example.com", "password": "x"})
    assert int(response["X-RateLimit-Limit"]) > 0
    assert "X-RateLimit-Remaining" in response


@pytest.mark.parametrize(
    ("query", "headers"), [({"format": "json"}, {}), ({}, {"HTTP_ACCEPT": "application/json"})]
)
def test_the_schema_is_served_as_json_on_request(query, headers):
    response = APIClient().get("/api/schema/", query, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_the_schema_is_yaml_by_default_and_built_once():
    from cryptopredict.api import schema_view

    schema_view._schema.cache_clear()
    assert APIClient().get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
    APIClient().get("/api/schema/", {"format": "json"})
    assert schema_view._schema.cache_info().hits >= 1 and schema_view._schema.cache_info().misses == 1


def test_the_schema_documents_the_one_error_shape():
    schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "code"}
    answers = schema["paths"]["/api/v1/assets/"]["get"]["responses"]
    assert answers["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert answers["400"]["content"]["application/json"]["schema"]["allOf"][0]["$ref"].endswith("/Error")


@pytest.fixture
def admin_client():
    from users.tests.factories import AdminUserFactory

    client = APIClient()
    client.force_authenticate(AdminUserFactory())
    return client


def test_writes_take_an_asset_by_symbol_and_a_sector_by_slug(admin_client):
    from sectors.tests.factories import SectorFactory

    asset = AssetFactory(symbol="ETH")
    sector = SectorFactory(slug="smart-contracts")
    by_name = admin_client.post(
        "/api/v1/sector-mappings/", {"asset": "eth", "sector": "smart-contracts"}, format="json"
    )
    assert by_name.status_code == 201, by_name.content
    assert (by_name.json()["asset"], by_name.json()["sector"]) == (asset.pk, sector.pk)
    by_id = admin_client.patch(f"/api/v1/sector-mappings/{by_name.json()['id']}/", {"asset": asset.pk})
    assert by_id.status_code == 200, by_id.content
    unknown = admin_client.post("/api/v1/sector-mappings/", {"asset": "NOPE", "sector": sector.pk})
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["asset"][0]


def test_a_watchlist_detail_includes_its_items(admin_client):
    from selection.tests.factories import WatchlistAssetFactory, WatchlistFactory

    watchlist = WatchlistFactory(user=admin_client.handler._force_user)
    for symbol in ("AAA", "BBB"):
        WatchlistAssetFactory(watchlist=watchlist, asset=AssetFactory(symbol=symbol))
    detail = admin_client.get(f"/api/v1/watchlists/{watchlist.pk}/")
    assert detail.status_code == 200
    assert sorted(item["asset_symbol"] for item in detail.json()["items"]) == ["AAA", "BBB"]
    listed = admin_client.get("/api/v1/watchlists/").json()["results"][0]
    assert "items" not in listed


def test_the_asset_path_parameter_is_symbol_and_documented():
    schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    operation = schema["paths"]["/api/v1/assets/{symbol}/candles/"]["get"]
    (parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
    assert parameter["name"] == "symbol" and parameter["schema"] == {"type": "string"}
    assert "symbol" in parameter["description"]
    assert "/api/v1/assets/{symbol}/" in schema["paths"]


def test_names_through_optional_relations_are_nullable_in_the_schema():
    components = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)["components"]
    schemas = components["schemas"]
    assert schemas["ModelPredictionJob"]["properties"]["asset_symbol"]["nullable"] is True
    assert schemas["ModelPredictionJob"]["properties"]["sector_slug"]["nullable"] is True
    assert schemas["Sector"]["properties"]["parent_slug"]["nullable"] is True
    assert "nullable" not in schemas["SectorMapping"]["properties"]["asset_symbol"]
