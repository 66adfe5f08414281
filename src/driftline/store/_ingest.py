"""The ingest service: one transaction per batch, idempotent by ``batch_id``.

A batch first claims its id in ``ingest_batches`` with an ``INSERT ... ON
CONFLICT DO NOTHING``; a batch id seen before (also one being written by
another process at that moment: the claim waits for it) is acknowledged as a
duplicate and nothing is stored again.

A predictions batch is converted to arrays, profiled and encoded before the
write transaction; inside it, the rows go in as one columnar chunk with one
id-index entry per row (one ``INSERT ... SELECT`` on SQLite, ``COPY`` on
PostgreSQL; see :mod:`driftline.store._chunks`), the features as one chunk,
and each touched
bucket's profile is merged (from the service's cache of the bucket when its
revision is unchanged: one guarded ``UPDATE``, no read back) and its drift
against the reference is computed and stored (see
:mod:`driftline.store.windows`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.errors import InputError
from driftline.store import tables as t
from driftline.store._bulk import encode_columns
from driftline.store._chunks import encode_rows, insert_chunk
from driftline.store._engine import Store
from driftline.store._joins import join_pending, store_events, store_labels
from driftline.store._retention import RetentionPolicy, prune_model_rows, prune_version_rows
from driftline.store._run_stop import stop_reason_of
from driftline.store._runs import ingest_run_payload
from driftline.store._sql import ensure_model, ensure_project, ensure_version, insert_ignore
from driftline.store._versions import VersionContext, VersionContexts
from driftline.store.windows import (
    WINDOW_DRIFT_METHOD,
    BucketCache,
    BucketState,
    add_profile,
    batch_arrays,
    drift_row,
    latency_sketch,
    profile_drift,
    summary_row_of,
    upsert_drift,
    upsert_summaries,
)
from driftline.wire import (
    EventsBatch,
    IngestAck,
    LabelsBatch,
    Payload,
    PredictionsBatch,
    ReferencePayload,
    RunCreate,
    RunEventsBatch,
    RunMetricsBatch,
    RunUpdate,
)

__all__ = ["DEFAULT_BUCKET_SECONDS", "SERVER_DRIFT_EVERY_S", "IngestService", "RetentionPolicy"]

_Key = tuple[int, int, float]  # (version id, bucket seconds, bucket start)

DEFAULT_BUCKET_SECONDS = 3600
"""Width of the fixed buckets that window aggregates are kept in (one hour)."""

ID_CACHE_SIZE = 4096
"""(project, model, version) names whose ids a service remembers (the cache is reset when full)."""

SERVER_DRIFT_EVERY_S = 1.0
"""``drift_every_s`` of the server's ingest service (see :class:`IngestService`)."""

BUCKET_CACHE_SIZE = 32
"""Buckets whose merged profile a service keeps in memory between batches.

A batch that lands in a cached bucket merges into the cached profile instead of
reading and decoding the stored one (a few ms per batch); live traffic writes
into one or two current buckets.
"""


@dataclass(frozen=True)
class _Part:
    """The rows of one batch that fall in one bucket, profiled."""

    start: float
    n_rows: int
    n_errors: int
    profile: Any
    latency: Any


@dataclass(frozen=True)
class _OwedDrift:
    """A bucket write whose drift row was left to a later batch (or to the first read)."""

    state: BucketState
    reference: Any
    reference_revision: int


@dataclass
class _Written:
    """What a predictions transaction did to the service's caches, applied once it commits."""

    buckets: list[tuple[_Key, BucketState]] = field(default_factory=list)
    ids: tuple[tuple[str, str, str], tuple[int, int]] | None = None
    """(project, model, version) and the (model id, version id) they name."""
    drift_done: list[_Key] = field(default_factory=list)
    drift_owed: dict[_Key, _OwedDrift] = field(default_factory=dict)


@dataclass(frozen=True)
class _Prepared:
    context: VersionContext | None
    arrays: dict[str, np.ndarray]
    parts: list[_Part]
    times: np.ndarray
    rows: bytes
    """The prediction chunk (see :mod:`driftline.store._chunks`)."""
    features: bytes | None
    """The feature chunk, when features are kept."""


def _drift_row_of(key: _Key, owed: _OwedDrift) -> dict[str, Any]:
    version_id, bucket_seconds, start = key
    return drift_row(
        version_id=version_id,
        bucket_seconds=bucket_seconds,
        start=start,
        revision=owed.state.revision,
        reference_revision=owed.reference_revision,
        method=WINDOW_DRIFT_METHOD,
        drift=profile_drift(owed.reference, owed.state.profile, WINDOW_DRIFT_METHOD),
    )


