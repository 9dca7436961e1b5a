"""The result types of the candle and asset services (an ImportResult with more counts)."""

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptopredict.imports import ImportResult, Rejection


class Progress(Protocol):
    """What a long service reports to: tqdm bars fit (see cryptopredict.progress)."""

    total: int | None

    def update(self, n: int) -> None: ...


@dataclass
class UpsertResult(ImportResult):
    indicators: int = 0  # candles whose indicators the refresh after the write changed


class RejectLog:
    """The rejections of an import as they come: counted, the first `keep` kept for the summary,
    and every one written to `path` (CSV of line, reason) when given, so that memory stays flat
    however many rows a file gets rejected. `append` takes what a list would."""

    KEEP = 100

    def __init__(self, path: Path | str | None = None, *, keep: int = KEEP):
        self.count = 0
        self.keep = keep
        self.first: list[Rejection] = []
        self._handle = open(path, "w", newline="", encoding="utf-8") if path else None  # noqa: SIM115
        self._writer = csv.writer(self._handle) if self._handle else None
        if self._writer:
            self._writer.writerow(["line", "reason"])

    def append(self, rejection: Rejection) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(rejection)
        if self._writer:
            self._writer.writerow((rejection.line, rejection.reason()))

    def close(self) -> None:
        if self._handle:
            self._handle.close()

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        """Iterate over the kept rejections (all of them when there are at most `keep`)."""
        return iter(self.first)

    def __getitem__(self, index):
        return self.first[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, RejectLog):
            return (self.count, self.first) == (other.count, other.first)
        return isinstance(other, list) and self.count == len(other) and self.first == other

    __hash__ = None
