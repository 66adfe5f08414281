"""Read-series stage: from a monitor's signal to a :class:`Series`, read from the store.

Production signals come from :meth:`QueryService.window_series` (volume,
quality, realised performance with label coverage, latency, error rate,
business event rates) and :meth:`QueryService.drift_series` (drift per column
and the share of drifted columns, against the reference or the previous
window); training signals read the runs' metric series. A window without data
is absent from the series (its value is unknown, never ``0.0``), except for
``volume``, where an empty window after the model's first data is a measured zero.

What the store cannot compute yet is said, not guessed: :func:`unsupported`
returns the reason (the service records an undecided result with it).

Example
-------
>>> from driftline.alerts._signals_spec import VolumeSignal
>>> from driftline.store import IngestService, QueryService, Store
>>> from driftline.wire import PredictionsBatch
>>> store = Store.open("sqlite://")
>>> batch = PredictionsBatch(batch_id="b1", project="shop", model="ranker", version="v1",
...                          ids=["a", "b", "c"], timestamps=[10.0, 20.0, 3700.0],
...                          features={"x": [1.0, 2.0, 3.0]}, predictions=[0, 1, 1])
>>> _ = IngestService(store).ingest(batch)
>>> s = signal_series(QueryService(store), VolumeSignal(), project="shop", model="ranker",
...                   start=0.0, end=10800.0, window_seconds=3600)
>>> [(p.start, p.value) for p in s.points]
[(0.0, 2.0), (3600.0, 1.0), (7200.0, 0.0)]
>>> store.close()
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.alerts._expression import compute_expression, parse_expression
from driftline.alerts._model import Point, Series
from driftline.analysis import estimated_accuracy
from driftline.errors import InputError, NotFoundError
from driftline.store import LATENCY_QUANTILES, WINDOW_DRIFT_METHOD, QueryService, WindowSummary
from driftline.store import tables as t

__all__ = [
    "DATASET_DRIFT_COLUMN_THRESHOLD",
    "reference_profile",
    "reference_series",
    "series_for",
    "signal_series",
    "unsupported",
]

DATASET_DRIFT_COLUMN_THRESHOLD = 0.1
"""Jensen-Shannon distance above which a column counts as drifted in ``dataset_drift``.

