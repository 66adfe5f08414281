"""Downsample a metric series for a chart without losing its spikes.

The series is cut into equal-count buckets; each bucket keeps its first point,
its minimum, its maximum and its first non-finite value (a NaN or infinite
loss), so a chart of the result shows every spike the full series has.

Example
-------
>>> import numpy as np
>>> steps = np.arange(1000)
>>> values = np.zeros(1000)
>>> values[537] = 50.0
>>> s, v = minmax_downsample(steps, values, max_points=40)
>>> len(s) <= 40, 537 in s, float(v.max())
(True, True, 50.0)
"""

from __future__ import annotations

import itertools

import numpy as np

from driftline.errors import InputError

__all__ = ["minmax_downsample"]

_KEPT_PER_BUCKET = 4


def minmax_downsample(
    steps: np.ndarray, values: np.ndarray, max_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``max_points`` points: first, min, max and first non-finite per bucket.

    Parameters
    ----------
    steps, values : numpy.ndarray
        The series, sorted by step; the same length.
    max_points : int
        Most points returned; at least 4.

    Returns
    -------
    tuple of numpy.ndarray
        The kept steps and values, in step order. Series no longer than
        ``max_points`` come back unchanged.
    """
    if max_points < _KEPT_PER_BUCKET:
        raise InputError(f"max_points: expected an integer >= {_KEPT_PER_BUCKET}, got {max_points}")
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=float)
    if steps.shape != values.shape:
        raise InputError(
            f"values: expected the length of 'steps' ({steps.shape[0]}), got {values.shape[0]}"
        )
    n = values.shape[0]
    if n <= max_points:
        return steps, values
    n_buckets = max_points // _KEPT_PER_BUCKET
    edges = np.linspace(0, n, n_buckets + 1).astype(np.int64)
    keep: list[int] = []
    finite = np.isfinite(values)
    for lo, hi in itertools.pairwise(edges.tolist()):
        if hi <= lo:
            continue
        keep.append(int(lo))
        chunk_finite = finite[lo:hi]
        if chunk_finite.any():
            masked = np.where(chunk_finite, values[lo:hi], np.nan)
            keep.append(int(lo + np.nanargmin(masked)))
            keep.append(int(lo + np.nanargmax(masked)))
        if not chunk_finite.all():
            keep.append(int(lo + np.argmin(chunk_finite)))
    idx = np.unique(np.asarray(keep, dtype=np.int64))
    return steps[idx], values[idx]
