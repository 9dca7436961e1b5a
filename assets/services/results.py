"""The result types of the candle and asset services."""

from dataclasses import dataclass, field
from typing import Protocol


class Progress(Protocol):
    """What a long service reports to: tqdm bars fit (see cryptopredict.progress)."""

    total: int | None

    def update(self, n: int) -> None: ...


@dataclass
class Rejection:
    index_or_line: int
    errors: dict[str, list[str]]

    def reason(self) -> str:
        """Return the errors on one line, e.g. "high: 1 is below low 2; volume: required"."""
        return "; ".join(f"{key}: {', '.join(messages)}" for key, messages in self.errors.items())


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    indicators: int = 0  # candles whose indicators the refresh after the write changed
