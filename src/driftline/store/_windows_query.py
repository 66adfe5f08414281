"""Window series: fixed buckets merged into query windows, summarised.

Example
-------
>>> s = WindowSummary(start=0.0, end=3600.0, n_predictions=0)
>>> s.to_dict()["label_coverage"] is None
True
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import datasketches as ds
import sqlalchemy as sa

from driftline.errors import IncompatibleProfilesError
from driftline.store import _schema as t
from driftline.store._performance import PerformanceCounts

__all__ = [
    "LATENCY_QUANTILES",
    "WindowSummary",
    "drift_between",
    "load_window_profiles",
    "summarise_windows",
]

LATENCY_QUANTILES = (0.5, 0.95, 0.99)
"""Latency quantiles reported per window (p50, p95, p99)."""


@dataclass(frozen=True)
class WindowSummary:
    """What happened in one window of a model (or one of its versions).

    Attributes
    ----------
    start, end : float
        Window bounds, epoch seconds, ``[start, end)``.
    n_predictions : int
        Predictions whose time falls in the window.
    missing_rates : dict of str to float
        Share of missing values per profiled column (lower is better).
    drift : dict of str to dict
        Per column, the drift against the version's reference
        (:meth:`driftline.analysis.ColumnDrift.to_dict`: method, statistic,
        threshold, status, reason, sample sizes).
    reference_source : str or None
        ``'user'`` (an uploaded reference) or ``'first_batch'`` (the version's
        first predictions batch, used until a reference is uploaded).
    n_labels : int
        Predictions of the window whose label has joined.
    label_coverage : float or None
        ``n_labels / n_predictions``; ``None`` without predictions.
    label_delay_mean_s, label_delay_max_s : float or None
        Seconds from prediction to label; ``None`` without labels.
    performance : dict of str to float
        Realised metrics of the labelled predictions (see
        :meth:`PerformanceCounts.metrics`).
    latency_p50_ms, latency_p95_ms, latency_p99_ms : float or None
        Latency quantiles (lower is better); ``None`` when no latency was sent.
    error_rate : float or None
        Share of predictions that reported an error (lower is better).
    events : dict of str to dict
        Per business event name: ``count``, ``value_sum`` and ``rate``
        (count per prediction of the window, e.g. click-through; ``None``
        without predictions).
    profile_loader : callable or None
        Returns the merged window profile; :attr:`profile` calls it once, on
        first access (not part of :meth:`to_dict`).
    """

    start: float
    end: float
    n_predictions: int
    missing_rates: dict[str, float] = field(default_factory=dict)
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference_source: str | None = None
    n_labels: int = 0
    label_coverage: float | None = None
    label_delay_mean_s: float | None = None
    label_delay_max_s: float | None = None
    performance: dict[str, float] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    error_rate: float | None = None
    events: dict[str, dict[str, float | None]] = field(default_factory=dict)
    profile_loader: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def profile(self) -> Any:
        """The merged window profile (a DatasetProfile, or ``None`` without one).

        Read from the bucket profiles on first access, so that a series whose
        profiles nobody looks at never decodes them.
        """
        return None if self.profile_loader is None else self.profile_loader()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; the profile is left out."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "profile_loader"}
        return out


def _restrict(reference: Any, current: Any) -> Any:
    """The reference cut down to the current profile's columns (and schema)."""
    from driftline.profile import DatasetProfile
    from driftline.schema import Schema

    specs = [c for c in current.schema.columns if c.name in reference.columns]
    cols = {c.name: reference.columns[c.name] for c in specs}
    return DatasetProfile(Schema(tuple(specs)), reference.n_rows, cols)


