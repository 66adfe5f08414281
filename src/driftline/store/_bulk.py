"""Columns of a batch as one compact blob: the feature chunks and prediction chunks.

The ingest target is 100k prediction rows per second with profiles, so a
batch's columns are stored once, as an Arrow IPC stream (typed arrays go in
without a copy), instead of one row or JSON document per value.

Example
-------
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

from driftline.errors import StoreError
from driftline.store._sql import dumps

__all__ = [
    "arrow_table",
    "decode_columns",
    "encode_columns",
    "paused_gc",
    "table_values",
]

CHUNK_COMPRESSION: str | None = None
"""Arrow IPC buffer codec of stored chunks (``"lz4"`` or ``"zstd"``; ``None``: uncompressed).

Uncompressed: LZ4 makes a 25-feature chunk about 30 % smaller (numbers compress
little) and ingest about 3 % slower on SQLite; readers take either.
"""
_CHUNK_MAGIC = b"DLF2"
_CHUNK_MAGIC_V1 = b"DLF1"  # binary and zlib JSON columns, written before Arrow chunks
_JSON_KEY = b"driftline.json"


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


def encode_columns(columns: Mapping[str, Sequence[Any] | np.ndarray] | Any) -> bytes:
    """Encode a batch's feature columns compactly and fast, as an Arrow IPC stream.

    ``columns`` maps names to lists or numpy arrays, or is a ``pyarrow.Table``
    (the columns of an Arrow body, stored as they came). Typed arrays go in
    without a copy; lists and object arrays are typed by pyarrow (``None`` is
    null); a column pyarrow cannot type (mixed strings and numbers, nested
    values) is kept as the JSON text of each value. The layout is a magic
    ``DLF2`` followed by the stream; :func:`decode_columns` also reads the
    ``DLF1`` chunks of earlier releases.
    """
    import pyarrow as pa

    if isinstance(columns, pa.Table):
        table = columns
    else:
        arrays: list[Any] = []
        fields: list[Any] = []
        for name, values in columns.items():
            arr, as_json = _arrow_column(values)
            arrays.append(arr)
            meta = {_JSON_KEY: b"1"} if as_json else None
            fields.append(pa.field(name, arr.type, metadata=meta))
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=CHUNK_COMPRESSION)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return _CHUNK_MAGIC + sink.getvalue().to_pybytes()


def _arrow_column(values: Sequence[Any] | np.ndarray) -> tuple[Any, bool]:
    """An Arrow array of ``values``, and whether it holds JSON texts (mixed values)."""
    import pyarrow as pa

    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "fiub":
        return pa.array(values), False
    # one Python type (and None) only: pyarrow would make 1.0 of an int among floats
    if len(set(map(type, values)) - {type(None)}) <= 1:
        try:
            return pa.array(values if isinstance(values, np.ndarray) else list(values)), False
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            pass
    return pa.array([_json_text(v) for v in values], type=pa.string()), True


def arrow_table(data: bytes) -> Any:
    """The ``pyarrow.Table`` of a ``DLF2`` chunk (columns of JSON texts as stored)."""
    import pyarrow as pa

    if bytes(data[:4]) != _CHUNK_MAGIC:
        raise StoreError(f"chunk: expected bytes starting with b'DLF2', got {bytes(data[:4])!r}")
    try:
        return pa.ipc.open_stream(pa.py_buffer(data)[4:]).read_all()
    except pa.ArrowException as exc:
        raise StoreError(f"chunk: the Arrow stream is corrupt ({exc})") from exc


def table_values(table: Any) -> dict[str, list[Any]]:
    """The columns of an :func:`arrow_table` (or rows taken from it) as Python values.

    Null is ``None``; the columns kept as JSON texts (values of mixed types) are parsed.
    """
    out: dict[str, list[Any]] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        values = column.to_pylist()
        if field.metadata and field.metadata.get(_JSON_KEY):
            values = [None if v is None else json.loads(v) for v in values]
        out[field.name] = values
    return out


def decode_columns(data: bytes) -> dict[str, list[Any]]:
    """Inverse of :func:`encode_columns` (also for ``DLF1`` chunks of earlier releases)."""
    data = bytes(data)
    if data[:4] == _CHUNK_MAGIC:
        return table_values(arrow_table(data))
    if data[:4] != _CHUNK_MAGIC_V1:
        raise StoreError(
            f"feature chunk: expected bytes starting with b'DLF2' or b'DLF1', got {data[:4]!r}"
        )
    try:
        return _decode_v1(data)
    except (ValueError, KeyError, TypeError, zlib.error) as exc:  # JSON, UTF-8, header
        raise StoreError(f"feature chunk: the DLF1 chunk is corrupt ({exc})") from exc


def _decode_v1(data: bytes) -> dict[str, list[Any]]:
    """The columns of a ``DLF1`` chunk: header length, JSON header, binary or zlib JSON blobs."""
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
