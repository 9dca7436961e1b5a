"""Register, train, run and evaluate the built-in models on the demo data (called by seed_demo).

Needs candles and MetricsSnapshot rows first (seed_demo imports and builds them). Idempotent:
models are found by name and version, a trained model is not trained again, regime and sector
a model that already ran (a completed prediction job) or was evaluated is not run or evaluated
again. Jobs run in this process, broker or not.
"""

import logging
import time

from django.db import transaction

from ai import services
from ai.evaluation import model_evaluate
from ai.models import AIModel
from ai.registry import architecture_get
from cryptopredict.choices import JobStatus
from sectors.services import sector_history_build

logger = logging.getLogger(__name__)

# name, version, architecture: layer by layer, as the later layers read the earlier ones.
BUILT_IN = (
    ("Regime rules", "1.0", "regime_rules"),
    ("Regime forest", "1.0", "regime_forest"),
    ("Sector rotation", "1.0", "sector_rotation"),
    ("Asset selection", "1.0", "asset_selection"),
    ("Signal confluence", "1.0", "signal_confluence"),
)


def _model(name: str, version: str, architecture: str) -> AIModel:
    model = AIModel.objects.filter(name=name, version=version).first()
    return model or services.model_register(name=name, version=version, architecture=architecture)


def _run(job, execute) -> None:
    job = execute(job_id=job.pk)
    if job is None or job.status != "completed":
        raise RuntimeError(f"{job}: {(job.error_message or '').splitlines()[:1] if job else 'not started'}")


def ai_demo_run(*, timeframe: str = "1d", evaluate: bool = True, log=logger.info) -> dict:
    """Build sector history, then train, activate, run and evaluate every built-in model; return a summary."""
    summary = {"sector_history": sector_history_build(timeframe=timeframe)}
    for name, version, architecture in BUILT_IN:
        began = time.monotonic()
        with transaction.atomic():
            model = _model(name, version, architecture)
        if architecture_get(architecture).trainable and not model.model_file_path:
            job = services.training_job_queue(model=model, timeframe=timeframe, enqueue=False)
            _run(job, services.training_job_execute)
            model.refresh_from_db()
        if not model.is_active:
            model = services.model_activate(model=model)
        # The demo runs each model once: a rerun of seed_demo leaves the same rows.
        entry = {}
        if not model.prediction_jobs.filter(status=JobStatus.COMPLETED).exists():
            job = services.prediction_job_queue(model=model, timeframe=timeframe, enqueue=False)
            _run(job, services.prediction_job_execute)
            job.refresh_from_db()
            entry["predictions"] = job.predictions_count
        has_backtest = hasattr(architecture_get(architecture), "evaluate")
        if evaluate and has_backtest and not model.evaluations.exists():
            evaluation = model_evaluate(model=model, timeframe=timeframe)
            entry["evaluation"] = {"id": evaluation.pk, "passed": evaluation.passed}
        entry["seconds"] = round(time.monotonic() - began, 1)
        summary[str(model)] = entry
        log(f"{model}: {entry}")
    return summary
