"""Window series results, built from the steps of a read: aggregate -> drift -> build.

:func:`read_window_series` reads the bucket summaries of a range
(:func:`read_window_aggregates`), adds each window's drift against its
reference (:func:`window_drifts`) and builds the :class:`WindowSummary` list;
:func:`read_drift_series` reads the stored drift of each window
(:func:`read_drift_stamps`, :func:`stored_drift`), computes the stale windows
(:func:`compute_stale_drift`) and builds one :class:`DriftSeries`.

Example
-------
>>> s = WindowSummary(start=0.0, end=3600.0, n_predictions=0)
>>> s.to_dict()["label_coverage"] is None
True
>>> import numpy as np
>>> d = DriftSeries(window_seconds=3600, method="jensen_shannon",
...                 starts=np.array([0.0]), columns=("x",), kinds=("numerical",),
...                 statistic=np.array([[0.25]]), p_value=np.array([[np.nan]]),
...                 n_reference=np.array([[100]]), n_current=np.array([[10]]),
...                 status=np.array([[0]], dtype=np.uint8))
>>> d.to_dict()["columns"]["x"]["statistic"], d.to_dict()["columns"]["x"]["status"]
([0.25], ['computed'])
"""

from __future__ import annotations

import functools
import json
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftline.store._engine import Store
from driftline.store.windows._aggregate import (
    WindowAggregate,
    WindowScope,
    read_drift_stamps,
    read_window_aggregates,
    read_window_parts,
    read_window_profile,
)
from driftline.store.windows._drift import (
    DriftCache,
    EncodedDrift,
    WindowDrifts,
    compute_stale_drift,
    drift_vs_previous,
    store_drift,
    stored_drift,
    window_drifts,
)
from driftline.store.windows._statistic import STATUSES

__all__ = [
    "LATENCY_QUANTILES",
    "DriftSeries",
    "WindowSummary",
    "assemble_drift_series",
    "build_window_summaries",
    "read_drift_series",
    "read_drift_vs_previous",
    "read_window_series",
]

LATENCY_QUANTILES = (0.5, 0.95, 0.99)
"""Latency quantiles reported per window (p50, p95, p99)."""

_ABSENT = STATUSES.index("absent")


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