class IngestService:
    """Store batches from the SDK or the HTTP API.

    Parameters
    ----------
    store : Store
        The database.
    clock : callable, default :func:`time.time`
        Current epoch seconds (label time when a label batch carries none).
    bucket_seconds : int, default 3600
        Width of the fixed window buckets; query windows are multiples of it.
    retention : RetentionPolicy, optional
        Bounds of the raw rows; default ``RetentionPolicy()``.
    drift_every_s : float, default 0
        Seconds between two drift computations of the same bucket at ingest (0:
        every batch). A batch within that time of the last one leaves the
        bucket's drift row one revision behind: the next batch after the
        interval writes it (also for a bucket no longer written to), and a
        query that finds the row stale computes it itself, so results never
        lag. The server uses :data:`SERVER_DRIFT_EVERY_S`: under sustained
        traffic into the current hour, the drift is computed about once a
        second instead of for every batch.

    Example
    -------
    >>> from driftline.store import Store
    >>> from driftline.wire import LabelsBatch
    >>> store = Store.open("sqlite://")
    >>> svc = IngestService(store)
    >>> batch = LabelsBatch(batch_id="b1", project="p", model="m", ids=["a"], labels=[1])
    >>> svc.ingest(batch).accepted, svc.ingest(batch).duplicate
    (1, True)
    >>> store.close()
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        bucket_seconds: int = DEFAULT_BUCKET_SECONDS,
        retention: RetentionPolicy | None = None,
        drift_every_s: float = 0.0,
    ) -> None:
        if isinstance(bucket_seconds, bool) or not isinstance(bucket_seconds, int):
            raise InputError(f"bucket_seconds: expected an integer, got {bucket_seconds!r}")
        if bucket_seconds < 1:
            raise InputError(f"bucket_seconds: expected a positive integer, got {bucket_seconds}")
        self.store = store
        self.clock = clock
        self.bucket_seconds = bucket_seconds
        self.retention = retention if retention is not None else RetentionPolicy()
        if not (isinstance(drift_every_s, int | float) and drift_every_s >= 0):
            raise InputError(
                f"drift_every_s: expected a non-negative number, got {drift_every_s!r}"
            )
        self.drift_every_s = float(drift_every_s)
        self._ids: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._drift_at: dict[_Key, float] = {}
        self._drift_owed: dict[_Key, _OwedDrift] = {}
        self._versions = VersionContexts()
        self._buckets = BucketCache(BUCKET_CACHE_SIZE)
        self._last_retention: dict[tuple[str, int], float] = {}

    # -- entry point -----------------------------------------------------------------------
    def ingest(self, payload: Payload) -> IngestAck:
        """Store one batch in one transaction; a batch id seen before is not stored again.

        Raises
        ------
        InputError
            When the payload does not fit data stored before (a run of another
            project, a reference profile that does not parse).
        StoreError
            When the database fails; nothing of the batch is stored.
        """
        committed = _Written()
        if isinstance(payload, PredictionsBatch):
            # Profile before the write transaction: the lock is held only for the writes,
            # so that several processes profile in parallel.
            handler: Callable[[sa.Connection, Any, float], int] = functools.partial(
                self._predictions, prepared=self._prepare(payload), written=committed
            )
        elif isinstance(payload, LabelsBatch):
            handler = self._labels
        elif isinstance(payload, EventsBatch):
            handler = self._events
        elif isinstance(payload, ReferencePayload):
            handler = self._reference
        elif isinstance(payload, RunCreate | RunMetricsBatch | RunUpdate | RunEventsBatch):
            handler = ingest_run_payload
        else:
            raise InputError(
                f"payload: expected one of the driftline.wire models, got {type(payload).__name__}"
            )
        now = self.clock()
        with self.store.begin() as conn:
            claimed = insert_ignore(
                conn,
                t.ingest_batches,
                [
                    {
                        "batch_id": payload.batch_id,
                        "kind": payload.kind,
                        "project": payload.project,
                        "accepted": 0,
                        "received_at": now,
                    }
                ],
                index=["batch_id"],
            )
            # a run batch's answer says whether a stop was requested (one primary-key read)
            run_id = getattr(payload, "run_id", None) if payload.kind.startswith("run_") else None
            stop = None if run_id is None else stop_reason_of(conn, run_id)
            if not claimed:
                return IngestAck(
                    batch_id=payload.batch_id, accepted=0, duplicate=True,
                    stop_requested=stop is not None, stop_reason=stop,
                )  # fmt: skip
            accepted = handler(conn, payload, now)
            conn.execute(
                t.ingest_batches.update()
                .where(t.ingest_batches.c.batch_id == payload.batch_id)
                .values(accepted=accepted)
            )
        self._committed(committed, now)  # only now that the transaction has committed
        return IngestAck(
            batch_id=payload.batch_id, accepted=accepted, duplicate=False,
            stop_requested=stop is not None, stop_reason=stop,
        )  # fmt: skip

    # -- predictions -------------------------------------------------------------------------
    def _prepare(self, batch: PredictionsBatch) -> _Prepared | None:
        """Encoded rows, feature arrays and window parts of a batch, made outside any write."""
        if batch.n_rows == 0:
            return None
        arrays = batch_arrays(batch)
        ts = np.asarray(batch.timestamps, dtype=np.float64)
        rows = encode_rows(
            ids=batch.ids, times=ts, outputs=batch.predictions, scores=batch.scores,
            latency_ms=batch.latency_ms, errors=batch.errors,
        )  # fmt: skip
        features = None
        if self.retention.keep_features and batch.features:
            # an Arrow body's columns as they came, else the converted arrays
            table = batch._feature_table
            features = encode_columns(table if table is not None else arrays)
        with self.store.read() as conn:
            ctx = self._versions.find(conn, batch.project, batch.model, batch.version)
        parts = [] if ctx is None else self._window_parts(batch, ctx, ts, arrays)
        return _Prepared(ctx, arrays, parts, ts, rows, features)

    def _predictions(
        self,
        conn: sa.Connection,
        batch: PredictionsBatch,
        now: float,
        *,
        prepared: _Prepared | None = None,
        written: _Written | None = None,
    ) -> int:
        n = batch.n_rows
        if n == 0 or prepared is None:
            return 0
        names = (batch.project, batch.model, batch.version)
        known = self._ids.get(names)  # names are never deleted: ids read once stay true
        if known is None:
            project_id = ensure_project(conn, batch.project, now)
            model_id = ensure_model(conn, project_id, batch.model, now)
            version_id = ensure_version(conn, model_id, batch.version, now)
            if written is not None:
                written.ids = (names, (model_id, version_id))
        else:
            model_id, version_id = known
        ts = prepared.times
        self._insert_predictions(conn, batch, model_id, version_id, prepared)
        join_pending(conn, batch, model_id, version_id, ts, self.bucket_seconds, now)
        ctx = prepared.context
        parts = prepared.parts
        if ctx is not None and (
            ctx.version_id != version_id or not self._versions.current(conn, ctx)
        ):
            ctx = None  # the reference changed meanwhile: profile again
        if ctx is None:
            ctx = self._versions.get(conn, version_id, batch, now)
            parts = self._window_parts(batch, ctx, ts, prepared.arrays)
        drift_rows = []
        summary_rows = []
        for part in parts:
            key = (version_id, self.bucket_seconds, part.start)
            state = add_profile(
                conn,
                version_id=version_id,
                bucket_seconds=self.bucket_seconds,
                start=part.start,
                n_rows=part.n_rows,
                n_errors=part.n_errors,
                part=part.profile,
                latency=part.latency,
                now=now,
                cached=self._buckets.get(key),
            )
            if written is not None:
                written.buckets.append((key, state))
            if state.summary is not None:  # the first window series over it only reads
                row = summary_row_of(
                    version_id=version_id, bucket_seconds=self.bucket_seconds,
                    start=part.start, revision=state.revision, summary=state.summary,
                )  # fmt: skip
                summary_rows.append(row)
            if state.profile is not None and part.profile is not None:
                owed = _OwedDrift(state, ctx.reference, ctx.revision[0])
                if self._drift_due(key, now):
                    drift_rows.append(_drift_row_of(key, owed))
                    if written is not None:
                        written.drift_done.append(key)
                elif written is not None:
                    written.drift_owed[key] = owed
        touched = {(version_id, self.bucket_seconds, part.start) for part in parts}
        for key, owed in list(self._drift_owed.items()):  # drift rows left by earlier batches
            if key not in touched and self._drift_due(key, now):
                drift_rows.append(_drift_row_of(key, owed))
                if written is not None:
                    written.drift_done.append(key)
        upsert_drift(conn, drift_rows)
        upsert_summaries(conn, summary_rows)
        if self._due(("version", version_id), now) and prune_version_rows(
            conn, version_id, self.retention
        ):
            del self._last_retention[("version", version_id)]  # more to prune: next batch too
        return n

    def _insert_predictions(
        self,
        conn: sa.Connection,
        batch: PredictionsBatch,
        model_id: int,
        version_id: int,
        prepared: _Prepared,
    ) -> None:
        ts = prepared.times
        feature_chunk_id: int | None = None
        if prepared.features is not None:
            fc = t.feature_chunks
            feature_chunk_id = conn.execute(
                fc.insert()
                .values(
                    model_version_id=version_id,
                    first_time=float(ts.min()),
                    last_time=float(ts.max()),
                    n_rows=batch.n_rows,
                    columns=prepared.features,
                )
                .returning(fc.c.id)
            ).scalar_one()
        insert_chunk(
            conn, model_id=model_id, version_id=version_id, ids=batch.ids, times=ts,
            data=prepared.rows, feature_chunk_id=feature_chunk_id,
        )  # fmt: skip

    def _window_parts(
        self,
        batch: PredictionsBatch,
        ctx: VersionContext,
        ts: np.ndarray,
        arrays: dict[str, np.ndarray],
    ) -> list[_Part]:
        """Split a batch by bucket and profile each part against the version's reference."""
        starts = np.floor(ts / self.bucket_seconds) * self.bucket_seconds
        buckets, inverse = np.unique(starts, return_inverse=True)
        errors = (
            np.array([e is not None for e in batch.errors], dtype=bool)
            if batch.errors is not None
            else None
        )
        latency = (
            np.asarray(batch.latency_ms, dtype=np.float64) if batch.latency_ms is not None else None
        )
        parts = []
        for k, start in enumerate(buckets.tolist()):
            idx = None if buckets.size == 1 else np.flatnonzero(inverse == k)
            n_errors = 0
            if errors is not None:
                n_errors = int(errors.sum() if idx is None else errors[idx].sum())
            lat = None
            if latency is not None:
                lat = latency_sketch(latency if idx is None else latency[idx])
            parts.append(
                _Part(
                    start=float(start),
                    n_rows=batch.n_rows if idx is None else int(idx.size),
                    n_errors=n_errors,
                    profile=ctx.profile_part(batch, idx, arrays),
                    latency=lat,
                )
            )
        return parts

    def _drift_due(self, key: _Key, now: float) -> bool:
        last = self._drift_at.get(key)
        return last is None or now - last >= self.drift_every_s

    def _committed(self, written: _Written, now: float) -> None:
        """Remember what a committed predictions transaction wrote."""
        for key, state in written.buckets:
            self._buckets.put(key, state)
        if written.ids is not None:
            if len(self._ids) >= ID_CACHE_SIZE:
                self._ids.clear()
            self._ids[written.ids[0]] = written.ids[1]
        if not self.drift_every_s:
            return
        for key in written.drift_done:
            self._drift_at[key] = now
            self._drift_owed.pop(key, None)
        self._drift_owed.update(written.drift_owed)
        if len(self._drift_at) > 4 * BUCKET_CACHE_SIZE:  # entries past the interval say nothing
            for key, at in list(self._drift_at.items()):
                if now - at >= self.drift_every_s:
                    del self._drift_at[key]

    def _due(self, key: tuple[str, int], now: float) -> bool:
        last = self._last_retention.get(key)
        if last is not None and now - last < self.retention.check_every_s:
            return False
        self._last_retention[key] = now
        return True

    # -- labels and events ---------------------------------------------------------------------
    def _labels(self, conn: sa.Connection, batch: LabelsBatch, now: float) -> int:
        if batch.n_rows == 0:
            return 0
        project_id = ensure_project(conn, batch.project, now)
        model_id = ensure_model(conn, project_id, batch.model, now)
        stored = store_labels(conn, batch, model_id, self.bucket_seconds, now)
        if self._due(("model", model_id), now):
            prune_model_rows(conn, model_id, self.retention)
        return stored

    def _events(self, conn: sa.Connection, batch: EventsBatch, now: float) -> int:
        if not batch.events:
            return 0
        project_id = ensure_project(conn, batch.project, now)
        model_id = ensure_model(conn, project_id, batch.model, now)
        stored = store_events(conn, batch, model_id, self.bucket_seconds)
        if self._due(("model", model_id), now):
            prune_model_rows(conn, model_id, self.retention)
        return stored

    # -- reference -----------------------------------------------------------------------------
    def _reference(self, conn: sa.Connection, payload: ReferencePayload, now: float) -> int:
        project_id = ensure_project(conn, payload.project, now)
        model_id = ensure_model(conn, project_id, payload.model, now)
        version_id = ensure_version(conn, model_id, payload.version, now)
        self._versions.set_reference(conn, version_id, payload.profile, payload.schema_, now)
        return 1
