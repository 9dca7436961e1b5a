"""Backtest a model walk-forward and store a ModelEvaluation."""

from django.core.management.base import BaseCommand

from ai.evaluation import model_evaluate
from cryptopredict.management.common import json_object, rejected_as_errors

from ._common import model_get


class Command(BaseCommand):
    help = (
        "Run MODEL's walk-forward backtest (next-bar execution, fees and slippage) against every baseline "
        "and store a ModelEvaluation: passed only when the edge's 95% interval clears the margin."
    )

    def add_arguments(self, parser):
        parser.add_argument("model")
        parser.add_argument("--timeframe", help="timeframe (default: the model's)")
        parser.add_argument(
            "--parameters",
            help='JSON object, e.g. \'{"asset": "ETH", "fee_bp": 20, "slippage_bp": 5, "test_periods": 90}\'',
        )

    def handle(self, *args, **options):
        model = model_get(options["model"])
        parameters = json_object(options["parameters"], option="--parameters")
        with rejected_as_errors():
            evaluation = model_evaluate(model=model, timeframe=options["timeframe"], parameters=parameters)
        figures = (
            "accuracy", "f1_score", "total_return", "sharpe_ratio", "max_drawdown", "trade_count",
        )  # fmt: skip
        shown = ", ".join(
            f"{name} {getattr(evaluation, name)}" for name in figures if getattr(evaluation, name) is not None
        )
        verdict = "PASSED" if evaluation.passed else "not passed"
        self.stdout.write(f"evaluation #{evaluation.pk} of {model}: {verdict}; {shown}")
        comparisons = {**evaluation.metrics.get("comparison", {})}
        comparisons |= {f"{k} (kappa)": v for k, v in evaluation.metrics.get("comparison_kappa", {}).items()}
        for name, entry in comparisons.items():
            self.stdout.write(f"  vs {name}: {_comparison(entry)}")


def _comparison(entry: dict) -> str:
    """Return one baseline comparison as a line: the difference, its 95% interval and p-value."""

    def number(value):
        return "n/a" if value is None else f"{value:+.3f}"

    p_value = "n/a" if entry["p_value"] is None else round(entry["p_value"], 3)
    return (
        f"{entry['metric']} {number(entry['model'])} vs {number(entry['baseline'])}: "
        f"difference {number(entry['difference'])}, 95% interval [{number(entry['ci_low'])}, "
        f"{number(entry['ci_high'])}], p {p_value}, margin {entry['margin']}"
    )
