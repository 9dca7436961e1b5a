"""What the operator commands of every app share: exit codes, file arguments, rejections, JSON
and date options, one-line errors, the dry run.

Exit codes: 0 done, REJECTED (1) the input was (partly) rejected, BAD_ARGUMENTS (2).
"""

import csv
import json
from contextlib import contextmanager
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.utils.dateparse import parse_datetime

REJECTED, BAD_ARGUMENTS = 1, 2
SHOWN_REJECTIONS = 10
DRY_RUN_NOTE = "dry run, nothing written: "


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


def rejections_write(rejected: list, path: Path) -> None:
    """Write the rejected rows (each with `line` and `reason()`) as a CSV of (line, reason)."""
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "reason"])
            writer.writerows((r.line, r.reason()) for r in rejected)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}", returncode=BAD_ARGUMENTS) from None


def rejections_show(command, rejected: list, label: str = "line") -> None:
    """Print the first rejections on stderr, one per line."""
    for rejection in rejected[:SHOWN_REJECTIONS]:
        command.stderr.write(f"  {label} {rejection.line}: {rejection.reason()}")
    if len(rejected) > SHOWN_REJECTIONS:
        command.stderr.write(f"  ... and {len(rejected) - SHOWN_REJECTIONS} more")


def json_object(text: str | None, *, option: str) -> dict:
    """Return the JSON object given on the command line, or raise a one-line CommandError."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON: {exc.msg}", returncode=BAD_ARGUMENTS) from exc
    if not isinstance(value, dict):
        raise CommandError(f"{option} must be a JSON object", returncode=BAD_ARGUMENTS)
    return value


def moment(text: str | None, *, option: str):
    """Return the ISO 8601 date-time (a bare date means midnight UTC) given on the command line."""
    if not text:
        return None
    value = parse_datetime(text if "T" in text or " " in text else f"{text}T00:00:00+00:00")
    if value is None:
        raise CommandError(
            f"{option} must be an ISO 8601 date or date-time, got {text!r}", returncode=BAD_ARGUMENTS
        )
    return value


@contextmanager
def rejected_as_errors():
    """Turn a ValidationError from a service into a one-line CommandError (exit code 1)."""
    try:
        yield
    except ValidationError as exc:
        messages = (
            [f"{field}: {'; '.join(errors)}" for field, errors in exc.message_dict.items()]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        raise CommandError("; ".join(messages), returncode=REJECTED) from exc


def dry_run_argument(parser, help: str = "do the work and count it, then roll every write back") -> None:
    """Add the --dry-run option that dry_run_rolled_back reads."""
    parser.add_argument("--dry-run", action="store_true", help=help)


@contextmanager
def dry_run_rolled_back(dry_run: bool):
    """Run the block as is, or, when `dry_run`, in one transaction rolled back at its end.

    The one dry run of every command: the services do the real writes, so a dry run reports the
    counts a real run would and then leaves nothing behind (its on_commit tasks are dropped with
    the transaction). A real run keeps the services' own transactions (one per batch, say).
    """
    if not dry_run:
        yield
        return
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
