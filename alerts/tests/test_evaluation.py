"""Rules fire from the data: once per crossing, re-armed when false again, silent while paused,
snoozed or expired, and checked in a number of queries that does not grow with the rules."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from ai.tests.factories import AIModelFactory, ModelPredictionJobFactory
from alerts import services
from alerts.choices import RuleKind
from alerts.models import AlertFiring, AlertRule, Notification
from assets.models import PriceData
from assets.tests.factories import AssetFactory, PriceDataFactory
from users.tests.factories import AdminUserFactory, UserFactory

from .factories import AlertRuleFactory, NotificationChannelFactory

DAY0 = datetime(2025, 1, 1, tzinfo=UTC)


def candle(asset, day: int, close, *, timeframe="1d", indicators=None) -> PriceData:
    close = Decimal(close)
    return PriceDataFactory(
        asset=asset,
        timeframe=timeframe,
        candle_time=DAY0 + timedelta(days=day),
        open_price=close,
        high_price=close,
        low_price=close,
        close_price=close,
        **(indicators or {}),
    )


def evaluate(asset, **kwargs) -> int:
    return services.series_evaluate(asset_id=asset.pk, timeframe="1d", **kwargs)


@pytest.fixture
def btc():
    return AssetFactory(symbol="BTC", name="Bitcoin")


@pytest.mark.django_db
def test_price_above_fires_once_per_crossing_and_rearms(btc):
    rule = AlertRuleFactory(asset=btc, kind=RuleKind.PRICE_ABOVE, level=Decimal("100000"))
    fired = []
    for day, close in enumerate(["99000", "100500", "101000", "99500", "100001", "100002"]):
        candle(btc, day, close)
        fired.append(evaluate(btc))

    assert fired == [0, 1, 0, 0, 1, 0]  # up-cross, held above, back below (re-arm), up-cross again
    firings = list(AlertFiring.objects.filter(rule=rule).order_by("observed_at"))
    assert [f.value for f in firings] == [Decimal("100500"), Decimal("100001")]
    assert firings[0].title == "BTC closed at 100500, above 100000"
    rule.refresh_from_db()
    assert rule.fire_count == 2 and not rule.is_armed
    notes = Notification.objects.filter(user=rule.user).order_by("created_at", "id")
    assert [n.firing_id for n in notes] == [f.pk for f in firings]
    assert notes[0].payload["rule"] == {"id": rule.pk, "name": "", "kind": "price_above"}


@pytest.mark.django_db
def test_price_below_fires_at_the_level(btc):
    rule = AlertRuleFactory(asset=btc, kind=RuleKind.PRICE_BELOW, level=Decimal("90"))
    candle(btc, 0, "91")
    assert evaluate(btc) == 0
    candle(btc, 1, "90")
    assert evaluate(btc) == 1
    assert AlertFiring.objects.get(rule=rule).value == Decimal("90")


@pytest.mark.django_db
def test_only_the_newest_candle_counts(btc):
    """A history import that crosses the level long ago fires nothing about the past."""
    AlertRuleFactory(asset=btc, level=Decimal("100"))
    candle(btc, 5, "90")
    candle(btc, 1, "150")  # an old candle written after the newest one
    assert evaluate(btc) == 0


@pytest.mark.django_db
def test_paused_snoozed_and_expired_rules_stay_silent(btc):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    paused = AlertRuleFactory(asset=btc, is_active=False)
    snoozed = AlertRuleFactory(asset=btc, snoozed_until=now + timedelta(hours=1))
    expired = AlertRuleFactory(asset=btc, expires_at=now - timedelta(seconds=1))
    live = AlertRuleFactory(
        asset=btc, expires_at=now + timedelta(days=1), snoozed_until=now - timedelta(hours=1)
    )
    candle(btc, 0, "150")

    assert evaluate(btc, now=now) == 1
    assert set(AlertFiring.objects.values_list("rule_id", flat=True)) == {live.pk}

    # The snooze ends: the rule, still armed, fires on the next check; the expired one never does.
    assert evaluate(btc, now=now + timedelta(hours=2)) == 1
    assert set(AlertFiring.objects.values_list("rule_id", flat=True)) == {live.pk, snoozed.pk}
    assert not AlertFiring.objects.filter(rule__in=[paused, expired]).exists()


@pytest.mark.django_db
def test_a_second_check_of_the_same_candle_does_not_fire_again(btc):
    rule = AlertRuleFactory(asset=btc)
    candle(btc, 0, "150")
    assert evaluate(btc) == 1
    AlertRule.objects.filter(pk=rule.pk).update(is_armed=True)  # e.g. re-armed by an edit
    assert evaluate(btc) == 0
    assert AlertFiring.objects.filter(rule=rule).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_two_firings_of_one_rule_for_one_event(btc):
    rule = AlertRuleFactory(asset=btc)
    AlertFiring.objects.create(rule=rule, event_key="candle:1d:x", title="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertFiring.objects.create(rule=rule, event_key="candle:1d:x", title="b")


@pytest.mark.django_db
def test_percent_change_compares_with_the_close_one_window_earlier(btc):
    up = AlertRuleFactory(
        asset=btc, kind=RuleKind.PERCENT_CHANGE, level=None, window=timedelta(days=2), percent=Decimal("10")
    )
    down = AlertRuleFactory(
        asset=btc, kind=RuleKind.PERCENT_CHANGE, level=None, window=timedelta(days=1), percent=Decimal("-5")
    )
    candle(btc, 0, "100")
    assert evaluate(btc) == 0  # no candle a window earlier: nothing to compare
    candle(btc, 1, "104")
    assert evaluate(btc) == 0
    candle(btc, 2, "111")  # +11% over 2 days
    assert evaluate(btc) == 1
    candle(btc, 3, "105")  # -5.4% over 1 day
    assert evaluate(btc) == 1
    assert AlertFiring.objects.get(rule=up).value == Decimal("11.0000")
    assert AlertFiring.objects.get(rule=down).value == Decimal("-5.4054")


@pytest.mark.django_db
def test_indicator_rule_waits_for_the_indicator_and_fires_below_the_level(btc):
    rule = AlertRuleFactory(asset=btc, kind=RuleKind.INDICATOR_BELOW, indicator="rsi_14", level=Decimal("30"))
    candle(btc, 0, "100")  # indicators not computed yet
    assert evaluate(btc, kinds=[RuleKind.INDICATOR_BELOW]) == 0
    PriceData.objects.filter(asset=btc).update(rsi_14=28.5)
    assert evaluate(btc, kinds=[RuleKind.INDICATOR_BELOW]) == 1
    assert AlertFiring.objects.get(rule=rule).title == "BTC rsi_14 28.5 below 30"


@pytest.mark.django_db
def test_stale_series_fires_once_and_rearms_when_fresh(btc):
    rule = AlertRuleFactory(asset=btc, kind=RuleKind.DATA_STALE, level=None, max_age=timedelta(hours=2))
    candle(btc, 0, "100")
    at = DAY0 + timedelta(hours=1)
    assert services.stale_evaluate(now=at) == 0
    assert services.stale_evaluate(now=DAY0 + timedelta(hours=3)) == 1
    assert services.stale_evaluate(now=DAY0 + timedelta(hours=4)) == 0  # still stale: fired already
    candle(btc, 1, "101")
    assert services.stale_evaluate(now=DAY0 + timedelta(days=1, hours=1)) == 0  # fresh: re-armed
    rule.refresh_from_db()
    assert rule.is_armed
    assert services.stale_evaluate(now=DAY0 + timedelta(days=1, hours=5)) == 1


@pytest.mark.django_db
def test_system_rules_notify_staff_in_app(btc):
    admin = AdminUserFactory()
    UserFactory()  # not staff: hears nothing
    AlertRuleFactory(user=None, asset=btc)
    candle(btc, 0, "150")
    assert evaluate(btc) == 1
    assert list(Notification.objects.values_list("user_id", flat=True)) == [admin.pk]


@pytest.mark.django_db
def test_job_failed_rule_fires_for_its_model_type():
    job = ModelPredictionJobFactory(
        model=AIModelFactory(model_type="macro"),
        status="failed",
        attempts=1,
        error_message="ValueError: no snapshots\ntraceback...",
    )
    macro = AlertRuleFactory(kind=RuleKind.JOB_FAILED, asset=None, level=None, model_type="macro")
    AlertRuleFactory(kind=RuleKind.JOB_FAILED, asset=None, level=None, model_type="timing")
    anything = AlertRuleFactory(kind=RuleKind.JOB_FAILED, asset=None, level=None)
    assert services.job_failure_evaluate(job=job) == 2
    assert set(AlertFiring.objects.values_list("rule_id", flat=True)) == {macro.pk, anything.pk}
    assert AlertFiring.objects.first().message == "ValueError: no snapshots"
    assert services.job_failure_evaluate(job=job) == 0  # one firing per job attempt


def _series_queries(asset, rules: int, kind_kwargs: dict) -> int:
    user = UserFactory()
    channel = NotificationChannelFactory(user=user)
    for _ in range(rules):
        AlertRuleFactory(user=user, asset=asset, **kind_kwargs).channels.add(channel)
    candle(asset, 0, "150", indicators={"rsi_14": 80})
    with CaptureQueriesContext(connection) as queries:
        fired = evaluate(asset)
    assert fired == rules
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind_kwargs",
    [
        {"kind": RuleKind.PRICE_ABOVE, "level": Decimal("100")},
        {"kind": RuleKind.INDICATOR_ABOVE, "indicator": "rsi_14", "level": Decimal("70")},
    ],
    ids=["price", "indicator"],
)
def test_evaluation_queries_do_not_grow_with_the_rules(kind_kwargs, django_assert_num_queries):
    one = _series_queries(AssetFactory(), 1, kind_kwargs)
    asset = AssetFactory()
    user = UserFactory()
    channel = NotificationChannelFactory(user=user)
    for _ in range(50):
        AlertRuleFactory(user=user, asset=asset, **kind_kwargs).channels.add(channel)
    candle(asset, 0, "150", indicators={"rsi_14": 80})
    with django_assert_num_queries(one):
        assert evaluate(asset) == 50
    assert Notification.objects.filter(user=user).count() == 50


@pytest.mark.django_db
def test_percent_change_queries_do_not_grow_with_the_rules(django_assert_num_queries):
    def setup(rules):
        asset = AssetFactory()
        for _ in range(rules):
            AlertRuleFactory(
                asset=asset,
                kind=RuleKind.PERCENT_CHANGE,
                level=None,
                window=timedelta(days=1),
                percent=Decimal("1"),
            )
        candle(asset, 0, "100")
        candle(asset, 1, "110")
        return asset

    asset = setup(1)
    with CaptureQueriesContext(connection) as one:
        assert evaluate(asset) == 1
    asset = setup(50)
    with django_assert_num_queries(len(one)):
        assert evaluate(asset) == 50
