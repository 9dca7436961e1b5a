"""import_candles keeps its memory flat for any input: measured as a real process' peak RSS."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from assets.importers import LINE_LIMIT
from assets.models import PriceData

PEAK_LIMIT_MB = 300  # for any input
GROWTH_LIMIT_MB = 40  # above the peak of importing a one-row file
BAD_ROWS = 50_000  # once held in memory: about 1.3 kB each, 65 MB
LONG_LINE_MB = 50  # once read whole, several times over
_baseline: list[int] = []


def _growth(peak: int, tmp_path) -> int:
    """Return how far `peak` lies above the peak of importing a one-row file (measured once)."""
    if not _baseline:
        path = tmp_path / "one.csv"
        path.write_text("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n")
        _baseline.append(_import_peak(path, "--timeframe", "1d")[0])
    return peak - _baseline[0]


def _import_peak(path, *args) -> tuple[int, subprocess.CompletedProcess]:
    """Run import_candles on `path` in a fresh process; return its peak RSS in MB and the run."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    command = [
        sys.executable,
        "manage.py",
        "import_candles",
        str(path),
        "--symbol",
        "MEM",
        "--create-asset",
        *args,
    ]
    # The wrapper's only child is the import, so RUSAGE_CHILDREN is the import's own peak.
    wrapper = (
        "import resource, subprocess, sys; "
        f"run = subprocess.run({command!r}, capture_output=True, text=True); "
        "sys.stderr.write(run.stderr[-2000:]); sys.stdout.write(run.stdout[-2000:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(run.returncode)"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENV_FILE": "/dev/null",
        "DEBUG": "true",
        "CACHE_URL": "locmemcache://",
    }
    run = subprocess.run(
        [sys.executable, "-c", wrapper], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    peak_kb = int(run.stdout.strip().splitlines()[-1])
    return peak_kb // 1024, run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_rejected_rows_are_streamed_to_the_report_and_counted(tmp_path):
    path, rejects = tmp_path / "bad.csv", tmp_path / "rejects.csv"
    with path.open("w") as handle:
        handle.write("timestamp,open,high,low,close,volume\n")
        handle.write("2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n")  # one good row
        for n in range(BAD_ROWS):
            handle.write(f"2024-01-01T00:00:00Z,{n + 10},1,2,x,-1\n")  # high below low, close not a number
    peak, run = _import_peak(path, "--timeframe", "1d", "--rejects", str(rejects))
    assert run.returncode == 1, run.stderr
    assert f"{BAD_ROWS} rows rejected" in run.stderr
    growth = _growth(peak, tmp_path)
    print(f"peak RSS {peak} MB, {growth} MB above a one-row import")
    assert peak < PEAK_LIMIT_MB and growth < GROWTH_LIMIT_MB, f"peak RSS {peak} MB, {growth} MB above"
    with rejects.open() as report:
        assert sum(1 for _ in report) == BAD_ROWS + 1  # every rejection, with a header
    assert PriceData.objects.filter(asset__symbol="MEM").count() == 1  # the good row is kept


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_huge_line_is_rejected_with_its_number_and_never_read_whole(tmp_path):
    path, rejects = tmp_path / "long.csv", tmp_path / "rejects.csv"
    with path.open("w") as handle:
        handle.write("timestamp,open,high,low,close,volume\n")
        handle.write("2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n")
        block = "9" * (1 << 20)
        for _ in range(LONG_LINE_MB):
            handle.write(block)
        handle.write("\n2024-01-02T00:00:00Z,1,2,0.5,1.5,10\n")
    peak, run = _import_peak(path, "--timeframe", "1d", "--rejects", str(rejects))
    assert run.returncode == 1, run.stderr
    growth = _growth(peak, tmp_path)
    print(f"peak RSS {peak} MB, {growth} MB above a one-row import")
    assert peak < PEAK_LIMIT_MB and growth < GROWTH_LIMIT_MB, f"peak RSS {peak} MB, {growth} MB above"
    assert "line 3:" in run.stderr and f"longer than {LINE_LIMIT} characters" in run.stderr
    assert PriceData.objects.filter(asset__symbol="MEM").count() == 2  # the rows around it are kept


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_long_json_list_is_parsed_element_by_element(tmp_path):
    path = tmp_path / "klines.json"
    with path.open("w") as handle:
        handle.write("[")
        # freqtrade rows (ms, o, h, l, c, v), all rejected (high below low).
        rows = (json.dumps([1704067200000 + n * 86_400_000, 1, 1, 2, 1, 1]) for n in range(BAD_ROWS))
        handle.write(",".join(rows))
        handle.write("]")
    peak, run = _import_peak(path, "--timeframe", "1d")
    assert run.returncode == 1, run.stderr
    assert f"{BAD_ROWS} rows rejected" in run.stderr
    growth = _growth(peak, tmp_path)
    print(f"peak RSS {peak} MB, {growth} MB above a one-row import")
    assert peak < PEAK_LIMIT_MB and growth < GROWTH_LIMIT_MB, f"peak RSS {peak} MB, {growth} MB above"
