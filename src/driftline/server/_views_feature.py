"""The feature view of the dashboard: distributions, statistics and drift of one column."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from driftline.errors import InsufficientDataError, NotFoundError
from driftline.server._query import MAX_WINDOW_SECONDS
from driftline.server._views_common import (
    DEFAULT_MAX_POINTS,
    ESTIMATE_POINTS,
    MAX_POINTS,
    chart_line,
    evenly_sampled,
    finite,
)
from driftline.server.context import context, jsonable, require

__all__ = ["QUALITY_COUNTS", "FeatureView", "feature_router", "quality_table"]

feature_router = APIRouter(tags=["views"])


class FeatureView(BaseModel):
    """A column: reference and window distributions, its statistics over time."""

    column: str
    kind: str | None
    window_start: float | None
    window_seconds: int
    reference: dict[str, Any] | None
    current: dict[str, Any] | None
    drift: dict[str, Any] | None
    series: dict[str, dict[str, list[Any]]]
    windows: list[float]
    quality: list[dict[str, Any]]


QUALITY_COUNTS = (
    ("rows", "n"),
    ("missing", "n_missing"),
    ("wrong type", "n_type_mismatch"),
    ("+inf", "n_pos_inf"),
    ("-inf", "n_neg_inf"),
)
"""Quality counts shown for the reference and the chosen window: label and profile attribute."""


def quality_table(reference: Any, current: Any) -> list[dict[str, Any]]:
    """Rows ``{"issue", "reference", "window"}`` of counts and rates, for the feature page.

    Example
    -------
    >>> from driftline.profile import profile
    >>> col = profile({"x": [1.5, None, 0.0, float("inf")]}).columns["x"]
    >>> [(r["issue"], r["window"]) for r in quality_table(None, col)][:4]
    [('rows', 4), ('missing', 1), ('wrong type', 0), ('+inf', 1)]
    """
    rows = []
    for label, attr in QUALITY_COUNTS:
        ref = getattr(reference, attr, None)
        cur = getattr(current, attr, None)
        if ref is None and cur is None:
            continue
        rows.append({"issue": label, "reference": ref, "window": cur})
    for label, attr in (("distinct (estimate)", "distinct_count"),):
        ref, cur = getattr(reference, attr, None), getattr(current, attr, None)
        if ref is not None or cur is not None:
            rows.append({"issue": label, "reference": finite(ref), "window": finite(cur)})
    return rows


def _distribution(col: Any, edges: np.ndarray | None = None) -> dict[str, Any] | None:
    """Histogram (numerical) or category shares (categorical) of a column profile."""
    if col is None:
        return None
    kind = getattr(col, "kind", None)
    if kind == "numerical":
        try:
            e, c = col.histogram
        except InsufficientDataError:
            return None
        e = _closed_edges(np.asarray(e, dtype=np.float64), col)
        total = float(c.sum()) or 1.0
        return {
            "kind": "numerical",
            "edges": [finite(x) for x in e.tolist()],
            "shares": [float(x) / total for x in c.tolist()],
            "n": int(c.sum()),
        }
    counts = getattr(col, "counts", None)
    if isinstance(counts, dict):
        total = float(sum(counts.values()) + getattr(col, "other_count", 0)) or 1.0
        shares = {str(k): v / total for k, v in counts.items()}
        other = getattr(col, "other_count", 0)
        if other:
            shares["(other)"] = other / total
        return {"kind": "categorical", "shares": shares, "n": int(total)}
    return None


def _closed_edges(edges: np.ndarray, col: Any) -> np.ndarray:
    """Histogram edges with open outer bins (``-inf``, ``+inf``) closed at the data's range.

    An open bin ends at the column's minimum (maximum), or one neighbouring bin width away
    when the data stay inside, so every bin can be drawn with its width.
    """
    e = edges.copy()
    if e.size >= 3 and not np.isfinite(e[0]):
        low = finite(getattr(col, "min", None))
        step = e[2] - e[1]
        e[0] = min(low, e[1] - step) if low is not None else e[1] - step
    if e.size >= 3 and not np.isfinite(e[-1]):
        high = finite(getattr(col, "max", None))
        step = e[-2] - e[-3]
        e[-1] = max(high, e[-2] + step) if high is not None else e[-2] + step
    return e


def _stats_of(col: Any) -> dict[str, float | None]:
    return {
        "mean": finite(getattr(col, "mean", None)),
        "std": finite(getattr(col, "std", None)),
        "min": finite(getattr(col, "min", None)),
        "max": finite(getattr(col, "max", None)),
        "missing rate": finite(getattr(col, "missing_rate", None)),
    }


@feature_router.get(
    "/api/v1/views/projects/{project}/models/{model}/features/{feature:path}",
    response_model=FeatureView,
    summary="One feature: reference vs window distribution and statistics over time",
)
def feature_view(
    request: Request,
    project: str,
    model: str,
    feature: str,
    version: str | None = Query(None, description="Only this version (default: all)."),
    start: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    end: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    window_seconds: int = Query(3600, gt=0, le=MAX_WINDOW_SECONDS, description="Window length."),
    window: float | None = Query(
        None, allow_inf_nan=False, description="Start of the window to compare (default: last)."
    ),
    max_points: int = Query(DEFAULT_MAX_POINTS, ge=4, le=MAX_POINTS, description="Per line."),
) -> FeatureView:
    """Distributions overlaid for one window, and mean, spread, missing rate and drift over time."""
    require(request, project, "viewer")
    query = context(request).query
    windows = query.window_series(
        project,
        model,
        version=version,
        start=start,
        end=end,
        window_seconds=window_seconds,
        drift=False,
    )
    with_col = [w for w in windows if feature in w.missing_rates]
    if not with_col and windows:
        raise NotFoundError(f"feature: model {model!r} has no column named {feature!r}")
    series = {
        "missing rate": chart_line(
            [w.start for w in with_col], [w.missing_rates[feature] for w in with_col], max_points
        )
    }
    sampled = evenly_sampled(with_col, ESTIMATE_POINTS)
    stats = [_stats_of(_column_of(w, feature)) for w in sampled]
    for k in ("mean", "std", "min", "max"):
        series[k] = chart_line([w.start for w in sampled], [x[k] for x in stats], max_points)
    drift = query.drift_series(
        project, model, version=version, start=start, end=end, window_seconds=window_seconds
    )
    if feature in drift.columns:
        j = drift.columns.index(feature)
        series["drift"] = chart_line(
            drift.starts.tolist(), drift.statistic[:, j].tolist(), max_points
        )
    chosen = None
    if with_col:
        chosen = with_col[-1]
        if window is not None:
            match = [w for w in with_col if w.start <= window < w.end]
            if not match:
                raise NotFoundError(f"window: no data for {feature!r} in the window at {window}")
            chosen = match[0]
    current = _column_of(chosen, feature) if chosen is not None else None
    reference_ds = _reference_dataset(request, project, model, version)
    reference = reference_ds.columns.get(feature) if reference_ds is not None else None
    kind = getattr(current if current is not None else reference, "kind", None)
    detail = None
    if chosen is not None and current is not None and reference is not None:
        from driftline.store import drift_between

        found = drift_between(reference_ds, _one_column(chosen.profile, feature))
        detail = found.get(feature)
    return FeatureView(
        column=feature,
        kind=kind,
        window_start=chosen.start if chosen is not None else None,
        window_seconds=window_seconds,
        reference=_distribution(reference),
        current=_distribution(current),
        drift=jsonable(detail),
        series=series,
        windows=[w.start for w in with_col][-500:],
        quality=quality_table(reference, current),
    )


def _column_of(window: Any, feature: str) -> Any:
    """The profile of ``feature`` in a window (reads the window's profile), or ``None``."""
    prof = window.profile
    return None if prof is None else prof.columns.get(feature)


def _one_column(dataset: Any, name: str) -> Any:
    """``dataset`` cut down to one column, so drift is computed for that column only."""
    from driftline.profile import DatasetProfile
    from driftline.schema import Schema

    specs = tuple(c for c in dataset.schema.columns if c.name == name)
    return DatasetProfile(Schema(specs), dataset.n_rows, {name: dataset.columns[name]})


def _reference_dataset(request: Request, project: str, model: str, version: str | None) -> Any:
    """The reference profile of ``version`` or of the newest version with one; ``None`` if none."""
    return context(request).query.reference_profile(project, model, version)
