"""Backtest a model walk-forward and store a ModelEvaluation."""

from django.core.management.base import BaseCommand

from ai.evaluation import model_evaluate
from cryptopredict.management.common import json_object, rejected_as_errors

from ._common import model_get


class Command(BaseCommand):
    help = (
        "Run MODEL's walk-forward backtest (fees included) against its baseline and store a ModelEvaluation."
    )

    def add_arguments(self, parser):
        parser.add_argument("model")
        parser.add_argument("--timeframe", help="timeframe (default: the model's)")
        parser.add_argument(
            "--parameters",
            help='JSON object, e.g. \'{"asset": "ETH", "fee_rate": 0.002, "test_periods": 90}\'',
        )

    def handle(self, *args, **options):
        model = model_get(options["model"])
        parameters = json_object(options["parameters"], option="--parameters")
        with rejected_as_errors():
            evaluation = model_evaluate(model=model, timeframe=options["timeframe"], parameters=parameters)
        figures = ("accuracy", "f1_score", "total_return", "sharpe_ratio", "max_drawdown", "trade_count")
        shown = ", ".join(
            f"{name} {getattr(evaluation, name)}" for name in figures if getattr(evaluation, name) is not None
        )
        self.stdout.write(
            f"evaluation #{evaluation.pk} of {model}: {'PASSED' if evaluation.passed else 'did not pass'}; "
            f"{shown}; "
            f"baseline {evaluation.baseline_metrics.get('name')}"
        )
