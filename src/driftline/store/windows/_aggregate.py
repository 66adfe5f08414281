"""Reading the buckets of a series and merging them into windows (the first step of a read).

A window series reads every bucket of its range with its stored summary in one
scan (:func:`read_window_aggregates`); a drift series reads the bucket
revisions that stamp its windows (:func:`read_drift_stamps`); both read bucket
profiles only for the windows they must compute (:func:`load_window_profiles`,
:func:`read_bucket_profiles`, :func:`read_window_parts`), merged with
:func:`merge_bucket_profiles`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasketches as ds
import sqlalchemy as sa

from driftline.errors import IncompatibleProfilesError, StoreError
from driftline.store import tables as t
from driftline.store._engine import Store
from driftline.store._performance import PerformanceCounts
from driftline.store._sql import chunks
from driftline.store.windows._grid import WindowGrid
from driftline.store.windows._summaries import (
    HEAD_PREFIX,
    summary_row,
    upsert_summaries,
    window_missing_rates,
)

__all__ = [
    "DriftStamps",
    "WindowAggregate",
    "WindowScope",
    "load_window_profiles",
    "merge_bucket_profiles",
    "read_bucket_profiles",
    "read_drift_stamps",
    "read_window_aggregates",
    "read_window_parts",
    "read_window_profile",
]

log = logging.getLogger("driftline.store")


@dataclass(frozen=True, slots=True)
class WindowScope:
    """The buckets a series reads: the versions, the window grid and the time range.

    Windows run from the one holding ``start`` to those starting before ``end``;
    buckets from ``end`` on are left out (a window cut by the end of a series).
    """

    version_ids: tuple[int, ...]
    grid: WindowGrid
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, slots=True)
class WindowAggregate:
    """The scalar summary of one window, before drift (see :class:`WindowSummary`).

    ``base`` is the version whose bucket profiles make the window's profile
    (``None`` without one); ``stamp`` changes whenever a bucket of the window is
    written (newest bucket write time, rows).
    """

    start: float
    n: int
    n_errors: int
    latency: tuple[float | None, float | None, float | None]
    missing_rates: dict[str, float]
    base: int | None
    stamp: tuple[float, int]
    counts: PerformanceCounts
    events: dict[str, list[float]]


def merge_bucket_profiles(parts: Iterable[bytes]) -> Any:
    """Merge stored bucket profiles in order; ``None`` without any.

    Buckets that cannot merge with the first (another version's reference, or a
    replaced reference) are left out of the profile; their rows still count in
    the window's volume.
    """
    from driftline.profile import DatasetProfile

    merged: Any = None
    for raw in parts:
        p = DatasetProfile.from_bytes(raw)
        if merged is None:
            merged = p
            continue
        try:
            merged = merged.merge(p)
        except IncompatibleProfilesError:
            continue
    return merged


# -- window series: bucket rows, summaries, counts -----------------------------------------


def _bucket_rows(conn: sa.Connection, scope: WindowScope) -> Sequence[Any]:
    """Every bucket of the scope with its stored summary, oldest first, newest version first."""
    wp, ws = t.window_profiles, t.window_summaries
    joined = wp.outerjoin(
        ws,
        sa.and_(
            ws.c.model_version_id == wp.c.model_version_id,
            ws.c.bucket_seconds == wp.c.bucket_seconds,
            ws.c.bucket_start == wp.c.bucket_start,
        ),
    )
    # Neither the profile nor a column stored after it in the row is read: on
    # SQLite that would walk each bucket's overflow pages (0.6 s for a year of
    # 50-column buckets); length() reads the record header only.
    has_profile = (
        sa.func.length(wp.c.profile) if conn.dialect.name == "sqlite" else wp.c.profile
    ).is_not(None)
    return conn.execute(
        sa.select(
            wp.c.model_version_id, wp.c.bucket_start, wp.c.n_rows, wp.c.n_errors,
            wp.c.latency, wp.c.revision, has_profile.label("has_profile"),
            ws.c.revision.label("summary_revision"), ws.c.data,
        )
        .select_from(joined)
        .where(
            wp.c.model_version_id.in_(scope.version_ids),
            wp.c.bucket_seconds == scope.grid.bucket_seconds,
            *scope.grid.span(wp, scope.start, scope.end),
        )
        .order_by(wp.c.bucket_start, wp.c.model_version_id.desc())
    ).all()  # fmt: skip


def _bucket_summaries(
    conn: sa.Connection, rows: Sequence[Any], bucket_seconds: int
) -> tuple[dict[tuple[int, float], tuple[str, str]], list[dict[str, Any]]]:
    """Each bucket's summary as (head text, counts text), and the rows recomputed to store.

    Summaries missing or older than their bucket are computed from the bucket
    profiles; heads are parsed later, once per distinct head.
    """
    wp = t.window_profiles
    summaries: dict[tuple[int, float], tuple[str, str]] = {}
    stale: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        if not r.has_profile:
            continue
        key = (int(r.model_version_id), float(r.bucket_start))
        current = r.data is not None and r.data.startswith(HEAD_PREFIX)
        if r.summary_revision == r.revision and current:
            head, _, tail = r.data.partition("\n")
            summaries[key] = (head, tail)
        else:
            stale[key[0]].append(key[1])
    fresh: list[dict[str, Any]] = []
    revision = {(int(r.model_version_id), float(r.bucket_start)): r.revision for r in rows}
    for v, starts in stale.items():
        for part in chunks(starts):
            for b, raw, rev in conn.execute(
                sa.select(wp.c.bucket_start, wp.c.profile, wp.c.revision).where(
                    wp.c.model_version_id == v,
                    wp.c.bucket_seconds == bucket_seconds,
                    wp.c.bucket_start.in_(part),
                )
            ).all():
                if raw is None:
                    continue
                row = summary_row(
                    version_id=v, bucket_seconds=bucket_seconds, start=b, revision=rev,
                    profile=raw,
                )  # fmt: skip
                head, _, tail = row["data"].partition("\n")
                summaries[(v, float(b))] = (head, tail)
                if rev == revision.get((v, float(b))):
                    fresh.append(row)
    return summaries, fresh


def _count_rows(
    conn: sa.Connection, scope: WindowScope, model_id: int, include_unattributed_events: bool
) -> tuple[list[Any], list[Any]]:
    """The performance-count rows and the business-event rows of the scope."""
    perf, we = t.window_performance, t.window_events
    grid = scope.grid
    perf_rows = conn.execute(
        sa.select(perf.c.bucket_start, perf.c.state).where(
            perf.c.model_version_id.in_(scope.version_ids),
            perf.c.bucket_seconds == grid.bucket_seconds,
            *grid.span(perf, scope.start, scope.end),
        )
    ).all()
    keys = list(scope.version_ids) + ([0] if include_unattributed_events else [])
    event_rows = conn.execute(
        sa.select(we.c.bucket_start, we.c.name, we.c.n, we.c.value_sum).where(
            we.c.model_id == model_id,
            we.c.version_key.in_(keys),
            we.c.bucket_seconds == grid.bucket_seconds,
            *grid.span(we, scope.start, scope.end),
        )
    ).all()
    return list(perf_rows), list(event_rows)


def _store_summaries(store: Store, fresh: list[dict[str, Any]]) -> None:
    """Store recomputed summaries; a busy database only logs (the next query recomputes)."""
    if not fresh:
        return
    try:
        with store.begin() as conn:
            upsert_summaries(conn, fresh)
    except StoreError as exc:
        log.warning("window summaries not stored (%d buckets): %s", len(fresh), exc)


@dataclass
class _Windows:
    """Running per-window totals while the buckets of a series are merged."""

    n_rows: dict[float, int] = field(default_factory=lambda: defaultdict(int))
    n_errors: dict[float, int] = field(default_factory=lambda: defaultdict(int))
    parts: dict[float, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    bases: dict[float, int] = field(default_factory=dict)
    latencies: dict[float, Any] = field(default_factory=dict)
    stamps: dict[float, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[float, PerformanceCounts] = field(default_factory=dict)
    events: dict[float, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    )


def _merge_buckets(
    rows: Sequence[Any], summaries: dict[tuple[int, float], tuple[str, str]], grid: WindowGrid
) -> _Windows:
    """Sum the bucket rows into their windows: volume, errors, summaries, latency, stamps."""
    acc = _Windows()
    deserialize = ds.kll_doubles_sketch.deserialize
    same_width = grid.window_seconds == grid.bucket_seconds
    for v, b, n, n_err, latency, rev, *_ in rows:
        w = float(b) if same_width else grid.window_of(b)
        acc.stamps[w] += rev  # grows whenever a bucket of the window is written
        acc.n_rows[w] += n
        acc.n_errors[w] += n_err
        s = summaries.get((int(v), float(b)))
        if s is not None:
            acc.parts[w].append(s)
            if w not in acc.bases:
                acc.bases[w] = int(v)
        if latency is not None:
            sketch = deserialize(latency)
            if w in acc.latencies:
                acc.latencies[w].merge(sketch)
            else:
                acc.latencies[w] = sketch
    return acc


def _merge_counts(
    acc: _Windows, perf_rows: list[Any], event_rows: list[Any], grid: WindowGrid
) -> None:
    """Add the performance counts and business events of each bucket to its window."""
    for r in perf_rows:
        w = grid.window_of(r.bucket_start)
        c = PerformanceCounts.from_dict(r.state)
        acc.counts[w] = acc.counts[w].merge(c) if w in acc.counts else c
    for r in event_rows:
        w = grid.window_of(r.bucket_start)
        acc.events[w][r.name][0] += r.n
        acc.events[w][r.name][1] += r.value_sum


def _aggregates(
    acc: _Windows, end: float | None, quantiles: tuple[float, float, float]
) -> list[WindowAggregate]:
    """One :class:`WindowAggregate` per window with rows, labels or events, oldest first."""
    rates = window_missing_rates(acc.parts)
    out = []
    for w in sorted(set(acc.n_rows) | set(acc.counts) | set(acc.events)):
        if end is not None and w >= end:
            continue
        lat = acc.latencies.get(w)
        q: list[float | None] = [None, None, None]
        if lat is not None and not lat.is_empty():
            q = [float(x) for x in lat.get_quantiles(list(quantiles))]
        out.append(
            WindowAggregate(
                start=w,
                n=acc.n_rows.get(w, 0),
                n_errors=acc.n_errors.get(w, 0),
                latency=(q[0], q[1], q[2]),
                missing_rates=rates.get(w, {}),
                base=acc.bases.get(w),
                stamp=(acc.stamps[w], acc.n_rows.get(w, 0)),
                counts=acc.counts.get(w, PerformanceCounts()),
                events=dict(acc.events.get(w, {})),
            )
        )
    return out


def read_window_aggregates(
    store: Store,
    scope: WindowScope,
    *,
    model_id: int,
    include_unattributed_events: bool,
    quantiles: tuple[float, float, float],
) -> list[WindowAggregate]:
    """The windows of ``scope`` from bucket summaries, oldest first.

    Business events of ``model_id`` count when tied to one of the scope's
    versions, or to none with ``include_unattributed_events``. Summaries
    missing or older than their bucket are computed from the bucket profiles
    and stored (one write transaction), so that the next call reads only; when
    that write fails (a busy database) the values are returned all the same.
    """
    with store.read() as conn:
        rows = _bucket_rows(conn, scope)
        summaries, fresh = _bucket_summaries(conn, rows, scope.grid.bucket_seconds)
        perf_rows, event_rows = _count_rows(conn, scope, model_id, include_unattributed_events)
    _store_summaries(store, fresh)
    acc = _merge_buckets(rows, summaries, scope.grid)
    _merge_counts(acc, perf_rows, event_rows, scope.grid)
    return _aggregates(acc, scope.end, quantiles)


# -- window profiles -------------------------------------------------------------------------


def load_window_profiles(
    conn: sa.Connection, scope: WindowScope, windows: list[float]
) -> dict[float, Any]:
    """The merged profile of each window start in ``windows`` (buckets before ``scope.end``).

    Bucket profiles merge newest version first per bucket, oldest bucket first;
    those that cannot merge with the first are left out (see
    :func:`merge_bucket_profiles`).
    """
    wanted = set(windows)
    if not wanted:
        return {}
    wp, grid, end = t.window_profiles, scope.grid, scope.end
    parts: dict[float, list[bytes]] = defaultdict(list)
    rows = conn.execute(
        sa.select(wp.c.bucket_start, wp.c.model_version_id, wp.c.profile)
        .where(
            wp.c.model_version_id.in_(scope.version_ids),
            wp.c.bucket_seconds == grid.bucket_seconds,
            wp.c.bucket_start >= min(wanted),
            wp.c.bucket_start < max(wanted) + grid.window_seconds,
            *([] if end is None else [wp.c.bucket_start < end]),
            wp.c.profile.is_not(None),
        )
        .order_by(wp.c.bucket_start, wp.c.model_version_id.desc())
    )
    for b, _, raw in rows:
        w = grid.window_of(b)
        if w in wanted:
            parts[w].append(raw)
    return {w: merge_bucket_profiles(p) for w, p in parts.items()}


def read_window_profile(store: Store, scope: WindowScope, window: float) -> Any:
    """The merged profile of one window (buckets before ``scope.end``), read now."""
    with store.read() as conn:
        return load_window_profiles(conn, scope, [window]).get(window)


def read_bucket_profiles(
    conn: sa.Connection, version_id: int, bucket_starts: list[float], grid: WindowGrid
) -> dict[float, list[bytes]]:
    """The stored profiles of some buckets of one version, grouped by window."""
    wp = t.window_profiles
    parts: dict[float, list[bytes]] = defaultdict(list)
    for part in chunks(bucket_starts):
        for b, raw in conn.execute(
            sa.select(wp.c.bucket_start, wp.c.profile).where(
                wp.c.model_version_id == version_id,
                wp.c.bucket_seconds == grid.bucket_seconds,
                wp.c.bucket_start.in_(part),
            )
        ).all():
            if raw is not None:
                parts[grid.window_of(b)].append(raw)
    return parts


def read_window_parts(
    conn: sa.Connection, scope: WindowScope
) -> dict[float, dict[int, list[bytes]]]:
    """Every stored bucket profile of the scope, by window and version, oldest bucket first."""
    wp, grid = t.window_profiles, scope.grid
    cond: list[Any] = [
        wp.c.model_version_id.in_(scope.version_ids),
        wp.c.bucket_seconds == grid.bucket_seconds,
        *grid.span(wp, scope.start, scope.end),
    ]
    parts: dict[float, dict[int, list[bytes]]] = defaultdict(lambda: defaultdict(list))
    for v, b, raw in conn.execute(
        sa.select(wp.c.model_version_id, wp.c.bucket_start, wp.c.profile)
        .where(*cond)
        .order_by(wp.c.bucket_start)
    ):
        if raw is not None:
            parts[grid.window_of(b)][int(v)].append(raw)
    return parts


# -- drift series: window stamps -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftStamps:
    """What the stored drift of each window of a drift series must be computed from.

    Attributes
    ----------
    references : dict of int to int
        Reference revision per version that has a reference.
    buckets : sequence of rows
        ``(version id, bucket start, bucket revision)`` of every bucket of the scope.
    stamps : dict of (int, float) to int
        Sum of the bucket revisions per (version, window start): bucket
        revisions only grow and buckets are never pruned, so it changes
        whenever a bucket of the window is written.
    newest : dict of float to int
        Per window start, the newest version with a reference and a bucket there.
    """

    references: dict[int, int]
    buckets: Sequence[Any]
    stamps: dict[tuple[int, float], int]
    newest: dict[float, int]


def read_drift_stamps(conn: sa.Connection, scope: WindowScope) -> DriftStamps:
    """The reference revisions and the window stamps of a drift series (one range scan)."""
    wp, rp, grid = t.window_profiles, t.reference_profiles, scope.grid
    refs = {
        int(v): int(r)
        for v, r in conn.execute(
            sa.select(rp.c.model_version_id, rp.c.revision).where(
                rp.c.model_version_id.in_(scope.version_ids)
            )
        ).all()
    }
    buckets = conn.execute(
        sa.select(wp.c.model_version_id, wp.c.bucket_start, wp.c.revision).where(
            wp.c.bucket_seconds == grid.bucket_seconds,
            wp.c.model_version_id.in_(scope.version_ids),
            *grid.span(wp, scope.start, scope.end),
        )
    ).all()
    stamps: dict[tuple[int, float], int] = defaultdict(int)
    newest: dict[float, int] = {}
    for v, b, rev in buckets:
        w = grid.window_of(b)
        if v not in refs:
            continue
        stamps[(v, w)] += int(rev)
        if newest.get(w, -1) < v:
            newest[w] = int(v)
    return DriftStamps(refs, buckets, stamps, newest)
