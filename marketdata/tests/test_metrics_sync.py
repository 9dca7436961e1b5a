"""sync_metrics against local alternative.me and FRED servers, in their JSON."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from macro.models import MetricsSnapshot
from macro.tests.factories import MetricsSnapshotFactory
from marketdata.models import SyncState

pytestmark = pytest.mark.django_db
DAYS = [datetime(2024, 1, d, tzinfo=UTC) for d in (2, 3)]


def fear_greed_answer(query):
    assert query == {"limit": "0", "format": "json"}
    data = [
        {
            "value": str(v),
            "value_classification": c,
            "timestamp": str(int(day.timestamp())),
            "time_until_update": "1",
        }
        for day, v, c in (
            (DAYS[1], 71, "Greed"),
            (DAYS[0], 40, "Fear"),
            (datetime(2024, 1, 1, tzinfo=UTC), 65, "Greed"),
        )
    ]
    return 200, {}, {"name": "Fear and Greed Index", "data": data, "metadata": {"error": None}}


def fred_answer(query):
    values = {"SP500": ("4742.83", "4704.81"), "DTWEXBGS": ("119.4525", "."), "DGS10": ("3.95", "4.00")}
    if query.get("api_key") != "key-123":
        return (
            400,
            {},
            {
                "error_code": 400,
                "error_message": "Bad Request.  The value for variable api_key is not registered.",
            },
        )
    if query["series_id"] == "VIXCLS":
        return 500, {}, b""
    observations = [
        {
            "realtime_start": "2024-01-10",
            "realtime_end": "2024-01-10",
            "date": f"{day:%Y-%m-%d}",
            "value": value,
        }
        for day, value in zip(DAYS, values[query["series_id"]], strict=True)
    ]
    return 200, {}, {"file_type": "json", "count": len(observations), "observations": observations}


@pytest.fixture
def sources(local_server, settings):
    local_server.routes["/fng/"] = fear_greed_answer
    local_server.routes["/fred/series/observations"] = fred_answer
    settings.FEAR_GREED_URL = f"{local_server.url}/fng/"
    settings.FRED_API_URL = f"{local_server.url}/fred"
    settings.SOURCE_RETRIES = 1
    for day in DAYS:
        MetricsSnapshotFactory(snapshot_time=day, timeframe="1d")
    return local_server


def test_fear_greed_and_fred_are_merged_into_the_daily_snapshots(sources, settings, capsys):
    settings.FRED_API_KEY = "key-123"

    with pytest.raises(CommandError, match="1 sources failed") as error:
        call_command("sync_metrics")

    assert error.value.returncode == 1
    first, second = MetricsSnapshot.objects.order_by("snapshot_time")
    assert (first.fear_greed_index, second.fear_greed_index) == (Decimal("40.00"), Decimal("71.00"))
    assert (first.sp500, second.sp500) == (Decimal("4742.83"), Decimal("4704.81"))
    assert (first.dxy, second.dxy) == (Decimal("119.45"), None)  # "." is no observation
    assert (first.us_10y_yield, second.us_10y_yield) == (Decimal("3.9500"), Decimal("4.0000"))
    out, err = capsys.readouterr()
    assert "fear & greed: 3 values, 0 snapshots created, 2 updated, 0 unchanged, 1 days without" in out
    assert err.strip() == "fred: GET series/observations answered 500 (2 attempts)"
    assert SyncState.objects.get(source="fred:VIXCLS").last_error.startswith("fred: GET series/observations")
    assert SyncState.objects.get(source="fred:SP500").last_success_at is not None

    capsys.readouterr()
    with pytest.raises(CommandError):
        call_command("sync_metrics")  # a rerun changes nothing
    assert "fear & greed: 3 values, 0 snapshots created, 0 updated, 2 unchanged" in capsys.readouterr().out


def test_without_a_fred_key_fred_is_skipped_with_a_note(sources, settings, capsys):
    settings.FRED_API_KEY = ""
    call_command("sync_metrics")
    out = capsys.readouterr().out
    assert "fred: FRED_API_KEY is not set; SP500, DTWEXBGS, DGS10, VIXCLS skipped" in out
    assert not sources.hits("/fred/series/observations")


def test_a_bad_fred_key_is_one_line_naming_the_source(sources, settings, capsys):
    settings.FRED_API_KEY = "wrong"
    with pytest.raises(CommandError, match="4 sources failed"):
        call_command("sync_metrics")
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("fred: GET series/observations answered 400: ")
    assert "api_key is not registered" in first
