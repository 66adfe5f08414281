"""Drift of windows against the reference (the second step of a read).

Two kinds of result:

* a window series' ``drift`` (:func:`window_drifts`): per column, what
  :class:`driftline.analysis.Report` says of the window profile against the
  reference (method chosen per kind and size, threshold, verdict), computed
  with :mod:`driftline.analysis`'s profile drift (:func:`drift_between`) and
  kept in memory (:class:`DriftCache`) until a bucket or the reference changes;
* a drift series' statistic (:func:`stored_drift`, :func:`compute_stale_drift`):
  :data:`WINDOW_DRIFT_METHOD` per column and window, stored in ``window_drift``.
  A window of ``window_seconds`` is stamped with the sum of its buckets'
  revisions (see :class:`DriftStamps`); a series reads the stored rows and
  recomputes (and stores) only the windows whose row is missing or stale.
  Hourly rows are written by the ingest transaction itself, so a series of
  hourly windows is normally a pure read; a wider window is computed on its
  first query by merging its bucket profiles, then read.

Example
-------
>>> from driftline.profile import profile
>>> ref = profile({"x": [float(i) for i in range(100)]})
>>> cur = profile({"x": [float(i) + 50.0 for i in range(100)]}, reference=ref)
>>> d = drift_between(ref, cur, "psi")
>>> d["x"]["method"], d["x"]["status"]
('psi', 'drift')
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.store import tables as t
from driftline.store._engine import Store
from driftline.store._sql import chunks
from driftline.store.windows._aggregate import (
    DriftStamps,
    WindowAggregate,
    WindowScope,
    load_window_profiles,
    merge_bucket_profiles,
    read_bucket_profiles,
    read_window_profile,
)
from driftline.store.windows._statistic import (
    DRIFT_KINDS,
    STATUSES,
    BucketDrift,
    drift_row,
    profile_drift,
    upsert_drift,
)

__all__ = [
    "DriftCache",
    "EncodedDrift",
    "WindowDrifts",
    "compute_stale_drift",
    "drift_between",
    "drift_vs_previous",
    "latest_drift",
    "read_reference",
    "store_drift",
    "stored_drift",
    "window_drifts",
]

EncodedDrift = tuple[float, str, bytes, str | None]
"""A window's drift as stored: ``(window start, columns JSON, packed arrays, reasons JSON)``."""

_ABSENT = STATUSES.index("absent")


def drift_between(
    reference: Any, current: Any, methods: str | Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per-column drift of ``current`` against ``reference`` (two DatasetProfiles).

    The drift a :class:`driftline.analysis.Report` of the two profiles gives:
    the columns of ``current`` that the reference also has, features first,
    then prediction, score and target (segments are not compared), each from
    :func:`driftline.analysis.drift_from_profiles`, with the p-values of tests
    adjusted over the columns (Benjamini-Hochberg). ``methods`` as in the
    Report (default: its per-kind, per-size defaults).

    Returns
    -------
    dict of str to dict
        :meth:`driftline.analysis.ColumnDrift.to_dict` per column.
    """
    from driftline.analysis import ANALYSED_ROLES, apply_benjamini_hochberg, drift_from_profiles

    order = {role: i for i, role in enumerate(ANALYSED_ROLES)}
    specs = [
        c for c in current.schema.columns if c.name in reference.columns and c.role.value in order
    ]
    specs.sort(key=lambda c: order[c.role.value])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = [
            drift_from_profiles(
                c.name,
                c.kind.value,
                c.role.value,
                reference.columns[c.name],
                current.columns[c.name],
                methods=methods,
            )
            for c in specs
        ]
        return {d.column: d.to_dict() for d in apply_benjamini_hochberg(results)}


class DriftCache:
    """Drift results of windows kept in memory, least recently used dropped first.

    A key says what a result was computed from (window, bucket stamp,
    reference revision), so a changed window is a new key, never a stale hit.

    Example
    -------
    >>> cache = DriftCache(size=1)
    >>> cache.get(("a",), lambda: {"x": {}}), ("a",) in cache
    ({'x': {}}, True)
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], dict[str, dict[str, Any]]] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(
        self, key: tuple[Any, ...], compute: Callable[[], dict[str, dict[str, Any]]]
    ) -> dict[str, dict[str, Any]]:
        """The cached result of ``key``, or ``compute()`` kept for next time."""
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
            return hit
        value = compute()
        self._entries[key] = value
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value


