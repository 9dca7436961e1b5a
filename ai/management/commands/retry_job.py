"""Send a failed, cancelled or stale job back to the queue."""

from django.core.management.base import BaseCommand

from ai import services
from cryptopredict.management.common import rejected_as_errors

from ._common import JOB_KINDS, job_get


class Command(BaseCommand):
    help = (
        "Retry job ID: a failed or cancelled job returns to pending and is queued again. A running job is "
        "retried only when stale (no progress for AI_JOB_STALE_MINUTES, default 30) or with --force, "
        "when you know its worker died."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", type=int)
        parser.add_argument("--kind", choices=sorted(JOB_KINDS), help="needed when both tables hold the id")
        parser.add_argument("--force", action="store_true", help="take back a running job whose worker died")

    def handle(self, *args, **options):
        job = job_get(options["id"], options["kind"])
        with rejected_as_errors():
            job = services.job_retry(job=job, force=options["force"])
        job.refresh_from_db()
        self.stdout.write(f"{job} queued again (attempts so far: {job.attempts}, task {job.task_id})")