The share of drifted columns compares each column's stored window drift
(:data:`~driftline.store.WINDOW_DRIFT_METHOD`, in [0, 1], higher is more drift)
with this bound; 0.1 is the customary threshold for this distance. Signals
with another ``method`` use that method's own verdict instead.
"""


def unsupported(signal: Any) -> str | None:
    """Why a signal cannot be computed from the store, or ``None`` when it can.

    Example
    -------
    >>> from driftline.alerts._signals_spec import PerformanceSignal
    >>> unsupported(PerformanceSignal(metric="f1", estimated=True))[:40]
    'estimated f1: only accuracy is estimated'
    >>> unsupported(PerformanceSignal(metric="accuracy", estimated=True)) is None
    True
    """
    if signal.kind == "performance" and signal.estimated and signal.metric != "accuracy":
        return (
            f"{signal.describe()}: only accuracy is estimated without labels (from the "
            "window's score distribution); undecided"
        )
    if signal.kind == "latency" and not any(
        math.isclose(signal.quantile, q) for q in LATENCY_QUANTILES
    ):
        kept = ", ".join(f"{q:g}" for q in LATENCY_QUANTILES)
        return f"latency quantile {signal.quantile:g}: the store keeps {kept} per window"
    if signal.kind == "expression":
        for name, inner in signal.inputs.items():
            why = unsupported(inner)
            if why is not None:
                return f"input {name!r}: {why}"
    return None


def series_for(
    query: QueryService, spec: Any, *, start: float, end: float, align: float | None = None
) -> Series:
    """The series of a monitor's signal over the windows in ``[start, end)``.

    Parameters
    ----------
    query : QueryService
        Reads the store.
    spec : MonitorSpec
        The monitor: its ``signal``, ``project``, ``model``, ``version`` and window.
    start, end : float
        Epoch seconds; windows from the one holding ``start`` to those starting before ``end``.
    align : float, optional
        Offset of the window grid (windows start at ``align + k * size``);
        default the grid of the latest complete window at ``end`` (for a
        tumbling window: its ``align``; for a sliding one: the grid of the
        window that ends at the latest step boundary).

    Returns
    -------
    Series
        Oldest first; :class:`NotFoundError` when the model does not exist.
    """
    from driftline.alerts import _spec
    from driftline.alerts._windows import grid_align, latest_window_end

    if align is None:
        align = grid_align(spec.window, latest_window_end(spec.window, end))
    return signal_series(
        query, spec.signal, project=spec.project, model=spec.model,
        version=getattr(spec, "version", None), start=start, end=end,
        window_seconds=int(_spec.window_seconds(spec)), align=align,
    )  # fmt: skip


def signal_series(
    query: QueryService,
    signal: Any,
    *,
    project: str,
    model: str,
    version: str | None = None,
    start: float,
    end: float,
    window_seconds: int,
    baseline: str = "reference",
    align: float = 0.0,
) -> Series:
    """The series of one signal (see :func:`series_for`); ``baseline`` is for drift signals.

    ``baseline`` is ``'reference'`` (the version's reference) or ``'previous'``
    (each window against the one before it). Windows start at
    ``align + k * window_seconds`` (``align`` a multiple of the store's bucket width).
    """
    kind = signal.kind
    w = (start, end, window_seconds, align)
    if kind == "training":
        return _training(query, signal, project, *w)
    if kind == "expression":
        return _expression(query, signal, project, model, version, *w)
    if kind in ("drift", "dataset_drift"):
        return _drift(query, signal, project, model, version, *w, baseline)
    windows = query.window_series(
        project, model, version, start, end, window_seconds, drift=False, align=align
    )
    value = _WINDOW_VALUES.get(kind)
    if value is None:
        raise InputError(f"signal.kind: expected a known signal kind, got {kind!r}")
    points = [value(signal, w) for w in windows]
    if kind == "volume":
        return Series.of(_fill_empty(points, end, window_seconds))
    return Series.of(p for p in points if p is not None)


# --- window_series signals ----------------------------------------------------------------


def _volume(_signal: Any, w: WindowSummary) -> Point:
    return Point(w.start, w.end, float(w.n_predictions), n=w.n_predictions)


def _fill_empty(points: list[Point | None], end: float, width: int) -> list[Point]:
    """Empty windows after the first one with data are zeros; before it, unknown (absent)."""
    have = {p.start: p for p in points if p is not None}
    if not have:
        return []
    out = []
    s = float(min(have))
    while s < end:
        out.append(have.get(s, Point(s, s + width, 0.0, n=0)))
        s += width
    return out


def _quality(signal: Any, w: WindowSummary) -> Point | None:
    n = w.n_predictions
    if signal.measure == "missing_rate":
        if signal.column is None:
            rates = list(w.missing_rates.values())
            value = float(np.mean(rates)) if rates else None
        else:
            value = w.missing_rates.get(signal.column)
        return Point(w.start, w.end, value, n=n)
    if signal.measure in ("mean", "std", "min", "max", "distinct_count") and signal.column:
        profile = w.profile
        col = None if profile is None else profile.columns.get(signal.column)
        raw = getattr(col, signal.measure, None) if col is not None else None
        value = None if raw is None or not math.isfinite(float(raw)) else float(raw)
        return Point(w.start, w.end, value, n=n)
    return Point(w.start, w.end, None, n=n)


def _performance(signal: Any, w: WindowSummary) -> Point:
    if signal.estimated:
        return Point(w.start, w.end, estimated_accuracy(w.profile), n=w.n_predictions)
    value = w.performance.get(signal.metric)
    value = None if value is None or not math.isfinite(value) else float(value)
    return Point(w.start, w.end, value, n=w.n_labels, coverage=w.label_coverage)


def _latency(signal: Any, w: WindowSummary) -> Point:
    kept = (w.latency_p50_ms, w.latency_p95_ms, w.latency_p99_ms)
    by_q = dict(zip(LATENCY_QUANTILES, kept, strict=True))
    ms = next((v for q, v in by_q.items() if math.isclose(q, signal.quantile)), None)
    return Point(w.start, w.end, None if ms is None else ms / 1000.0, n=w.n_predictions)


def _error_rate(_signal: Any, w: WindowSummary) -> Point:
    return Point(w.start, w.end, w.error_rate, n=w.n_predictions)


def _business_rate(signal: Any, w: WindowSummary) -> Point:
    event = w.events.get(signal.event)
    rate = None if event is None else event.get("rate")
    if event is None and w.n_predictions:
        rate = 0.0  # predictions and no event: a measured zero
    return Point(w.start, w.end, rate, n=w.n_predictions)


_WINDOW_VALUES: dict[str, Callable[[Any, WindowSummary], Point | None]] = {
    "volume": _volume,
    "quality": _quality,
    "performance": _performance,
    "latency": _latency,
    "error_rate": _error_rate,
    "business_rate": _business_rate,
}


# --- drift --------------------------------------------------------------------------------


def _drift(
    query: QueryService,
    signal: Any,
    project: str,
    model: str,
    version: str | None,
    start: float,
    end: float,
    width: int,
    align: float,
    baseline: str,
) -> Series:
    method = signal.method or WINDOW_DRIFT_METHOD
    if method != WINDOW_DRIFT_METHOD and baseline == "reference":
        return _drift_by_method(query, signal, project, model, version, start, end, width, align)
    ds = query.drift_series(
        project, model, version, start, end, width, baseline=baseline, align=align
    )
    points = []
    computed = ds.status == 0
    for i, s in enumerate(ds.starts.tolist()):
        if signal.kind == "drift":
            if signal.column not in ds.columns:
                points.append(Point(s, s + width, None))
                continue
            j = ds.columns.index(signal.column)
            ok = bool(computed[i, j])
            stat = float(ds.statistic[i, j]) if ok else None
            p = float(ds.p_value[i, j]) if ok and math.isfinite(ds.p_value[i, j]) else None
            points.append(Point(s, s + width, stat, n=int(ds.n_current[i, j]), p_value=p))
            continue
        cols = [
            j for j, c in enumerate(ds.columns) if signal.columns is None or c in signal.columns
        ]
        done = [j for j in cols if computed[i, j]]
        if not done:
            points.append(Point(s, s + width, None))
            continue
        drifted = sum(float(ds.statistic[i, j]) > DATASET_DRIFT_COLUMN_THRESHOLD for j in done)
        n = int(max(ds.n_current[i, j] for j in done))
        points.append(Point(s, s + width, drifted / len(done), n=n))
    return Series.of(points)


def _drift_by_method(
    query: QueryService,
    signal: Any,
    project: str,
    model: str,
    version: str | None,
    start: float,
    end: float,
    width: int,
    align: float,
) -> Series:
    q = QueryService(query.store, bucket_seconds=query.bucket_seconds, drift_methods=signal.method)
    points = []
    for w in q.window_series(project, model, version, start, end, width, drift=True, align=align):
        if signal.kind == "drift":
            d = w.drift.get(signal.column)
            if d is None or d.get("statistic") is None:
                points.append(Point(w.start, w.end, None, n=w.n_predictions))
                continue
            points.append(
                Point(w.start, w.end, float(d["statistic"]), n=int(d.get("n_current") or 0),
                      p_value=d.get("p_value"))
            )  # fmt: skip
            continue
        cols = {c: d for c, d in w.drift.items() if signal.columns is None or c in signal.columns}
        done = [d for d in cols.values() if d.get("status") in ("drift", "no_drift")]
        share = sum(d["status"] == "drift" for d in done) / len(done) if done else None
        points.append(Point(w.start, w.end, share, n=w.n_predictions))
    return Series.of(points)


# --- training -----------------------------------------------------------------------------


def _training(
    query: QueryService,
    signal: Any,
    project: str,
    start: float,
    end: float,
    width: int,
    align: float,
) -> Series:
    r, m, p = t.runs, t.run_metrics, t.projects
    with query.store.read() as conn:
        pid = conn.execute(sa.select(p.c.id).where(p.c.name == project)).scalar()
        if pid is None:
            raise NotFoundError(f"project: no project named {project!r}")
        q = sa.select(r.c.run_id, r.c.tags).where(r.c.project_id == pid)
        if signal.run is not None:
            q = q.where(r.c.name == signal.run)
        runs = [
            x.run_id
            for x in conn.execute(q)
            if all((x.tags or {}).get(k) == v for k, v in signal.tags.items())
        ]
        rows: list[Any] = []
        if runs:
            first = math.floor((start - align) / width) * width + align
            rows = list(
                conn.execute(
                    sa.select(m.c.time, m.c.value)
                    .where(m.c.run_id.in_(runs), m.c.key == signal.metric)
                    .where(m.c.time >= first, m.c.time < end)
                    .order_by(m.c.time, m.c.id)
                )
            )
    per: dict[float, list[float]] = defaultdict(list)
    for row in rows:
        w = math.floor((row.time - align) / width) * width + align
        per[float(w)].append(math.nan if row.value is None else float(row.value))
    points = []
    for w, values in sorted(per.items()):
        finite = [v for v in values if math.isfinite(v)]
        value: float | None
        if signal.aggregate == "last":
            value = values[-1]
        elif not finite:
            value = math.nan
        elif signal.aggregate == "min":
            value = min(finite)
        elif signal.aggregate == "max":
            value = max(finite)
        else:
            value = sum(finite) / len(finite)
        points.append(Point(w, w + width, value, n=len(values)))
    return Series.of(points)


# --- expression ---------------------------------------------------------------------------


def _expression(
    query: QueryService,
    signal: Any,
    project: str,
    model: str,
    version: str | None,
    start: float,
    end: float,
    width: int,
    align: float,
) -> Series:
    tree = parse_expression(signal.expr, "signal.expr")
    inputs = {
        name: {
            p.start: p
            for p in signal_series(
                query, inner, project=project, model=model, version=version,
                start=start, end=end, window_seconds=width, align=align,
            ).points
        }
        for name, inner in signal.inputs.items()
    }  # fmt: skip
    starts = sorted(set().union(*(set(s) for s in inputs.values()))) if inputs else []
    points = []
    for s in starts:
        got = {name: pts.get(s) for name, pts in inputs.items()}
        n = min((pt.n if pt is not None else 0) for pt in got.values())
        values = {k: pt.value for k, pt in got.items() if pt is not None and pt.value is not None}
        value = None
        if len(values) == len(got):
            try:
                value = compute_expression(tree, values)
            except (ZeroDivisionError, InputError):
                value = None
        points.append(Point(s, s + width, value, n=n))
    return Series.of(points)


# --- the reference's value of a signal ----------------------------------------------------

_PROFILE_MEASURES = ("missing_rate", "mean", "std", "min", "max", "distinct_count")


def reference_series(query: QueryService, spec: Any) -> Series | None:
    """The reference's value of a monitor's signal, as a one-point series, or ``None``.

    Known for ``quality`` signals (``missing_rate``, ``mean``, ``std``, ``min``,
    ``max``, ``distinct_count``) and for realised ``performance`` (the metric of
    the reference's own targets and predictions, when the reference was profiled
    with both), from the reference profile of the monitor's version (default:
    the newest version with a reference). Other signals have no reference value
    (a reference holds no volume or latency): a ``change`` condition against the
    reference is then undecided, and says so.
    """
    signal = spec.signal
    performance = signal.kind == "performance" and not signal.estimated
    quality = signal.kind == "quality" and signal.measure in _PROFILE_MEASURES
    if not (performance or quality) or not spec.model:
        return None
    try:
        profile = query.reference_profile(spec.project, spec.model, spec.version)
    except NotFoundError:
        return None
    if profile is None:
        return None
    if performance:
        counts = getattr(profile, "performance", None)
        if counts is None or not getattr(counts, "n", 0):
            return None
        value = counts.metrics().get(signal.metric)
        if value is None or not math.isfinite(float(value)):
            return None
        return Series.of([Point(0.0, 0.0, float(value), n=int(counts.n))])
    names = [signal.column] if signal.column else list(profile.columns)
    values = []
    for name in names:
        col = profile.columns.get(name)
        raw = getattr(col, signal.measure, None) if col is not None else None
        if raw is not None and math.isfinite(float(raw)):
            values.append(float(raw))
    if not values:
        return None
    return Series.of([Point(0.0, 0.0, float(np.mean(values)), n=1)])


def reference_profile(query: QueryService, project: str, model: str) -> tuple[Any, bool] | None:
    """The newest version's reference profile and whether the model has labels, or ``None``."""
    from driftline.profile import DatasetProfile

    with query.store.read() as conn:
        row = conn.execute(
            sa.select(t.reference_profiles.c.profile)
            .select_from(
                t.reference_profiles.join(
                    t.model_versions,
                    t.model_versions.c.id == t.reference_profiles.c.model_version_id,
                )
                .join(t.models, t.models.c.id == t.model_versions.c.model_id)
                .join(t.projects, t.projects.c.id == t.models.c.project_id)
            )
            .where(t.projects.c.name == project, t.models.c.name == model)
            .order_by(t.model_versions.c.created_at.desc(), t.model_versions.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        has_labels = (
            conn.execute(
                sa.select(t.labels.c.id)
                .join(t.models, t.models.c.id == t.labels.c.model_id)
                .join(t.projects, t.projects.c.id == t.models.c.project_id)
                .where(t.projects.c.name == project, t.models.c.name == model)
                .limit(1)
            ).first()
            is not None
        )
    reference = DatasetProfile.from_dict(row.profile)
    return reference, has_labels or reference.performance is not None
