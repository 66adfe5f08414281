"""Fast bulk writes of prediction rows: one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL).

The ingest target is 100k prediction rows per second with profiles, so the hot
path avoids per-row SQLAlchemy parameter processing and per-row JSON documents:
scalars are encoded by a type switch, and the features of a batch are stored
once, as binary or compressed JSON columns, in ``feature_chunks``.

Example
-------
>>> json_texts([1, 2.5, None, True, "a", [0.1, 0.9]])
['1', '2.5', None, 'true', '"a"', '[0.1,0.9]']
>>> decode_columns(encode_columns({"x": [1.5, 2.0], "c": ["a", None], "k": [1, 2]}))
{'x': [1.5, 2.0], 'c': ['a', None], 'k': [1, 2]}
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.store._sql import dumps

__all__ = [
    "PREDICTION_COLUMNS",
    "decode_columns",
    "encode_columns",
    "insert_predictions",
    "json_texts",
    "paused_gc",
]

PREDICTION_COLUMNS = (
    "model_id",
    "model_version_id",
    "prediction_id",
    "time",
    "output",
    "score",
    "latency_ms",
    "error",
    "feature_chunk_id",
    "feature_row",
)
"""Columns of ``predictions`` written by :func:`insert_predictions`, in order."""

CHUNK_COMPRESSION = 1
"""zlib level of the JSON part of a feature chunk (fast; numbers are stored binary)."""
_CHUNK_MAGIC = b"DLF1"
_BINARY_KINDS = {"f": "<f8", "i": "<i8", "b": "|b1"}


def _json_text(v: Any) -> str | None:
    tv = type(v)
    if v is None:
        return None
    if tv is bool:
        return "true" if v else "false"
    if tv is int:
        return str(v)
    if tv is float:
        return repr(v) if math.isfinite(v) else None
    return dumps(v)


def json_texts(values: Sequence[Any]) -> list[str | None]:
    """JSON text of each value; ``None`` and non-finite floats become SQL NULL.

    Columns of plain floats (all finite) or plain ints, the usual predictions
    and scores, take a fast path without a per-value type switch.
    """
    if isinstance(values, list) and values:
        kinds = set(map(type, values))
        if kinds == {float} and np.isfinite(np.asarray(values, dtype=np.float64)).all():
            return list(map(float.__repr__, values))
        if kinds == {int}:
            return list(map(int.__repr__, values))
    return [_json_text(v) for v in values]


def encode_columns(columns: Mapping[str, Sequence[Any] | np.ndarray]) -> bytes:
    """Encode a batch's feature columns compactly and fast.

    Columns that numpy reads as floats, integers or booleans are stored as
    little-endian binary arrays; any other column (strings, mixed values,
    missing values among integers) as compressed JSON. The layout is a magic
    ``DLF1``, a 4-byte header length, a JSON header, then the column blobs.
    """
    header: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name, values in columns.items():
        arr = np.asarray(values) if len(values) else np.asarray([], dtype=np.float64)
        kind = _BINARY_KINDS.get(arr.dtype.kind)
        if kind is not None and arr.ndim == 1:
            blob = arr.astype(kind, copy=False).tobytes()
        else:
            kind = "json"
            blob = zlib.compress((dumps(list(values)) or "[]").encode("utf-8"), CHUNK_COMPRESSION)
        header.append({"name": name, "kind": kind, "size": len(blob)})
        blobs.append(blob)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return b"".join([_CHUNK_MAGIC, len(head).to_bytes(4, "little"), head, *blobs])


def decode_columns(data: bytes) -> dict[str, list[Any]]:
    """Inverse of :func:`encode_columns`."""
    data = bytes(data)
    if data[:4] != _CHUNK_MAGIC:
        raise ValueError("feature chunk: expected bytes starting with b'DLF1'")
    size = int.from_bytes(data[4:8], "little")
    header = json.loads(data[8 : 8 + size].decode("utf-8"))
    out: dict[str, list[Any]] = {}
    pos = 8 + size
    for col in header:
        blob = data[pos : pos + col["size"]]
        pos += col["size"]
        if col["kind"] == "json":
            out[col["name"]] = json.loads(zlib.decompress(blob).decode("utf-8"))
        else:
            out[col["name"]] = np.frombuffer(blob, dtype=col["kind"]).tolist()
    return out


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many row tuples.

    Each 700 new tuples trigger a collection, and the older generations'
    collections walk every live container, such as the batch's lists: building
    the 10k row tuples of a batch took 3x longer with the collector on. Only
    atoms go in the tuples, so they form no cycles; the collector is resumed
    (if it was on) when the block ends, also on an error.

    Example
    -------
    >>> with paused_gc():
    ...     rows = list(zip(range(3), "abc"))
    >>> rows[-1], gc.isenabled()
    ((2, 'c'), True)
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def insert_predictions(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert prediction rows (tuples in :data:`PREDICTION_COLUMNS` order) in bulk."""
    if not rows:
        return
    cols = ", ".join(PREDICTION_COLUMNS)
    if conn.dialect.name == "postgresql":
        dbapi: Any = conn.connection.dbapi_connection  # a psycopg 3 connection
        with dbapi.cursor() as cur, cur.copy(f"COPY predictions ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in PREDICTION_COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO predictions ({cols}) VALUES ({marks})", rows)
