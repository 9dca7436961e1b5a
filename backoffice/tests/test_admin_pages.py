"""The admin pages read like a back office: valued portfolios, links, titles, read-only AI output."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from assets.tests.factories import AssetFactory, PriceDataFactory
from macro.tests.factories import AIRegimeAnalysisFactory
from sectors.tests.factories import SectorFactory, SectorMappingFactory
from selection.tests.factories import PortfolioAssetFactory, PortfolioFactory
from trading.tests.factories import AITradingSignalFactory, TradeActionFactory

pytestmark = pytest.mark.django_db


def test_portfolio_totals_include_cash_and_holdings_show_value_and_pnl(admin_client):
    btc = AssetFactory(symbol="BTC")
    PriceDataFactory(asset=btc, high_price=Decimal(200), close_price=Decimal(150))
    # total_cost_basis is the trade service's cached total of the holdings' costs.
    portfolio = PortfolioFactory(
        name="Long-term", cash_balance=Decimal("1000.5"), total_cost_basis=Decimal(200)
    )
    PortfolioAssetFactory(portfolio=portfolio, asset=btc)  # 2 units at cost 200, now 150 each

    page = admin_client.get(reverse("admin:selection_portfolio_changelist")).content.decode()
    assert ">300<" in page and ">1,000.5<" in page and ">1,300.5<" in page and ">+100<" in page
    assert f"?portfolio__id__exact={portfolio.pk}" in page  # to its trades and holdings

    page = admin_client.get(reverse("admin:selection_portfolioasset_changelist")).content.decode()
    assert ">150<" in page and ">300<" in page and ">+100<" in page


def test_cash_is_read_only_once_the_portfolio_exists(admin_client):
    portfolio = PortfolioFactory()
    form = admin_client.get(reverse("admin:selection_portfolio_change", args=[portfolio.pk])).context[
        "adminform"
    ]
    assert "cash_balance" not in form.form.fields


def test_foreign_keys_link_to_their_objects(admin_client):
    signal = AITradingSignalFactory(asset=AssetFactory(symbol="BTC"))
    page = admin_client.get(reverse("admin:trading_aitradingsignal_changelist")).content.decode()
    assert reverse("admin:assets_asset_change", args=[signal.asset.pk]) in page
    assert reverse("admin:ai_aimodel_change", args=[signal.ai_model.pk]) in page


def test_ai_output_is_read_only_and_links_to_its_snapshot_and_model(admin_client):
    analysis = AIRegimeAnalysisFactory()
    response = admin_client.get(reverse("admin:macro_airegimeanalysis_change", args=[analysis.pk]))
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert reverse("admin:macro_metricssnapshot_change", args=[analysis.metrics_snapshot.pk]) in page
    assert reverse("admin:ai_aimodel_change", args=[analysis.ai_model.pk]) in page
    assert '<table class="json-table">' in page  # the probabilities as a labelled table
    assert (
        admin_client.post(reverse("admin:macro_airegimeanalysis_change", args=[analysis.pk]), {}).status_code
        == 403
    )


def test_titles_name_their_objects():
    btc = AssetFactory(symbol="BTC")
    candle = PriceDataFactory(asset=btc, candle_time=datetime(2025, 1, 14, tzinfo=UTC))
    assert str(candle) == "BTC 1d 2025-01-14 00:00 UTC"
    trade = TradeActionFactory(asset=btc, quantity=Decimal("0.5"), price=Decimal("5397.93"))
    assert str(trade) == "buy 0.5 BTC @ 5,397.93"
    mapping = SectorMappingFactory(
        asset=btc, sector=SectorFactory(name="Store of Value"), weight=Decimal("60")
    )
    assert str(mapping) == "Store of Value 60% of BTC"
