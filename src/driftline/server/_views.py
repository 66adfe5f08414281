"""JSON views for the dashboard: health per model, chart series, drift heat map, one feature.

Every view is read-only (viewer role), built from the same services as the
query API, and small: long series are downsampled on the server with spikes
kept (:func:`~driftline.store.minmax_downsample`), and the heat map
keeps the worst value of each group of windows it merges.

Example
-------
>>> import numpy as np
>>> starts, z = heat_downsample(np.arange(6.0), np.array([[0.1, 0.9, 0.2, 0.1, 0.3, 0.0]]), 3)
>>> starts.tolist(), z.tolist()
([0.0, 2.0, 4.0], [[0.9, 0.2, 0.3]])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from driftline.analysis import estimated_accuracy
from driftline.server._query import MAX_WINDOW_SECONDS
from driftline.server._views_common import (
    CHART_METRICS,
    DEFAULT_MAX_POINTS,
    ESTIMATE_POINTS,
    HEALTH_DRIFT_WARNING,
    HEAT_DIGITS,
    MAX_POINTS,
    SCORE_COLUMN,
    STALE_AFTER_SECONDS,
    chart_line,
    evenly_sampled,
    finite,
    round_sig,
)
from driftline.server._views_feature import feature_router
from driftline.server.context import allowed, context, require

__all__ = [
    "DEFAULT_MAX_POINTS",
    "HEALTH_DRIFT_WARNING",
    "STALE_AFTER_SECONDS",
    "heat_downsample",
    "model_health",
    "model_overview",
    "views_router",
]

views_router = APIRouter(tags=["views"])
views_router.include_router(feature_router)


# ----------------------------------------------------------------------------- helpers
def heat_downsample(
    starts: np.ndarray, z: np.ndarray, max_windows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge consecutive windows of a ``[column, window]`` matrix, keeping each group's maximum.

    Parameters
    ----------
    starts : numpy.ndarray
        Window starts, ascending.
    z : numpy.ndarray
        Values per column (rows) and window (columns); NaN where absent.
    max_windows : int
        Most windows kept (at least 1).

    Returns
    -------
    tuple of numpy.ndarray
        The first start of each group and the group maxima (NaN when all are NaN).
    """
    n = starts.shape[0]
    if n <= max_windows:
        return starts, z
    edges = np.linspace(0, n, max(1, max_windows) + 1).astype(np.int64)
    edges = np.unique(edges)
    lo = edges[:-1]
    filled = np.where(np.isnan(z), -np.inf, z)
    out = np.maximum.reduceat(filled, lo, axis=1) if z.shape[0] else z[:, lo]
    out = np.where(np.isinf(out), np.nan, out)
    return starts[lo], out


def _open_alerts(request: Request, project: str, model: str | None = None) -> int | None:
    """Open (not resolved) alerts of a project or model; ``None`` without an alert service."""
    service = getattr(context(request), "alerts", None)
    if service is None:
        return None
    try:
        alerts = service.list_alerts(project=project, model=model)
    except Exception:  # the overview must render even if alerting is misconfigured
        return None
    return sum(1 for a in alerts if str(_get(a, "state", "")) not in ("resolved", "inactive"))


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def model_health(
    *, last_data_at: float | None, now: float, open_alerts: int | None, max_drift: float | None
) -> tuple[str, str]:
    """The health of a model and the reason, for the overview.

    Returns ``("alerting" | "warning" | "ok" | "no data", reason)``: ``no data`` when nothing
    arrived within :data:`STALE_AFTER_SECONDS`, ``alerting`` with open alerts, ``warning``
    when the latest window drifts at least :data:`HEALTH_DRIFT_WARNING`.

    Example
    -------
    >>> model_health(last_data_at=None, now=100.0, open_alerts=0, max_drift=None)
    ('no data', 'no data received yet')
    >>> model_health(last_data_at=90.0, now=100.0, open_alerts=0, max_drift=0.35)[0]
    'warning'
    """
    if last_data_at is None:
        return "no data", "no data received yet"
    if now - last_data_at > STALE_AFTER_SECONDS:
        hours = (now - last_data_at) / 3600
        return "no data", f"no data for {hours:.0f} h"
    if open_alerts:
        return "alerting", f"{open_alerts} open alert{'s' if open_alerts > 1 else ''}"
    if max_drift is not None and max_drift >= HEALTH_DRIFT_WARNING:
        return (
            "warning",
            f"latest window drifts {max_drift:.2f} (warning at {HEALTH_DRIFT_WARNING})",
        )
    return "ok", "receiving data, no open alert"


