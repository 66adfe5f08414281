"""A tiny progress reporter for the command line, written to stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Print one line per stage, and throttled ``done/total`` updates, to a stream.

    Call it as ``progress(stage, done, total)``; this is the ``progress`` callback
    that :class:`~driftline.analysis.Report` accepts.

    Parameters
    ----------
    stream : text stream, optional
        Where to write (default ``sys.stderr``).
    enabled : bool
        When False nothing is written (``--quiet``).
    min_interval : float
        Seconds between two updates of the same stage (default 0.5); the first
        and the last update of a stage are always written.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(out, min_interval=0.0)
    >>> p("drift", 1, 2); p("drift", 2, 2)
    >>> out.getvalue().splitlines()
    ['driftline: drift 1/2', 'driftline: drift 2/2']
    """

    def __init__(
        self, stream: TextIO | None = None, *, enabled: bool = True, min_interval: float = 0.5
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.min_interval = min_interval
        self._last: dict[str, float] = {}

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        """Report that ``done`` of ``total`` steps of ``stage`` are finished (``total=0``: a stage)."""
        if not self.enabled:
            return
        now = time.monotonic()
        last = self._last.get(stage)
        final = total > 0 and done >= total
        if last is not None and not final and now - last < self.min_interval:
            return
        self._last[stage] = now
        line = f"driftline: {stage}" + (f" {done}/{total}" if total > 0 else "")
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()
