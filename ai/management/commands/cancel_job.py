"""Cancel a pending or running job."""

from django.core.management.base import BaseCommand

from ai import services
from cryptopredict.management.common import rejected_as_errors

from ._common import JOB_KINDS, job_get


class Command(BaseCommand):
    help = "Cancel job ID: a pending job never starts, a running one stops at its next checkpoint."

    def add_arguments(self, parser):
        parser.add_argument("id", type=int)
        parser.add_argument("--kind", choices=sorted(JOB_KINDS), help="needed when both tables hold the id")

    def handle(self, *args, **options):
        job = job_get(options["id"], options["kind"])
        with rejected_as_errors():
            job = services.job_cancel(job=job)
        self.stdout.write(f"{job} cancelled")
