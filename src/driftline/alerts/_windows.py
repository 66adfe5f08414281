"""Which window a monitor judges at ``now``, and on which grid of stored windows it lies.

The store merges its buckets into windows of any width that is a multiple of
the bucket width, on a grid ``align + k * size``. A tumbling monitor reads the
grid of its own ``align``. A sliding monitor of ``size`` S and ``step`` P judges,
at ``now``, the window that ends at the latest step boundary ``e`` (boundaries
fall on ``align + k * P``): the window ``[e - S, e)``, read from the grid of
width S shifted so that a window ends at ``e``; the earlier windows of that
grid are its history. Each step moves the judged window (and its grid) by P.

Example
-------
>>> from driftline.alerts._conditions import WindowSpec
>>> w = WindowSpec(size="6h", kind="sliding", step="1h")
>>> now = 1_795_600_800.0 + 1_000  # 2026-11-25 10:16:40 UTC
>>> end = latest_window_end(w, now)
>>> end - 1_795_600_800.0, (end - w.size - 1_795_600_800.0) / 3600
(0.0, -6.0)
>>> grid_align(w, end) / 3600
4.0
"""

from __future__ import annotations

import math

from driftline.alerts._conditions import WindowSpec
from driftline.alerts._duration import format_duration

__all__ = ["grid_align", "grid_problem", "latest_window_end"]


def latest_window_end(window: WindowSpec, now: float) -> float:
    """End of the latest complete window at ``now``: ``align + k * step <= now``.

    Example
    -------
    >>> latest_window_end(WindowSpec(size="1d", align="6h"), 2 * 86400 + 5 * 3600) / 3600
    30.0
    """
    step = window.step_seconds
    return float(math.floor((now - window.align) / step) * step + window.align)


def grid_align(window: WindowSpec, end: float) -> float:
    """Offset, in ``[0, size)``, of the grid of ``size``-wide windows one of which ends at ``end``.

    Example
    -------
    >>> grid_align(WindowSpec(size="1d", align="30h"), 30 * 3600) / 3600
    6.0
    """
    return float(end % window.size)


def grid_problem(window: WindowSpec, bucket_seconds: float) -> str | None:
    """Why the windows of ``window`` do not fall on bucket boundaries, or ``None``.

    Stored windows start on a bucket boundary, so ``align`` and a sliding
    ``step`` must be multiples of the bucket width (as ``size`` must).

    Example
    -------
    >>> grid_problem(WindowSpec(size="1h", kind="sliding", step="15m"), 3600)
    'window.step 15m: expected a multiple of the store bucket width (1h); undecided'
    >>> grid_problem(WindowSpec(size="1d", align="6h"), 3600) is None
    True
    """
    fields = [("align", window.align)]
    if window.kind == "sliding":
        fields.append(("step", window.step_seconds))
    for name, value in fields:
        if value % bucket_seconds:
            return (
                f"window.{name} {format_duration(value)}: expected a multiple of the store "
                f"bucket width ({format_duration(bucket_seconds)}); undecided"
            )
    return None
