"""check_lookahead on every built-in model: perturbing data after t changes nothing at or before t."""

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from ai import services
from ai.models import AIModel
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from macro.models import MetricsSnapshot
from sectors.tests.factories import SectorFactory, SectorMappingFactory
from selection.tests.factories import WatchlistAssetFactory, WatchlistFactory
from trading import predictors as trading_predictors

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # end to end on real history
AT = "2021-06-01"
WALK_FORWARD = '{"train_periods": 300, "test_periods": 200}'


def run(model, **kwargs):
    job = services.prediction_job_queue(model=model, enqueue=False, **kwargs)
    return services.prediction_job_execute(job_id=job.pk)


@pytest.fixture(scope="module")
def market(django_db_setup, django_db_blocker):
    """Real BTC/ETH candles and snapshots, two sectors, a watchlist, and every built-in model.

    Built once for the module, in a transaction rolled back at its end: every check rolls back
    what it changed (the first test asserts it), so the tests share it unchanged.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield _market()
        transaction.set_rollback(True)


def _market():
    assets = real_market()
    for symbol, name in (("BTC", "Store of value"), ("ETH", "Smart contracts")):
        SectorMappingFactory(asset=assets[symbol], sector=SectorFactory(name=name, slug=name.lower()[:5]),
                             is_primary=True)  # fmt: skip
    watchlist = WatchlistFactory(is_active=True)
    for asset in assets.values():
        WatchlistAssetFactory(watchlist=watchlist, asset=asset)
    for name in ("regime_rules", "regime_forest", "sector_rotation", "asset_selection", "signal_confluence"):
        # A small forest: the check's point is the data flow, not the forest's skill.
        small = {"forest": {"n_estimators": 20, "max_depth": 4}} if name == "regime_forest" else None
        services.model_register(name=name, version="1", architecture=name, configuration=small)
    assert run(AIModel.objects.get(name="regime_rules")).status == JobStatus.COMPLETED
    assert run(AIModel.objects.get(name="sector_rotation")).status == JobStatus.COMPLETED
    return assets


def check(name, *args):
    call_command("check_lookahead", name, "--at", AT, *args, stdout=(out := _Out()))
    return out.text


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text


def test_every_built_in_model_says_the_same_up_to_t_whatever_comes_after(market, subtests):
    for name, args in (
        ("regime_rules", ["--parameters", WALK_FORWARD]),
        ("regime_forest", ["--parameters", WALK_FORWARD]),
        ("sector_rotation", []),
        ("signal_confluence", []),
        ("asset_selection", []),
    ):
        with subtests.test(model=name):
            text = check(name, *args)
            assert text.startswith("nothing changed:"), text
            compared = int(text.split(" of ")[1].split(" outputs")[0])
            # The rule-based and trained models compare hundreds of outputs; asset selection
            # reruns its scoring of the one watchlist as of each of the 30 bars up to t.
            assert compared > 100 if name != "asset_selection" else compared == 30, text
    # The check rolled everything back: the stored history is the one before it.
    assert MetricsSnapshot.objects.filter(rsi_14=5).count() == 0
    assert not AIModel.objects.get(name="regime_forest").model_file_path


def test_a_model_that_peeks_one_bar_ahead_is_caught(market, monkeypatch):
    honest = trading_predictors.momentum_frame

    def peeking(*args, **kwargs):
        frame = honest(*args, **kwargs)
        frame["momentum"] = frame["momentum"].shift(-1)  # tomorrow's momentum, today
        return frame

    monkeypatch.setattr(trading_predictors, "momentum_frame", peeking)
    with pytest.raises(CommandError) as caught:
        check("signal_confluence")
    assert caught.value.returncode == 1
    assert "changed when inputs not yet known changed" in str(caught.value)
