"""One timeframe check: every caller refuses an unknown timeframe in the same words, naming it."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from ai.services import model_register
from alerts.choices import RuleKind
from alerts.services.rules import rule_check
from assets.importers import ImportFormatError, read_candles
from assets.services.resampling import candles_resample
from assets.services.writing import candles_upsert
from assets.tests.factories import AssetFactory
from cryptopredict.choices import Timeframe
from cryptopredict.timeframes import UnknownTimeframe, timeframe_check
from macro.services.fields import MetricsError
from macro.services.metrics_import import metrics_import
from macro.services.snapshots import snapshots_build
from marketdata.services.candles import SyncError, candles_sync
from users.tests.factories import AdminUserFactory

MESSAGE = "unknown timeframe '2d'; use one of " + ", ".join(Timeframe.values)


def test_timeframe_check_returns_a_timeframe_and_names_any_other_value():
    assert [timeframe_check(tf) for tf in Timeframe.values] == Timeframe.values
    for value, shown in (("2d", "'2d'"), ("", "''"), (None, "None"), (5, "5"), ("1D", "'1D'")):
        with pytest.raises(UnknownTimeframe) as caught:
            timeframe_check(value)
        assert str(caught.value).startswith(f"unknown timeframe {shown}; use one of 1m, 5m")


@pytest.mark.django_db
def test_services_refuse_with_the_one_message(tmp_path):
    asset = AssetFactory(symbol="BTC")
    candles = tmp_path / "candles.csv"
    candles.write_text("timestamp,open,high,low,close,volume\n1700000000000,1,2,0.5,1.5,1\n")
    refusals = (
        (ValueError, lambda: candles_upsert(asset=asset, timeframe="2d", rows=[])),
        (ValueError, lambda: candles_resample(asset=asset, source_tf="1h", target_tf="2d")),
        (ImportFormatError, lambda: read_candles(candles, timeframe="2d")),
        (MetricsError, lambda: snapshots_build(timeframe="2d")),
        (SyncError, lambda: candles_sync(asset=asset, timeframe="2d")),
    )
    for error, call in refusals:
        with pytest.raises(error) as caught:
            call()
        assert str(caught.value) == MESSAGE


@pytest.mark.django_db
def test_field_errors_carry_the_one_message(tmp_path):
    with pytest.raises(ValidationError) as caught:
        model_register(name="m", version="1", architecture="regime_rules", training_data_timeframe="2d")
    assert caught.value.message_dict == {"training_data_timeframe": [MESSAGE]}
    with pytest.raises(ValidationError) as caught:
        rule_check({"kind": RuleKind.PRICE_ABOVE, "asset": AssetFactory(), "timeframe": "2d", "level": 1})
    assert caught.value.message_dict["timeframe"] == [MESSAGE]
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("snapshot_time,timeframe,fear_greed_index\n2024-01-01,2d,50\n")
    counts = metrics_import(path=metrics)
    assert [(r.line, r.reason()) for r in counts.rejected] == [(2, f"timeframe: {MESSAGE}")]


@pytest.mark.django_db
def test_the_api_and_the_commands_say_the_same():
    AssetFactory(symbol="BTC")
    client = APIClient()
    client.force_authenticate(AdminUserFactory())
    response = client.get("/api/v1/assets/BTC/candles/", {"timeframe": "2d"})
    assert response.status_code == 400
    assert response.data["timeframe"] == [MESSAGE]
    response = client.post("/api/v1/price-data/", {"asset": "BTC", "timeframe": "2d"}, format="json")
    assert response.status_code == 400
    assert response.data["timeframe"] == [MESSAGE]
    for command in (("compute_indicators",), ("resample_candles", "--symbol", "BTC", "--from", "1h")):
        option = "--timeframe" if command[0] == "compute_indicators" else "--to"
        with pytest.raises(CommandError, match=f"argument {option}: {MESSAGE}"):
            call_command(*command, option, "2d")
