"""Raw prediction rows, stored as one columnar chunk per batch plus a narrow id index.

A predictions batch is written as one ``prediction_chunks`` row whose ``data``
holds the batch's columns (``id``, ``time``, ``output``, ``score``,
``latency_ms``, ``error``) in the Arrow layout of
:func:`driftline.store._bulk.encode_columns`, and one ``prediction_ids`` entry
per row: (model, prediction id) -> (chunk, row). The id index is the only
per-row write (on SQLite a table without rowid, so one B-tree), which is what
lets a 10k-row batch go in several times faster than as 10k wide rows with two
indexes. Labels and events find their predictions through the index and read
the few chunks that hold them.

Retention deletes whole chunks and trims the chunk that straddles the bound:
its dropped rows are blanked (values set to null, positions kept, so the index
entries of the other rows stay valid) and their index entries deleted.

Example
-------
>>> data = encode_rows(ids=["a", "b"], times=[1.0, 2.0], outputs=[0, 1],
...                    scores=[0.2, 0.9], latency_ms=None, errors=None)
>>> rows = decode_rows(data)
>>> rows["id"], rows["output"], rows["latency_ms"]
(['a', 'b'], [0, 1], [None, None])
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.store import tables as t
from driftline.store._bulk import (
    arrow_table,
    decode_columns,
    encode_columns,
    paused_gc,
    table_values,
)
from driftline.store._sql import chunks

__all__ = [
    "StoredPrediction",
    "decode_rows",
    "delete_rows_up_to",
    "encode_rows",
    "insert_chunk",
    "nth_newest_time",
    "predictions_by_id",
    "take_rows",
]

_ID_COLUMNS = ("model_id", "prediction_id", "chunk_id", "chunk_row")
_SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38)  # json_each built in


@dataclass(frozen=True)
class StoredPrediction:
    """One stored prediction row, found by its id."""

    chunk_id: int
    chunk_row: int
    model_version_id: int
    prediction_id: str
    time: float
    output: Any
    score: Any
    latency_ms: float | None
    error: str | None
    feature_chunk_id: int | None
    feature_row: int


def encode_rows(
    *,
    ids: Sequence[str],
    times: Sequence[float] | np.ndarray,
    outputs: Sequence[Any],
    scores: Sequence[Any] | None,
    latency_ms: Sequence[float] | None,
    errors: Sequence[str | None] | None,
) -> bytes:
    """The ``data`` of a prediction chunk (missing optional columns are all null)."""
    n = len(ids)
    none: list[Any] = [None] * n
    return encode_columns(
        {
            "id": ids,
            "time": np.asarray(times, dtype=np.float64),
            "output": outputs,
            "score": scores if scores is not None else none,
            "latency_ms": latency_ms if latency_ms is not None else none,
            "error": errors if errors is not None else none,
        }
    )


def decode_rows(data: bytes) -> dict[str, list[Any]]:
    """The columns of a prediction chunk (blanked rows hold ``None`` everywhere)."""
    return decode_columns(data)


def insert_chunk(
    conn: sa.Connection,
    *,
    model_id: int,
    version_id: int,
    ids: list[str],
    times: np.ndarray,
    data: bytes,
    feature_chunk_id: int | None,
) -> int:
    """Store one batch's chunk and its id index entries; returns the chunk's id."""
    pc = t.prediction_chunks
    chunk_id: int = conn.execute(
        pc.insert()
        .values(
            model_id=model_id,
            model_version_id=version_id,
            first_time=float(times.min()),
            last_time=float(times.max()),
            n_rows=len(ids),
            feature_chunk_id=feature_chunk_id,
            data=data,
        )
        .returning(pc.c.id)
    ).scalar_one()
    _insert_ids(conn, model_id, chunk_id, ids)
    return chunk_id


def _insert_ids(conn: sa.Connection, model_id: int, chunk_id: int, ids: list[str]) -> None:
    """One index entry per id: (model, id) -> (chunk, position in the batch)."""
    cols = ", ".join(_ID_COLUMNS)
    if conn.dialect.name == "postgresql":
        dbapi: Any = conn.connection.dbapi_connection  # a psycopg 3 connection
        with dbapi.cursor() as cur, cur.copy(f"COPY prediction_ids ({cols}) FROM STDIN") as copy:
            for row, pid in enumerate(ids):
                copy.write_row((model_id, pid, chunk_id, row))
        return
    if _SQLITE_JSON:  # one statement: SQLite walks the JSON array (2-3x faster than executemany)
        conn.exec_driver_sql(
            f"INSERT INTO prediction_ids ({cols}) SELECT ?, value, ?, key FROM json_each(?)",
            (model_id, chunk_id, json.dumps(ids)),
        )
        return
    n = len(ids)
    with paused_gc():
        rows = list(
            zip(itertools.repeat(model_id), ids, itertools.repeat(chunk_id), range(n), strict=False)
        )
    conn.exec_driver_sql(f"INSERT INTO prediction_ids ({cols}) VALUES (?, ?, ?, ?)", rows)


def predictions_by_id(
    conn: sa.Connection, model_id: int, ids: Iterable[str]
) -> list[StoredPrediction]:
    """The stored rows of ``ids`` (all of them for an id logged twice), in the order stored."""
    pi = t.prediction_ids
    located: list[Any] = []
    for part in chunks(list(ids)):
        located.extend(
            conn.execute(
                sa.select(pi.c.prediction_id, pi.c.chunk_id, pi.c.chunk_row).where(
                    pi.c.model_id == model_id, pi.c.prediction_id.in_(part)
                )
            ).all()
        )
    if not located:
        return []
    wanted: dict[int, list[int]] = defaultdict(list)
    for r in located:
        wanted[int(r.chunk_id)].append(int(r.chunk_row))
    out = []
    for chunk in _chunks(conn, sorted(wanted)):
        rows = sorted(set(wanted[int(chunk.id)]))
        cols = take_rows(chunk.data, rows)
        # chunks moved from the row table of earlier releases say which feature row is theirs
        feature_rows = cols.get("feature_row") or [None] * len(rows)
        for k, row in enumerate(rows):
            out.append(
                StoredPrediction(
                    chunk_id=int(chunk.id),
                    chunk_row=row,
                    model_version_id=int(chunk.model_version_id),
                    prediction_id=cols["id"][k],
                    time=float(cols["time"][k]),
                    output=cols["output"][k],
                    score=cols["score"][k],
                    latency_ms=cols["latency_ms"][k],
                    error=cols["error"][k],
                    feature_chunk_id=chunk.feature_chunk_id,
                    feature_row=row if feature_rows[k] is None else int(feature_rows[k]),
                )
            )
    return out


def take_rows(data: bytes, rows: Sequence[int]) -> dict[str, list[Any]]:
    """Rows ``rows`` of a chunk, column by column, as Python values."""
    import pyarrow as pa

    return table_values(arrow_table(data).take(pa.array(rows, type=pa.int64())))


def _chunks(conn: sa.Connection, chunk_ids: list[int]) -> list[Any]:
    pc = t.prediction_chunks
    out: list[Any] = []
    for part in chunks(chunk_ids):
        out.extend(
            conn.execute(
                sa.select(pc.c.id, pc.c.model_version_id, pc.c.feature_chunk_id, pc.c.data)
                .where(pc.c.id.in_(part))
                .order_by(pc.c.id)
            ).all()
        )
    return out


# -- retention ------------------------------------------------------------------------------
def _delete_ids(
    conn: sa.Connection, model_id: int, chunk_id: int, ids: list[str], rows: list[int]
) -> None:
    """Delete the index entries of rows ``rows`` (with ids ``ids``) of one chunk."""
    pi = t.prediction_ids
    if conn.dialect.name == "sqlite" and _SQLITE_JSON:  # one statement, a key lookup per id
        # an entry of this chunk with one of the ids at one of the rows is one of the pairs:
        # the entries of a chunk hold the (id, row) pairs of its rows
        conn.exec_driver_sql(
            "DELETE FROM prediction_ids WHERE model_id = ? AND chunk_id = ? "
            "AND prediction_id IN (SELECT value FROM json_each(?)) "
            "AND +chunk_row IN (SELECT value FROM json_each(?))",  # "+": not a key lookup
            (model_id, chunk_id, json.dumps(ids), json.dumps(rows)),
        )
        return
    pairs = list(zip(ids, rows, strict=True))
    for part in chunks(pairs, 1000):
        conn.execute(
            pi.delete().where(
                pi.c.model_id == model_id,
                pi.c.chunk_id == chunk_id,
                sa.tuple_(pi.c.prediction_id, pi.c.chunk_row).in_(part),
            )
        )


def _times(data: bytes) -> np.ndarray:
    """The ``time`` column of a chunk; NaN where a row was deleted."""
    col = arrow_table(data).column("time")
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def nth_newest_time(conn: sa.Connection, version_id: int, n: int) -> float | None:
    """The time of the ``n``-th newest row (0: the newest) of a version; ``None`` if fewer.

    Reads the chunks' time ranges, and the times of only those chunks that can
    hold one of the ``n + 1`` newest rows.
    """
    pc = t.prediction_chunks
    spans = conn.execute(
        sa.select(pc.c.id, pc.c.first_time, pc.c.last_time, pc.c.n_rows)
        .where(pc.c.model_version_id == version_id)
        .order_by(pc.c.last_time.desc(), pc.c.id.desc())
    ).all()
    total = 0
    floor = None  # n + 1 rows are at least this new: older chunks cannot matter
    for s in spans:
        total += int(s.n_rows)
        floor = float(s.first_time) if floor is None else min(floor, float(s.first_time))
        if total > n:
            break
    if total <= n or floor is None:
        return None
    ids = [int(s.id) for s in spans if float(s.last_time) >= floor]
    times = np.concatenate([_times(c.data) for c in _chunks(conn, ids)])
    times = times[~np.isnan(times)]
    return float(-np.partition(-times, n)[n])


def delete_rows_up_to(
    conn: sa.Connection,
    version_id: int,
    cutoff: float,
    *,
    inclusive: bool,
    limit: int | None = None,
) -> bool:
    """Delete a version's rows older than ``cutoff`` (also those at it with ``inclusive``).

    Chunks wholly older go with their index entries; a chunk that straddles the
    cutoff is trimmed in place (its dropped rows blanked). With ``limit``, the
    oldest ``limit`` such chunks only; returns whether chunks to delete or trim
    are left for another call.
    """
    import pyarrow as pa
    import pyarrow.compute as pcx

    pc = t.prediction_chunks
    older = pc.c.first_time <= cutoff if inclusive else pc.c.first_time < cutoff
    query = (
        sa.select(pc.c.id, pc.c.model_id, pc.c.data)
        .where(pc.c.model_version_id == version_id, older)
        .order_by(pc.c.first_time, pc.c.id)
    )
    hit = conn.execute(query if limit is None else query.limit(limit + 1)).all()
    more = limit is not None and len(hit) > limit
    for chunk in hit[:limit]:
        table = arrow_table(chunk.data)
        times = np.asarray(table.column("time").to_numpy(zero_copy_only=False), dtype=np.float64)
        live = ~np.isnan(times)
        with np.errstate(invalid="ignore"):
            drop = live & ((times <= cutoff) if inclusive else (times < cutoff))
        if not drop.any():
            continue
        rows = np.flatnonzero(drop)
        ids = table.column("id").take(pa.array(rows)).to_pylist()
        _delete_ids(conn, int(chunk.model_id), int(chunk.id), ids, rows.tolist())
        keep = live & ~drop
        if not keep.any():
            conn.execute(pc.delete().where(pc.c.id == chunk.id))
            continue
        mask = pa.array(keep)
        blanked = pa.Table.from_arrays(
            [pcx.if_else(mask, col, pa.nulls(len(col), col.type)) for col in table.columns],
            schema=table.schema,
        )
        kept = times[keep]
        conn.execute(
            pc.update()
            .where(pc.c.id == chunk.id)
            .values(
                n_rows=int(keep.sum()),
                first_time=float(kept.min()),
                last_time=float(kept.max()),
                data=encode_columns(blanked),
            )
        )
    return more
