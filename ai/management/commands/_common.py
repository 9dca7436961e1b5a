"""What the ai commands share: finding models and jobs."""

from django.core.management.base import CommandError

from ai.models import AIModel, ModelPredictionJob, ModelTrainingJob
from cryptopredict.management.common import BAD_ARGUMENTS, REJECTED

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
