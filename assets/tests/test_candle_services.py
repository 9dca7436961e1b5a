"""The candle services: validation, the one write path, imports, resampling and asset imports."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest
from django.db import connection, transaction

from assets import candle_writes
from assets.candle_writes import copy_direct, copy_prefix, copy_text
from assets.importers import ImportFormatError, TimeframeMismatch
from assets.indicators import indicators_mark_stale
from assets.models import Asset, PriceData
from assets.services import writing
from assets.services.asset_import import assets_import
from assets.services.importing import candles_import
from assets.services.resampling import candles_resample
from assets.services.validation import candle_errors
from assets.services.writing import batch_sizes, candles_upsert
from assets.tests.factories import AssetFactory, PriceDataFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def candle(minute: int = 0, **values) -> dict:
    row = {
        "candle_time": T0 + timedelta(minutes=minute),
        "open": "10",
        "high": "12",
        "low": "9",
        "close": "11",
    }
    return {**row, "volume": "5", **values}


def exactly(value: Decimal, expected: str) -> bool:
    """Return whether a stored decimal is `expected`: exactly on PostgreSQL, to a double's
    precision on SQLite (which stores doubles)."""
    if connection.vendor == "postgresql":
        return value == Decimal(expected)
    return abs(value - Decimal(expected)) <= abs(Decimal(expected)) * Decimal("1e-14")


def stored(asset, timeframe):
    return PriceData.objects.filter(asset=asset, timeframe=timeframe).order_by("candle_time")


# --- candle_errors ---------------------------------------------------------------------------


def test_a_good_candle_has_no_errors():
    assert candle_errors(candle(), timeframe="1m") == {}
    # Flat candles, zero volume, floats, epoch ms and ISO times are all fine.
    assert candle_errors(candle(open=1.5, high=1.5, low=1.5, close=1.5, volume=0), timeframe="1m") == {}
    assert candle_errors(candle(candle_time="1704067200000"), timeframe="1d") == {}
    assert candle_errors(candle(candle_time="2024-01-01T00:00:00Z"), timeframe="1w") == {}  # a Monday


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"open": "-1"}, "open", "greater than 0"),
        ({"close": "0"}, "close", "greater than 0"),
        ({"high": "8"}, "high", "below low 9"),
        ({"low": "10.5"}, "low", "above open 10"),
        ({"high": "10.5"}, "high", "below close 11"),
        ({"volume": "-0.1"}, "volume", "must not be negative"),
        ({"open": "NaN"}, "open", "not a number"),
        ({"open": "abc"}, "open", "not a number"),
        ({"close": None}, "close", "required"),
        ({"open": "1e-19"}, "open", "below the smallest stored step"),
        ({"high": "1e21"}, "high", "does not fit decimal(38,18)"),
        ({"trade_count": "many"}, "trade_count", "not a whole number"),
        ({"candle_time": "tuesday"}, "candle_time", "not a time"),
        ({"candle_time": T0 + timedelta(seconds=30)}, "candle_time", "not aligned to 1m"),
        ({"candle_time": "2999-01-01T00:00:00Z"}, "candle_time", "in the future"),
    ],
)
def test_candle_errors_name_the_field(values, field, message):
    errors = candle_errors(candle(**values), timeframe="1m")
    assert field in errors
    assert message in " ".join(errors[field])


def test_alignment_depends_on_the_timeframe():
    assert "candle_time" in candle_errors(candle(minute=5), timeframe="1h")
    assert "candle_time" in candle_errors(candle(candle_time=at(2024, 1, 2)), timeframe="1w")  # a Tuesday
    assert "candle_time" in candle_errors(candle(candle_time=at(2024, 2, 2)), timeframe="1M")
    assert candle_errors(candle(candle_time=at(2024, 2, 1)), timeframe="1M") == {}


# --- candles_upsert --------------------------------------------------------------------------


def test_upsert_inserts_updates_and_leaves_unchanged_rows_alone():
    asset = AssetFactory()
    first = candles_upsert(asset=asset, timeframe="1m", rows=[candle(0), candle(1), candle(2)])
    assert (first.inserted, first.updated, first.unchanged, first.rejected) == (3, 0, 0, [])
    before = {c.candle_time: c.updated_at for c in stored(asset, "1m")}
    second = candles_upsert(
        asset=asset,
        timeframe="1m",
        rows=[candle(0), candle(1, close="11.5"), candle(3), candle(2, volume="5.0")],
    )
    assert (second.inserted, second.updated, second.unchanged) == (1, 1, 2)
    after = {c.candle_time: c for c in stored(asset, "1m")}
    assert after[T0 + timedelta(minutes=1)].close_price == Decimal("11.5")
    assert after[T0].updated_at == before[T0]  # an unchanged candle is not rewritten


def test_upsert_keeps_good_rows_and_reports_bad_ones_by_index():
    asset = AssetFactory()
    rows = [
        {**candle(0), "index": 0},
        {**candle(1, high="1"), "index": 1},
        {**candle(2), "index": 2},
        {**candle(3, volume="x"), "index": 3},
    ]
    result = candles_upsert(asset=asset, timeframe="1m", rows=rows)
    assert result.inserted == 2
    assert [(r.line, sorted(r.errors)) for r in result.rejected] == [(1, ["high"]), (3, ["volume"])]
    assert stored(asset, "1m").count() == 2


def test_upsert_within_a_batch_keeps_the_last_row_for_a_time():
    asset = AssetFactory()
    result = candles_upsert(asset=asset, timeframe="1m", rows=[candle(0, close="10"), candle(0, close="12")])
    assert result.inserted == 1
    assert stored(asset, "1m").get().close_price == Decimal("12")
    assert result.rejected[0].line == 0
    assert "later row is kept" in result.rejected[0].reason()


def test_upsert_keeps_optional_values_that_a_later_source_lacks():
    asset = AssetFactory()
    candles_upsert(asset=asset, timeframe="1m", rows=[candle(0, market_cap="1000.5", trade_count=7)])
    result = candles_upsert(asset=asset, timeframe="1m", rows=[candle(0)])
    assert result.unchanged == 1
    row = stored(asset, "1m").get()
    assert (row.market_cap, row.trade_count) == (Decimal("1000.50"), 7)


def test_upsert_commits_batch_by_batch():
    asset = AssetFactory()
    result = candles_upsert(asset=asset, timeframe="1m", rows=[candle(i) for i in range(25)], batch_size=10)
    assert result.inserted == 25
    assert stored(asset, "1m").count() == 25


def test_upsert_refuses_an_unknown_timeframe():
    with pytest.raises(ValueError, match="unknown timeframe"):
        candles_upsert(asset=AssetFactory(), timeframe="7m", rows=[])


@pytest.mark.parametrize("method", ["bulk_create", pytest.param("copy", marks=pytest.mark.postgres)])
def test_a_changed_candle_loses_its_derived_indicators_and_validation(method):
    asset = AssetFactory()
    candles_upsert(asset=asset, timeframe="1m", rows=[candle(0), candle(1)], method=method)
    stored(asset, "1m").update(rsi_14=55.0, is_validated=True)
    # Without the refresh that follows by default (test_indicator_writes), to see the reset alone.
    result = candles_upsert(
        asset=asset,
        timeframe="1m",
        rows=[candle(0, close="11.5"), candle(1)],
        method=method,
        indicators=False,
    )
    assert (result.updated, result.unchanged) == (1, 1)
    changed, same = stored(asset, "1m")
    assert (changed.technical_indicators, changed.is_validated) == ({}, False)
    assert (same.technical_indicators, same.is_validated) == ({"rsi_14": 55.0}, True)


@pytest.mark.postgres
def test_bulk_create_path_on_postgres_sees_the_smallest_change():
    asset = AssetFactory()
    row = candle(0, high="20000000", close="12345678.123456789012345678")
    candles_upsert(asset=asset, timeframe="1m", rows=[row], method="bulk_create")
    result = candles_upsert(
        asset=asset,
        timeframe="1m",
        rows=[{**row, "close": "12345678.123456789012345999"}],
        method="bulk_create",
    )
    assert result.updated == 1
    assert stored(asset, "1m").get().close_price == Decimal("12345678.123456789012345999")


@pytest.mark.parametrize("method", ["bulk_create", pytest.param("copy", marks=pytest.mark.postgres)])
def test_both_write_paths_store_the_same_values(method):
    asset = AssetFactory()
    rows = [candle(0, low="0.00002853", vwap="10.1234567890123", market_cap="12.345"), candle(1)]
    result = candles_upsert(asset=asset, timeframe="1m", rows=rows, method=method)
    assert result.inserted == 2
    first = stored(asset, "1m").first()
    assert (first.low_price, first.vwap, first.market_cap) == (
        Decimal("0.00002853"),
        Decimal("10.1234567890123"),
        Decimal("12.35"),  # half away from zero, as PostgreSQL rounds numeric (decimal_for_column)
    )
    again = candles_upsert(asset=asset, timeframe="1m", rows=rows, method=method)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


# --- candles_import: the shared data files ---------------------------------------------------

DATA_FILES = [
    # file, timeframe, count, first, last, (field, value) of the first candle
    (FIXTURES / "nautilus_ADABTC-1m-2021-11-27.csv", "1m", 10, at(2021, 11, 27), at(2021, 11, 27, 0, 9),
     ("open_price", "0.00002853")),
    (FIXTURES / "nautilus_http_spot_market_klines.json", "1m", 10, at(2021, 10, 22, 23, 3),
     at(2021, 10, 22, 23, 12), ("close_price", "60719.27")),
    (FIXTURES / "coingecko_market_chart_btc_2018-08-27.json", "5m", 5, at(2018, 8, 27, 12, 40),
     at(2018, 8, 27, 13, 5), ("close_price", "6756.942910425894")),
    (DEMO / "coingecko_btc-usd-max.csv", "1d", 4278, at(2013, 4, 28), at(2025, 1, 14),
     ("close_price", "135.3")),
    (DEMO / "coingecko_eth-usd-max.csv", "1d", 3448, at(2015, 8, 7), at(2025, 1, 14),
     ("close_price", "2.83162")),
    (DEMO / "ETH_BTC-5m.feather", "5m", 5760, at(2018, 1, 10, 4, 55), at(2018, 1, 30, 4, 50),
     ("open_price", "0.0984")),
    (DEMO / "ADA_BTC-5m.feather", "5m", 5720, at(2018, 1, 10, 4, 55), at(2018, 1, 30, 4, 50),
     ("open_price", "0.0000533")),
    (DEMO / "TRX_BTC-5m.feather", "5m", 5754, at(2018, 1, 10, 4, 55), at(2018, 1, 30, 4, 50),
     ("open_price", "0.00010766")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "timeframe", "count", "first", "last", "check"), DATA_FILES, ids=lambda v: ""
)
def test_each_data_file_imports_and_reimports_without_change(path, timeframe, count, first, last, check):
    asset = AssetFactory()
    # The indicators are computed for the small files (one of price points among them), so that
    # a reimport after their write finds nothing changed; for the large ones they were most of
    # the time, and parsing and writing are what differ between the files.
    indicators = count <= 10
    report = candles_import(path=path, asset=asset, indicators=indicators)
    assert (report.timeframe, report.inserted, report.rejected) == (timeframe, count, [])
    assert (report.first_time, report.last_time) == (first, last)
    candles = stored(asset, timeframe)
    assert candles.count() == count
    assert (candles.first().candle_time, candles.last().candle_time) == (first, last)
    assert exactly(getattr(candles.first(), check[0]), check[1])
    again = candles_import(path=path, asset=asset, indicators=indicators)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, count)


def test_gaps_are_reported_not_filled():
    asset = AssetFactory()
    report = candles_import(path=DEMO / "ADA_BTC-5m.feather", asset=asset, indicators=False)
    assert report.missing == 5760 - 5720
    assert len(report.gaps) == 5
    longest = max(report.gaps, key=lambda gap: gap.missing)
    assert longest.missing == 33 and longest.end - longest.start == timedelta(minutes=5 * 32)
    btc = candles_import(path=DEMO / "coingecko_btc-usd-max.csv", asset=AssetFactory(), indicators=False)
    assert [(g.start, g.missing) for g in btc.gaps] == [(at(2013, 6, 4), 1), (at(2015, 1, 28), 1)]


def test_coingecko_export_keeps_market_cap_and_volume():
    asset = AssetFactory()
    candles_import(path=DEMO / "coingecko_btc-usd-max.csv", asset=asset)
    last = stored(asset, "1d").last()
    assert exactly(last.market_cap, "1870609367804.82")
    assert exactly(last.volume, "76328330233.31137")
    assert stored(asset, "1d").get(candle_time=at(2017, 4, 2)).market_cap is None  # empty in the file


def test_microsecond_binance_file_lands_on_the_same_candles(tmp_path):
    asset = AssetFactory()
    source = FIXTURES / "nautilus_ADABTC-1m-2021-11-27.csv"
    candles_import(path=source, asset=asset)
    micro = tmp_path / "ADABTC-1m-2025-01-01.csv"
    micro.write_text(
        "".join(f"{line.split(',', 1)[0]}000,{line.split(',', 1)[1]}\n" for line in source.open())
    )
    report = candles_import(path=micro, asset=asset)
    assert report.unit == "us"
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 10)


BAD_FILE = """timestamp,open,high,low,close,volume
1704067200000,10,12,9,11,5
1704067260000,-10,12,9,11,5
1704067320000,10,8,9,11,5
1704067380000,NaN,12,9,11,5
next tuesday,10,12,9,11,5
1704067200000,10,13,9,12,6
1704067440000,10,12,9,11,0
"""


def test_bad_rows_are_rejected_with_their_line_and_good_rows_kept(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_FILE)
    asset = AssetFactory()
    report = candles_import(path=path, asset=asset)
    reasons = {r.line: r.reason() for r in report.rejected}
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert "open: must be greater than 0" in reasons[3]
    assert "high: 8 is below low 9" in reasons[4]
    assert "open: not a number" in reasons[5]
    assert "candle_time: not a time: 'next tuesday'" in reasons[6]
    assert "repeated at 7" in reasons[2]  # line 2 is replaced by line 7, with the same time
    candles = stored(asset, "1m")
    assert [c.candle_time for c in candles] == [at(2024, 1, 1), at(2024, 1, 1, 0, 4)]
    assert candles.first().close_price == Decimal("12")  # the later row won


def test_json_records_that_are_not_candles_are_rejected_with_their_line(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(
        '[{"timestamp": 1704067200000, "open": 1, "high": 2, "low": 1, "close": 1},'
        ' 5, {"timestamp": 1704067260000, "open": 1},'
        ' {"timestamp": 1704067320000, "open": 1, "high": 2, "low": 1, "close": 1}]'
    )
    asset = AssetFactory()
    report = candles_import(path=path, asset=asset)
    reasons = {r.line: r.reason() for r in report.rejected}
    assert sorted(reasons) == [2, 3]
    assert "candle_time" in reasons[2] and "high" in reasons[3]
    assert [c.candle_time for c in stored(asset, "1m")] == [at(2024, 1, 1), at(2024, 1, 1, 0, 2)]


def test_funding_rate_files_are_rejected_row_by_row(tmp_path):
    path = tmp_path / "funding.csv"
    path.write_text("".join(f"{1704067200000 + i * 3600_000},0.0001,0,0,0,0\n" for i in range(5)))
    report = candles_import(path=path, asset=AssetFactory())
    assert report.inserted == 0
    assert len(report.rejected) == 5
    assert all("must be greater than 0" in r.reason() for r in report.rejected)


def test_timeframe_mismatch_is_refused_before_writing():
    asset = AssetFactory()
    with pytest.raises(TimeframeMismatch, match="spacing is 5m but the timeframe given is 1d"):
        candles_import(path=DEMO / "TRX_BTC-5m.feather", asset=asset, timeframe="1d")
    assert not PriceData.objects.filter(asset=asset).exists()


def test_missing_file(tmp_path):
    asset = AssetFactory()
    with pytest.raises(ImportFormatError, match="no such file"):
        candles_import(path=tmp_path / "none.csv", asset=asset)


# --- candles_resample ------------------------------------------------------------------------


def test_resample_builds_complete_periods_only():
    asset = AssetFactory()
    candles_import(path=DEMO / "ETH_BTC-5m.feather", asset=asset)
    result = candles_resample(asset=asset, source_tf="5m", target_tf="1h")
    hours = stored(asset, "1h")
    # Data runs 01-10 04:55 .. 01-30 04:55: the partial 04:00 hours at both ends are left out.
    assert (hours.first().candle_time, hours.last().candle_time) == (at(2018, 1, 10, 5), at(2018, 1, 30, 3))
    assert result.inserted == hours.count() == 479
    hour = hours.get(candle_time=at(2018, 1, 10, 5))
    parts = list(
        stored(asset, "5m").filter(candle_time__gte=hour.candle_time, candle_time__lt=at(2018, 1, 10, 6))
    )
    assert len(parts) == 12
    assert hour.open_price == parts[0].open_price and hour.close_price == parts[-1].close_price
    assert hour.high_price == max(p.high_price for p in parts)
    assert hour.low_price == min(p.low_price for p in parts)
    assert hour.volume == sum(p.volume for p in parts)
    again = candles_resample(asset=asset, source_tf="5m", target_tf="1h")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 479)


def test_resample_to_a_month_and_bad_pairs():
    asset = AssetFactory()
    for day in range(60):  # 2024-01-01 .. 2024-02-29: two full months
        PriceDataFactory(asset=asset, candle_time=T0 + timedelta(days=day), volume=Decimal(1))
    candles_resample(asset=asset, source_tf="1d", target_tf="1M")
    months = stored(asset, "1M")
    assert [(m.candle_time, m.volume) for m in months] == [(at(2024, 1, 1), 31), (at(2024, 2, 1), 29)]
    for source, target in (("1h", "5m"), ("1w", "1M"), ("4h", "1h")):
        with pytest.raises(ValueError, match="cannot be built"):
            candles_resample(asset=asset, source_tf=source, target_tf=target)


# --- assets_import ---------------------------------------------------------------------------


def test_assets_import_fills_every_field_and_is_idempotent():
    result = assets_import(path=FIXTURES / "coingecko_markets_btc_2024-12-10.json")
    assert (result.inserted, result.updated, result.rejected) == (1, 0, [])
    btc = Asset.objects.get(symbol="BTC")
    assert btc.name == "Bitcoin" and btc.external_ids == {"coingecko": "bitcoin"}
    assert btc.logo_url.startswith("https://coin-images.coingecko.com/")
    assert (btc.current_price, btc.market_cap, btc.market_cap_rank) == (97457, 1930121837685, 1)
    assert btc.price_change_percentage_24h == Decimal("-1.6125")
    assert btc.price_change_percentage_7d == Decimal("1.3249")
    assert btc.price_change_percentage_30d == Decimal("23.4384")
    assert (btc.circulating_supply, btc.max_supply) == (19792593, 21000000)
    assert btc.ath_date == datetime(2024, 12, 5, 3, 10, 51, 885000, tzinfo=UTC)
    assert btc.atl == Decimal("67.81")
    assert btc.last_price_update == datetime(2024, 12, 10, 7, 1, 51, 649000, tzinfo=UTC)
    assert btc.metrics_details["fully_diluted_valuation"] == 2047865006439
    assert btc.metrics_details["price_change_percentage_1y_in_currency"] == pytest.approx(121.9098625014484)
    assert "current_price" not in btc.metrics_details
    again = assets_import(path=FIXTURES / "coingecko_markets_btc_2024-12-10.json")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_assets_import_rejects_bad_elements_and_keeps_the_rest(tmp_path):
    path = tmp_path / "markets.json"
    path.write_text(
        '[{"id": "a", "symbol": "aaa", "name": "A", "current_price": -1},'
        ' {"id": "b", "symbol": "bbb", "name": "B", "current_price": 2, "circulating_supply": 5,'
        ' "max_supply": 4}, {"id": "c", "symbol": "ccc", "name": "C", "current_price": 3}]'
    )
    result = assets_import(path=path)
    assert result.inserted == 1
    assert [(r.line, sorted(r.errors)) for r in result.rejected] == [
        (1, ["current_price"]),
        (2, ["circulating_supply"]),
    ]
    assert list(Asset.objects.values_list("symbol", flat=True)) == ["CCC"]


@pytest.mark.postgres
def test_first_import_copies_straight_and_overlaps_merge():
    asset = AssetFactory()
    first = candles_upsert(asset=asset, timeframe="1m", rows=[candle(i) for i in range(10)], batch_size=4)
    assert (first.inserted, first.updated) == (10, 0)
    # Batches overlapping stored candles go through the staging table and ON CONFLICT.
    rows = [candle(i, close="11.5" if i == 9 else "11") for i in range(8, 14)]
    second = candles_upsert(asset=asset, timeframe="1m", rows=rows, batch_size=4)
    assert (second.inserted, second.updated, second.unchanged) == (4, 1, 1)
    assert stored(asset, "1m").count() == 14
    row = stored(asset, "1m").get(candle_time=T0 + timedelta(minutes=3))
    assert (row.technical_indicators, row.is_validated, row.created_at is not None) == ({}, False, True)


@pytest.mark.postgres
def test_direct_copy_backs_off_when_a_candle_appeared_meanwhile():
    """A writer may store a candle between the empty-range check and the COPY: nothing is lost."""
    asset = AssetFactory()
    candles_upsert(asset=asset, timeframe="1m", rows=[candle(1)])
    rows = [
        (T0 + timedelta(minutes=i), *(Decimal(v) for v in ["10", "12", "9", "11", "5"]), None, None, None)
        for i in (0, 1)
    ]
    connection.ensure_connection()
    with transaction.atomic(), connection.connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert copy_direct(cursor, copy_text(rows, copy_prefix(asset, "1m"))) is False
    assert list(stored(asset, "1m").values_list("candle_time", flat=True)) == [T0 + timedelta(minutes=1)]


def test_batches_start_small_and_double_up_to_the_batch_size():
    assert list(islice(batch_sizes(50_000), 6)) == [5_000, 10_000, 20_000, 40_000, 50_000, 50_000]
    assert list(islice(batch_sizes(3), 3)) == [3, 3, 3]


@pytest.mark.postgres
def test_a_batch_after_a_new_one_is_copied_without_looking_and_merged_when_a_candle_exists(monkeypatch):
    """After an all-new batch the next is COPied at once: a stored candle in it sends it to the merge."""
    asset = AssetFactory()
    candles_upsert(asset=asset, timeframe="1m", rows=[candle(6, close="11.5")])
    copies = []
    monkeypatch.setattr(candle_writes, "copy_direct", lambda *a: copies.append(copy_direct(*a)) or copies[-1])

    result = candles_upsert(asset=asset, timeframe="1m", rows=[candle(i) for i in range(10)], batch_size=4)

    # 0-3 after finding the range empty; 4-7 straight away, refused for minute 6; 8-9 after looking.
    assert copies == [True, False, True]
    assert (result.inserted, result.updated, result.unchanged) == (9, 1, 0)
    assert [row.close_price for row in stored(asset, "1m")] == [Decimal("11")] * 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_copied_without_looking_commits_with_its_watermark_or_not_at_all(monkeypatch):
    asset = AssetFactory()
    marks = []

    def mark_failing_the_second(**span):
        marks.append(span)
        if len(marks) == 2:
            raise RuntimeError("the watermark failed")
        indicators_mark_stale(**span)

    monkeypatch.setattr(writing, "indicators_mark_stale", mark_failing_the_second)
    with pytest.raises(RuntimeError, match="the watermark failed"):
        candles_upsert(asset=asset, timeframe="1m", rows=[candle(i) for i in range(8)], batch_size=4)

    # The first batch committed; the second, COPied at once after it, went with its transaction.
    assert stored(asset, "1m").count() == 4
