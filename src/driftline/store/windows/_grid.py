"""The window grid: which fixed buckets make which query window.

Buckets of ``bucket_seconds`` are what ingest writes; a query merges them into
windows of ``window_seconds`` (a multiple of the bucket width) that start at
``align + k * window_seconds``.

Example
-------
>>> grid = WindowGrid(bucket_seconds=3600, window_seconds=86_400, align=21_600.0)
>>> grid.window_of(90_000.0), grid.window_of(10_000.0)
(21600.0, -64800.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

__all__ = ["WindowGrid"]


@dataclass(frozen=True, slots=True)
class WindowGrid:
    """Windows of ``window_seconds`` over buckets of ``bucket_seconds``.

    Attributes
    ----------
    bucket_seconds : int
        The bucket width that ingest writes with.
    window_seconds : int
        The window width, a multiple of ``bucket_seconds``.
    align : float
        Windows start at ``align + k * window_seconds`` (a multiple of the
        bucket width, in ``[0, window_seconds)``).
    """

    bucket_seconds: int
    window_seconds: int
    align: float = 0.0

    def window_of(self, x: float) -> float:
        """Start of the window that holds time (or bucket start) ``x``."""
        w = self.window_seconds
        return float(math.floor((x - self.align) / w) * w + self.align)

    def span(self, table: sa.Table, start: float | None, end: float | None) -> list[Any]:
        """Conditions on ``table.c.bucket_start``: from the window holding ``start`` to ``end``."""
        cond: list[Any] = []
        if start is not None:
            cond.append(table.c.bucket_start >= self.window_of(start))
        if end is not None:
            cond.append(table.c.bucket_start < end)
        return cond
