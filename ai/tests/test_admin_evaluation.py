"""The admin's evaluation page: the model beside each baseline with the interval and the verdict."""

import html
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from ai.evaluation import sma_trend_decisions
from ai.tests.test_evaluation import random_walk, store, strategy_result
from users.tests.factories import AdminUserFactory

pytestmark = pytest.mark.django_db


def verdict_rows(client, evaluation) -> tuple[str, list[list[str]]]:
    """Return the pass mark's heading and the cells of its table, as the page shows them."""
    page = client.get(reverse("admin:ai_modelevaluation_change", args=[evaluation.pk])).content.decode()
    module = page[page.index("<h2>Pass mark") : page.index("</fieldset>", page.index("<h2>Pass mark"))]
    heading = re.search(r"<h2>(.*?)</h2>", module).group(1)
    body = module[module.index("<tbody>") :]
    rows = [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    return heading, rows


@pytest.fixture
def admin(client):
    client.force_login(AdminUserFactory())
    return client


def test_a_strategy_is_shown_beside_buy_and_hold_and_the_sma_rule_with_interval_and_verdict(admin):
    opens, close = random_walk()
    rule = sma_trend_decisions(close, close.index)
    noise = np.random.default_rng(5).random(len(close)) < 0.03
    evaluation = store(strategy_result(opens, close, np.where(noise, 1 - rule, rule)))
    heading, rows = verdict_rows(admin, evaluation)
    assert heading == "Pass mark: not passed"
    assert [row[:2] for row in rows] == [["buy and hold", "Sharpe ratio"], ["sma 200", "Sharpe ratio"]]
    for row, name in zip(rows, ("buy_and_hold", "sma_200"), strict=True):
        entry = evaluation.metrics["comparison"][name]
        low, high = (float(v) for v in row[5].strip("[]").split(", "))
        assert low == pytest.approx(entry["ci_low"], abs=0.01) and high == pytest.approx(
            entry["ci_high"], abs=0.01
        )
        assert float(row[2]) == pytest.approx(entry["model"], abs=0.01)
        assert float(row[3]) == pytest.approx(entry["baseline"], abs=0.01)
        assert float(row[6]) == pytest.approx(entry["p_value"], abs=0.001)
    # The noisy copy of the SMA rule: its interval spans zero, so it does not beat the rule.
    assert rows[1][-1] == "does not beat it"


def test_a_model_with_a_real_edge_reads_passed_and_beats_every_baseline(admin):
    opens, close = random_walk()
    oracle = ((close / opens).shift(-1) > 1).astype(int).fillna(0).to_numpy()
    evaluation = store(strategy_result(opens, close, oracle))
    heading, rows = verdict_rows(admin, evaluation)
    assert heading == "Pass mark: passed" and evaluation.passed
    assert [row[-1] for row in rows] == ["beats it", "beats it"]


def test_a_classifier_is_shown_beside_majority_persistence_and_the_prior_on_both_figures(admin):
    rng = np.random.default_rng(2)
    index = pd.date_range("2020-01-01", periods=600, tz="UTC")
    truth = pd.Series(np.repeat(rng.choice(["Bull", "Bear", "Sideways"], 12), 50), index=index)
    persistence = truth.shift(10).fillna("Bull")
    result = {
        "kind": "classification",
        "truth": truth,
        "predicted": persistence.where(rng.random(600) > 0.05, "Sideways"),
        "baselines": {
            "majority": pd.Series("Bull", index=index),
            "persistence": persistence,
            "random_prior": pd.Series(rng.choice(["Bull", "Bear", "Sideways"], 600), index=index),
        },
        "period_start": datetime(2020, 1, 1, tzinfo=UTC),
        "period_end": datetime(2021, 8, 22, tzinfo=UTC),
    }
    evaluation = store(result)
    heading, rows = verdict_rows(admin, evaluation)
    assert heading == "Pass mark: not passed"
    assert [row[:2] for row in rows] == [
        [name, figure]
        for figure in ("Balanced accuracy", "Cohen's kappa")
        for name in ("majority", "persistence", "random prior")
    ]
    verdicts = {(row[0], row[1]): row[-1] for row in rows}
    # It beats the majority class and the random draw with confidence, not persistence.
    assert verdicts[("majority", "Balanced accuracy")] == "beats it"
    assert verdicts[("persistence", "Balanced accuracy")] == "does not beat it"
    assert verdicts[("random prior", "Cohen's kappa")] == "beats it"
