"""The asset-selection model rerun as of past times: only the candles closed by then, clear errors."""

import pytest
from django.core.exceptions import ValidationError

from ai import services
from ai.registry import PredictionScope, architecture_get
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from selection.models import AIWatchlistAnalysis
from selection.tests.factories import WatchlistAssetFactory, WatchlistFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def watched():
    assets = real_market(snapshots=False)
    watchlist = WatchlistFactory(is_active=True)
    for asset in assets.values():
        WatchlistAssetFactory(watchlist=watchlist, asset=asset)
    return watchlist


def test_scoring_as_of_past_times_sees_only_the_candles_closed_by_then(watched):
    model = services.model_register(name="selection", version="1", architecture="asset_selection")
    times = ["2021-06-01", "2021-06-02T00:00:00+00:00", "2021-06-01T12:00:00", "2020-03-10"]
    job = services.prediction_job_queue(model=model, enqueue=False, parameters={"as_of": times})
    job = services.prediction_job_execute(job_id=job.pk)
    assert job.status == JobStatus.COMPLETED, job.error_message
    rows = AIWatchlistAnalysis.objects.filter(ai_model=model).order_by("analysis_time")
    # 2021-06-01 12:00 knows the same close as 2021-06-01 (the 31 May candle): one analysis.
    assert [r.analysis_time.date().isoformat() for r in rows] == ["2020-03-09", "2021-05-31", "2021-06-01"]
    # The same analysis as a run on the history cut at that close.
    arch = architecture_get("asset_selection")
    cut = arch.predict(
        model=model, job=None, scope=PredictionScope(timeframe="1d", parameters={"as_of": "2020-03-10"})
    )
    assert cut == 1
    first, again = AIWatchlistAnalysis.objects.filter(analysis_time=rows[0].analysis_time).order_by("pk")
    assert (first.overall_score, first.asset_scores) == (again.overall_score, again.asset_scores)
    assert first.overall_score != rows[2].overall_score


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"as_of": "June"}, "as_of must be ISO 8601 times, got 'June'"),
        ({"as_of": []}, "as_of must name at least one time"),
        ({"as_of": "2021-06-01", "portfolio": 1}, "as_of scores watchlists only"),
    ],
)
def test_a_bad_as_of_is_refused_naming_it(parameters, message):
    arch = architecture_get("asset_selection")
    with pytest.raises(ValidationError, match=message) as caught:
        arch.parameters_validate(parameters=parameters)
    assert "parameters" in caught.value.message_dict
