"""One import result and rejection type (cryptopredict.imports): the candle, asset and metrics
imports reject rows with their line and per-field errors, and their commands print the same summary."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assets.services.asset_import import assets_import
from assets.services.importing import candles_import
from assets.tests.factories import AssetFactory
from cryptopredict.imports import ROW, ImportResult, Rejection
from macro.services.metrics_import import metrics_import

pytestmark = pytest.mark.django_db


def test_a_rejection_reads_as_one_line():
    rejection = Rejection(7, {"high": ["1 is below low 2"], ROW: ["not an object"], "volume": ["required"]})
    assert rejection.reason() == "high: 1 is below low 2; not an object; volume: required"
    assert ImportResult(1, 2, 3, [rejection]).summary() == "1 inserted, 2 updated, 3 unchanged, 1 rejected"


def _command(*args) -> str:
    out = StringIO()
    with pytest.raises(CommandError, match="rejected"):
        call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_every_import_rejects_with_the_line_and_the_field(tmp_path):
    candles = tmp_path / "candles.csv"
    candles.write_text(
        "timestamp,open,high,low,close,volume\n"
        "1699920000000,1,2,0.5,1.5,1\n"
        "1700006400000,1,0.4,0.5,1.5,1\n"  # line 3: high below low
    )
    report = candles_import(path=candles, asset=AssetFactory(symbol="BTC"), indicators=False)
    assert isinstance(report, ImportResult) and report.inserted == 1
    assert [(r.line, r.reason()) for r in report.rejected] == [(3, "high: 0.4 is below low 0.5")]
    summary = "0 inserted, 0 updated, 1 unchanged, 1 rejected"
    assert f"2 rows read, {summary}" in _command("import_candles", str(candles), "--symbol", "BTC")

    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "snapshot_time,btc_price_usd,fear_greed_index\n2023-11-14,40000,50\n2023-11-15,40000,x\n"
    )
    result = metrics_import(path=metrics)
    assert isinstance(result, ImportResult) and result.inserted == 1
    assert [(r.line, list(r.errors)) for r in result.rejected] == [(3, ["fear_greed_index"])]
    assert f"metrics.csv: {summary}" in _command("import_metrics", str(metrics))

    markets = tmp_path / "markets.json"
    markets.write_text(json.dumps([{"symbol": "eth", "name": "Ethereum"}, {"symbol": "", "name": "?"}]))
    result = assets_import(path=markets)
    assert isinstance(result, ImportResult) and (result.inserted, len(result.rejected)) == (1, 1)
    assert result.rejected[0].line == 2 and "symbol" in result.rejected[0].errors  # the 2nd element
    assert f"assets: {summary}" in _command("import_assets", str(markets))
