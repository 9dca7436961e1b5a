"""The import contract of .importlinter (run by `make lint`) holds, and a breaking import fails it."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
BASE_DIR = Path(settings.BASE_DIR)
# A domain importing an app above it, and one importing another app's api.
PROBES = {
    BASE_DIR / "assets" / "_contract_probe_layers.py": "from trading import models  # noqa: F401\n",
    BASE_DIR / "sectors" / "_contract_probe_rooms.py": "from assets.api import serializers  # noqa: F401\n",
}


def lint_imports() -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=BASE_DIR, capture_output=True, text=True, check=False
    )


def test_the_project_keeps_its_import_contract():
    run = lint_imports()
    assert run.returncode == 0, run.stdout


def test_an_import_that_breaks_the_contract_fails_the_lint():
    try:
        for path, text in PROBES.items():
            path.write_text(text)
        run = lint_imports()
    finally:
        for path in PROBES:
            path.unlink(missing_ok=True)
    assert run.returncode == 1
    assert "An app imports only the apps below it BROKEN" in run.stdout
    assert "assets._contract_probe_layers -> trading.models" in run.stdout
    assert "Only assets (and the URLconf) imports assets's api, admin and management BROKEN" in run.stdout
    assert "sectors._contract_probe_rooms -> assets.api.serializers" in run.stdout
