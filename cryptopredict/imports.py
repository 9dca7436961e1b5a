"""What every import returns: the counts of what it wrote and its rejections, each with its line.

The candle, asset and macro metrics imports return an ImportResult (or a subclass with more
counts); their commands print `summary()` and the rejections (cryptopredict.management.common).
"""

from dataclasses import dataclass, field

# The key of a rejection's errors that are about the whole row, not one of its fields.
ROW = "row"


@dataclass
class Rejection:
    """A rejected row: its line (a file's line, an element's position in an array) and, per field,
    what is wrong with it."""

    line: int
    errors: dict[str, list[str]]

    def reason(self) -> str:
        """Return the errors on one line, e.g. "high: 1 is below low 2; volume: required"."""
        return "; ".join(
            ", ".join(messages) if key == ROW else f"{key}: {', '.join(messages)}"
            for key, messages in self.errors.items()
        )


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def summary(self) -> str:
        """Return the counts as the commands print them."""
        return (
            f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )
