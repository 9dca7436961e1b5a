"""The regime chart's data: one model's out-of-sample calls with BTC's price, a window at a time."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from macro.models import AIRegimeAnalysis
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
URL = "admin:macro_airegimeanalysis_chart_data"


def regimes(model=None, days=range(6), in_sample_days=(0, 1)):
    """Write one call a day: Bull on even days, Bear on odd ones; the first days in-sample."""
    rows = []
    for day in days:
        snapshot = MetricsSnapshotFactory(
            snapshot_time=DAY0 + timedelta(days=day), btc_price_usd=Decimal(40000 + 1000 * day)
        )
        p = round(0.5 + day / 20, 2)
        rows.append(
            AIRegimeAnalysisFactory(
                metrics_snapshot=snapshot,
                **({"ai_model": model} if model else {}),
                regime="Bull" if day % 2 == 0 else "Bear",
                regime_probabilities={"Bull": p, "Bear": round(1 - p, 2)}
                if day % 2 == 0
                else {"Bear": p, "Bull": round(1 - p, 2)},
                in_sample=day in in_sample_days,
            )
        )
        model = rows[0].ai_model
    return model


def expected(model, *, in_sample=False):
    """Recompute the chart's figures from the stored rows, oldest first."""
    rows = AIRegimeAnalysis.objects.filter(ai_model=model).select_related("metrics_snapshot")
    rows = sorted((r for r in rows if in_sample or not r.in_sample), key=lambda r: r.analysis_time)
    return {
        "time": [int(r.analysis_time.timestamp()) for r in rows],
        "regime": [r.regime for r in rows],
        "price": [float(r.metrics_snapshot.btc_price_usd) for r in rows],
        "Bull": [r.regime_probabilities.get("Bull", 0) for r in rows],
    }


def test_out_of_sample_calls_with_price_and_probabilities(admin_client):
    model = regimes()
    other = regimes(days=range(10, 12), in_sample_days=())  # another model: not in this chart

    body = admin_client.get(reverse(URL), {"model": model.pk}).json()

    want = expected(model)
    assert len(want["time"]) == 4  # days 0 and 1 were in-sample
    assert body["model"] == {"id": model.pk, "name": str(model)}
    assert {m["id"] for m in body["models"]} == {model.pk, other.pk}
    assert body["time"] == want["time"] and body["regime"] == want["regime"] == ["Bull", "Bear"] * 2
    assert body["price"] == want["price"] == [42000.0, 43000.0, 44000.0, 45000.0]
    assert body["probabilities"]["Bull"] == want["Bull"]
    for i in range(len(body["time"])):  # a stacked area: each day's probabilities sum to 1
        assert sum(series[i] for series in body["probabilities"].values()) == pytest.approx(1)
    assert body["more"] is False

    with_fit = admin_client.get(reverse(URL), {"model": model.pk, "in_sample": "on"}).json()
    assert with_fit["time"] == expected(model, in_sample=True)["time"] and len(with_fit["time"]) == 6


def test_windows_page_back_in_time(admin_client):
    model = regimes(in_sample_days=())
    latest = admin_client.get(reverse(URL), {"model": model.pk, "limit": 4}).json()
    assert latest["time"] == expected(model)["time"][2:] and latest["more"] is True
    end = latest["time"][0] - 1
    older = admin_client.get(reverse(URL), {"model": model.pk, "limit": 4, "end": end}).json()
    assert older["time"] == expected(model)["time"][:2] and older["more"] is False


def test_queries_do_not_grow_with_the_window(admin_client):
    model = regimes(days=range(8), in_sample_days=())
    with CaptureQueriesContext(connection) as small:
        admin_client.get(reverse(URL), {"model": model.pk, "limit": 2})
    with CaptureQueriesContext(connection) as large:
        admin_client.get(reverse(URL), {"model": model.pk, "limit": 8})
    assert len(small) == len(large)


def test_bad_query_is_a_400_naming_the_field(admin_client):
    response = admin_client.get(reverse(URL), {"limit": 0, "end": "soon"})
    assert response.status_code == 400 and set(response.json()) == {"limit", "end"}
    response = admin_client.get(reverse(URL), {"model": 10**9})
    assert response.status_code == 400 and "model" in response.json()


def test_no_regime_model_yet_is_an_empty_chart(admin_client):
    body = admin_client.get(reverse(URL)).json()
    assert body["model"] is None and body["time"] == []


def test_page_is_linked_from_the_changelist_and_needs_view_permission(admin_client, client):
    model = regimes(days=range(2), in_sample_days=())
    changelist = admin_client.get(reverse("admin:macro_airegimeanalysis_changelist")).content.decode()
    assert reverse("admin:macro_airegimeanalysis_chart") in changelist
    page = admin_client.get(reverse("admin:macro_airegimeanalysis_chart")).content.decode()
    assert 'data-chart="regimes"' in page and f'<option value="{model.pk}">' in page

    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:macro_airegimeanalysis_chart")).status_code == 403
    assert client.get(reverse(URL)).status_code == 403