# ----------------------------------------------------------------------------- overview
class ModelHealth(BaseModel):
    """One model on the overview."""

    project: str
    model: str
    versions: list[str]
    health: str
    reason: str
    volume_24h: int
    open_alerts: int | None
    last_data_at: float | None
    max_drift: float | None
    worst_feature: str | None


def model_overview(request: Request, project: str, model: dict[str, Any]) -> ModelHealth:
    """Health, volume of the last day, open alerts and last data time of one model."""
    ctx = context(request)
    now = ctx.clock()
    name = str(model["name"])
    recent = ctx.query.window_series(project, name, start=now - STALE_AFTER_SECONDS, drift=False)
    volume = sum(w.n_predictions for w in recent)
    last: float | None = None
    if recent:
        last = max(w.end for w in recent if w.n_predictions) if volume else None
    max_drift: float | None = None
    worst: str | None = None
    drift = ctx.query.drift_series(project, name, start=now - 366 * 86400)
    if drift.starts.size:
        if last is None:
            last = float(drift.starts[-1]) + drift.window_seconds
        row = drift.statistic[-1]
        if row.size and not np.all(np.isnan(row)):
            j = int(np.nanargmax(row))
            max_drift, worst = float(row[j]), drift.columns[j]
    alerts = _open_alerts(request, project, name)
    health, reason = model_health(
        last_data_at=last, now=now, open_alerts=alerts, max_drift=max_drift
    )
    return ModelHealth(
        project=project,
        model=name,
        versions=[str(v["name"]) for v in model.get("versions", [])],
        health=health,
        reason=reason,
        volume_24h=int(volume),
        open_alerts=alerts,
        last_data_at=last,
        max_drift=max_drift,
        worst_feature=worst,
    )


@views_router.get(
    "/api/v1/views/overview",
    response_model=list[ModelHealth],
    summary="Health of every model the caller may read",
)
def overview(request: Request) -> list[ModelHealth]:
    """Per model: health (ok, warning, alerting, no data) with its reason, volume, open alerts."""
    query = context(request).query
    out: list[ModelHealth] = []
    for p in query.list_projects():
        if not allowed(request, p["name"], "viewer"):
            continue
        for m in query.list_models(p["name"]):
            out.append(model_overview(request, p["name"], m))
    return out


# ----------------------------------------------------------------------------- model series
class ModelSeries(BaseModel):
    """Downsampled chart lines of a model: ``{name: {"x": [epoch ms], "y": [...]}}`` per group."""

    window_seconds: int
    n_windows: int
    volume: dict[str, dict[str, list[Any]]]
    quality: dict[str, dict[str, list[Any]]]
    performance: dict[str, dict[str, list[Any]]]
    labels: dict[str, dict[str, list[Any]]]
    latency: dict[str, dict[str, list[Any]]]
    errors: dict[str, dict[str, list[Any]]]
    business: dict[str, dict[str, list[Any]]]


@views_router.get(
    "/api/v1/views/projects/{project}/models/{model}/series",
    response_model=ModelSeries,
    summary="Chart series of a model, downsampled",
)
def model_series(
    request: Request,
    project: str,
    model: str,
    version: str | None = Query(None, description="Only this version (default: all)."),
    start: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    end: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    window_seconds: int = Query(3600, gt=0, le=MAX_WINDOW_SECONDS, description="Window length."),
    max_points: int = Query(DEFAULT_MAX_POINTS, ge=4, le=MAX_POINTS, description="Per line."),
) -> ModelSeries:
    """Volume, worst missing rate, realised performance, label coverage, latency, errors, events."""
    require(request, project, "viewer")
    windows = context(request).query.window_series(
        project,
        model,
        version=version,
        start=start,
        end=end,
        window_seconds=window_seconds,
        drift=False,
    )
    xs = [w.start for w in windows]

    def line(values: list[float | None]) -> dict[str, list[Any]]:
        return chart_line(xs, values, max_points)

    found = {k for w in windows for k in w.performance}
    metrics = [k for k in CHART_METRICS if k in found] or sorted(found)
    events = sorted({k for w in windows for k in w.events})
    return ModelSeries(
        window_seconds=window_seconds,
        n_windows=len(windows),
        volume={"predictions": line([float(w.n_predictions) for w in windows])},
        quality={
            "worst missing rate": line(
                [max(w.missing_rates.values()) if w.missing_rates else None for w in windows]
            ),
            "mean missing rate": line(
                [
                    sum(w.missing_rates.values()) / len(w.missing_rates)
                    if w.missing_rates
                    else None
                    for w in windows
                ]
            ),
        },
        performance={k: line([finite(w.performance.get(k)) for w in windows]) for k in metrics},
        labels={"label coverage": line([finite(w.label_coverage) for w in windows])},
        latency={
            "p50": line([finite(w.latency_p50_ms) for w in windows]),
            "p95": line([finite(w.latency_p95_ms) for w in windows]),
            "p99": line([finite(w.latency_p99_ms) for w in windows]),
        },
        errors={"error rate": line([finite(w.error_rate) for w in windows])},
        business={
            k: line([finite((w.events.get(k) or {}).get("rate")) for w in windows]) for k in events
        },
    )


