"""Look-ahead bias check: does anything a model says at or before a time move when later data moves?

In the spirit of freqtrade's `lookahead-analysis`. Inside one transaction that is always rolled
back, `lookahead_check` runs the model twice on the same history, the second time after every
input not yet known at `at` has been perturbed: candles (prices, volume, market cap, stored
indicators), market snapshots, and the analyses other models wrote (regimes, sector momentum).
A bar is known at its close, one bar after its stamp: a candle, snapshot or analysis stamped
`at - 1 bar` is known at `at`, one stamped later is not; a signal is stamped when it is known.
Each run retrains a trainable model first, writes the model's predictions afresh (its own
earlier rows are deleted) and runs its walk-forward evaluation without storing it. Every output
at or before `at` (AI rows by their time, the walk-forward's decisions) must come out the same;
in-sample rows, which a model's training data covered by definition, are counted apart. A
model that analyses only the latest close (`lookahead_as_of_bars` on its architecture) is rerun
as of each of that many bars up to `at` instead, so that it has outputs at or before `at`.

The candles are perturbed here; the apps above, whose tables other models read (macro's
snapshots and regimes, sectors' momentum), register how to perturb theirs with
`perturbation_register` (as they register architectures with ai.registry), so this module knows
no table above it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Value

from assets.candle_columns import PRICE_COLUMNS
from assets.models import PriceData
from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.models import AIAnalysisMixin

from .evaluation import model_walk_forward
from .models import AIModel
from .registry import PredictionScope, TrainingWindow, architecture_get, artifact_save

# Fields that say how or when a row was written, not what the model said.
IGNORED_FIELDS = {"id", "created_at", "updated_at", "prediction_job", "ai_model"}
PRICE_FACTOR = Decimal("1.5")
# What the apps above register: each changes, in its own tables, every input stamped after the
# last bar known (called with that time inside the check's rolled-back transaction).
PERTURBATIONS: list[Callable[[datetime], None]] = []


def perturbation_register(perturb: Callable[[datetime], None]) -> Callable[[datetime], None]:
    """Register `perturb(last_known)` to run in every look-ahead check (usable as a decorator)."""
    if perturb not in PERTURBATIONS:
        PERTURBATIONS.append(perturb)
    return perturb


@dataclass
class LookaheadReport:
    """What `lookahead_check` compared and what changed."""

    at: datetime
    compared: int = 0
    in_sample: int = 0
    changed: list[str] = field(default_factory=list)
    evaluated: bool = False

    @property
    def passed(self) -> bool:
        return not self.changed


def output_tables() -> list[type[models.Model]]:
    """Return every table AI models write analyses to (the concrete AIAnalysisMixin models)."""
    return [m for m in apps.get_models() if issubclass(m, AIAnalysisMixin)]


def _time_field(table) -> str:
    names = {f.name for f in table._meta.get_fields()}
    return "analysis_time" if "analysis_time" in names else "generated_at"


def _outputs(model: AIModel, at: datetime, step) -> dict[tuple, dict]:
    """Return {(table, time, foreign keys...): values} of the model's rows known at `at`."""
    outputs = {}
    for table in output_tables():
        time_field = _time_field(table)
        # A signal is stamped when it is known; an analysis with its bar, known a bar later.
        last = at if time_field == "generated_at" else at - step
        concrete = [f for f in table._meta.concrete_fields if f.name not in IGNORED_FIELDS]
        keys = [f.attname for f in concrete if f.is_relation]
        values = [f.attname for f in concrete if not f.is_relation]
        for row in table.objects.filter(ai_model=model, **{f"{time_field}__lte": last}).values(
            *keys, *values
        ):
            key = (table._meta.label, row[time_field], *(row[k] for k in keys))
            outputs[key] = {name: row[name] for name in values}
    return outputs


