"""What the ai commands share: finding models and jobs, parsing JSON and dates, one-line errors."""

import json
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from ai.models import AIModel, ModelPredictionJob, ModelTrainingJob

REJECTED, BAD_ARGUMENTS = 1, 2
JOB_KINDS = {"training": ModelTrainingJob, "prediction": ModelPredictionJob}


def model_get(ref: str) -> AIModel:
    """Return the model `ref` names: an id, NAME:VERSION, or NAME (its active, else newest, version)."""
    if ref.isdecimal():
        model = AIModel.objects.filter(pk=int(ref)).first()
    elif ":" in ref:
        name, version = ref.rsplit(":", 1)
        model = AIModel.objects.filter(name=name, version=version).first()
    else:
        model = AIModel.objects.filter(name=ref).order_by("-is_active", "-created_at", "-pk").first()
    if model is None:
        raise CommandError(f"no AI model {ref!r} (give an id, NAME or NAME:VERSION)", returncode=REJECTED)
    return model


def job_get(job_id: int, kind: str | None):
    """Return the training or prediction job with `job_id` (`kind` settles an id both tables hold)."""
    kinds = [kind] if kind else list(JOB_KINDS)
    found = [job for k in kinds if (job := JOB_KINDS[k].objects.filter(pk=job_id).first()) is not None]
    if not found:
        raise CommandError(f"no {kind or 'training or prediction'} job #{job_id}", returncode=REJECTED)
    if len(found) > 1:
        raise CommandError(
            f"both a training and a prediction job have id {job_id}: add --kind training|prediction",
            returncode=BAD_ARGUMENTS,
        )
    return found[0]


def json_object(text: str | None, *, option: str) -> dict:
    """Return the JSON object given on the command line, or raise a one-line CommandError."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON: {exc.msg}", returncode=BAD_ARGUMENTS) from exc
    if not isinstance(value, dict):
        raise CommandError(f"{option} must be a JSON object", returncode=BAD_ARGUMENTS)
    return value


def moment(text: str | None, *, option: str):
    """Return the ISO 8601 date-time (a bare date means midnight UTC) given on the command line."""
    if not text:
        return None
    value = parse_datetime(text if "T" in text or " " in text else f"{text}T00:00:00+00:00")
    if value is None:
        raise CommandError(
            f"{option} must be an ISO 8601 date or date-time, got {text!r}", returncode=BAD_ARGUMENTS
        )
    return value


@contextmanager
def rejected_as_errors():
    """Turn a ValidationError from a service into a one-line CommandError (exit code 1)."""
    try:
        yield
    except ValidationError as exc:
        messages = (
            [f"{field}: {'; '.join(errors)}" for field, errors in exc.message_dict.items()]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        raise CommandError("; ".join(messages), returncode=REJECTED) from exc
