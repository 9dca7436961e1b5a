"""Check a model for look-ahead bias: perturb every input after a time and compare its outputs."""

from django.core.management.base import BaseCommand, CommandError

from ai.lookahead import lookahead_check
from assets.models import PriceData
from cryptopredict.management.common import REJECTED, json_object, moment, rejected_as_errors

from ._common import model_get


class Command(BaseCommand):
    help = (
        "Perturb every input not yet known at --at (candles, snapshots, other models' analyses) inside a "
        "rolled-back transaction, rerun MODEL's training, predictions and walk-forward, and list any "
        "output known at --at that changed (exit 1 if any)."
    )

    def add_arguments(self, parser):
        parser.add_argument("model", help="id, NAME or NAME:VERSION")
        parser.add_argument("--at", help="ISO 8601 date or date-time (default: 100 candles before the last)")
        parser.add_argument("--timeframe", help="timeframe (default: the model's)")
        parser.add_argument(
            "--parameters", help="JSON object passed to training, prediction and walk-forward"
        )

    def handle(self, *args, **options):
        model = model_get(options["model"])
        timeframe = options["timeframe"] or model.training_data_timeframe
        parameters = json_object(options["parameters"], option="--parameters")
        at = moment(options["at"], option="--at") or self._default_at(timeframe)
        with rejected_as_errors():
            report = lookahead_check(model=model, at=at, timeframe=timeframe, parameters=parameters)
        for line in report.changed:
            self.stdout.write(f"CHANGED {line}")
        evaluated = "predictions and walk-forward" if report.evaluated else "predictions (no walk-forward)"
        summary = (
            f"{model}: {len(report.changed)} of {report.compared} outputs known at {at:%Y-%m-%d %H:%M} "
            f"changed when inputs not yet known changed ({evaluated}; "
            f"{report.in_sample} in-sample rows not compared)"
        )
        if not report.passed:
            raise CommandError(summary, returncode=REJECTED)
        self.stdout.write(f"nothing changed: {summary}")

    @staticmethod
    def _default_at(timeframe: str):
        times = PriceData.objects.filter(timeframe=timeframe).order_by("-candle_time")
        at = times.values_list("candle_time", flat=True)[100:101].first()
        if at is None:
            raise CommandError(f"fewer than 101 {timeframe} candles: give --at", returncode=REJECTED)
        return at
