"""What the market data commands share: finding the asset, printing rejections."""

import csv
from pathlib import Path

from django.core.management.base import CommandError

from assets.models import Asset
from assets.services.results import Rejection

BAD_ARGUMENTS = 2  # exit code for bad arguments; 1 means the input was (partly) rejected
REJECTED_INPUT = 1
SHOWN_REJECTIONS = 10


def asset_get(symbol: str) -> Asset:
    """Return the asset with `symbol` (any case) or stop with a one-line error."""
    asset = Asset.objects.filter(symbol=symbol.strip().upper()).first()
    if asset is None:
        raise CommandError(f"unknown asset {symbol!r} (see import_assets)", returncode=BAD_ARGUMENTS)
    return asset


def existing_file(path: str) -> Path:
    """Return `path` as a Path, or stop with a one-line error when there is no such file."""
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"no such file: {path}", returncode=BAD_ARGUMENTS)
    return file


def writable_file(path: str) -> Path:
    """Return `path` as a Path, or stop with a one-line error when it cannot be written there.

    Checked before any import starts, so a typo in a report path does not stop a long run at its end.
    """
    file = Path(path)
    if file.is_dir():
        raise CommandError(f"cannot write {path}: it is a directory", returncode=BAD_ARGUMENTS)
    if not file.parent.is_dir():
        raise CommandError(f"cannot write {path}: no directory {file.parent}", returncode=BAD_ARGUMENTS)
    return file


def rejections_write(rejected: list[Rejection], path: Path) -> None:
    """Write the rejected rows as a CSV of (line, reason)."""
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "reason"])
            writer.writerows((r.index_or_line, r.reason()) for r in rejected)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}", returncode=BAD_ARGUMENTS) from None


def rejections_show(command, rejected: list[Rejection], label: str = "line") -> None:
    """Print the first rejections on stderr, one per line."""
    for rejection in rejected[:SHOWN_REJECTIONS]:
        command.stderr.write(f"  {label} {rejection.index_or_line}: {rejection.reason()}")
    if len(rejected) > SHOWN_REJECTIONS:
        command.stderr.write(f"  ... and {len(rejected) - SHOWN_REJECTIONS} more")
