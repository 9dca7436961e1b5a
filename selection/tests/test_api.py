"""Owners' endpoints of the selection app: the permission matrix of design/api.md, CRUD, lists."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ai.tests.factories import AIModelFactory
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.choices import UserRole
from cryptopredict.testing.api import APIViewTestCases
from selection.models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)
from selection.tests.factories import (
    AIPortfolioAnalysisFactory,
    AIWatchlistAnalysisFactory,
    PortfolioAssetFactory,
    PortfolioFactory,
    WatchlistAssetFactory,
    WatchlistFactory,
)
from trading.tests.factories import PortfolioAssetAnalysisFactory, TradeActionFactory
from users.models import UserActivity
from users.tests.factories import AdminUserFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def make_watchlist(owner, public):
    return WatchlistFactory(user=owner, is_public=public)


def make_portfolio(owner, public):
    return PortfolioFactory(user=owner, is_public=public)


# endpoint -> how to make one object owned by `owner`, public or not (the flag sits on the parent).
OWNED = {
    "watchlists": make_watchlist,
    "portfolios": make_portfolio,
    "watchlist-assets": lambda owner, public: WatchlistAssetFactory(watchlist=make_watchlist(owner, public)),
    "holdings": lambda owner, public: PortfolioAssetFactory(portfolio=make_portfolio(owner, public)),
    "watchlist-analyses": lambda owner, public: AIWatchlistAnalysisFactory(
        watchlist=make_watchlist(owner, public)
    ),
    "portfolio-analyses": lambda owner, public: AIPortfolioAnalysisFactory(
        portfolio=make_portfolio(owner, public)
    ),
    "trade-actions": lambda owner, public: TradeActionFactory(portfolio=make_portfolio(owner, public)),
    "portfolio-asset-analyses": lambda owner, public: PortfolioAssetAnalysisFactory(
        portfolio_asset=PortfolioAssetFactory(portfolio=make_portfolio(owner, public))
    ),
}
# A harmless change each endpoint accepts from the owner.
PATCHES = {
    "watchlists": {"description": "changed"},
    "portfolios": {"description": "changed"},
    "watchlist-assets": {"notes": "changed"},
    "holdings": {"target_allocation": "10.00"},
    "watchlist-analyses": {"summary": "changed"},
    "portfolio-analyses": {"summary": "changed"},
    "trade-actions": {"notes": "changed"},
    "portfolio-asset-analyses": {"summary": "changed"},
}


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ids(answer):
    return {row["id"] for row in answer.data["results"]}


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def other():
    return UserFactory()


@pytest.mark.parametrize("endpoint", OWNED)
def test_anonymous_401_and_guest_403(endpoint, owner):
    obj = OWNED[endpoint](owner, True)
    assert client_for().get(f"{API}{endpoint}/").status_code == 401
    guest = client_for(UserFactory(role=UserRole.GUEST))
    assert guest.get(f"{API}{endpoint}/").status_code == 403
    assert guest.get(f"{API}{endpoint}/{obj.pk}/").status_code == 403
    assert guest.patch(f"{API}{endpoint}/{obj.pk}/", PATCHES[endpoint]).status_code == 403


@pytest.mark.parametrize("endpoint", OWNED)
def test_owner_reads_and_changes_own(endpoint, owner):
    obj = OWNED[endpoint](owner, False)
    client = client_for(owner)
    assert ids(client.get(f"{API}{endpoint}/")) == {obj.pk}
    assert client.get(f"{API}{endpoint}/{obj.pk}/").status_code == 200
    answer = client.patch(f"{API}{endpoint}/{obj.pk}/", PATCHES[endpoint])
    assert answer.status_code == 200, answer.data
    field, value = next(iter(PATCHES[endpoint].items()))
    assert answer.data[field] == value
    # Every API write leaves one audit row.
    activity = UserActivity.objects.get(user=owner, activity_type="api")
    assert (activity.action, activity.entity_id) == ("update", obj.pk)
    assert activity.details["changed_fields"] == [field]


@pytest.mark.parametrize("endpoint", OWNED)
def test_others_objects_read_only_when_public_and_404_otherwise(endpoint, owner, other):
    private, public = OWNED[endpoint](owner, False), OWNED[endpoint](owner, True)
    mine = OWNED[endpoint](other, False)
    client = client_for(other)
    assert ids(client.get(f"{API}{endpoint}/")) == {public.pk, mine.pk}
    assert client.get(f"{API}{endpoint}/{private.pk}/").status_code == 404
    assert client.get(f"{API}{endpoint}/{public.pk}/").status_code == 200
    for obj in (private, public):
        assert client.patch(f"{API}{endpoint}/{obj.pk}/", PATCHES[endpoint]).status_code == 404
        # Holdings are never deleted through the API (405); the rest hide others' rows (404).
        expected = 405 if endpoint == "holdings" else 404
        assert client.delete(f"{API}{endpoint}/{obj.pk}/").status_code == expected
    assert not UserActivity.objects.filter(activity_type="api").exists()


@pytest.mark.parametrize("endpoint", OWNED)
def test_admins_read_all_but_write_only_their_own(endpoint, owner):
    obj = OWNED[endpoint](owner, False)
    admin = client_for(AdminUserFactory())
    assert ids(admin.get(f"{API}{endpoint}/")) == {obj.pk}
    assert admin.get(f"{API}{endpoint}/{obj.pk}/").status_code == 200
    assert admin.patch(f"{API}{endpoint}/{obj.pk}/", PATCHES[endpoint]).status_code == 404


@pytest.mark.parametrize(("endpoint", "model"), [("watchlists", Watchlist), ("portfolios", Portfolio)])
def test_delete_soft_deletes_and_hides_the_children(endpoint, model, owner):
    obj = OWNED[endpoint](owner, False)
    child = "watchlist-assets" if endpoint == "watchlists" else "holdings"
    if endpoint == "watchlists":
        WatchlistAssetFactory(watchlist=obj)
    else:
        PortfolioAssetFactory(portfolio=obj)
    client = client_for(owner)
    assert len(ids(client.get(f"{API}{child}/"))) == 1
    assert client.delete(f"{API}{endpoint}/{obj.pk}/").status_code == 204
    obj.refresh_from_db()
    assert obj.deleted_at is not None and obj.deleted_by == owner
    assert ids(client.get(f"{API}{endpoint}/")) == set()
    assert client.get(f"{API}{endpoint}/{obj.pk}/").status_code == 404
    assert ids(client.get(f"{API}{child}/")) == set()
    # Its name is free again.
    assert client.post(f"{API}{endpoint}/", {"name": obj.name}).status_code == 201


def test_watchlist_crud_and_items(owner):
    client = client_for(owner)
    created = client.post(f"{API}watchlists/", {"name": "Majors", "is_public": True, "is_default": True})
    assert created.status_code == 201, created.data
    assert created.data["user"] == owner.pk
    watchlist = created.data["id"]
    btc = AssetFactory(symbol="BTC")
    item = client.post(
        f"{API}watchlist-assets/",
        {"watchlist": watchlist, "asset": btc.pk, "alert_price_above": "110", "alert_price_below": "90"},
    )
    assert item.status_code == 201, item.data
    assert item.data["asset_symbol"] == "BTC" and item.data["added_by"] == owner.pk
    assert ids(client.get(f"{API}watchlist-assets/?asset=btc")) == {item.data["id"]}
    assert client.put(f"{API}watchlists/{watchlist}/", {"name": "Big caps"}).data["name"] == "Big caps"
    assert client.delete(f"{API}watchlist-assets/{item.data['id']}/").status_code == 204


@pytest.mark.parametrize(
    ("endpoint", "data", "field"),
    [
        ("watchlists", {"name": ""}, "name"),
        ("watchlists", {"name": "x" * 101}, "name"),
        ("watchlists", {"name": "Taken"}, "name"),
        ("watchlists", {"name": "Second", "is_default": True}, "is_default"),
        ("portfolios", {"name": "P", "risk_profile": "reckless"}, "risk_profile"),
        ("portfolios", {"name": "P", "cash_balance": "-1"}, "cash_balance"),
        ("portfolios", {"name": "P", "cash_balance": "abc"}, "cash_balance"),
    ],
)
def test_bad_inputs_are_400_naming_the_field(owner, endpoint, data, field):
    WatchlistFactory(user=owner, name="Taken", is_default=True)
    answer = client_for(owner).post(f"{API}{endpoint}/", data)
    assert answer.status_code == 400
    assert field in answer.data, answer.data


def test_watchlist_item_bad_inputs(owner, other):
    client = client_for(owner)
    watchlist = WatchlistFactory(user=owner)
    asset = AssetFactory()
    base = {"watchlist": watchlist.pk, "asset": asset.pk}
    crossed = client.post(
        f"{API}watchlist-assets/", {**base, "alert_price_above": "90", "alert_price_below": "110"}
    )
    assert crossed.status_code == 400 and "alert_price_below" in crossed.data
    negative = client.post(f"{API}watchlist-assets/", {**base, "target_price": "-5"})
    assert negative.status_code == 400 and "target_price" in negative.data
    # Someone else's watchlist does not exist for you.
    foreign = client.post(f"{API}watchlist-assets/", {**base, "watchlist": WatchlistFactory(user=other).pk})
    assert foreign.status_code == 400 and "watchlist" in foreign.data
    assert client.post(f"{API}watchlist-assets/", base).status_code == 201
    duplicate = client.post(f"{API}watchlist-assets/", base)
    assert duplicate.status_code == 400, duplicate.data


def test_portfolio_and_holdings_show_value_and_unrealized_pnl(owner):
    asset = AssetFactory()
    PriceDataFactory(asset=asset, close_price=Decimal("150"), high_price=Decimal("155"))
    portfolio = PortfolioFactory(user=owner, total_cost_basis=Decimal("200"))
    holding = PortfolioAssetFactory(portfolio=portfolio, asset=asset)  # 2 units for 200
    client = client_for(owner)
    shown = client.get(f"{API}portfolios/{portfolio.pk}/").data
    assert Decimal(shown["current_value"]) == Decimal("300")
    assert Decimal(shown["unrealized_pnl"]) == Decimal("100")
    row = client.get(f"{API}holdings/{holding.pk}/").data
    assert Decimal(row["current_price"]) == Decimal("150")
    assert (Decimal(row["current_value"]), Decimal(row["unrealized_pnl"])) == (Decimal(300), Decimal(100))


def test_holdings_change_only_their_target_allocation(owner):
    holding = PortfolioAssetFactory(portfolio=PortfolioFactory(user=owner))
    client = client_for(owner)
    answer = client.patch(f"{API}holdings/{holding.pk}/", {"quantity": "1000", "target_allocation": "30"})
    assert answer.status_code == 200
    holding.refresh_from_db()
    assert holding.quantity == Decimal("2") and holding.target_allocation == Decimal("30")
    too_much = client.patch(f"{API}holdings/{holding.pk}/", {"target_allocation": "101"})
    assert too_much.status_code == 400 and "target_allocation" in too_much.data
    assert client.post(f"{API}holdings/", {"portfolio": holding.portfolio_id}).status_code == 405
    assert client.delete(f"{API}holdings/{holding.pk}/").status_code == 405


def test_analysis_written_for_own_portfolio_only(owner, other):
    model = AIModelFactory()
    client = client_for(owner)
    mine = PortfolioFactory(user=owner)
    data = {"ai_model": model.pk, "analysis_time": "2024-05-01T00:00:00Z", "risk_score": "40"}
    assert client.post(f"{API}portfolio-analyses/", {**data, "portfolio": mine.pk}).status_code == 201
    theirs = client.post(f"{API}portfolio-analyses/", {**data, "portfolio": PortfolioFactory(user=other).pk})
    assert theirs.status_code == 400 and "portfolio" in theirs.data
    out_of_range = client.post(
        f"{API}portfolio-analyses/", {**data, "portfolio": mine.pk, "risk_score": "140"}
    )
    assert out_of_range.status_code == 400 and "risk_score" in out_of_range.data


@pytest.mark.parametrize("endpoint", OWNED)
def test_list_query_count_does_not_depend_on_rows(endpoint, owner):
    client = client_for(owner)
    OWNED[endpoint](owner, False)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"{API}{endpoint}/?page_size=100").data["results"]) == 1
    for _ in range(24):
        OWNED[endpoint](owner, False)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{API}{endpoint}/?page_size=100").data["results"]) == 25
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


# The same rules through the shared API test base (cryptopredict.testing.api) ------------------------


def owned_matrix(*, creatable: bool = True) -> dict:
    """Return the expected statuses for an object of `owner` that is not public (design/api.md).

    Staff are public users unless they hold the model's view permission, which lets them read all;
    admins read all; nobody but the owner writes it (404, not 403: no existence leak).
    """
    roles = ("anonymous", "guest", "owner", "other", "staff", "staff_with_permission", "admin")

    def row(*codes):
        return dict(zip(roles, codes, strict=True))

    created = 201 if creatable else 405
    return {
        "list": row(401, 403, 200, 200, 200, 200, 200),
        "retrieve": row(401, 403, 200, 404, 404, 200, 200),
        "create": row(401, 403, created, created, created, created, created),
        "partial_update": row(401, 403, 200, 404, 404, 404, 404),
        "destroy": row(401, 403, 204, 404, 404, 404, 404),
    }


class WatchlistAPITest(APIViewTestCases.APIViewTestCase):
    model = Watchlist
    basename = "watchlist"
    factory = WatchlistFactory
    owner_field = "user"
    permissions = owned_matrix()
    update_data = {"name": "Renamed", "is_public": True}
    bad_data = [
        ({"name": ""}, "name"),
        ({"sort_order": "first"}, "sort_order"),
        ({"is_public": "maybe"}, "is_public"),
    ]
    filter_exclusions = ("deleted_at", "deleted_by")

    @classmethod
    def get_create_data(cls):
        return [{"name": f"List {n}", "description": "majors", "sort_order": n} for n in range(5)]


class PortfolioAPITest(APIViewTestCases.APIViewTestCase):
    model = Portfolio
    basename = "portfolio"
    factory = PortfolioFactory
    owner_field = "user"
    permissions = owned_matrix()
    update_data = {"description": "long term", "risk_profile": "aggressive"}
    bad_data = [({"risk_profile": "yolo"}, "risk_profile"), ({"cash_balance": "-1"}, "cash_balance")]
    filter_exclusions = ("deleted_at", "deleted_by")

    @classmethod
    def get_create_data(cls):
        return [{"name": f"Book {n}", "track_cash": True, "cash_balance": "1000.5"} for n in range(5)]


class OwnedChildAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    """Rows hanging from a watchlist or portfolio (created in the pytest tests above)."""

    permissions = owned_matrix()

    # Not collected itself: pytest and unittest skip a base with no model.
    __test__ = False


class WatchlistAssetAPITest(OwnedChildAPITest):
    __test__ = True
    model = WatchlistAsset
    basename = "watchlistasset"
    factory = WatchlistAssetFactory
    owner_field = "watchlist__user"
    update_data = {"notes": "buy the dip", "target_price": "150"}

    def test_duplicate_asset_is_refused_naming_the_asset(self):
        item = WatchlistAssetFactory(watchlist__user=self.users["owner"])
        self.login("owner")
        data = {"watchlist": item.watchlist_id, "asset": item.asset_id}
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 400, "duplicate item")
        self.assertIn("unique_watchlist_asset", str(response.data["asset"]))


class PortfolioAssetAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
):
    model = PortfolioAsset
    basename = "portfolioasset"
    factory = PortfolioAssetFactory
    owner_field = "portfolio__user"
    permissions = owned_matrix(creatable=False)
    update_data = {"target_allocation": "12.50"}


class WatchlistAnalysisAPITest(OwnedChildAPITest):
    __test__ = True
    model = AIWatchlistAnalysis
    basename = "aiwatchlistanalysis"
    factory = AIWatchlistAnalysisFactory
    owner_field = "watchlist__user"
    update_data = {"summary": "concentrated", "risk_score": "55.00"}


class PortfolioAnalysisAPITest(OwnedChildAPITest):
    __test__ = True
    model = AIPortfolioAnalysis
    basename = "aiportfolioanalysis"
    factory = AIPortfolioAnalysisFactory
    owner_field = "portfolio__user"
    update_data = {"summary": "rebalance", "risk_score": "60.00"}
