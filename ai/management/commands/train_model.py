"""Queue a training job for a model, or run it here with --sync."""

from django.core.management.base import BaseCommand, CommandError

from ai import services
from cryptopredict.management.common import REJECTED, json_object, moment, rejected_as_errors

from ._common import model_get


class Command(BaseCommand):
    help = "Queue a training job for MODEL (id, NAME or NAME:VERSION); --sync runs it in this process."

    def add_arguments(self, parser):
        parser.add_argument("model")
        parser.add_argument("--sync", action="store_true", help="run the job here and wait for it")
        parser.add_argument("--timeframe", help="training timeframe (default: the model's)")
        parser.add_argument("--start", help="first date of training data (ISO 8601)")
        parser.add_argument("--end", help="last date of training data: the training cutoff (ISO 8601)")
        parser.add_argument("--parameters", help="JSON object of job parameters")
        parser.add_argument(
            "--activate", action="store_true", help="activate the model once trained (--sync)"
        )

    def handle(self, *args, **options):
        model = model_get(options["model"])
        parameters = json_object(options["parameters"], option="--parameters")
        start, end = moment(options["start"], option="--start"), moment(options["end"], option="--end")
        with rejected_as_errors():
            job = services.training_job_queue(
                model=model,
                parameters=parameters,
                timeframe=options["timeframe"],
                training_data_start=start,
                training_data_end=end,
                enqueue=not options["sync"],
            )
        if not options["sync"]:
            job.refresh_from_db()  # without a broker the job has already run in this process
            self.stdout.write(f"training job #{job.pk} for {model}: {job.status} (task {job.task_id})")
            return
        self.stdout.write(f"training {model} (job #{job.pk})...")
        job = services.training_job_execute(job_id=job.pk)
        if job is None or job.status != "completed":
            reason = (job.error_message or "").splitlines()[0] if job else "it was not pending"
            raise CommandError(
                f"training job #{job.pk if job else '?'} {job.status if job else ''}: {reason}",
                returncode=REJECTED,
            )
        if options["activate"]:
            model.refresh_from_db()
            services.model_activate(model=model)
        self.stdout.write(f"training job #{job.pk} completed: {job.resulting_metrics}")
