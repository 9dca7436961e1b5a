"""One dry run (cryptopredict.management.common.dry_run_rolled_back) for every command with --dry-run:
a dry run does the real work, reports what the real run then reports, and leaves every table as
it found it."""

import importlib
import inspect
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.utils import timezone

from assets.models import Asset, PriceData
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.management.common import DRY_RUN_NOTE
from macro.tests.test_snapshots import market

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ASSETS_FIXTURES, MACRO_FIXTURES = (
    ROOT / "assets" / "tests" / "fixtures",
    ROOT / "macro" / "tests" / "fixtures",
)
PROJECT_APPS = {config.name for config in apps.get_app_configs() if Path(config.path).parent == ROOT}


def _project_commands_with_dry_run():
    for name, app in sorted(get_commands().items()):
        if app not in PROJECT_APPS:
            continue
        command = load_command_class(app, name)
        options = {
            o for action in command.create_parser("manage.py", name)._actions for o in action.option_strings
        }
        if "--dry-run" in options:
            yield name, app


def test_every_dry_run_is_the_one_mechanism():
    found = dict(_project_commands_with_dry_run())
    assert {
        "import_candles",
        "import_assets",
        "import_metrics",
        "build_snapshots",
        "archive_price_data",
    } <= set(found)
    for name, app in found.items():
        source = inspect.getsource(importlib.import_module(f"{app}.management.commands.{name}"))
        assert "dry_run_rolled_back(" in source, f"{name} has a --dry-run of its own"


def _state() -> dict:
    """Return every row of every project table, so that any write shows."""
    return {
        model._meta.label: sorted(map(repr, model._base_manager.values_list()))
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.app_config.name in PROJECT_APPS
    }


def _run(*args) -> str:
    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=StringIO())
    except CommandError as exc:  # a run with rejections still reports its counts first
        out.write(f"error: {exc}\n")
    return out.getvalue()


def same_as_real_run(*args) -> None:
    before = _state()
    dry = _run(*args, "--dry-run")
    assert _state() == before, f"{args[0]} --dry-run wrote"
    assert DRY_RUN_NOTE in dry
    real = _run(*args)
    assert _state() != before, f"{args[0]} wrote nothing: the comparison proves nothing"
    assert dry.replace(DRY_RUN_NOTE, "") == real


def test_candle_commands():
    klines = str(ASSETS_FIXTURES / "nautilus_http_spot_market_klines.json")
    same_as_real_run("import_candles", klines, "--symbol", "BTCUSDT", "--create-asset")
    assert Asset.objects.filter(symbol="BTCUSDT").exists()
    minutes = str(ASSETS_FIXTURES / "nautilus_ADABTC-1m-2021-11-27.csv")
    args = ("import_candles", minutes, "--symbol", "ADA", "--create-asset", "--no-indicators")
    same_as_real_run(*args)
    same_as_real_run("resample_candles", "--symbol", "ADA", "--from", "1m", "--to", "5m")
    same_as_real_run("compute_indicators", "--symbol", "ADA")
    same_as_real_run("import_assets", str(ASSETS_FIXTURES / "coingecko_markets_btc_2024-12-10.json"))


def test_archive_and_history_commands():
    asset = AssetFactory()
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for days in range(400, 404):
        PriceDataFactory(asset=asset, timeframe="1d", candle_time=today - timedelta(days=days))
    same_as_real_run("archive_price_data", "--older-than", "365d")
    assert not PriceData.objects.exists()
    asset.name = "renamed"
    asset.save()
    Asset.change_history.model.objects.update(history_date=today - timedelta(days=30))
    same_as_real_run("prune_history", "--days", "7")


def test_macro_commands():
    market(days=20)
    same_as_real_run("build_snapshots")
    same_as_real_run("import_metrics", str(MACRO_FIXTURES / "metrics.json"))
