"""Shared by the dashboard's JSON views: limits, rounding, downsampling a line.

Example
-------
>>> chart_line([0.0, 3600.0], [1.0, None], max_points=600)
{'x': [0.0, 3600000.0], 'y': [1.0, None]}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftline.store import minmax_downsample

__all__ = [
    "CHART_METRICS",
    "DEFAULT_MAX_POINTS",
    "ESTIMATE_POINTS",
    "HEALTH_DRIFT_WARNING",
    "HEAT_DIGITS",
    "MAX_POINTS",
    "SCORE_COLUMN",
    "SIGNIFICANT_DIGITS",
    "STALE_AFTER_SECONDS",
    "chart_line",
    "evenly_sampled",
    "finite",
    "round_sig",
]

DEFAULT_MAX_POINTS = 600
"""Points per chart line by default (a chart is a few hundred pixels wide)."""
MAX_POINTS = 5000
"""Most points per line a client may ask for."""
HEALTH_DRIFT_WARNING = 0.2
"""Drift statistic (Jensen-Shannon distance, lower is better) of the latest window at which a
model's health turns to ``warning``. Monitors decide alerts; this only colours the overview."""
CHART_METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc", "mae", "rmse", "r2")
"""Realised metrics drawn on the model page (all of them when none of these is present)."""
SCORE_COLUMN = "score"
"""The score column the estimated-accuracy line of the model page reads."""
ESTIMATE_POINTS = 80
"""Windows whose profile the estimated-performance line and the feature statistics read at
most (evenly spaced): each reads one window profile, the costly part of a long range."""
SIGNIFICANT_DIGITS = 5
"""Significant digits of chart values sent to the browser (smaller payloads, same charts)."""
HEAT_DIGITS = 3
"""Significant digits of heat-map cells (a colour needs no more)."""
STALE_AFTER_SECONDS = 86400
"""A model with no data for this long (one day) is shown as ``no data``."""


def finite(x: Any) -> float | None:
    """``x`` as a float, or ``None`` when it is missing, not a number or not finite."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def chart_line(xs: list[float], ys: list[float | None], max_points: int) -> dict[str, list[Any]]:
    """A chart line ``{"x": epoch ms, "y": values}``, downsampled with spikes kept.

    Gaps (``None``) stay gaps; values are rounded to :data:`SIGNIFICANT_DIGITS` digits.
    """
    steps = np.asarray(xs, dtype=np.float64)
    values = np.asarray([math.nan if y is None else y for y in ys], dtype=np.float64)
    if steps.size > max_points:
        steps, values = minmax_downsample(steps, values, max_points)
    return {
        "x": [s * 1000.0 for s in steps.tolist()],
        "y": [None if math.isnan(v) else round_sig(v) for v in values.tolist()],
    }


def round_sig(x: float, digits: int = 0) -> float:
    """``x`` to ``digits`` (default :data:`SIGNIFICANT_DIGITS`) significant digits."""
    return float(f"{x:.{digits or SIGNIFICANT_DIGITS}g}")


def evenly_sampled(items: list[Any], most: int) -> list[Any]:
    """At most ``most`` items, evenly spaced, the last one always kept."""
    if len(items) <= most:
        return items
    idx = np.unique(np.linspace(0, len(items) - 1, most).round().astype(int))
    return [items[i] for i in idx.tolist()]