def _perturb(last_known: datetime) -> None:
    """Change every input stamped after `last_known`, the last bar known (the caller rolls back)."""
    scaled = {name: F(name) * PRICE_FACTOR for name in (*PRICE_COLUMNS, "market_cap")}
    indicators = {
        f.name: Value(None)
        for f in PriceData._meta.concrete_fields
        if f.null and f.name not in scaled and isinstance(f, models.DecimalField | models.FloatField)
    }
    PriceData.objects.filter(candle_time__gt=last_known).update(
        **scaled, **indicators, volume=F("volume") * 3
    )
    for perturb in PERTURBATIONS:
        perturb(last_known)


def _run(model: AIModel, *, at: datetime, step, timeframe: str, parameters: dict, artifact: str) -> dict:
    """Retrain (if trainable), predict afresh and walk forward; return the outputs known at `at`."""
    arch = architecture_get(model.architecture)
    if arch.trainable:
        window = TrainingWindow(timeframe=timeframe, parameters=parameters)
        artifact_save(relative_path=artifact, artifact=arch.fit(model=model, window=window))
        model.model_file_path = artifact
    for table in output_tables():
        table.objects.filter(ai_model=model).delete()
    arch.predict(model=model, job=None, scope=PredictionScope(timeframe=timeframe, parameters=parameters))
    outputs = _outputs(model, at, step)
    if hasattr(arch, "evaluate"):
        result = model_walk_forward(model=model, timeframe=timeframe, parameters=parameters)
        decisions = pd.Series(result.get("decisions", result.get("predicted")))
        # A decision is stamped with the bar whose close it was taken at.
        for time, value in decisions[decisions.index <= at - step].items():
            outputs[("walk-forward", time)] = {"decision": value}
    return outputs


def lookahead_check(
    *, model: AIModel, at: datetime, timeframe: str | None = None, parameters: dict | None = None
) -> LookaheadReport:
    """Return which outputs of `model` at or before `at` change when inputs after `at` change."""
    arch = architecture_get(model.architecture)
    timeframe = timeframe or model.training_data_timeframe
    parameters = {**getattr(arch, "lookahead_parameters", {}), **(parameters or {})}
    step = TIMEFRAME_DELTAS.get(timeframe, timedelta(days=31))
    if getattr(arch, "lookahead_as_of_bars", 0):
        # A model that analyses only the latest close reruns as of the bars up to `at` instead.
        bars = arch.lookahead_as_of_bars
        parameters.setdefault("as_of", [(at - k * step).isoformat() for k in range(bars)])
    if not PriceData.objects.filter(timeframe=timeframe, candle_time__gt=at - step).exists():
        raise ValidationError({"at": f"no {timeframe} candles after {at:%Y-%m-%d %H:%M}: nothing to perturb"})
    report = LookaheadReport(at=at, evaluated=hasattr(arch, "evaluate"))
    # The check's own artifact, never the model's: the model keeps what it was trained on.
    artifact = f"model-{model.pk}/lookahead-check.joblib"
    model_file_path = model.model_file_path
    with transaction.atomic():
        try:
            before = _run(
                model, at=at, step=step, timeframe=timeframe, parameters=parameters, artifact=artifact
            )
            _perturb(at - step)
            after = _run(
                model, at=at, step=step, timeframe=timeframe, parameters=parameters, artifact=artifact
            )
        finally:
            model.model_file_path = model_file_path
            transaction.set_rollback(True)
            (Path(settings.MODEL_ARTIFACTS_DIR) / artifact).unlink(missing_ok=True)
    for key in sorted(before.keys() | after.keys(), key=str):
        old, new = before.get(key), after.get(key)
        if (old or new or {}).get("in_sample"):
            report.in_sample += 1
            continue
        report.compared += 1
        if old is None or new is None:
            report.changed.append(f"{_describe(key)}: {'appeared' if old is None else 'disappeared'}")
        elif old != new:
            fields = sorted(name for name in old if old[name] != new.get(name))
            report.changed.append(f"{_describe(key)}: {', '.join(fields)} changed")
    return report


def _describe(key: tuple) -> str:
    table, time, *rest = key
    moment = pd.Timestamp(time).isoformat()
    return f"{table} at {moment}" + (f" ({', '.join(str(r) for r in rest)})" if rest else "")
