"""seed_demo: loads the shipped demo data, prints a generated password once, runs twice the same.

The whole demo (every layer's models trained, run and evaluated on the real history) is seeded once
for this module, in a transaction rolled back at its end, and on PostgreSQL only: it is the
slowest thing the suite does, and the production database is PostgreSQL.
"""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count

from ai.models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from assets.models import Asset, PriceData
from assets.services.partitions import default_months
from cryptopredict.choices import JobStatus
from demo.ai import BUILT_IN
from demo.steps import demo_accounts
from sectors.models import Sector, SectorMapping
from selection.models import Portfolio
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
# Filled by the demo: every layer's analyses, signals and evaluations included.
FILLED = [
    model
    for app in ("assets", "ai", "macro", "sectors", "selection", "trading")
    for model in apps.get_app_config(app).get_models()
    if model.__name__ not in {"PriceDataArchive", "AssetDeletion"}  # archiving and deleting are not demoed
]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "users": sorted(User.objects.values_list("email", "is_staff", "role")),
        "assets": sorted(Asset.objects.values_list("symbol", "quote_currency", "current_price")),
        "candles": sorted(
            PriceData.objects.order_by().values_list("asset__symbol", "timeframe").annotate(n=Count("id"))
        ),
        "sectors": sorted(Sector.objects.values_list("slug", "asset_count")),
        "mappings": sorted(
            SectorMapping.objects.values_list("asset__symbol", "sector__slug", "weight", "is_primary")
        ),
        "rows": {model.__name__: model.objects.count() for model in FILLED},
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed the demo once for the module (and roll it back after); return the command's output."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEMO_ADMIN_EMAIL", raising=False)
        patch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
        patch.setattr(settings, "MODEL_ARTIFACTS_DIR", tmp_path_factory.mktemp("artifacts"))
        with django_db_blocker.unblock(), transaction.atomic():
            yield seed()
            transaction.set_rollback(True)


def test_seed_demo_twice_is_idempotent(seeded):
    first = seeded
    assert "admin@cryptopredict.local created with password" in first
    password = first.split("admin@cryptopredict.local created with password ")[1].split(" ")[0]
    admin = User.objects.get(email="admin@cryptopredict.local")
    assert admin.is_superuser and admin.check_password(password)
    state = snapshot()
    second = seed()
    assert "created with password" not in second and "admin@cryptopredict.local exists" in second
    assert "0 written" in second
    assert snapshot() == state
    candles = {(symbol, tf): n for symbol, tf, n in state["candles"]}
    assert candles[("BTC", "1d")] == 4278 and candles[("ETH", "1d")] == 3448
    assert (candles[("ETHBTC", "5m")], candles[("ADABTC", "5m")], candles[("TRXBTC", "5m")]) == (
        5760,
        5720,
        5754,
    )
    assert candles[("ETHBTC", "1h")] == 479
    assert dict((s, q) for s, q, _ in state["assets"]) == {
        "BTC": "USD", "ETH": "USD", "ETHBTC": "BTC", "ADABTC": "BTC", "TRXBTC": "BTC",
    }  # fmt: skip
    assert all(price is not None for *_, price in state["assets"])
    assert not default_months(model=PriceData)  # every demo candle sits in its month's partition
    assert Asset.objects.get(symbol="BTC").market_cap_rank == 1  # from the CoinGecko markets file
    assert len(state["sectors"]) == 4 and all(count > 0 for _, count in state["sectors"])
    assert User.objects.filter(role="public").count() == 2
    assert [name for name, rows in state["rows"].items() if not rows] == []
    portfolio = Portfolio.objects.get(user__email="alice@cryptopredict.local")
    assert portfolio.trade_actions.count() == 4 and portfolio.holdings.count() == 2


def test_seed_demo_loads_real_btc_ohlc_and_marks_price_points(seeded):
    btc = PriceData.objects.filter(asset__symbol="BTC", timeframe="1d")
    binance = (datetime(2017, 8, 17, tzinfo=UTC), datetime(2023, 12, 5, tzinfo=UTC))
    assert btc.filter(is_price_point=False).count() == 2302 == btc.filter(candle_time__range=binance).count()
    assert not btc.filter(is_price_point=False).exclude(candle_time__range=binance).exists()
    assert not PriceData.objects.filter(asset__symbol="ETH", is_price_point=False).exists()
    real = btc.get(candle_time=datetime(2020, 3, 16, tzinfo=UTC))
    assert real.high_price > real.low_price and real.market_cap  # Binance's range, CoinGecko's cap
    assert "atr_14" in real.technical_indicators
    point = btc.get(candle_time=datetime(2016, 1, 1, tzinfo=UTC))
    assert point.open_price == point.high_price == point.low_price == point.close_price
    assert "atr_14" not in point.technical_indicators and "ema_200" in point.technical_indicators
    # A week with a price point in it is a price point too.
    weeks = PriceData.objects.filter(asset__symbol="BTC", timeframe="1w")
    assert weeks.filter(is_price_point=True).exists() and weeks.filter(is_price_point=False).exists()
    # Demo trades are priced at what was known at their time: the open of their day.
    trade = Portfolio.objects.get(user__email="alice@cryptopredict.local").trade_actions.get(
        asset__symbol="BTC", executed_at=real.candle_time
    )
    assert trade.price == real.open_price
    # The stored indicators are TA-Lib's over the stored candles, and stable in their warm-up.
    out = StringIO()
    call_command("check_recursive", "--symbol", "BTC", "--timeframe", "1d", stdout=out)
    assert "every indicator stable and stored as computed" in out.getvalue()


def test_seed_demo_trains_runs_and_evaluates_every_built_in_model(seeded):
    assert AIModel.objects.filter(is_active=True).count() == len(BUILT_IN)
    assert ModelTrainingJob.objects.get().status == JobStatus.COMPLETED  # only the forest trains
    jobs = ModelPredictionJob.objects.all()
    assert jobs.count() == len(BUILT_IN) and {job.status for job in jobs} == {JobStatus.COMPLETED}
    assert all(job.predictions_count > 0 for job in jobs)
    assert ModelEvaluation.objects.count() == 4  # every model with a backtest


def test_seed_demo_takes_the_admin_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "a-long-demo-passphrase")
    output = demo_accounts()  # the accounts step of seed_demo
    assert "boss@example.com created" in output and "a-long-demo-passphrase" not in output
    assert User.objects.get(email="boss@example.com").check_password("a-long-demo-passphrase")
