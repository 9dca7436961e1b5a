"""The bad-input corpus: inputs that once answered 500 answer 400 (404, 409, 413) naming the problem.

Every list endpoint is walked with the filters its FilterSet declares, so a new endpoint or filter
is covered without a line here.
"""

import base64
import json

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import get_resolver
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.test import APIClient

from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.api.filters import (
    IdOrSlugFilter,
    IPAddressFilter,
    UTCDateTimeFilter,
    WholeNumberFilter,
    secret_fields,
)
from cryptopredict.api.parsers import MAX_DEPTH
from sectors.tests.factories import SectorFactory
from selection.tests.factories import WatchlistFactory
from users.models import UserActivity
from users.tests.factories import AdminUserFactory, UserFactory, UserSessionFactory

pytestmark = pytest.mark.django_db

OFFSET_TOO_LARGE = "2024-01-01T00:00:00+20:00"
EDGE_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")


def _list_views():
    """Yield (url, viewset) for every list route of /api/v1/."""
    seen = set()

    def walk(resolver, prefix):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern, prefix + str(pattern.pattern))
                continue
            cls = getattr(pattern.callback, "cls", None)
            actions = getattr(pattern.callback, "actions", None) or {}
            route = prefix + str(pattern.pattern)
            if cls is None or actions.get("get") != "list" or "(?P<format>" in route or cls in seen:
                continue
            seen.add(cls)
            yield "/" + route.replace("^", "").replace("$", ""), cls

    yield from walk(get_resolver(), "")


LIST_VIEWS = sorted(_list_views(), key=lambda item: item[0])


def _filters(view):
    filterset_class = getattr(view, "filterset_class", None)
    return filterset_class.base_filters if filterset_class else {}


@pytest.fixture
def admin_client():
    client = APIClient()
    # The enterprise plan: the corpus sends more requests a minute than the free plan allows.
    client.force_authenticate(AdminUserFactory(subscription_plan="enterprise"))
    return client


def _assert_names(response, status, name):
    body = response.json()
    assert response.status_code == status, (response.request["QUERY_STRING"], response.status_code, body)
    assert {"detail", "code"} <= body.keys(), body
    if name is not None:
        assert name in body, body


def test_the_corpus_walks_every_list_endpoint():
    assert len(LIST_VIEWS) >= 25
    assert any(url.endswith("/user-activities/") for url, _ in LIST_VIEWS)


def _first(view, kind):
    """Return the name of the view's first filter of `kind` (one per kind keeps the walk quick:
    the kinds themselves are checked for every filter by test_every_filter_checks_its_values)."""
    return next((name for name, filter_ in _filters(view).items() if _kind(filter_) == kind), None)


def _kind(filter_) -> str | None:
    if isinstance(filter_, UTCDateTimeFilter):
        return "time"
    if isinstance(filter_, WholeNumberFilter):
        return "integer"
    if isinstance(filter_, IPAddressFilter):
        return "ip"
    return None


@pytest.mark.parametrize(("url", "view"), LIST_VIEWS, ids=[url for url, _ in LIST_VIEWS])
def test_bad_filter_values_are_400_naming_the_filter(url, view, admin_client):
    bad = {
        "time": ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"],
        "integer": ["1e400", "99999999999999999999999"],
        "ip": ["999.1.1.1"],
    }
    for kind, values in bad.items():
        if name := _first(view, kind):
            for value in values:
                _assert_names(admin_client.get(url, {name: value}), 400, name)
    if name := _first(view, "time"):
        assert admin_client.get(url, {name: OFFSET_TOO_LARGE}).status_code == 200
    _assert_names(admin_client.get(url, {"search": "a\x00b"}), 400, "search")
    _assert_names(admin_client.get(url, {"ordering": "no_such_field"}), 400, "ordering")


def test_every_filter_checks_its_values():
    """Every time, integer and IP filter of every list is of the checking kind."""
    for url, view in LIST_VIEWS:
        model = view.queryset.model
        for name, filter_ in _filters(view).items():
            if filter_.lookup_expr in ("isnull",) or not filter_.field_name:
                continue
            try:
                field = model._meta.get_field(filter_.field_name.split("__")[0])
            except FieldDoesNotExist:
                continue
            if "__" in filter_.field_name or isinstance(filter_, IdOrSlugFilter):
                continue
            target = field.target_field if field.many_to_one else field
            if isinstance(target, models.DateTimeField):
                assert isinstance(filter_, UTCDateTimeFilter), (url, name)
            elif isinstance(target, (models.IntegerField, models.AutoField)):
                assert isinstance(filter_, WholeNumberFilter), (url, name)
            elif isinstance(target, models.GenericIPAddressField):
                assert isinstance(filter_, IPAddressFilter), (url, name)