def read_reference(conn: sa.Connection, version_id: int) -> tuple[Any, str | None, Any]:
    """The reference profile of a version, its source and a key that changes with it.

    ``(None, None, None)`` when the version has no reference.
    """
    from driftline.profile import DatasetProfile

    rp = t.reference_profiles
    row = conn.execute(
        sa.select(rp.c.profile, rp.c.source, rp.c.revision, rp.c.updated_at).where(
            rp.c.model_version_id == version_id
        )
    ).first()
    if row is None:
        return None, None, None
    key = (version_id, row.revision, row.updated_at)
    return DatasetProfile.from_dict(row.profile), row.source, key


# -- window series ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowDrifts:
    """The drift step of a window series.

    Attributes
    ----------
    drift : dict of float to dict
        Per window start, :func:`drift_between` of its profile (windows with a
        reference only).
    sources : dict of int to str or None
        The reference source (``'user'``, ``'first_batch'``) per base version.
    profiles : dict of float to DatasetProfile
        The window profiles read on the way (not cached windows only).
    """

    drift: dict[float, dict[str, dict[str, Any]]]
    sources: dict[int, str | None]
    profiles: dict[float, Any]


def _references(
    conn: sa.Connection, bases: list[int], with_profiles: bool
) -> dict[int, tuple[Any, str | None, Any]]:
    """:func:`read_reference` of each version, or only the source without ``with_profiles``."""
    if with_profiles:
        return {v: read_reference(conn, v) for v in bases}
    rp = t.reference_profiles
    sources = dict(
        conn.execute(
            sa.select(rp.c.model_version_id, rp.c.source).where(rp.c.model_version_id.in_(bases))
        ).all()
    )
    return {v: (None, sources.get(v), None) for v in bases}


def window_drifts(
    store: Store,
    scope: WindowScope,
    aggs: list[WindowAggregate],
    *,
    cache: DriftCache,
    methods: str | Mapping[str, str] | None,
    drift: bool = True,
) -> WindowDrifts:
    """Drift of each window against its base version's reference, cached per window.

    Without ``drift`` only the reference sources are read. The profiles of the
    windows not cached are read in one scan; a window evicted from the cache
    in between is read again.
    """
    bases = sorted({a.base for a in aggs if a.base is not None})
    keys: dict[float, tuple[Any, ...]] = {}
    loaded: dict[float, Any] = {}
    with store.read() as conn:
        refs = _references(conn, bases, drift)
        if drift:
            for a in aggs:
                if a.base is not None and refs[a.base][0] is not None:
                    keys[a.start] = (
                        "window", scope.version_ids, scope.grid.window_seconds, a.start,
                        a.stamp, refs[a.base][2],
                    )  # fmt: skip
            missing = [w for w, k in keys.items() if k not in cache]
            loaded = load_window_profiles(conn, scope, missing)
    drifts: dict[float, dict[str, dict[str, Any]]] = {}
    for a in aggs:
        if a.start not in keys or a.base is None:
            continue
        reference, current = refs[a.base][0], loaded.get(a.start)

        def compute(r: Any = reference, c: Any = current, w: float = a.start) -> Any:
            if c is None:  # evicted from the cache since the check
                c = read_window_profile(store, scope, w)
            return drift_between(r, c, methods)

        drifts[a.start] = cache.get(keys[a.start], compute)
    return WindowDrifts(drifts, {v: ref[1] for v, ref in refs.items()}, loaded)


def latest_drift(
    conn: sa.Connection,
    version_id: int,
    bucket_seconds: int,
    *,
    cache: DriftCache,
    methods: str | Mapping[str, str] | None,
) -> dict[str, dict[str, Any]]:
    """:func:`drift_between` of a version's newest bucket and its reference (``{}`` without)."""
    from driftline.profile import DatasetProfile

    wp = t.window_profiles
    row = conn.execute(
        sa.select(wp.c.bucket_start, wp.c.updated_at, wp.c.n_rows, wp.c.profile)
        .where(wp.c.model_version_id == version_id, wp.c.bucket_seconds == bucket_seconds)
        .order_by(wp.c.bucket_start.desc())
        .limit(1)
    ).first()
    if row is None or row.profile is None:
        return {}
    reference, _, ref_key = read_reference(conn, version_id)
    if reference is None:
        return {}
    key = ("latest", version_id, row.bucket_start, row.updated_at, row.n_rows, ref_key)
    current = DatasetProfile.from_bytes(row.profile)
    return cache.get(key, lambda: drift_between(reference, current, methods))


# -- drift series ----------------------------------------------------------------------------