@dataclass(frozen=True, eq=False)
class DriftSeries:
    """Per-column drift of consecutive windows against the version's reference.

    Statistics only: deciding what counts as drift is left to monitors. Arrays
    are indexed ``[window, column]``.

    Attributes
    ----------
    window_seconds : int
        Window width.
    method : str
        The drift method (see :data:`WINDOW_DRIFT_METHOD`;
        for the Jensen-Shannon distance, lower is better).
    starts : numpy.ndarray
        Window starts (epoch seconds), oldest first; only windows with a profile.
    columns, kinds : tuple of str
        Column names and kinds.
    statistic, p_value : numpy.ndarray
        float64; NaN where not computed (``p_value`` is NaN for distances).
    n_reference, n_current : numpy.ndarray
        int64: values each side held.
    status : numpy.ndarray
        uint8 indices into ``STATUSES`` (``computed``, ``insufficient_data``,
        ``not_computable``, ``absent``: the window lacks the column).
    reasons : dict
        ``{(window_start, column): reason}`` for the entries not computed.
    """

    window_seconds: int
    method: str
    starts: np.ndarray
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    statistic: np.ndarray
    p_value: np.ndarray
    n_reference: np.ndarray
    n_current: np.ndarray
    status: np.ndarray
    reasons: dict[tuple[float, str], str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: ``{"window_seconds", "method", "starts", "columns": {name: {...}}}``."""

        def floats(a: np.ndarray) -> list[float | None]:
            return [None if math.isnan(x) else x for x in a.tolist()]

        out: dict[str, Any] = {}
        for j, name in enumerate(self.columns):
            out[name] = {
                "kind": self.kinds[j],
                "statistic": floats(self.statistic[:, j]),
                "p_value": floats(self.p_value[:, j]),
                "n_reference": self.n_reference[:, j].tolist(),
                "n_current": self.n_current[:, j].tolist(),
                "status": [STATUSES[s] for s in self.status[:, j].tolist()],
            }
        return {
            "window_seconds": self.window_seconds,
            "method": self.method,
            "starts": self.starts.tolist(),
            "columns": out,
            "reasons": [
                {"start": w, "column": c, "reason": r} for (w, c), r in sorted(self.reasons.items())
            ],
        }


def assemble_drift_series(
    window_seconds: int, method: str, rows: list[EncodedDrift]
) -> DriftSeries:
    """The series of encoded window drifts (see :data:`EncodedDrift`), in any order."""
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r[1]].append(i)
    names: list[str] = []
    kinds: list[str] = []
    where: dict[str, int] = {}
    heads: dict[str, list[int]] = {}
    for text in groups:
        idx = []
        for name, kind in json.loads(text):
            if name not in where:
                where[name] = len(names)
                names.append(name)
                kinds.append(kind)
            idx.append(where[name])
        heads[text] = idx
    k = len(names)
    stat = np.full((n, k), np.nan)
    pval = np.full((n, k), np.nan)
    n_ref = np.zeros((n, k), dtype=np.int64)
    n_cur = np.zeros((n, k), dtype=np.int64)
    status = np.full((n, k), _ABSENT, dtype=np.uint8)
    for text, members in groups.items():
        cols = np.asarray(heads[text], dtype=np.intp)
        m = cols.size
        if m == 0:
            continue
        block = np.frombuffer(b"".join(bytes(rows[i][2]) for i in members), dtype=np.uint8)
        block = block.reshape(len(members), 33 * m)
        at = np.asarray(members, dtype=np.intp)[:, None]
        stat[at, cols] = block[:, : 8 * m].copy().view("<f8")
        pval[at, cols] = block[:, 8 * m : 16 * m].copy().view("<f8")
        n_ref[at, cols] = block[:, 16 * m : 24 * m].copy().view("<i8")
        n_cur[at, cols] = block[:, 24 * m : 32 * m].copy().view("<i8")
        status[at, cols] = block[:, 32 * m :]
    reasons: dict[tuple[float, str], str] = {}
    for start, _, _, why in rows:
        if why:
            for column, reason in json.loads(why).items():
                reasons[(start, column)] = reason
    return DriftSeries(
        window_seconds=window_seconds,
        method=method,
        starts=np.array([r[0] for r in rows], dtype=np.float64),
        columns=tuple(names),
        kinds=tuple(kinds),
        statistic=stat,
        p_value=pval,
        n_reference=n_ref,
        n_current=n_cur,
        status=status,
        reasons=reasons,
    )


def _value(value: Any) -> Any:
    return value


def build_window_summaries(
    aggs: list[WindowAggregate],
    drifts: WindowDrifts,
    window_seconds: int,
    load: Callable[[float], Any],
) -> list[WindowSummary]:
    """One :class:`WindowSummary` per aggregate; ``load(start)`` reads a window's profile.

    A window whose profile the drift step read keeps it; the others read it on
    first access of :attr:`WindowSummary.profile`.
    """
    out = []
    for a in aggs:
        n, c = a.n, a.counts
        if a.start in drifts.profiles:
            loader: Any = functools.partial(_value, drifts.profiles[a.start])
        else:
            loader = functools.partial(load, a.start)
        out.append(
            WindowSummary(
                start=a.start,
                end=a.start + window_seconds,
                n_predictions=n,
                missing_rates=a.missing_rates,
                drift=drifts.drift.get(a.start, {}),
                reference_source=None if a.base is None else drifts.sources[a.base],
                n_labels=c.n,
                label_coverage=(c.n / n) if n else None,
                label_delay_mean_s=c.mean_delay,
                label_delay_max_s=c.delay_max if c.n else None,
                performance=c.metrics(),
                latency_p50_ms=a.latency[0],
                latency_p95_ms=a.latency[1],
                latency_p99_ms=a.latency[2],
                error_rate=(a.n_errors / n) if n else None,
                events={
                    name: {
                        "count": int(v[0]),
                        "value_sum": float(v[1]),
                        "rate": (v[0] / n) if n else None,
                    }
                    for name, v in sorted(a.events.items())
                },
                profile_loader=loader,
            )
        )
    return out


def read_window_series(
    store: Store,
    scope: WindowScope,
    *,
    model_id: int,
    include_unattributed_events: bool,
    drift: bool,
    cache: DriftCache,
    methods: str | Mapping[str, str] | None,
) -> list[WindowSummary]:
    """The window summaries of ``scope``: aggregate, then drift, then build (see the module)."""
    aggs = read_window_aggregates(
        store, scope, model_id=model_id, include_unattributed_events=include_unattributed_events,
        quantiles=LATENCY_QUANTILES,
    )  # fmt: skip
    drifts = window_drifts(store, scope, aggs, cache=cache, methods=methods, drift=drift)
    load = functools.partial(read_window_profile, store, scope)
    return build_window_summaries(aggs, drifts, scope.grid.window_seconds, load)


def read_drift_series(store: Store, scope: WindowScope, method: str) -> DriftSeries:
    """The stored drift series of ``scope`` (each window: the newest version with a profile).

    Stale or missing windows are computed from the bucket profiles and stored
    (one write transaction), so that the next call only reads.
    """
    with store.read() as conn:
        stamps = read_drift_stamps(conn, scope)
        rows, stale = stored_drift(conn, scope, stamps, method)
        computed, fresh = compute_stale_drift(conn, scope, stamps, stale, method)
    store_drift(store, fresh)
    return assemble_drift_series(scope.grid.window_seconds, method, rows + computed)


def read_drift_vs_previous(store: Store, scope: WindowScope, method: str) -> DriftSeries:
    """Drift of each window against the window before it (see :func:`drift_vs_previous`).

    Computed on query from the bucket profiles (about 4 ms per bucket), not
    stored: a window's baseline changes whenever the window before it does.
    """
    with store.read() as conn:
        parts = read_window_parts(conn, scope)
    return assemble_drift_series(
        scope.grid.window_seconds, method, drift_vs_previous(parts, method)
    )
