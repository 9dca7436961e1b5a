"""The writing services of the lower apps trigger the checks: a candle import or sync, computed
indicators, new trading signals, a new regime row and a failed job; nothing polls the rules."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ai import services as ai_services
from ai.tests.factories import AIModelFactory, ModelPredictionJobFactory
from alerts import services
from alerts.choices import DeliveryStatus, RuleKind
from alerts.models import AlertFiring, Notification, NotificationDelivery
from assets.indicators import indicators_compute
from assets.services.writing import candles_upsert
from assets.tests.factories import AssetFactory
from cryptopredict.choices import JobStatus
from macro.signals import regimes_created
from macro.tests.factories import AIRegimeAnalysisFactory
from selection.tests.factories import WatchlistAssetFactory, WatchlistFactory
from trading.signals import signals_created
from trading.tests.factories import AITradingSignalFactory
from users.tests.factories import AdminUserFactory, UserFactory

from .conftest import SECRET
from .factories import AlertRuleFactory

API = "/api/v1"
DAY = datetime(2025, 3, 1, tzinfo=UTC)


def rows(*closes, start=DAY):
    return [
        {"candle_time": start + timedelta(days=n), "open": c, "high": c, "low": c, "close": c, "volume": "1"}
        for n, c in enumerate(closes)
    ]


@pytest.mark.django_db
def test_btc_above_100k_imported_while_the_webhook_is_down_arrives_once(webhook_receiver, tmp_path):
    """The issue's "done": a user sets BTC above 100,000 and a webhook; importing a candle that
    crosses it delivers one signed webhook and one in-app notification, although the webhook was
    down for a while, and the admin shows the firing and its deliveries."""
    btc = AssetFactory(symbol="BTC", name="Bitcoin")
    user = UserFactory()
    api = APIClient()
    api.force_authenticate(user)
    channel = api.post(
        f"{API}/notification-channels/",
        {"kind": "webhook", "url": webhook_receiver.url, "secret": SECRET},
        format="json",
    ).json()
    assert channel["is_verified"]
    rule = api.post(
        f"{API}/alert-rules/",
        {"kind": "price_above", "asset": "BTC", "level": "100000", "channels": [channel["id"]]},
        format="json",
    ).json()
    webhook_receiver.fail_first = len(webhook_receiver.requests) + 2  # down for the next two attempts

    path = tmp_path / "btc.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-03-01,98000,99500,97000,99000,10\n"
        "2025-03-02,99000,101500,98500,101000,12\n"
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("import_candles", str(path), "--symbol", "BTC", "--timeframe", "1d", stdout=StringIO())

    firing = AlertFiring.objects.get(rule_id=rule["id"])
    assert firing.value == Decimal("101000") and firing.observed_at == DAY + timedelta(days=1)
    delivery = NotificationDelivery.objects.get(firing=firing)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1  # the first try failed
    later = timezone.now()
    for _ in range(3):
        later += timedelta(hours=1)
        services.deliveries_send_due(now=later)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    alerts = webhook_receiver.accepted()
    assert len(alerts) == 1 and alerts[0]["title"] == "BTC closed at 101000, above 100000"
    assert webhook_receiver.bad_signatures == 0
    assert Notification.objects.filter(user=user, firing=firing).count() == 1

    admin = APIClient()  # the admin's changelist and change page show them
    admin.force_login(AdminUserFactory())
    page = admin.get(reverse("admin:alerts_alertfiring_change", args=[firing.pk])).content.decode()
    assert "BTC closed at 101000" in page and "delivered" in page
    assert btc.pk == firing.rule.asset_id


@pytest.mark.django_db
def test_a_failed_write_fires_nothing():
    asset = AssetFactory()
    AlertRuleFactory(asset=asset, level=Decimal("100"))
    bad = rows("150")
    bad[0]["high"] = "1"  # high below close: rejected
    candles_upsert(asset=asset, timeframe="1d", rows=bad)
    assert not AlertFiring.objects.exists()


@pytest.mark.django_db
def test_a_candle_sync_through_the_api_fires_the_rule():
    asset = AssetFactory(symbol="ETH")
    rule = AlertRuleFactory(asset=asset, kind=RuleKind.PRICE_BELOW, level=Decimal("2000"))
    writer = APIClient()
    writer.force_authenticate(AdminUserFactory())
    candles = [
        {
            "candle_time": "2025-03-01T00:00:00Z",
            "open": "2100",
            "high": "2150",
            "low": "1900",
            "close": "1950",
            "volume": "5",
        }
    ]
    response = writer.post(f"{API}/assets/ETH/candles/?timeframe=1d", candles, format="json")
    assert response.status_code == 200, response.json()
    assert AlertFiring.objects.get(rule=rule).value == Decimal("1950")


@pytest.mark.django_db
def test_computed_indicators_fire_an_rsi_rule():
    asset = AssetFactory()
    rule = AlertRuleFactory(
        asset=asset, kind=RuleKind.INDICATOR_BELOW, indicator="rsi_14", level=Decimal("30")
    )
    falling = rows(*[str(200 - 3 * n) for n in range(30)])
    candles_upsert(asset=asset, timeframe="1d", rows=falling, indicators=False)  # a bulk load
    assert not AlertFiring.objects.exists()  # the new candles have no indicators yet
    indicators_compute(asset=asset, timeframe="1d")
    firing = AlertFiring.objects.get(rule=rule)
    assert firing.value < 30 and firing.payload["indicator"] == "rsi_14"


@pytest.mark.django_db
def test_an_upsert_that_refreshes_the_indicators_fires_the_indicator_rule_too():
    asset = AssetFactory()
    rule = AlertRuleFactory(
        asset=asset, kind=RuleKind.INDICATOR_BELOW, indicator="rsi_14", level=Decimal("30")
    )
    candles_upsert(asset=asset, timeframe="1d", rows=rows(*[str(200 - 3 * n) for n in range(30)]))
    assert AlertFiring.objects.get(rule=rule).observed_at == DAY + timedelta(days=29)


@pytest.mark.django_db
def test_new_signals_fire_rules_on_their_asset_or_watchlist():
    user = UserFactory()
    btc, eth = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    watchlist = WatchlistFactory(user=user)
    WatchlistAssetFactory(watchlist=watchlist, asset=eth, alert_price_above=None, alert_price_below=None)
    on_btc = AlertRuleFactory(user=user, kind=RuleKind.NEW_SIGNAL, asset=btc, level=None, signal_type="buy")
    on_list = AlertRuleFactory(
        user=user, kind=RuleKind.NEW_SIGNAL, asset=None, level=None, watchlist=watchlist
    )
    signals = [
        AITradingSignalFactory(asset=btc),
        AITradingSignalFactory(asset=btc, sell=True),
        AITradingSignalFactory(asset=eth),
        AITradingSignalFactory(asset=eth, generated_at=timezone.now() - timedelta(days=3)),  # expired
    ]
    signals_created.send(sender=type(signals[0]), signals=signals)
    fired = set(AlertFiring.objects.values_list("rule_id", "event_key"))
    assert fired == {(on_btc.pk, f"signal:{signals[0].pk}"), (on_list.pk, f"signal:{signals[2].pk}")}


@pytest.mark.django_db
def test_a_regime_change_fires_only_for_the_newest_row():
    rule = AlertRuleFactory(kind=RuleKind.REGIME_CHANGE, asset=None, level=None)
    model = AIModelFactory(model_type="macro")
    old = AIRegimeAnalysisFactory(ai_model=model, regime_changed=True, previous_regime="Bear")
    new = AIRegimeAnalysisFactory(ai_model=model, regime="Bear", regime_changed=True, previous_regime="Bull")
    regimes_created.send(sender=type(old), analyses=[old])  # history filled in later: not news
    assert not AlertFiring.objects.exists()
    regimes_created.send(sender=type(new), analyses=[old, new])
    firing = AlertFiring.objects.get(rule=rule)
    assert firing.title == "Macro regime changed to Bear (from Bull)"


@pytest.mark.django_db
def test_a_failed_prediction_job_fires_the_job_failed_rule():
    rule = AlertRuleFactory(kind=RuleKind.JOB_FAILED, asset=None, level=None)
    job = ModelPredictionJobFactory(model=AIModelFactory(architecture="no_such_architecture"))
    job = ai_services.prediction_job_execute(job_id=job.pk)
    assert job.status == JobStatus.FAILED
    firing = AlertFiring.objects.get(rule=rule)
    assert firing.payload["job_id"] == job.pk and "no_such_architecture" in firing.message
