"""Celery tasks: thin wrappers around the job runners in ai.services."""

from celery import shared_task

from . import services


@shared_task(name="ai.run_training_job")
def run_training_job(job_id: int) -> str | None:
    """Run training job `job_id` if it is still pending; return its final status."""
    job = services.training_job_execute(job_id=job_id)
    return job.status if job else None


@shared_task(name="ai.run_prediction_job")
def run_prediction_job(job_id: int) -> str | None:
    """Run prediction job `job_id` if it is still pending; return its final status."""
    job = services.prediction_job_execute(job_id=job_id)
    return job.status if job else None
