"""Drift series: the stored per-window drift of a model, read in one range scan.

A window of ``window_seconds`` (a multiple of the bucket width) is stamped
with the sum of its buckets' revisions: bucket revisions only grow and buckets
are never pruned, so the stamp changes whenever a bucket of the window is
written. ``window_drift`` holds one row per (version, window width, window
start) with the stamp and the reference revision it was computed from; a
series reads those rows and recomputes (and stores) only the windows whose row
is missing or stale. Hourly rows are written by the ingest transaction itself,
so a series of hourly windows is normally a pure read; a wider window is
computed on its first query by merging its bucket profiles, then read.

Example
-------
>>> import numpy as np
>>> s = DriftSeries(window_seconds=3600, method="jensen_shannon",
...                 starts=np.array([0.0]), columns=("x",), kinds=("numerical",),
...                 statistic=np.array([[0.25]]), p_value=np.array([[np.nan]]),
...                 n_reference=np.array([[100]]), n_current=np.array([[10]]),
...                 status=np.array([[0]], dtype=np.uint8))
>>> s.to_dict()["columns"]["x"]["statistic"], s.to_dict()["columns"]["x"]["status"]
([0.25], ['computed'])
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.errors import IncompatibleProfilesError
from driftline.store import _schema as t
from driftline.store._engine import Store
from driftline.store._sql import chunks
from driftline.store._window_drift import (
    DRIFT_KINDS,
    STATUSES,
    BucketDrift,
    drift_row,
    profile_drift,
    upsert_drift,
)

__all__ = ["DriftSeries", "read_drift_series", "read_drift_vs_previous"]

_ABSENT = STATUSES.index("absent")


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
        The drift method (see :data:`driftline.store._window_drift.WINDOW_DRIFT_METHOD`;
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


def _assemble(
    window_seconds: int, method: str, rows: list[tuple[float, str, bytes, str | None]]
) -> DriftSeries:
    """Build the series from encoded rows ``(start, columns JSON, data, reasons JSON)``."""
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


def _merged_window(parts: list[bytes]) -> Any:
    """Merge bucket profiles of one window (those that cannot merge with the first are left out)."""
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


def read_drift_series(
    store: Store,
    *,
    version_ids: list[int],
    bucket_seconds: int,
    window_seconds: int,
    start: float | None,
    end: float | None,
    method: str,
    align: float = 0.0,
) -> DriftSeries:
    """The drift series of ``version_ids`` (each window: the newest version with a profile there).

    Windows start at ``align + k * window_seconds`` (``align`` a multiple of the
    bucket width, in ``[0, window_seconds)``); a stored result is keyed by its
    window's start and width, so windows of other alignments never share one.

    Stale or missing windows are computed from the bucket profiles and stored
    (one write transaction), so that the next call only reads.
    """
    from driftline.profile import DatasetProfile

    wp, wd, rp = t.window_profiles, t.window_drift, t.reference_profiles

    def window_of(x: float) -> float:
        return float(math.floor((x - align) / window_seconds) * window_seconds + align)

    lo = None if start is None else window_of(start)

    def in_range(table: sa.Table) -> list[Any]:
        cond: list[Any] = [table.c.model_version_id.in_(version_ids)]
        if lo is not None:
            cond.append(table.c.bucket_start >= lo)
        if end is not None:
            cond.append(table.c.bucket_start < end)
        return cond

    with store.read() as conn:
        refs = {
            int(v): int(r)
            for v, r in conn.execute(
                sa.select(rp.c.model_version_id, rp.c.revision).where(
                    rp.c.model_version_id.in_(version_ids)
                )
            ).all()
        }
        buckets = conn.execute(
            sa.select(wp.c.model_version_id, wp.c.bucket_start, wp.c.revision).where(
                wp.c.bucket_seconds == bucket_seconds, *in_range(wp)
            )
        ).all()
        stamps: dict[tuple[int, float], int] = defaultdict(int)
        newest: dict[float, int] = {}
        for v, b, rev in buckets:
            w = window_of(b)
            if v not in refs:
                continue
            stamps[(v, w)] += int(rev)
            if newest.get(w, -1) < v:
                newest[w] = int(v)
        stored = conn.execute(
            sa.select(
                wd.c.model_version_id, wd.c.bucket_start, wd.c.revision,
                wd.c.reference_revision, wd.c.method, wd.c.columns, wd.c.data, wd.c.reasons,
            ).where(wd.c.bucket_seconds == window_seconds, *in_range(wd))
        ).all()  # fmt: skip
        rows: list[tuple[float, str, bytes, str | None]] = []
        have: set[tuple[int, float]] = set()
        for r in stored:
            v, w = int(r[0]), float(r[1])
            if newest.get(w) == v and r[2] == stamps[(v, w)] and r[3] == refs[v] and r[4] == method:
                rows.append((w, r[5], r[6], r[7]))
                have.add((v, w))
        stale: dict[int, list[float]] = defaultdict(list)
        for w, v in newest.items():
            if (v, w) not in have:
                stale[v].append(w)
        fresh: list[dict[str, Any]] = []
        for v, windows in stale.items():
            ref_json = conn.execute(
                sa.select(rp.c.profile).where(rp.c.model_version_id == v)
            ).scalar_one()
            reference = DatasetProfile.from_dict(ref_json)
            wanted = set(windows)
            parts: dict[float, list[bytes]] = defaultdict(list)
            starts = sorted(b for vv, b, _ in buckets if vv == v and window_of(b) in wanted)
            for part in chunks(starts):
                for b, raw in conn.execute(
                    sa.select(wp.c.bucket_start, wp.c.profile).where(
                        wp.c.model_version_id == v,
                        wp.c.bucket_seconds == bucket_seconds,
                        wp.c.bucket_start.in_(part),
                    )
                ).all():
                    if raw is not None:
                        parts[window_of(b)].append(raw)
            for w in sorted(parts):
                merged = _merged_window(parts[w])
                drift: BucketDrift = profile_drift(reference, merged, method)
                row = drift_row(
                    version_id=v, bucket_seconds=window_seconds, start=w,
                    revision=stamps[(v, w)], reference_revision=refs[v], method=method,
                    drift=drift,
                )  # fmt: skip
                if end is None or w + window_seconds <= end:  # a window cut by end: not stored
                    fresh.append(row)
                rows.append((w, row["columns"], row["data"], row["reasons"]))
    if fresh:
        with store.begin() as conn:
            for part in chunks(fresh, 500):
                upsert_drift(conn, part)
    return _assemble(window_seconds, method, rows)


def read_drift_vs_previous(
    store: Store,
    *,
    version_ids: list[int],
    bucket_seconds: int,
    window_seconds: int,
    start: float | None,
    end: float | None,
    method: str,
    align: float = 0.0,
) -> DriftSeries:
    """Drift of each window against the window before it (the previous one with data).

    Computed on query from the bucket profiles (about 4 ms per bucket), not stored:
    a window's baseline changes whenever the window before it does. Every bucket
    of a version is profiled on its reference's bin edges, so consecutive windows
    compare histogram against histogram; across a version change (other edges)
    a column is ``not_computable``. The first window has no baseline: its columns
    are ``absent`` with a reason. With ``version_ids`` of several versions, each
    window takes the newest version with a profile there.
    """
    wp = t.window_profiles

    def window_of(x: float) -> float:
        return float(math.floor((x - align) / window_seconds) * window_seconds + align)

    cond: list[Any] = [
        wp.c.model_version_id.in_(version_ids),
        wp.c.bucket_seconds == bucket_seconds,
    ]
    if start is not None:
        cond.append(wp.c.bucket_start >= window_of(start))
    if end is not None:
        cond.append(wp.c.bucket_start < end)
    parts: dict[float, dict[int, list[bytes]]] = defaultdict(lambda: defaultdict(list))
    with store.read() as conn:
        for v, b, raw in conn.execute(
            sa.select(wp.c.model_version_id, wp.c.bucket_start, wp.c.profile)
            .where(*cond)
            .order_by(wp.c.bucket_start)
        ):
            if raw is not None:
                parts[window_of(b)][int(v)].append(raw)
    rows: list[tuple[float, str, bytes, str | None]] = []
    previous: Any = None
    for w in sorted(parts):
        newest = max(parts[w])
        current = _merged_window(parts[w][newest])
        if previous is None:
            names = tuple(
                c.name for c in current.schema.columns
                if getattr(current.columns.get(c.name), "kind", None) in DRIFT_KINDS
            )  # fmt: skip
            m = len(names)
            drift = BucketDrift(
                columns=names,
                kinds=tuple(current.columns[n].kind for n in names),
                statistic=np.full(m, np.nan),
                p_value=np.full(m, np.nan),
                n_reference=np.zeros(m, dtype=np.int64),
                n_current=np.zeros(m, dtype=np.int64),
                status=np.full(m, _ABSENT, dtype=np.uint8),
                reasons=dict.fromkeys(names, "the first window has no previous window"),
            )
        else:
            drift = profile_drift(previous, current, method)
        rows.append((w, *drift.encode()))
        previous = current
    return _assemble(window_seconds, method, rows)