def stored_drift(
    conn: sa.Connection, scope: WindowScope, stamps: DriftStamps, method: str
) -> tuple[list[EncodedDrift], dict[int, list[float]]]:
    """The stored drift rows still fresh, and the windows to compute per version.

    A row is fresh when its version is the window's newest, its stamp and
    reference revision are the current ones and its method is ``method``; a
    stored row is keyed by its window's start and width, so windows of other
    alignments never share one.
    """
    wd, grid = t.window_drift, scope.grid
    stored = conn.execute(
        sa.select(
            wd.c.model_version_id, wd.c.bucket_start, wd.c.revision,
            wd.c.reference_revision, wd.c.method, wd.c.columns, wd.c.data, wd.c.reasons,
        ).where(
            wd.c.bucket_seconds == grid.window_seconds,
            wd.c.model_version_id.in_(scope.version_ids),
            *grid.span(wd, scope.start, scope.end),
        )
    ).all()  # fmt: skip
    newest, refs = stamps.newest, stamps.references
    rows: list[EncodedDrift] = []
    have: set[tuple[int, float]] = set()
    for r in stored:
        v, w = int(r[0]), float(r[1])
        if (
            newest.get(w) == v
            and r[2] == stamps.stamps[(v, w)]
            and r[3] == refs[v]
            and r[4] == method
        ):
            rows.append((w, r[5], r[6], r[7]))
            have.add((v, w))
    stale: dict[int, list[float]] = defaultdict(list)
    for w, v in newest.items():
        if (v, w) not in have:
            stale[v].append(w)
    return rows, stale


def compute_stale_drift(
    conn: sa.Connection,
    scope: WindowScope,
    stamps: DriftStamps,
    stale: dict[int, list[float]],
    method: str,
) -> tuple[list[EncodedDrift], list[dict[str, Any]]]:
    """Drift of the ``stale`` windows from their merged bucket profiles.

    Returns the encoded results and the ``window_drift`` rows to store (not
    those of a window cut by ``scope.end``).
    """
    from driftline.profile import DatasetProfile

    rp, grid, end = t.reference_profiles, scope.grid, scope.end
    rows: list[EncodedDrift] = []
    fresh: list[dict[str, Any]] = []
    for v, windows in stale.items():
        ref_json = conn.execute(
            sa.select(rp.c.profile).where(rp.c.model_version_id == v)
        ).scalar_one()
        reference = DatasetProfile.from_dict(ref_json)
        wanted = set(windows)
        starts = sorted(b for vv, b, _ in stamps.buckets if vv == v and grid.window_of(b) in wanted)
        parts = read_bucket_profiles(conn, v, starts, grid)
        for w in sorted(parts):
            drift: BucketDrift = profile_drift(reference, merge_bucket_profiles(parts[w]), method)
            row = drift_row(
                version_id=v, bucket_seconds=grid.window_seconds, start=w,
                revision=stamps.stamps[(v, w)], reference_revision=stamps.references[v],
                method=method, drift=drift,
            )  # fmt: skip
            if end is None or w + grid.window_seconds <= end:  # a window cut by end: not stored
                fresh.append(row)
            rows.append((w, row["columns"], row["data"], row["reasons"]))
    return rows, fresh


def store_drift(store: Store, rows: list[dict[str, Any]]) -> None:
    """Store computed ``window_drift`` rows (one write transaction), so the next call reads."""
    if not rows:
        return
    with store.begin() as conn:
        for part in chunks(rows, 500):
            upsert_drift(conn, part)


def _no_baseline(current: Any) -> BucketDrift:
    """The first window of a series against the previous one: every column ``absent``."""
    names = tuple(
        c.name for c in current.schema.columns
        if getattr(current.columns.get(c.name), "kind", None) in DRIFT_KINDS
    )  # fmt: skip
    m = len(names)
    return BucketDrift(
        columns=names,
        kinds=tuple(current.columns[n].kind for n in names),
        statistic=np.full(m, np.nan),
        p_value=np.full(m, np.nan),
        n_reference=np.zeros(m, dtype=np.int64),
        n_current=np.zeros(m, dtype=np.int64),
        status=np.full(m, _ABSENT, dtype=np.uint8),
        reasons=dict.fromkeys(names, "the first window has no previous window"),
    )


def drift_vs_previous(
    parts: dict[float, dict[int, list[bytes]]], method: str
) -> list[EncodedDrift]:
    """Drift of each window against the window before it (the previous one with data).

    ``parts`` holds the bucket profiles per window and version (see
    :func:`read_window_parts`); each window takes its newest version. Every
    bucket of a version is profiled on its reference's bin edges, so
    consecutive windows compare histogram against histogram; across a version
    change (other edges) a column is ``not_computable``. The first window has
    no baseline: its columns are ``absent`` with a reason.
    """
    rows: list[EncodedDrift] = []
    previous: Any = None
    for w in sorted(parts):
        newest = max(parts[w])
        current = merge_bucket_profiles(parts[w][newest])
        if previous is None:
            drift = _no_baseline(current)
        else:
            drift = profile_drift(previous, current, method)
        rows.append((w, *drift.encode()))
        previous = current
    return rows
