"""The registry of model architectures: domain apps register the classes that fit and predict.

An architecture is a class with a `model_type` (ai.choices.ModelType), a `trainable` flag and two
methods, `fit(*, model, window) -> artifact` and `predict(*, model, job, scope) -> rows written`.
Each domain app registers its own in `AppConfig.ready()`, so `ai` never imports a domain's code.
An architecture that works on what users own names it in `owned_targets` (job parameter -> model
with a `user` and `alive()`): a public user may request its predictions for one target of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import joblib
from django.conf import settings
from django.core.exceptions import ValidationError

_ARCHITECTURES: dict[str, type] = {}


def noop_checkpoint(percent: int) -> None:
    """Accept a progress report and do nothing (work run outside a job)."""


@dataclass
class TrainingWindow:
    """What a training job hands to `fit`: the data range and a progress checkpoint."""

    timeframe: str
    start: datetime | None = None
    end: datetime | None = None
    parameters: dict = field(default_factory=dict)
    checkpoint: Callable[[int], None] = noop_checkpoint


@dataclass
class PredictionScope:
    """What a prediction job hands to `predict`: the scope, a checkpoint and an output summary."""

    timeframe: str
    asset: object = None
    sector: object = None
    parameters: dict = field(default_factory=dict)
    checkpoint: Callable[[int], None] = noop_checkpoint
    output: dict = field(default_factory=dict)


def register(name: str) -> Callable[[type], type]:
    """Return a class decorator that registers the class as architecture `name`."""

    def decorator(cls: type) -> type:
        known = _ARCHITECTURES.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"architecture {name!r} is already registered by {known.__qualname__}")
        cls.architecture_name = name
        _ARCHITECTURES[name] = cls
        return cls

    return decorator


def architecture_names() -> list[str]:
    """Return the registered architecture names, sorted."""
    return sorted(_ARCHITECTURES)


def architecture_get(name: str):
    """Return an instance of the architecture registered as `name`, or raise ValidationError."""
    cls = _ARCHITECTURES.get(name)
    if cls is None:
        known = ", ".join(architecture_names()) or "none"
        raise ValidationError(
            {"architecture": f"unknown architecture {name!r}; registered: {known}"}, code="unknown"
        )
    return cls()


def artifact_relative_path(*, model, job_id: int) -> str:
    """Return the artifact path of one training run, relative to MODEL_ARTIFACTS_DIR (<= 100 chars)."""
    return f"model-{model.pk}/training-job-{job_id}.joblib"


def artifact_save(*, relative_path: str, artifact) -> Path:
    """Write `artifact` with joblib under MODEL_ARTIFACTS_DIR and return the absolute path."""
    path = Path(settings.MODEL_ARTIFACTS_DIR) / relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(artifact, path, compress=3)
    return path


def artifact_load(*, model):
    """Return the trained artifact of `model`, or raise ValidationError if it has none."""
    if not model.model_file_path:
        raise ValidationError(f"model {model} has not been trained yet: run a training job first")
    path = Path(settings.MODEL_ARTIFACTS_DIR) / model.model_file_path
    if not path.exists():
        raise ValidationError(f"the artifact of model {model} is missing: {path}; train it again")
    return joblib.load(path)
