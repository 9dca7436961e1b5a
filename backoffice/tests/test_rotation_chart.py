"""The sector rotation chart's data: RS-ratio / RS-momentum tails and index lines, recomputed here."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sectors.tests.factories import SectorFactory, SectorHistoryFactory

pytestmark = pytest.mark.django_db
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
URL = "admin:sectors_sector_chart_data"
DAYS = 40


def cap(sector: int, day: int) -> float:
    return 1000 * (sector + 1) * (1 + 0.01 * (sector + 1) * day) + 37 * ((day * (sector + 3)) % 7)


@pytest.fixture
def sectors():
    made = [SectorFactory(name=f"S{i}", sort_order=i, color=f"#00{i}0ff") for i in range(3)]
    for i, sector in enumerate(made):
        for day in range(DAYS):
            SectorHistoryFactory(
                sector=sector,
                snapshot_time=DAY0 + timedelta(days=day),
                total_market_cap=Decimal(str(round(cap(i, day), 2))),
            )
    SectorHistoryFactory(sector=made[0], timeframe="1h", total_market_cap=Decimal(1))  # not daily
    return made


def expected(i: int, day: int):
    """RS-ratio and RS-momentum of sector i on `day`, from the stored caps by hand."""
    caps = [[round(cap(s, d), 2) for s in range(3)] for d in range(DAYS)]
    share = [row[i] / sum(row) for row in caps]

    def ratio(d):
        return 100 * share[d] / (sum(share[d - 13 : d + 1]) / 14)

    return ratio(day), 100 * ratio(day) / ratio(day - 5)


def test_tails_and_index_lines_recomputed_from_the_history(admin_client, sectors):
    body = admin_client.get(reverse(URL), {"days": 20}).json()

    assert body["time"] == [int((DAY0 + timedelta(days=d)).timestamp()) for d in range(20, 40)]
    assert [s["name"] for s in body["sectors"]] == ["S0", "S1", "S2"]
    for i, sector in enumerate(body["sectors"]):
        assert [p[0] for p in sector["tail"]] == body["time"][-5:]
        for (_, ratio, momentum), day in zip(sector["tail"], range(35, 40), strict=True):
            want_ratio, want_momentum = expected(i, day)
            assert ratio == pytest.approx(want_ratio, abs=1e-4)
            assert momentum == pytest.approx(want_momentum, abs=1e-4)
        first = round(cap(i, 20), 2)
        assert sector["index"][0] == 100
        assert sector["index"][-1] == pytest.approx(100 * round(cap(i, 39), 2) / first, abs=1e-4)


def test_window_ends_where_asked(admin_client, sectors):
    end = int((DAY0 + timedelta(days=30)).timestamp())
    body = admin_client.get(reverse(URL), {"days": 5, "end": end}).json()
    assert body["time"][-1] == end and len(body["time"]) == 5
    assert body["sectors"][1]["tail"][-1][1] == pytest.approx(expected(1, 30)[0], abs=1e-4)


def test_queries_do_not_grow_with_the_window(admin_client, sectors):
    with CaptureQueriesContext(connection) as small:
        admin_client.get(reverse(URL), {"days": 3})
    with CaptureQueriesContext(connection) as large:
        admin_client.get(reverse(URL), {"days": 30})
    assert len(small) == len(large)


def test_bad_query_is_a_400_naming_the_field(admin_client):
    response = admin_client.get(reverse(URL), {"days": 1, "end": "x"})
    assert response.status_code == 400 and set(response.json()) == {"days", "end"}


def test_no_history_is_an_empty_chart_and_the_page_is_linked(admin_client):
    assert admin_client.get(reverse(URL)).json() == {"time": [], "sectors": []}
    changelist = admin_client.get(reverse("admin:sectors_sector_changelist")).content.decode()
    assert reverse("admin:sectors_sector_chart") in changelist
    assert 'data-chart="rrg"' in admin_client.get(reverse("admin:sectors_sector_chart")).content.decode()
