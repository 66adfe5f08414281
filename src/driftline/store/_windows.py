"""Per-bucket aggregates: window profiles, performance counts and event counts.

Every aggregate row is keyed by (owner, bucket_seconds, bucket_start). An
update first makes sure the row exists (an ``INSERT ... ON CONFLICT DO
NOTHING``), then locks it (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
serialises writers), merges and writes it back. Callers lock rows in sorted
key order so that concurrent transactions cannot deadlock.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import datasketches as ds
import numpy as np
import sqlalchemy as sa

from driftline.errors import IncompatibleProfilesError
from driftline.schema import ColumnRole, ColumnSpec, Schema, SchemaInferenceWarning
from driftline.store import _schema as t
from driftline.store._performance import PerformanceCounts
from driftline.store._sql import insert_ignore
from driftline.store.payloads import PredictionsBatch

__all__ = [
    "LATENCY_SKETCH_K",
    "PREDICTION_COLUMN",
    "SCORE_COLUMN",
    "add_events",
    "add_performance",
    "add_profile",
    "frame_for",
    "infer_schema",
    "latency_sketch",
]

log = logging.getLogger("driftline.store")

PREDICTION_COLUMN = "prediction"
"""Name of the prediction column in a window profile when the schema names none."""
SCORE_COLUMN = "score"
"""Name of the score column in a window profile when the schema names none."""
LATENCY_SKETCH_K = 200
"""KLL accuracy parameter of the latency sketch (rank error about 1.65 / k)."""

_PROFILED_ROLES = (ColumnRole.FEATURE, ColumnRole.SEGMENT, ColumnRole.PREDICTION, ColumnRole.SCORE)


def _take(values: Sequence[Any], idx: np.ndarray | None) -> list[Any]:
    if idx is None:
        return list(values)
    return [values[i] for i in idx.tolist()]


def _scalar_scores(batch: PredictionsBatch) -> bool:
    return bool(batch.scores) and not isinstance(batch.scores[0], list)  # type: ignore[index]


def frame_for(
    batch: PredictionsBatch, idx: np.ndarray | None, schema: Schema
) -> tuple[dict[str, list[Any]], Schema]:
    """The columns of ``batch`` (rows ``idx``, or all) that ``schema`` profiles.

    Returns the frame and the part of ``schema`` it covers, the same for every
    batch: features and segments by name, the prediction column, and score
    columns (scalar scores, or one column per class of list scores); a column
    the batch lacks is all missing. Targets, ids and timestamps are not
    profiled here (labels join later; see the performance counts).
    """
    n = len(batch.ids) if idx is None else int(idx.size)
    frame: dict[str, list[Any]] = {}
    specs: list[ColumnSpec] = []
    score_specs = [c for c in schema.columns if c.role is ColumnRole.SCORE]
    for spec in schema.columns:
        if spec.role not in _PROFILED_ROLES:
            continue
        if spec.role is ColumnRole.PREDICTION:
            frame[spec.name] = _take(batch.predictions, idx)
        elif spec.role is ColumnRole.SCORE:
            j = score_specs.index(spec)
            if not batch.scores or (_scalar_scores(batch) and j):
                frame[spec.name] = [None] * n
            elif _scalar_scores(batch):
                frame[spec.name] = _take(batch.scores, idx)
            else:
                rows = _take(batch.scores, idx)
                frame[spec.name] = [r[j] if j < len(r) else None for r in rows]
        else:
            col = batch.features.get(spec.name)
            frame[spec.name] = [None] * n if col is None else _take(col, idx)
        specs.append(spec)
    return frame, Schema(tuple(specs))


def infer_schema(batch: PredictionsBatch) -> Schema:
    """A schema inferred from a batch: its features, ``prediction`` and ``score``."""
    frame: dict[str, list[Any]] = {k: list(v) for k, v in batch.features.items()}
    prediction = PREDICTION_COLUMN
    while prediction in frame:
        prediction = "_" + prediction
    frame[prediction] = list(batch.predictions)
    scores: list[str] = []
    if batch.scores and _scalar_scores(batch):
        score = SCORE_COLUMN
        while score in frame:
            score = "_" + score
        frame[score] = list(batch.scores)
        scores.append(score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaInferenceWarning)
        return Schema.infer(frame, prediction=prediction, scores=scores)


def latency_sketch(values: np.ndarray | None) -> ds.kll_doubles_sketch | None:
    """A KLL sketch of the latencies (ms), or ``None`` when there are none."""
    if values is None or values.size == 0:
        return None
    sketch = ds.kll_doubles_sketch(LATENCY_SKETCH_K)
    sketch.update(np.asarray(values, dtype=np.float64))
    return sketch


def _lock(
    conn: sa.Connection, table: sa.Table, key: dict[str, Any], defaults: dict[str, Any]
) -> Any:
    insert_ignore(conn, table, [{**key, **defaults}], index=list(key))
    where = [table.c[k] == v for k, v in key.items()]
    return conn.execute(sa.select(table).where(*where).with_for_update()).one()


def add_profile(
    conn: sa.Connection,
    *,
    version_id: int,
    bucket_seconds: int,
    start: float,
    n_rows: int,
    n_errors: int,
    part: Any,
    latency: ds.kll_doubles_sketch | None,
    now: float,
) -> None:
    """Merge one bucket's part (a DatasetProfile or None) into its stored window profile."""
    from driftline.profile import DatasetProfile

    key = {"model_version_id": version_id, "bucket_seconds": bucket_seconds, "bucket_start": start}
    defaults = {"n_rows": 0, "n_errors": 0, "profile": None, "latency": None, "updated_at": now}
    row = _lock(conn, t.window_profiles, key, defaults)
    merged = part
    if row.profile is not None and part is not None:
        stored = DatasetProfile.from_bytes(row.profile)
        try:
            merged = stored.merge(part)
        except IncompatibleProfilesError as exc:
            # The reference changed within this bucket: keep the rows after the change.
            log.warning("window %s@%s restarts its profile: %s", version_id, start, exc)
    elif part is None and row.profile is not None:
        merged = None
    lat = latency
    if row.latency is not None:
        lat = ds.kll_doubles_sketch.deserialize(row.latency)
        if latency is not None:
            lat.merge(latency)
    values: dict[str, Any] = {
        "n_rows": row.n_rows + n_rows,
        "n_errors": row.n_errors + n_errors,
        "updated_at": now,
    }
    if merged is not None:
        values["profile"] = merged.to_bytes()
    if lat is not None:
        values["latency"] = lat.serialize()
    conn.execute(t.window_profiles.update().where(t.window_profiles.c.id == row.id).values(values))


