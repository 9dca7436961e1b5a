"""Queue (or run with --sync) a prediction job of a model over a scope."""

from django.core.management.base import BaseCommand, CommandError

from ai import services
from ai.models import ModelPredictionJob
from assets.models import Asset
from cryptopredict.management.common import REJECTED, json_object, rejected_as_errors

from ._common import model_get


class Command(BaseCommand):
    help = "Queue a prediction job of MODEL (id, NAME or NAME:VERSION) over a scope; --sync runs it here."

    def add_arguments(self, parser):
        parser.add_argument("model")
        parser.add_argument("--sync", action="store_true", help="run the job here and wait for it")
        parser.add_argument("--asset", help="asset symbol to limit the scope to")
        parser.add_argument("--sector", help="sector slug to limit the scope to")
        parser.add_argument("--timeframe", help="timeframe (default: the model's)")
        parser.add_argument("--watchlist", type=int, help="watchlist id (asset-selection models)")
        parser.add_argument("--portfolio", type=int, help="portfolio id (asset-selection models)")
        parser.add_argument("--parameters", help="JSON object of job parameters, e.g. '{\"lookback\": 30}'")

    def handle(self, *args, **options):
        model = model_get(options["model"])
        parameters = json_object(options["parameters"], option="--parameters")
        for key in ("watchlist", "portfolio"):
            if options[key] is not None:
                parameters[key] = options[key]
        asset = sector = None
        if options["asset"]:
            asset = Asset.objects.filter(symbol=options["asset"].upper()).first()
            if asset is None:
                raise CommandError(f"unknown asset {options['asset']!r}", returncode=REJECTED)
        if options["sector"]:
            sectors = ModelPredictionJob.sector.field.related_model.objects  # ai names no app above it
            sector = sectors.filter(slug=options["sector"]).first()
            if sector is None:
                raise CommandError(f"unknown sector {options['sector']!r}", returncode=REJECTED)
        with rejected_as_errors():
            job = services.prediction_job_queue(
                model=model,
                asset=asset,
                sector=sector,
                timeframe=options["timeframe"],
                parameters=parameters,
                enqueue=not options["sync"],
            )
        if not options["sync"]:
            job.refresh_from_db()  # without a broker the job has already run in this process
            self.stdout.write(f"prediction job #{job.pk} for {model}: {job.status} (task {job.task_id})")
            return
        job = services.prediction_job_execute(job_id=job.pk)
        if job is None or job.status != "completed":
            reason = (job.error_message or "").splitlines()[0] if job else "it was not pending"
            raise CommandError(f"prediction job {job.status if job else ''}: {reason}", returncode=REJECTED)
        self.stdout.write(f"prediction job #{job.pk} completed: {job.predictions_count} rows {job.output}")
