"""One rule for what a decimal column holds (decimal_for_column) and one for JSON columns (jsonable):
checked at the columns' limits, through the services that write them, on either database."""

import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np
import pytest
from django.db import DataError, transaction

from assets.models import PriceData
from assets.services.writing import candles_upsert
from assets.tests.factories import AssetFactory
from cryptopredict.numbers import DecimalOverflow, decimal_fit, decimal_for_column, jsonable
from macro.models import MetricsSnapshot
from macro.services.metrics_import import metrics_import

D = Decimal
DAY1 = datetime(2024, 1, 1, tzinfo=UTC)
# market_cap is decimal(30, 2): 28 integer digits. Its largest value that SQLite keeps below 10^28
# too has 15 nines (Django reads 15 digits back); 28 nines and .99 come back as 10^28.
CAP_MAX = D("999999999999999" + "0" * 13 + ".00")
BEYOND_A_DOUBLE = D("9" * 28 + ".99")


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        ("99.99", "99.99"),
        ("99.994", "99.99"),
        ("-99.994", "-99.99"),
        ("0.125", "0.13"),  # half away from zero, as PostgreSQL rounds numeric
        ("-0.125", "-0.13"),
        ("1E-30", "0.00"),
        ("0", "0.00"),
    ],
)
def test_a_number_is_rounded_as_the_column_stores_it(number, stored):
    rounded = decimal_for_column(D(number), max_digits=4, decimal_places=2)
    assert str(rounded) == stored


@pytest.mark.parametrize("number", ["99.995", "-99.995", "100", "1E+30", "NaN", "Infinity", "-Infinity"])
def test_a_number_the_column_cannot_hold_is_refused_naming_it(number):
    with pytest.raises(DecimalOverflow, match=r"does not fit decimal\(4,2\)") as caught:
        decimal_for_column(D(number), max_digits=4, decimal_places=2)
    assert str(caught.value).startswith(str(D(number)))


def test_a_whole_number_is_a_number_of_the_column():
    assert decimal_for_column(99, max_digits=4, decimal_places=2) == D("99.00")
    with pytest.raises(DecimalOverflow):
        decimal_for_column(100, max_digits=4, decimal_places=2)


def test_a_column_of_decimals_only_holds_zero_point_something():
    assert decimal_for_column(D("0.99994"), max_digits=4, decimal_places=4) == D("0.9999")
    with pytest.raises(DecimalOverflow):
        decimal_for_column(D("0.99995"), max_digits=4, decimal_places=4)


def test_floats_from_computations_become_none_where_the_column_cannot_hold_them():
    assert decimal_fit(np.float64(0.123456), 4) == D("0.1235")
    assert decimal_fit(1.7, 2, 0, 1) == D("1.00")  # clamped
    assert decimal_fit(math.nan, 2) is None and decimal_fit(None, 2) is None
    assert decimal_fit(99.995, 2, digits=4) is None
    assert decimal_fit(99.99, 2, digits=4) == D("99.99")


@pytest.mark.django_db
def test_the_candle_import_stores_the_largest_value_and_refuses_the_next():
    asset = AssetFactory()
    row = {"open": "1", "high": "1", "low": "1", "close": "1", "volume": "1"}
    huge_price = "9" * 20 + "." + "9" * 19  # rounds to 10^20: beyond numeric(38, 18)
    days = [DAY1 + timedelta(days=n) for n in range(4)]
    result = candles_upsert(
        asset=asset,
        timeframe="1d",
        indicators=False,
        rows=[
            {**row, "candle_time": days[0], "market_cap": str(CAP_MAX)},
            {**row, "candle_time": days[1], "market_cap": str(BEYOND_A_DOUBLE)},
            {**row, "candle_time": days[2], "market_cap": str(BEYOND_A_DOUBLE) + "5"},
            {"candle_time": days[3], **dict.fromkeys(("open", "high", "low", "close"), huge_price)},
        ],
    )
    assert result.inserted == 1
    reasons = {r.line: r.errors for r in result.rejected}
    assert reasons[1] == {
        "market_cap": [
            f"{BEYOND_A_DOUBLE} does not fit decimal(30,2) (SQLite would keep 1.00000000000000E+28)"
        ]
    }
    rounded = "1" + "0" * 28 + ".00"
    assert reasons[2] == {
        "market_cap": [f"{BEYOND_A_DOUBLE}5 does not fit decimal(30,2) (rounded it is {rounded})"]
    }
    assert set(reasons[3]) == {"open", "high", "low", "close"}
    # Read back on either database (Django could not read 10^28 from SQLite's double).
    assert PriceData.objects.get(asset=asset).market_cap == CAP_MAX


@pytest.mark.django_db
def test_the_metrics_import_rounds_as_the_column_and_refuses_what_overflows(tmp_path):
    # sp500 is decimal(10, 2).
    path = tmp_path / "metrics.csv"
    path.write_text(
        "snapshot_time,btc_price_usd,sp500\n2024-01-01,40000,99999999.994\n2024-01-02,40000,99999999.995\n"
    )
    counts = metrics_import(path=path)
    assert [(r.line, r.reason()) for r in counts.rejected] == [
        (3, "sp500: 99999999.995 does not fit decimal(10,2) (rounded it is 100000000.00)")
    ]
    assert MetricsSnapshot.objects.get().sp500 == D("99999999.99")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_agrees_with_the_rule_at_the_limit():
    """What the rule accepts PostgreSQL stores as the rule rounded it; what it refuses overflows there."""
    asset = AssetFactory()
    candle = PriceData.objects.create(
        asset=asset, timeframe="1d", candle_time=DAY1, open_price=1, high_price=1, low_price=1, close_price=1
    )
    for raw in (CAP_MAX, D("0.125"), D("12.345"), D("-0.005") + 1, D(str(CAP_MAX) + "4"), BEYOND_A_DOUBLE):
        PriceData.objects.filter(pk=candle.pk).update(market_cap=raw)
        candle.refresh_from_db()
        assert candle.market_cap == raw.quantize(D("0.01"), ROUND_HALF_UP, Context(prec=40)), raw
        if raw != BEYOND_A_DOUBLE:  # which PostgreSQL keeps, and SQLite would not
            assert candle.market_cap == decimal_for_column(raw, max_digits=30, decimal_places=2), raw
    refused = D(str(BEYOND_A_DOUBLE) + "5")
    with pytest.raises(DecimalOverflow):
        decimal_for_column(refused, max_digits=30, decimal_places=2)
    with pytest.raises(DataError), transaction.atomic():
        PriceData.objects.filter(pk=candle.pk).update(market_cap=refused)


def test_jsonable_makes_computed_values_valid_json():
    value = {
        1: np.float64(0.5),
        "n": np.int64(3),
        "nan": math.nan,
        "inf": np.float64("inf"),
        "decimals": (D("2"), D("2.5"), D("NaN")),
        "nested": [{"b": np.bool_(True)}],
    }
    assert jsonable(value) == {
        "1": 0.5,
        "n": 3,
        "nan": None,
        "inf": None,
        "decimals": [2, 2.5, None],
        "nested": [{"b": True}],
    }
    assert type(jsonable(np.int64(3))) is int and type(jsonable(D("2"))) is int