def test_an_id_or_symbol_filter_beyond_any_id_finds_nothing(admin_client):
    WatchlistFactory(user=admin_client.handler._force_user)
    response = admin_client.get("/api/v1/watchlist-assets/", {"asset": "99999999999999999999999"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_a_far_utc_offset_is_normalised_not_a_database_error(admin_client):
    UserActivity.objects.create(user=AdminUserFactory(), activity_type="api", action="update")
    # 2024-01-01T20:00+20:00 is 2024-01-01T00:00Z: the row made now is after it.
    response = admin_client.get("/api/v1/user-activities/", {"created_at__gt": "2024-01-01T20:00:00+20:00"})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(("url", "view"), LIST_VIEWS, ids=[url for url, _ in LIST_VIEWS])
def test_no_secret_column_is_orderable_or_filterable(url, view):
    model = view.queryset.model
    secrets = secret_fields(model)
    ordering = {name.lstrip("-").split("__")[0] for name in view.ordering_fields or ()}
    assert not ordering & secrets, (url, ordering & secrets)
    filtered = {f.field_name.split("__")[0] for f in _filters(view).values() if f.field_name}
    assert not filtered & secrets, (url, filtered & secrets)
    searched = {name.lstrip("^=@$").split("__")[0] for name in getattr(view, "search_fields", ()) or ()}
    assert not searched & secrets, (url, searched & secrets)
    assert DjangoFilterBackend in view.filter_backends or not _filters(view)


def test_the_token_digests_are_declared_secret():
    from users.models import User, UserSession

    assert {"session_token", "refresh_token"} <= secret_fields(UserSession)
    assert {"password", "reset_password_token", "email_verification_token"} <= secret_fields(User)


@pytest.mark.parametrize("field", ["session_token", "refresh_token", "-refresh_token"])
def test_ordering_sessions_by_a_token_digest_is_refused(field):
    user = UserFactory()
    UserSessionFactory(user=user)
    client = APIClient()
    client.force_authenticate(user)
    _assert_names(client.get("/api/v1/auth/sessions/", {"ordering": field}), 400, "ordering")


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "url", ["/api/v1/user-activities/", "/api/v1/price-data/", "/api/v1/price-data-archive/"]
)
@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("p=abc"),
        _cursor("p=99999999999999999999999999"),
        _cursor("p=2024-01-01T00:00:00%2B20:00x"),
        _cursor("p=9999-12-31T23:59:59-12:00"),
        _cursor("o=-1"),
        _cursor("r=x"),
        "not base64!",
        base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_tampered_cursor_is_400_naming_cursor(url, cursor, admin_client):
    PriceDataFactory()
    UserActivity.objects.create(user=AdminUserFactory(), activity_type="api", action="update")
    _assert_names(admin_client.get(url, {"cursor": cursor}), 400, "cursor")


def test_a_cursor_made_here_still_works(admin_client):
    for _ in range(3):
        PriceDataFactory()
    first = admin_client.get("/api/v1/price-data/", {"page_size": 2}).json()
    second = admin_client.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 1


def _post(client, url, text: str, **extra):
    return client.generic("POST", url, text.encode("utf-8", "surrogatepass"), "application/json", **extra)


def test_deeply_nested_json_is_400_everywhere_including_anonymous_login(admin_client):
    deep = "[" * 100_000 + "]" * 100_000
    _assert_names(_post(APIClient(), "/api/v1/auth/login/", deep), 400, "non_field_errors")
    _assert_names(_post(admin_client, "/api/v1/sectors/", deep), 400, "non_field_errors")
    nested = json.dumps({"name": "x", "slug": "x", "metadata": _nested(MAX_DEPTH + 5)})
    _assert_names(_post(admin_client, "/api/v1/sectors/", nested), 400, "non_field_errors")


def _nested(depth: int):
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_an_infinite_number_in_a_key_or_integer_field_is_400_naming_it(number, admin_client):
    watchlist = WatchlistFactory(user=admin_client.handler._force_user)
    body = f'{{"watchlist": {watchlist.pk}, "asset": {number}}}'
    _assert_names(_post(admin_client, "/api/v1/watchlist-assets/", body), 400, "asset")
    body = f'{{"name": "A", "slug": "a", "parent": {number}}}'
    _assert_names(_post(admin_client, "/api/v1/sectors/", body), 400, "parent")


def test_an_integer_beyond_any_column_is_400_naming_the_field(admin_client):
    watchlist = WatchlistFactory(user=admin_client.handler._force_user)
    body = f'{{"watchlist": {watchlist.pk}, "asset": 99999999999999999999999999}}'
    _assert_names(_post(admin_client, "/api/v1/watchlist-assets/", body), 400, "asset")


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\u0000b"'])
def test_a_lone_surrogate_or_nul_in_a_choice_or_text_field_is_400_naming_it(text, admin_client):
    body = f'{{"symbol": "ZZZ", "name": "Z", "asset_type": {text}}}'
    _assert_names(_post(admin_client, "/api/v1/assets/", body), 400, "asset_type")
    _assert_names(
        _post(APIClient(), "/api/v1/auth/login/", f'{{"email": {text}, "password": "x"}}'), 400, "email"
    )


def test_a_nul_in_a_url_slug_is_404(admin_client):
    AssetFactory(symbol="BTC")
    response = admin_client.get("/api/v1/assets/BT%00C/")
    _assert_names(response, 404, None)
    response = admin_client.get("/api/v1/sectors/a%00b/")
    _assert_names(response, 404, None)


def test_invalid_json_is_a_400_with_field_errors_in_the_one_shape(admin_client):
    response = _post(admin_client, "/api/v1/sectors/", "{not json")
    _assert_names(response, 400, "non_field_errors")
    assert response.json()["code"] == "parse_error"


def test_a_body_over_the_limit_is_413_json(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _post(admin_client, "/api/v1/sectors/", json.dumps({"name": "x" * 2000}))
    _assert_names(response, 413, None)
    assert response.json()["code"] == "payload_too_large"


def test_protected_delete_is_409_naming_the_blocking_relations(admin_client):
    from macro.tests.factories import AIRegimeAnalysisFactory

    analysis = AIRegimeAnalysisFactory()
    response = admin_client.delete(f"/api/v1/ai-models/{analysis.ai_model_id}/")
    _assert_names(response, 409, "blocked_by")
    assert response.json()["blocked_by"] == ["AI regime analyses"]
    assert response.json()["code"] == "protected"


def test_protected_error_names_lazy_verbose_names():
    from django.db.models import ProtectedError

    from cryptopredict.api.exceptions import protected_error_response

    sector = SectorFactory()
    response = protected_error_response(ProtectedError("x", {sector}))
    assert response.status_code == 409
    assert response.data["blocked_by"] == ["sectors"]
    assert response.data["detail"] == "Cannot delete: still referenced by sectors."


def test_every_error_answer_has_detail_and_code(admin_client):
    answers = [
        APIClient().get("/api/v1/assets/"),  # 401
        admin_client.get("/api/v1/assets/999999/"),  # 404
        admin_client.post("/api/v1/assets/", {}, format="json"),  # 400 field errors
        admin_client.get("/api/v1/nowhere/"),  # 404 outside the routers
    ]
    for response in answers:
        body = response.json()
        assert isinstance(body["detail"], str) and isinstance(body["code"], str), body
    assert "symbol" in answers[2].json()


EDGE_CANDLES = [
    {"candle_time": time, "open": "1", "high": "2", "low": "0.5", "close": "1.5", "volume": "1"}
    for time in ("0001-01-01T00:00:00+14:00", "2024-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00")
]


def test_edge_times_in_the_candle_post_are_rejected_rows(admin_client):
    AssetFactory(symbol="BTC")
    response = admin_client.post("/api/v1/assets/BTC/candles/?timeframe=1d", EDGE_CANDLES, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["inserted"] == 1
    assert [row["index"] for row in body["rejected"]] == [0, 2]
    assert all("outside the times" in row["errors"]["candle_time"][0] for row in body["rejected"])


def test_edge_times_in_an_import_are_rejected_lines_and_the_good_rows_kept(tmp_path):
    from assets.services.importing import candles_import

    path = tmp_path / "edge.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [
        f"{c['candle_time']},{c['open']},{c['high']},{c['low']},{c['close']},{c['volume']}"
        for c in EDGE_CANDLES
    ]
    path.write_text("\n".join(lines) + "\n")
    report = candles_import(path=path, asset=AssetFactory(symbol="EDGE"), timeframe="1d")
    assert report.inserted == 1
    assert sorted(r.line for r in report.rejected) == [2, 4]
    assert all("outside the times" in r.reason() for r in report.rejected)