class EstimatedSeries(BaseModel):
    """Estimated performance per window, from the score distribution (no labels needed)."""

    window_seconds: int
    n_windows: int
    n_sampled: int
    estimated: dict[str, dict[str, list[Any]]]


@views_router.get(
    "/api/v1/views/projects/{project}/models/{model}/estimated",
    response_model=EstimatedSeries,
    summary="Estimated accuracy per window from calibrated scores",
)
def estimated_series(
    request: Request,
    project: str,
    model: str,
    version: str | None = Query(None, description="Only this version (default: all)."),
    start: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    end: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    window_seconds: int = Query(3600, gt=0, le=MAX_WINDOW_SECONDS, description="Window length."),
    max_points: int = Query(ESTIMATE_POINTS, ge=4, le=MAX_POINTS, description="Windows read."),
) -> EstimatedSeries:
    """:func:`estimated_accuracy` of at most ``max_points`` windows, evenly spaced.

    Each estimate reads the window's profile, so long ranges are sampled rather than
    read whole (default :data:`ESTIMATE_POINTS` windows).
    """
    require(request, project, "viewer")
    windows = context(request).query.window_series(
        project, model, version=version, start=start, end=end,
        window_seconds=window_seconds, drift=False,
    )  # fmt: skip
    chosen = evenly_sampled([w for w in windows if w.n_predictions], max_points)
    values = [estimated_accuracy(w.profile, SCORE_COLUMN) for w in chosen]
    return EstimatedSeries(
        window_seconds=window_seconds,
        n_windows=len(windows),
        n_sampled=len(chosen),
        estimated={"estimated accuracy": chart_line([w.start for w in chosen], values, max_points)},
    )


# ----------------------------------------------------------------------------- heat map
class DriftHeatmap(BaseModel):
    """Drift of every column by window; columns sorted by severity, worst first."""

    method: str
    window_seconds: int
    columns: list[str]
    kinds: list[str]
    severity: list[float | None]
    x: list[float]
    z: list[list[float | None]]
    n_windows: int


@views_router.get(
    "/api/v1/views/projects/{project}/models/{model}/heatmap",
    response_model=DriftHeatmap,
    summary="Drift heat map of a model: columns by window, worst column first",
)
def drift_heatmap(
    request: Request,
    project: str,
    model: str,
    version: str | None = Query(None, description="Only this version (default: newest)."),
    start: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    end: float | None = Query(None, allow_inf_nan=False, description="Epoch seconds."),
    window_seconds: int = Query(3600, gt=0, le=MAX_WINDOW_SECONDS, description="Window length."),
    max_windows: int = Query(DEFAULT_MAX_POINTS, ge=1, le=MAX_POINTS, description="Columns."),
) -> DriftHeatmap:
    """Severity is a column's largest statistic in the range (lower statistic is better)."""
    require(request, project, "viewer")
    s = context(request).query.drift_series(
        project, model, version=version, start=start, end=end, window_seconds=window_seconds
    )
    z = s.statistic.T  # [column, window]
    if z.size:
        filled = np.where(np.isnan(z), -np.inf, z)
        worst = filled.max(axis=1)
    else:
        worst = np.full(len(s.columns), -np.inf)
    order = sorted(range(len(s.columns)), key=lambda j: (-worst[j], s.columns[j]))
    starts, zz = heat_downsample(s.starts, z[order] if z.size else z, max_windows)
    return DriftHeatmap(
        method=s.method,
        window_seconds=s.window_seconds,
        columns=[s.columns[j] for j in order],
        kinds=[s.kinds[j] for j in order],
        severity=[finite(worst[j]) for j in order],
        x=[x * 1000.0 for x in starts.tolist()],
        z=[[None if math.isnan(v) else round_sig(v, HEAT_DIGITS) for v in r] for r in zz.tolist()],
        n_windows=int(s.starts.size),
    )
