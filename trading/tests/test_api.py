"""Trading endpoints: signals (market data), trades through the accounting service, holding analyses."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ai.tests.factories import AIModelFactory
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.testing.api import MARKET_PERMISSIONS, OWNED_PERMISSIONS, APIViewTestCases
from selection.models import PortfolioAsset
from selection.tests.factories import PortfolioAssetFactory, PortfolioFactory
from trading.choices import TradeStatus
from trading.models import AITradingSignal, PortfolioAssetAnalysis, TradeAction
from trading.tests.factories import AITradingSignalFactory, PortfolioAssetAnalysisFactory, TradeActionFactory
from users.models import UserActivity
from users.tests.factories import UserFactory

API = "/api/v1/"
D = Decimal


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def client(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, track_cash=True, cash_balance=D("1000"))


@pytest.fixture
def asset():
    asset = AssetFactory(symbol="ETH")
    PriceDataFactory(asset=asset, close_price=D("120"), high_price=D("125"))
    return asset


def post_trade(client, portfolio, asset, /, **data):
    payload = {
        "portfolio": portfolio.pk,
        "asset": asset.pk,
        "action_type": "buy",
        "quantity": "2",
        "price": "100",
    }
    return client.post(f"{API}trade-actions/", {**payload, **data}, format="json")


@pytest.mark.django_db
def test_trade_through_the_api_updates_holding_cash_and_totals(client, owner, portfolio, asset):
    bought = post_trade(client, portfolio, asset, fee="2")
    assert bought.status_code == 201, bought.data
    assert bought.data["status"] == "executed" and D(bought.data["total_value"]) == D(200)
    assert bought.data["user"] == owner.pk and bought.data["asset_symbol"] == "ETH"
    sold = post_trade(client, portfolio, asset, action_type="sell", quantity="0.5", price="130", fee="0.5")
    assert sold.status_code == 201, sold.data
    held = PortfolioAsset.objects.get(portfolio=portfolio, asset=asset)
    # Cost 202 for 2 (average 101); selling 0.5 takes out 50.5 and brings 64.5: realized 14.
    assert (held.quantity, held.cost_basis, held.realized_pnl) == (D("1.5"), D("151.5"), D("14"))
    shown = client.get(f"{API}portfolios/{portfolio.pk}/").data
    assert D(shown["cash_balance"]) == D("1000") - D("202") + D("64.5")
    assert D(shown["total_value"]) == D("180") == D(shown["current_value"])  # 1.5 at 120
    assert D(shown["unrealized_pnl"]) == D("28.5")
    holding = client.get(f"{API}holdings/?asset=eth").data["results"][0]
    assert D(holding["unrealized_pnl"]) == D("28.5")
    assert (
        UserActivity.objects.filter(
            user=owner, activity_type="api", entity_type="trading.tradeaction"
        ).count()
        == 2
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action_type": "sell", "quantity": "3"}, "quantity"),  # more than held (nothing)
        ({"quantity": "20"}, "quantity"),  # 2000 > 1000 cash
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "1.123456789"}, "quantity"),  # 9 decimals, the column keeps 8
        ({"price": "0"}, "price"),
        ({"fee": "-1"}, "fee"),
        ({"action_type": "short"}, "action_type"),
        ({"asset": 10**9}, "asset"),
        ({"executed_at": "yesterday"}, "executed_at"),
        ({"executed_at": (timezone.now() + timedelta(days=2)).isoformat()}, "executed_at"),
    ],
)
def test_bad_trades_are_400_naming_the_field_and_change_nothing(client, portfolio, asset, data, field):
    answer = post_trade(client, portfolio, asset, **data)
    assert answer.status_code == 400
    assert field in answer.data, answer.data
    assert not TradeAction.objects.exists()
    assert not PortfolioAsset.objects.exists()
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D("1000")


@pytest.mark.django_db
def test_oversell_through_the_api_leaves_the_holding(client, portfolio, asset):
    post_trade(client, portfolio, asset)
    answer = post_trade(client, portfolio, asset, action_type="sell", quantity="2.00000001")
    assert answer.status_code == 400 and "holds 2" in str(answer.data["quantity"])
    assert PortfolioAsset.objects.get(portfolio=portfolio).quantity == D(2)
    assert TradeAction.objects.count() == 1


@pytest.mark.django_db
def test_trades_in_others_or_deleted_portfolios_are_refused(client, portfolio, asset):
    foreign = post_trade(client, PortfolioFactory(), asset)
    assert foreign.status_code == 400 and "portfolio" in foreign.data
    portfolio.soft_delete()
    deleted = post_trade(client, portfolio, asset)
    assert deleted.status_code == 400 and "portfolio" in deleted.data
    assert not TradeAction.objects.exists()


@pytest.mark.django_db
def test_pending_trade_executes_later_and_then_is_frozen(client, portfolio, asset):
    pending = post_trade(client, portfolio, asset, execute=False)
    assert pending.status_code == 201 and pending.data["status"] == "pending"
    assert not PortfolioAsset.objects.exists()
    url = f"{API}trade-actions/{pending.data['id']}/"
    done = client.post(f"{url}execute/")
    assert done.status_code == 200 and done.data["status"] == "executed"
    assert PortfolioAsset.objects.get(portfolio=portfolio).quantity == D(2)
    again = client.post(f"{url}execute/")
    assert again.status_code == 400 and "status" in again.data
    frozen = client.patch(url, {"quantity": "5", "notes": "x"}, format="json")
    assert frozen.status_code == 400 and "quantity" in frozen.data
    assert client.patch(url, {"notes": "first buy"}, format="json").data["notes"] == "first buy"
    refused = client.delete(url)
    assert refused.status_code == 400 and "status" in refused.data
    # A pending trade can go.
    other = post_trade(client, portfolio, asset, execute=False)
    assert client.delete(f"{API}trade-actions/{other.data['id']}/").status_code == 204
    assert TradeAction.objects.filter(status=TradeStatus.EXECUTED).count() == 1


@pytest.mark.django_db
def test_someone_elses_pending_trade_cannot_be_executed(client, asset):
    trade = TradeActionFactory(asset=asset)
    assert client.post(f"{API}trade-actions/{trade.pk}/execute/").status_code == 404
    trade.refresh_from_db()
    assert trade.status == TradeStatus.PENDING


@pytest.mark.django_db
def test_signal_risk_reward_is_computed(asset):
    admin = UserFactory(role="admin")
    client = APIClient()
    client.force_authenticate(admin)
    data = {
        "asset": asset.pk,
        "ai_model": AIModelFactory().pk,
        "signal_type": "buy",
        "strength": "0.8",
        "entry_price": "100",
        "target_price": "130",
        "stop_loss": "90",
        "generated_at": "2024-05-01T00:00:00Z",
        "expires_at": "2024-05-02T00:00:00Z",
        "risk_reward_ratio": "99",
    }
    answer = client.post(f"{API}trading-signals/", data, format="json")
    assert answer.status_code == 201, answer.data
    assert D(answer.data["risk_reward_ratio"]) == D(3)
    crossed = client.post(f"{API}trading-signals/", {**data, "stop_loss": "110"}, format="json")
    assert crossed.status_code == 400 and "stop_loss" in crossed.data


# The shared API test base -------------------------------------------------------------------------


class AITradingSignalAPITest(APIViewTestCases.APIViewTestCase):
    model = AITradingSignal
    basename = "aitradingsignal"
    query_budget = {"list": 1, "retrieve": 1, "create": 27, "update": 11, "destroy": 7}
    factory = AITradingSignalFactory
    permissions = MARKET_PERMISSIONS
    update_data = {"status": "triggered", "strength": "0.9000"}
    bad_data = [
        ({"signal_type": "moon"}, "signal_type"),
        ({"strength": "1.5"}, "strength"),
        ({"target_price": "95"}, "target_price"),  # a buy whose target is below its entry
        ({"expires_at": "2023-01-01T00:00:00Z"}, "expires_at"),
    ]

    @classmethod
    def get_create_data(cls):
        asset, model = AssetFactory(), AIModelFactory()
        return [
            {
                "asset": asset.pk,
                "ai_model": model.pk,
                "signal_type": "buy",
                "strength": "0.5",
                "entry_price": "100",
                "target_price": str(110 + n),
                "stop_loss": "95",
                "generated_at": f"2024-05-0{n + 1}T00:00:00Z",
                "expires_at": f"2024-05-0{n + 2}T00:00:00Z",
            }
            for n in range(5)
        ]


class TradeActionAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.CreateObjectViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    model = TradeAction
    basename = "tradeaction"
    # trade_action_create is the outermost transaction now that it records the audit row itself.
    query_budget = {"list": 1, "retrieve": 1, "create": 30, "update": 6, "destroy": 6}
    factory = TradeActionFactory  # pending trades: these may be deleted
    owner_field = "portfolio__user"
    public_field = "portfolio__is_public"
    permissions = OWNED_PERMISSIONS
    update_data = {"notes": "rebalancing"}
    creator_role = "owner"

    def create_data(self, role):
        """Buys in the creator's own portfolio (the accounting service adds the holding)."""
        portfolio, asset = PortfolioFactory(user=self.users[role]), AssetFactory()
        return [
            {
                "portfolio": portfolio.pk,
                "asset": asset.pk,
                "action_type": "buy",
                "quantity": str(n + 1),
                "price": "100",
            }
            for n in range(3)
        ]

    def create_object(self, owner=None, **kwargs):
        if owner is not None:
            kwargs.update(portfolio__user=owner, user=owner)
        return self.factory(**kwargs)


class PortfolioAssetAnalysisAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.CreateObjectViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    model = PortfolioAssetAnalysis
    basename = "portfolioassetanalysis"
    query_budget = {"list": 1, "retrieve": 1, "create": 9, "update": 8, "destroy": 5}
    factory = PortfolioAssetAnalysisFactory
    owner_field = "portfolio_asset__portfolio__user"
    public_field = "portfolio_asset__portfolio__is_public"
    permissions = OWNED_PERMISSIONS
    update_data = {"recommendation": "reduce", "summary": "too heavy"}
    creator_role = "owner"

    def create_data(self, role):
        holding, model = PortfolioAssetFactory(portfolio__user=self.users[role]), AIModelFactory()
        return [
            {
                "portfolio_asset": holding.pk,
                "ai_model": model.pk,
                "analysis_time": f"2024-05-0{n + 1}T00:00:00Z",
                "recommendation": "hold",
            }
            for n in range(3)
        ]

    def test_create_for_own_holding_only(self):
        mine = PortfolioAssetFactory(portfolio__user=self.users["owner"])
        theirs = PortfolioAssetFactory(portfolio__user=self.users["other"])
        data = {
            "ai_model": AIModelFactory().pk,
            "analysis_time": "2024-05-01T00:00:00Z",
            "recommendation": "hold",
        }
        self.login("owner")
        self.assert_status(self.client.post(self.list_url(), {**data, "portfolio_asset": mine.pk}), 201)
        answer = self.client.post(self.list_url(), {**data, "portfolio_asset": theirs.pk})
        self.assert_status(answer, 400)
        self.assertIn("portfolio_asset", answer.data)


@pytest.mark.django_db
def test_amounts_beyond_the_columns_are_400_not_500(client, owner, asset):
    untracked = PortfolioFactory(user=owner)
    # Each input fits its column, their product does not fit total_value (22 integer digits).
    huge = post_trade(client, untracked, asset, quantity="9" * 22, price="9" * 20)
    assert huge.status_code == 400 and "quantity" in huge.data, huge.data
    assert not TradeAction.objects.exists()
    # Proceeds beyond the cash column (12 integer digits) are refused too.
    tracked = PortfolioFactory(user=owner, track_cash=True, cash_balance=D("999999999999"))
    PortfolioAssetFactory(portfolio=tracked, asset=asset, quantity=D("10"), cost_basis=D("1"))
    refused = post_trade(client, tracked, asset, action_type="sell", quantity="10", price="1000")
    assert refused.status_code == 400 and "price" in refused.data, refused.data
    assert PortfolioAsset.objects.get(portfolio=tracked).quantity == D("10")