def add_performance(
    conn: sa.Connection,
    *,
    version_id: int,
    bucket_seconds: int,
    start: float,
    counts: PerformanceCounts,
    now: float,
) -> None:
    """Merge performance counts into the stored counts of one bucket."""
    key = {"model_version_id": version_id, "bucket_seconds": bucket_seconds, "bucket_start": start}
    defaults = {"n_labels": 0, "state": PerformanceCounts().to_dict(), "updated_at": now}
    row = _lock(conn, t.window_performance, key, defaults)
    merged = PerformanceCounts.from_dict(row.state).merge(counts)
    conn.execute(
        t.window_performance.update()
        .where(t.window_performance.c.id == row.id)
        .values(n_labels=merged.n, state=merged.to_dict(), updated_at=now)
    )


def add_events(
    conn: sa.Connection,
    *,
    model_id: int,
    version_key: int,
    name: str,
    bucket_seconds: int,
    start: float,
    n: int,
    value_sum: float,
) -> None:
    """Add ``n`` events worth ``value_sum`` to one bucket's counter."""
    key = {
        "model_id": model_id,
        "version_key": version_key,
        "name": name,
        "bucket_seconds": bucket_seconds,
        "bucket_start": start,
    }
    insert_ignore(conn, t.window_events, [{**key, "n": 0, "value_sum": 0.0}], index=list(key))
    we = t.window_events
    conn.execute(
        we.update()
        .where(*[we.c[k] == v for k, v in key.items()])
        .values(n=we.c.n + n, value_sum=we.c.value_sum + value_sum)
    )