def drift_between(
    reference: Any, current: Any, methods: str | Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per-column drift of ``current`` against ``reference`` (two DatasetProfiles).

    ``methods`` is passed to :class:`driftline.analysis.Report` (default: its
    per-kind, per-size defaults).
    """
    from driftline.analysis import Report
    from driftline.profile import DatasetProfile
    from driftline.schema import Schema

    ref = _restrict(reference, current)
    if not ref.columns:
        return {}
    cur = DatasetProfile(
        Schema(tuple(c for c in current.schema.columns if c.name in ref.columns)),
        current.n_rows,
        {n: current.columns[n] for n in ref.columns},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = Report(ref, cur, ref.schema, methods=methods)
        return {d.column: d.to_dict() for d in report.drift}


def _merge_profiles(parts: list[tuple[int, bytes]]) -> tuple[Any, int | None]:
    """Merge bucket profiles, newest version first; returns the profile and its version.

    Buckets that cannot merge with the first (another version's reference, or a
    replaced reference) are left out of the profile; their rows still count in
    the window's volume.
    """
    from driftline.profile import DatasetProfile

    merged: Any = None
    base: int | None = None
    for version_id, raw in parts:
        p = DatasetProfile.from_bytes(raw)
        if merged is None:
            merged, base = p, version_id
            continue
        try:
            merged = merged.merge(p)
        except IncompatibleProfilesError:
            continue
    return merged, base


def _same(value: Any) -> Any:
    return value


def load_window_profiles(
    conn: sa.Connection,
    *,
    version_ids: list[int],
    bucket_seconds: int,
    window_seconds: int,
    windows: list[float],
    end: float | None = None,
    align: float = 0.0,
) -> dict[float, tuple[Any, int | None]]:
    """The merged profile (and its version) of each window start in ``windows``.

    Windows start at ``align + k * window_seconds``.

    Buckets from ``end`` on are left out (a window cut by the end of a series).

    Bucket profiles merge newest version first per bucket, oldest bucket first;
    those that cannot merge with the first are left out (as in :func:`summarise_windows`).
    """
    wanted = set(windows)
    if not wanted:
        return {}
    wp = t.window_profiles
    parts: dict[float, list[tuple[int, bytes]]] = defaultdict(list)
    rows = conn.execute(
        sa.select(wp.c.bucket_start, wp.c.model_version_id, wp.c.profile)
        .where(
            wp.c.model_version_id.in_(version_ids),
            wp.c.bucket_seconds == bucket_seconds,
            wp.c.bucket_start >= min(wanted),
            wp.c.bucket_start < max(wanted) + window_seconds,
            *([] if end is None else [wp.c.bucket_start < end]),
            wp.c.profile.is_not(None),
        )
        .order_by(wp.c.bucket_start, wp.c.model_version_id.desc())
    )
    for b, v, raw in rows:
        w = float(math.floor((b - align) / window_seconds) * window_seconds + align)
        if w in wanted:
            parts[w].append((int(v), raw))
    return {w: _merge_profiles(p) for w, p in parts.items()}


def summarise_windows(
    conn: sa.Connection,
    *,
    model_id: int,
    version_ids: list[int],
    include_unattributed_events: bool,
    bucket_seconds: int,
    window_seconds: int,
    start: float | None,
    end: float | None,
    source_of: Callable[[int], str | None],
    drift_of: Callable[[float, tuple[float, int], Any, int], dict[str, dict[str, Any]]] | None,
    align: float = 0.0,
) -> list[WindowSummary]:
    """Merge the buckets of ``version_ids`` into windows of ``window_seconds``.

    Windows start at ``align + k * window_seconds`` (``align`` in ``[0, window_seconds)``).

    The reference computation, from the bucket profiles themselves (about 4 ms
    per bucket); :meth:`QueryService.window_series` reads stored bucket
    summaries instead (:mod:`driftline.store._window_summaries`) and gives the
    same values.

    ``drift_of(window_start, stamp, profile, version_id)`` gives a window's drift
    against the reference of ``version_id``, the version whose buckets make the
    profile (``stamp`` changes whenever a bucket of the window is written);
    ``None``: no drift. ``source_of(version_id)`` names that reference's source.
    """

    def window_of(bucket: float) -> float:
        return float(math.floor((bucket - align) / window_seconds) * window_seconds + align)

    def in_range(table: sa.Table) -> list[Any]:
        cond = [table.c.bucket_seconds == bucket_seconds]
        if start is not None:
            cond.append(table.c.bucket_start >= window_of(start))
        if end is not None:
            cond.append(table.c.bucket_start < end)
        return cond

    wp, perf, we = t.window_profiles, t.window_performance, t.window_events
    prof_rows = conn.execute(
        sa.select(
            wp.c.bucket_start,
            wp.c.n_rows,
            wp.c.n_errors,
            wp.c.profile,
            wp.c.latency,
            wp.c.updated_at,
            wp.c.model_version_id,
        )
        .where(wp.c.model_version_id.in_(version_ids), *in_range(wp))
        .order_by(wp.c.bucket_start, wp.c.model_version_id.desc())
    ).all()
    perf_rows = conn.execute(
        sa.select(perf.c.bucket_start, perf.c.state).where(
            perf.c.model_version_id.in_(version_ids), *in_range(perf)
        )
    ).all()
    keys = list(version_ids) + ([0] if include_unattributed_events else [])
    event_rows = conn.execute(
        sa.select(we.c.bucket_start, we.c.name, we.c.n, we.c.value_sum).where(
            we.c.model_id == model_id, we.c.version_key.in_(keys), *in_range(we)
        )
    ).all()

    n_rows: dict[float, int] = defaultdict(int)
    n_errors: dict[float, int] = defaultdict(int)
    profiles: dict[float, list[tuple[int, bytes]]] = defaultdict(list)
    latencies: dict[float, Any] = {}
    stamps: dict[float, float] = defaultdict(float)
    for r in prof_rows:
        w = window_of(r.bucket_start)
        stamps[w] = max(stamps[w], r.updated_at)
        n_rows[w] += r.n_rows
        n_errors[w] += r.n_errors
        if r.profile is not None:
            profiles[w].append((r.model_version_id, r.profile))
        if r.latency is not None:
            sketch = ds.kll_doubles_sketch.deserialize(r.latency)
            if w in latencies:
                latencies[w].merge(sketch)
            else:
                latencies[w] = sketch
    counts: dict[float, PerformanceCounts] = {}
    for r in perf_rows:  # type: ignore[assignment]
        w = window_of(r.bucket_start)
        c = PerformanceCounts.from_dict(r.state)
        counts[w] = counts[w].merge(c) if w in counts else c
    events: dict[float, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for r in event_rows:  # type: ignore[assignment]
        w = window_of(r.bucket_start)
        events[w][r.name][0] += r.n
        events[w][r.name][1] += r.value_sum

    out = []
    for w in sorted(set(n_rows) | set(counts) | set(events)):
        if end is not None and w >= end:
            continue
        n = n_rows.get(w, 0)
        prof, base = _merge_profiles(profiles.get(w, []))
        missing: dict[str, float] = {}
        drift: dict[str, dict[str, Any]] = {}
        if prof is not None:
            for name, col in prof.columns.items():
                rate = getattr(col, "missing_rate", None)
                if rate is not None and not math.isnan(rate):
                    missing[name] = float(rate)
            if drift_of is not None and base is not None:
                drift = drift_of(w, (stamps[w], n), prof, base)
        c = counts.get(w, PerformanceCounts())
        lat = latencies.get(w)
        q: list[float | None] = [None, None, None]
        if lat is not None and not lat.is_empty():
            q = [float(x) for x in lat.get_quantiles(list(LATENCY_QUANTILES))]
        out.append(
            WindowSummary(
                start=w,
                end=w + window_seconds,
                n_predictions=n,
                missing_rates=missing,
                drift=drift,
                reference_source=source_of(base) if base is not None else None,
                n_labels=c.n,
                label_coverage=(c.n / n) if n else None,
                label_delay_mean_s=c.mean_delay,
                label_delay_max_s=c.delay_max if c.n else None,
                performance=c.metrics(),
                latency_p50_ms=q[0],
                latency_p95_ms=q[1],
                latency_p99_ms=q[2],
                error_rate=(n_errors.get(w, 0) / n) if n else None,
                events={
                    name: {
                        "count": int(v[0]),
                        "value_sum": float(v[1]),
                        "rate": (v[0] / n) if n else None,
                    }
                    for name, v in sorted(events.get(w, {}).items())
                },
                profile_loader=functools.partial(_same, prof),
            )
        )
    return out
