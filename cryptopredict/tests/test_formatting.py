"""Numbers and times as people read them (cryptopredict.formatting and its template filters)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from cryptopredict.formatting import moment, multiple, number, percent


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("97457.000000000000000000"), "97,457"),
        (Decimal("5397.931000000000000000"), "5,397.93"),
        (Decimal("0.000028541200000000"), "0.00002854"),
        (Decimal("0.034512345"), "0.03451"),
        (Decimal("1.23456"), "1.235"),
        (Decimal("1234567890.12"), "1,234,567,890.12"),
        (Decimal("-1500.5"), "-1,500.5"),
        (Decimal("0E-18"), "0"),
        (12, "12"),
        (0.5, "0.5"),
        (1e-9, "0.000000001"),
        (None, "—"),
        (float("nan"), "—"),
        ("not a number", "—"),
    ],
)
def test_number_has_separators_no_trailing_zeros_and_enough_significant_digits(value, shown):
    assert number(value) == shown


def test_number_signed_and_decimals():
    assert number(Decimal("2.5"), signed=True) == "+2.5"
    assert number(Decimal("-2.5"), signed=True) == "-2.5"
    assert number(Decimal("1234.5678"), decimals=0) == "1,235"
    assert number(Decimal("1234.5678"), decimals=4) == "1,234.5678"


def test_percent_of_percent_values_and_of_fractions():
    assert percent(Decimal("12.5000")) == "12.5%"
    assert percent(Decimal("60.00")) == "60%"
    assert percent(Decimal("0.1250"), fraction=True) == "12.5%"
    assert percent(Decimal("-0.7300"), fraction=True) == "-73%"
    assert percent(Decimal("0.0012")) == "0.0012%"
    assert percent(Decimal("3.2"), signed=True) == "+3.2%"
    assert percent(None) == "—"


def test_multiple():
    assert multiple(Decimal("1.1834")) == "1.18x"
    assert multiple(2) == "2x"


def test_moment_is_24_hour_with_the_zone():
    value = datetime(2025, 1, 14, 15, 30, 45, tzinfo=UTC)
    assert moment(value) == "2025-01-14 15:30 UTC"
    assert moment(value, seconds=True) == "2025-01-14 15:30:45 UTC"
    assert moment(value, "Europe/Berlin") == "2025-01-14 16:30 CET"
    assert moment(value, "America/New_York") == "2025-01-14 10:30 EST"
    assert moment(value, "No/Such_Zone") == "2025-01-14 15:30 UTC"  # unknown zone: the active one
    with timezone.override("Asia/Tokyo"):
        assert moment(value) == "2025-01-15 00:30 JST"
    assert moment(date(2025, 1, 14)) == "2025-01-14"
    assert moment(None) == "—"


def test_template_filters():
    template = Template(
        "{% load cp_format %}{{ price|number }} {{ change|percent }} {{ rate|fraction_percent }} "
        "{{ sharpe|multiple }} {{ at|moment }} {{ at|moment:'Asia/Kolkata' }}"
    )
    context = Context(
        {
            "price": Decimal("97457.000000000000000000"),
            "change": Decimal("-2.5000"),
            "rate": Decimal("0.0500"),
            "sharpe": Decimal("1.1800"),
            "at": datetime(2025, 1, 14, tzinfo=UTC),
        }
    )
    assert template.render(context) == "97,457 -2.5% 5% 1.18x 2025-01-14 00:00 UTC 2025-01-14 05:30 IST"
