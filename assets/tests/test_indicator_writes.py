"""Indicators stay equal to a full TA-Lib run over the stored candles after every kind of write."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from math import isclose

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from assets import indicators
from assets.indicators import frame_rows, indicator_frame
from assets.models import INDICATOR_FIELDS, IndicatorState, PriceData, indicators_of
from assets.services.importing import candles_import
from assets.services.writing import candle_delete, candle_update, candles_upsert
from assets.tests.factories import AssetFactory
from assets.tests.test_indicators import random_walk
from users.tests.factories import AdminUserFactory

pytestmark = pytest.mark.django_db

START = datetime(2021, 1, 1, tzinfo=UTC)
COUNT = 320


def day(n: int) -> datetime:
    return START + timedelta(days=n)


def rows(closes, highs, lows, *, skip=()):
    """Return candle rows for candles_upsert: open = previous close, clamped into the range."""
    out = []
    for i, (close, high, low) in enumerate(zip(closes, highs, lows, strict=True)):
        if i in skip:
            continue
        opened = min(max(closes[i - 1] if i else close, low), high)
        high, low = max(high, close, opened), min(low, close, opened)
        out.append(
            {"candle_time": day(i), "open": opened, "high": high, "low": low, "close": close, "volume": 1}
        )
    return out


def stored_and_talib(asset, timeframe="1d") -> tuple[list[dict], list[dict]]:
    """Return the stored indicators and those of one TA-Lib run over every stored candle."""
    candles = PriceData.objects.filter(asset=asset, timeframe=timeframe).order_by("candle_time")
    values = list(
        candles.values_list("close_price", "high_price", "low_price", "is_price_point", *INDICATOR_FIELDS)
    )
    frame = indicator_frame(
        [float(v[0]) for v in values],
        [float(v[1]) for v in values],
        [float(v[2]) for v in values],
        real_ohlc=[not v[3] for v in values],
    )
    stored = [indicators_of(dict(zip(INDICATOR_FIELDS, v[4:], strict=True))) for v in values]
    return stored, frame_rows(frame)


def assert_equal_to_talib(asset) -> None:
    stored, talib_run = stored_and_talib(asset)
    assert len(stored) == len(talib_run)
    for index, (got, want) in enumerate(zip(stored, talib_run, strict=True)):
        assert got.keys() == want.keys(), index
        for key, value in want.items():
            assert isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-12), (index, key, got[key], value)
    assert IndicatorState.objects.get(asset=asset, timeframe="1d").stale_from is None


def stale_after(asset, before: list[dict]) -> int:
    """Return how many candles a full TA-Lib run now gives other values than `before` (kept stale)."""
    _, talib_run = stored_and_talib(asset)
    return sum(
        old.keys() != new.keys() or any(not isclose(old[k], new[k], rel_tol=1e-9) for k in new)
        for old, new in zip(before, talib_run, strict=False)
    )


@pytest.fixture
def series():
    return random_walk(COUNT, seed=5)


@pytest.fixture
def asset(series):
    asset = AssetFactory(symbol="BTC")
    candles_upsert(asset=asset, timeframe="1d", rows=rows(*series))
    assert_equal_to_talib(asset)
    return asset


def test_a_backfilled_candle_recomputes_every_later_candle(series):
    asset = AssetFactory()
    candles_upsert(asset=asset, timeframe="1d", rows=rows(*series, skip={150}))
    before = [row for row in stored_and_talib(asset)[0]]
    before.insert(150, {})
    result = candles_upsert(asset=asset, timeframe="1d", rows=rows(*series)[150:151])
    assert result.inserted == 1
    assert stale_after(asset, before) > 100  # what keeping the old values would have left wrong
    assert_equal_to_talib(asset)


def test_a_corrected_close_recomputes_the_candles_that_depend_on_it(asset, series):
    candle = PriceData.objects.get(asset=asset, candle_time=day(200))
    candle_row = rows(*series)[200] | {"close": series[0][200] * Decimal("1.05")}
    candle_row["high"] = max(candle_row["high"], candle_row["close"])
    before = stored_and_talib(asset)[0]
    PriceData.objects.filter(pk=candle.pk).update(is_validated=True)
    assert candles_upsert(asset=asset, timeframe="1d", rows=[candle_row]).updated == 1
    assert stale_after(asset, before) > 100
    assert_equal_to_talib(asset)
    assert not PriceData.objects.get(pk=candle.pk).is_validated


def test_an_imported_correction_recomputes_too(asset, series, tmp_path):
    corrected = series[0][100] * Decimal("0.9")
    file = tmp_path / "fix.csv"
    row = rows(*series)[100]
    low = min(row["low"], corrected)
    file.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{day(99).isoformat()},{rows(*series)[99]['open']},{rows(*series)[99]['high']},"
        f"{rows(*series)[99]['low']},{rows(*series)[99]['close']},1\n"
        f"{day(100).isoformat()},{row['open']},{row['high']},{low},{corrected},1\n"
    )
    report = candles_import(path=file, asset=asset, timeframe="1d")
    assert (report.updated, report.unchanged) == (1, 1)
    assert_equal_to_talib(asset)


def test_candle_update_and_delete_services(asset):
    candle = PriceData.objects.get(asset=asset, candle_time=day(250))
    PriceData.objects.filter(pk=candle.pk).update(is_validated=True)
    candle.refresh_from_db()
    updated = candle_update(candle=candle, changes={"close_price": candle.high_price, "is_validated": True})
    assert updated.close_price == candle.high_price and not updated.is_validated
    assert_equal_to_talib(asset)
    # Validating alone keeps the values: no recomputation needed, none done.
    state = IndicatorState.objects.get(asset=asset, timeframe="1d")
    assert candle_update(candle=updated, changes={"is_validated": True}).is_validated
    assert IndicatorState.objects.get(pk=state.pk).version == state.version
    candle_delete(candle=PriceData.objects.get(asset=asset, candle_time=day(10)))
    assert_equal_to_talib(asset)


def api_client():
    client = APIClient()
    client.force_authenticate(AdminUserFactory())
    return client


def test_api_patch_put_post_and_delete_recompute(asset):
    client = api_client()
    candle = PriceData.objects.get(asset=asset, candle_time=day(120))
    PriceData.objects.filter(pk=candle.pk).update(is_validated=True)
    url = reverse("api:pricedata-detail", args=[candle.pk])
    answer = client.patch(url, {"close_price": str(candle.low_price)}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["is_validated"] is False
    assert_equal_to_talib(asset)

    candle.refresh_from_db()
    full = {
        "asset": asset.pk,
        "timeframe": "1d",
        "candle_time": day(120).isoformat(),
        "open_price": str(candle.open_price),
        "high_price": str(candle.high_price * 2),
        "low_price": str(candle.low_price),
        "close_price": str(candle.high_price * 2),
        "volume": "3",
    }
    assert client.put(url, full, format="json").status_code == 200
    assert_equal_to_talib(asset)

    moved = client.patch(url, {"candle_time": day(500).isoformat()}, format="json")
    assert moved.status_code == 400 and "candle_time" in moved.data
    derived = {"technical_indicators": {"rsi_14": 1}, "rsi_14": 1}
    assert client.patch(url, derived, format="json").status_code == 200
    assert_equal_to_talib(asset)  # derived values are not written through the API

    created = client.post(
        reverse("api:pricedata-list"), full | {"candle_time": day(COUNT).isoformat()}, format="json"
    )
    assert created.status_code == 201, created.data
    assert_equal_to_talib(asset)
    assert client.delete(reverse("api:pricedata-detail", args=[created.data["id"]])).status_code == 204
    assert client.delete(url).status_code == 204
    assert_equal_to_talib(asset)


def test_admin_edit_add_and_delete_recompute(client, asset):
    client.force_login(AdminUserFactory())
    candle = PriceData.objects.get(asset=asset, candle_time=day(180))
    PriceData.objects.filter(pk=candle.pk).update(is_validated=True)
    change = reverse("admin:assets_pricedata_change", args=[candle.pk])
    form = {
        "open_price": str(candle.open_price),
        "high_price": str(candle.high_price * 3),
        "low_price": str(candle.low_price),
        "close_price": str(candle.high_price * 3),
        "volume": "1",
        "is_validated": "on",
        "is_price_point": "",
    }
    response = client.post(change, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    candle.refresh_from_db()
    assert candle.close_price == candle.high_price and not candle.is_validated
    assert_equal_to_talib(asset)

    add = {
        "asset": asset.pk,
        "timeframe": "1d",
        "candle_time_0": day(COUNT).date().isoformat(),
        "candle_time_1": "00:00:00",
        **form,
    }
    assert client.post(reverse("admin:assets_pricedata_add"), add).status_code == 302
    assert_equal_to_talib(asset)
    response = client.post(reverse("admin:assets_pricedata_delete", args=[candle.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert_equal_to_talib(asset)
    others = PriceData.objects.filter(asset=asset, candle_time__in=[day(5), day(6)])
    response = client.post(
        reverse("admin:assets_pricedata_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": list(others.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert response.status_code == 302 and not others.exists()
    assert_equal_to_talib(asset)


def test_a_refresh_stops_after_the_dependent_candles(asset, series, monkeypatch):
    """Past DEPENDENT_CANDLES (3,000: where a change moves no stored digit) nothing is read or written."""
    monkeypatch.setattr(indicators, "DEPENDENT_CANDLES", 30)
    before = stored_and_talib(asset)[0]
    candle_row = rows(*series)[100] | {"close": series[0][100] * Decimal("1.5")}
    candle_row["high"] = max(candle_row["high"], candle_row["close"])
    result = candles_upsert(asset=asset, timeframe="1d", rows=[candle_row])
    after = stored_and_talib(asset)[0]
    assert result.indicators == 31  # the candle and its 30 dependents
    assert after[:100] == before[:100] and after[131:] == before[131:]
    assert all(after[i] != before[i] for i in range(100, 131))
