"""The progress bar of long commands: tqdm on stderr, showing rows/s and the ETA."""

import sys

from tqdm import tqdm


def progress_bar(
    *, desc: str, unit: str = "rows", total: int | None = None, enabled: bool | None = None
) -> tqdm:
    """Return a tqdm bar on stderr for services that take a `progress` (set `.total`, call `.update(n)`).

    `enabled=None` shows the bar only when stderr is a terminal, so logs and pipes stay clean.
    """
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
        disable=None if enabled is None else not enabled,
        leave=True,
    )
