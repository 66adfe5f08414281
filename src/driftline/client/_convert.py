"""Turn what users pass (frames, arrays, single rows) into JSON-ready columns."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from driftline.errors import InputError
from driftline.wire import ARROW_COLUMNS

__all__ = [
    "ARROW_COLUMNS",
    "arrow_predictions",
    "column_list",
    "feature_columns",
    "is_single_row",
    "timestamps_list",
]

_SEQUENCE_TYPES = (list, tuple, np.ndarray)


def is_single_row(features: Any) -> bool:
    """True for a dict whose values are all scalars (one row).

    Example
    -------
    >>> is_single_row({"age": 31, "city": "Oslo"}), is_single_row({"age": [31, 40]})
    (True, False)
    """
    if not isinstance(features, Mapping):
        return False
    for v in features.values():
        if isinstance(v, np.generic):
            continue
        if isinstance(v, _SEQUENCE_TYPES) or hasattr(v, "__array__") or hasattr(v, "to_list"):
            return False
    return True


def _json_column(arr: np.ndarray, dtype: str) -> list[Any]:
    if dtype in ("float", "integer"):
        missing = np.isnan(arr)
        if dtype == "integer":
            return [
                None if m else int(v) for v, m in zip(arr.tolist(), missing.tolist(), strict=True)
            ]
        if missing.any():
            obj = arr.astype(object)
            obj[missing] = None
            return list(obj.tolist())
        return list(arr.tolist())
    if dtype == "datetime":
        text = np.datetime_as_string(arr.astype("datetime64[us]"), unit="us", timezone="UTC")
        return [None if t == "NaT" else t for t in text.tolist()]
    return list(arr.tolist())


def feature_columns(features: Any) -> tuple[dict[str, list[Any]], int]:
    """Columns of a frame (pandas, polars, arrow, numpy, dict of sequences) or a single-row dict.

    Missing numbers become ``None``; integer columns stay integers; datetimes
    become ISO-8601 strings in UTC.

    Example
    -------
    >>> feature_columns({"age": [31, None], "city": ["Oslo", "Rome"]})
    ({'age': [31, None], 'city': ['Oslo', 'Rome']}, 2)
    >>> feature_columns({"age": 31})
    ({'age': [31]}, 1)
    """
    if is_single_row(features):
        return {str(k): [_scalar(v)] for k, v in features.items()}, 1
    if isinstance(features, Mapping):
        light = _light_columns(features)
        if light is not None:
            return light
    return _table_columns(features)


def _table_columns(features: Any) -> tuple[dict[str, list[Any]], int]:
    from driftline.schema import as_table

    table = as_table(features)
    cols = {name: _json_column(table[name], table.dtypes[name]) for name in table.names}
    return cols, table.n_rows


# The light path: a dict whose columns are lists or tuples of plain Python values
# becomes JSON columns without numpy or pandas, exactly as ``as_table`` would
# make them (checked value for value in tests/client/test_client_first_call.py).
# Anything else (numpy or pandas columns, datetimes, numpy scalars, mixed types)
# goes through ``as_table``, which imports pandas/pyarrow only for their objects.

_NONE = type(None)
_EXACT_INT = 2**53  # integers beyond this are rounded through float64 by ``as_table``


def _is_missing(v: Any) -> bool:
    return v is None or (type(v) is float and math.isnan(v))


def _light_list(values: list[Any] | tuple[Any, ...]) -> list[Any] | None:
    """JSON column of a list of plain values, or ``None`` when ``as_table`` must decide."""
    kinds = set(map(type, values))
    has_none = _NONE in kinds
    kinds.discard(_NONE)
    if not kinds or kinds == {bool} or kinds == {str}:  # None stays None
        return list(values)
    if kinds <= {int, float}:
        # With None it is an object column (NaN is missing; integers if every present
        # value is an int); without, a numpy column (any float, NaN too, makes float64).
        ints = not any(type(v) is float and v == v for v in values) if has_none else kinds == {int}
        if not ints:
            return [None if _is_missing(v) else float(v) for v in values]
        if any(type(v) is int and not -_EXACT_INT <= v <= _EXACT_INT for v in values):
            return None
        return [None if _is_missing(v) else v for v in values]
    if kinds == {str, float} and all(type(v) is str or _is_missing(v) for v in values):
        return [None if _is_missing(v) else v for v in values]  # strings and NaN
    return None


def _light_columns(features: Mapping[Any, Any]) -> tuple[dict[str, list[Any]], int] | None:
    """Columns of a dict of lists/tuples without ``as_table``; ``None`` to use it."""
    cols: dict[str, list[Any]] = {}
    n: int | None = None
    for name, values in features.items():
        if type(name) is not str or not isinstance(values, (list, tuple)):
            return None
        if n is None:
            n = len(values)
        if len(values) != n or n == 0:
            return None
        col = _light_list(values)
        if col is None:
            return None
        cols[name] = col
    return None if n is None else (cols, n)


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def column_list(values: Any, name: str) -> list[Any]:
    """A plain list from a list, tuple, numpy array, pandas/polars Series or arrow array.

    Example
    -------
    >>> import numpy as np
    >>> column_list(np.array([1, 2]), "predictions")
    [1, 2]
    """
    if isinstance(values, list):
        return values
    if isinstance(values, tuple):
        return list(values)
    if isinstance(values, np.ndarray):
        return list(values.tolist())
    for attr in ("to_pylist", "to_list", "tolist"):  # arrow, polars, pandas
        fn = getattr(values, attr, None)
        if callable(fn):
            out = fn()
            if isinstance(out, list):
                return out
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InputError(f"{name}: expected a sequence of values, got {type(values).__name__}")
    return list(values)


def _epoch(v: Any, name: str, i: int) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        return v.timestamp()
    if isinstance(v, np.datetime64):
        return float(v.astype("datetime64[ns]").astype(np.int64)) / 1e9
    ts = getattr(v, "timestamp", None)  # pandas.Timestamp
    if callable(ts):
        return float(ts())
    raise InputError(
        f"{name}[{i}]: expected epoch seconds or a datetime, got {type(v).__name__} {v!r}"
    )


def timestamps_list(values: Any, n: int, now: float, name: str = "timestamps") -> list[float]:
    """Epoch seconds (UTC) for ``n`` rows: ``now`` for all when ``values`` is ``None``.

    Naive datetimes are taken as UTC.

    Example
    -------
    >>> import datetime as dt
    >>> timestamps_list([dt.datetime(1970, 1, 1, 0, 1)], 1, now=0.0)
    [60.0]
    >>> timestamps_list(None, 2, now=5.0)
    [5.0, 5.0]
    """
    if values is None:
        return [now] * n
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return list((values.astype("datetime64[ns]").astype(np.int64) / 1e9).tolist())
    if isinstance(values, (int, float, dt.datetime)):
        values = [values]
    items = column_list(values, name)
    return [_epoch(v, name, i) for i, v in enumerate(items)]


def _arrow_scalar(typ: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_null(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_string(typ)
    )


def arrow_predictions(payload: Mapping[str, Any], compression: str | None = "lz4") -> bytes | None:
    """An Arrow IPC stream of a predictions payload, or ``None`` when it is not columnar.

    Columnar: every column holds strings, numbers, booleans or nulls of one type
    (``scores`` may hold equal-length lists of numbers), and no feature name
    starts like a reserved column (``__id`` ...). Anything else (nested values,
    mixed types, dates) is left to the JSON encoding, which sends it as is.
    ``compression`` is an Arrow IPC buffer codec (``"lz4"``, ``"zstd"`` or ``None``).

    Example
    -------
    >>> import pyarrow as pa
    >>> body = arrow_predictions({"ids": ["a"], "timestamps": [1.5], "predictions": [1],
    ...                           "features": {"age": [31.0]}})
    >>> pa.ipc.open_stream(body).read_all().column_names
    ['__id', '__timestamp', '__prediction', 'age']
    >>> arrow_predictions({"ids": ["a"], "timestamps": [1.5], "predictions": [{"k": 1}],
    ...                    "features": {}}) is None
    True
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    features = payload.get("features") or {}
    if any(name in ARROW_COLUMNS.values() for name in features):
        return None
    columns: list[tuple[str, Any]] = [
        (column, payload[field])
        for field, column in ARROW_COLUMNS.items()
        if payload.get(field) is not None
    ]
    columns += list(features.items())
    arrays = []
    try:
        for name, values in columns:
            arr = pa.array(values)
            typ = arr.type
            ok = _arrow_scalar(typ)
            if name == "__score" and pa.types.is_list(typ):
                ok = pa.types.is_floating(typ.value_type) or pa.types.is_integer(typ.value_type)
            if name == "__timestamp":
                ok = pa.types.is_floating(typ) or pa.types.is_integer(typ)
            if not ok:
                return None
            arrays.append(arr)
        table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression=compression)
        with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
            writer.write_table(table)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    body: bytes = sink.getvalue().to_pybytes()
    return body
