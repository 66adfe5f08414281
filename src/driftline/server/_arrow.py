"""Arrow IPC predictions bodies: validated column by column, converted without per-value Python.

The JSON path validates every value with pydantic; here each column is checked
once with pyarrow compute and numpy (types, nulls, lengths, finiteness). Ids,
times, predictions and scores become the lists a
:class:`~driftline.wire.PredictionsBatch` holds (with
:meth:`numpy.ndarray.tolist`); features stay columns: numpy arrays to profile,
and the Arrow table itself, which the store keeps as it came. Errors name the
field as the JSON path does (``ids[3]: ...``, ``features.age: ...``).

Example
-------
>>> import pyarrow as pa
>>> table = pa.table({"__id": ["a", "b"], "__timestamp": [1.0, 2.0],
...                   "__prediction": [0, 1], "age": [30.5, None]})
>>> sink = pa.BufferOutputStream()
>>> with pa.ipc.new_stream(sink, table.schema) as w:
...     w.write_table(table)
>>> batch = batch_from_arrow(sink.getvalue().to_pybytes(), project="p", model="m",
...                          version="v1", batch_id="b1")
>>> batch.ids, batch.features["age"].tolist()
(['a', 'b'], [30.5, nan])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from driftline import wire
from driftline.errors import InputError
from driftline.store import as_column

__all__ = ["RESERVED_COLUMNS", "batch_from_arrow"]

RESERVED_COLUMNS = {column: field for field, column in wire.ARROW_COLUMNS.items()}
"""Columns of an Arrow predictions body that are not features, and the field each fills."""

_REQUIRED = ("__id", "__timestamp", "__prediction")


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _nulls(column: Any) -> np.ndarray:
    return np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _plain(column: Any, field: str) -> list[Any]:
    """Python values of a scalar column (null -> None); ``InputError`` for other types."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
        typ = column.type
    if pa.types.is_temporal(typ):
        micros = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64())
        column = pc.cast(pc.cast(micros, pa.timestamp("us")), pa.string())
        typ = column.type
    if pa.types.is_floating(typ) or (
        (pa.types.is_integer(typ) or pa.types.is_boolean(typ)) and column.null_count == 0
    ):
        values: list[Any] = column.to_numpy(zero_copy_only=False).tolist()
        if column.null_count:
            for i in np.flatnonzero(_nulls(column)).tolist():
                values[i] = None
        return values
    if (
        pa.types.is_integer(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_null(typ)
    ):
        return column.to_pylist()
    raise InputError(
        f"{field}: expected a column of strings, numbers, booleans or nulls, got Arrow type {typ}"
    )


def _feature_array(column: Any, field: str) -> np.ndarray:
    """A feature column as the array the store profiles (see :func:`driftline.store.as_column`).

    Strings become an object array sharing one ``str`` per distinct value (and
    remembering their codes for the categorical profile), floats a float64 array
    with NaN where null, integers and booleans without nulls typed arrays; any
    other column the array of its Python values.
    """
    import pyarrow as pa

    from driftline.schema import arrow_strings

    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
        typ = column.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return arrow_strings(column)
    if pa.types.is_floating(typ):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    if (pa.types.is_integer(typ) or pa.types.is_boolean(typ)) and column.null_count == 0:
        arr: np.ndarray = column.to_numpy(zero_copy_only=False)
        return arr.astype(np.int64, copy=False) if arr.dtype.kind in "iu" else arr
    return as_column(_plain(column, field))


def _numbers(column: Any, field: str, *, finite: bool) -> list[float]:
    """A numeric column without nulls as floats (``finite``: no NaN or infinity)."""
    import pyarrow as pa

    typ = column.type
    if not (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
        raise InputError(f"{field}: expected a column of numbers, got Arrow type {typ}")
    if column.null_count:
        raise InputError(f"{field}[{_first(_nulls(column))}]: expected a number, got None")
    arr = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if finite and not np.isfinite(arr).all():
        i = _first(~np.isfinite(arr))
        raise InputError(f"{field}[{i}]: expected a finite number, got {float(arr[i])!r}")
    values: list[float] = arr.tolist()
    return values


def _timestamps(column: Any) -> list[float]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        micros = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64())
        column = pc.divide(pc.cast(micros, pa.float64()), 1e6)
    return _numbers(column, "timestamps", finite=True)


def _ids(column: Any) -> list[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
        typ = column.type
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        raise InputError(f"ids: expected a column of strings, got Arrow type {typ}")
    lengths = pc.utf8_length(column).to_numpy(zero_copy_only=False)
    lengths = np.where(_nulls(column), 0, lengths) if column.null_count else lengths
    bad = (lengths == 0) | (lengths > wire.MAX_ID_LENGTH)
    values: list[str] = column.to_pylist()
    if bad.any():
        i = _first(bad)
        v = values[i]
        shown = repr(v) if v is None else f"{v[:40]!r}{'...' if len(v) > 40 else ''}"
        raise InputError(
            f"ids[{i}]: expected a non-empty id of at most {wire.MAX_ID_LENGTH} characters, "
            f"got {shown}"
        )
    return values


def _scores(column: Any) -> list[float] | list[list[float]]:
    import pyarrow as pa

    typ = column.type
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        if column.null_count:
            raise InputError(f"scores[{_first(_nulls(column))}]: expected a list, got None")
        rows: list[list[float]] = column.to_pylist()
        width = len(rows[0]) if rows else 0
        for i, row in enumerate(rows):
            if len(row) != width:
                raise InputError(
                    f"scores[{i}]: expected a list of {width} class scores like scores[0], "
                    f"got {len(row)}"
                )
            if any(v is None or not isinstance(v, int | float) for v in row):
                raise InputError(f"scores[{i}]: expected a list of numbers, got {row[:5]!r}")
        return rows
    return _numbers(column, "scores", finite=False)


def _errors(column: Any) -> list[str | None]:
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = column.type
    if pa.types.is_null(typ):
        return [None] * len(column)
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        raise InputError(f"errors: expected a column of strings or nulls, got Arrow type {typ}")
    lengths = pc.utf8_length(column).to_numpy(zero_copy_only=False)
    too_long = np.nan_to_num(lengths.astype(np.float64), nan=0.0) > wire.MAX_TEXT_LENGTH
    if too_long.any():
        raise InputError(
            f"errors[{_first(too_long)}]: expected at most {wire.MAX_TEXT_LENGTH} characters"
        )
    values: list[str | None] = column.to_pylist()
    return values


def batch_from_arrow(
    data: bytes, *, project: str, model: str, version: str, batch_id: str
) -> wire.PredictionsBatch:
    """A :class:`PredictionsBatch` from an Arrow IPC stream (see :data:`RESERVED_COLUMNS`).

    Raises
    ------
    InputError
        When the bytes are not an Arrow stream, a required column is missing, or a
        column has the wrong type, a null, a non-finite number or an id out of
        bounds; the message names the field (and the row).
    pydantic.ValidationError
        When ``project``, ``model``, ``version`` or ``batch_id`` is not valid.
    """
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(
            f"body: expected an Arrow IPC stream, got bytes that do not parse ({exc})"
        ) from exc
    names = table.column_names
    for required in _REQUIRED:
        if required not in names:
            raise InputError(
                f"body: expected a column {required!r} in the Arrow stream, got columns {names}"
            )
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"body: expected distinct column names, got {dup} more than once")
    if table.num_rows > wire.MAX_ROWS_PER_BATCH:
        raise InputError(
            f"ids: expected at most {wire.MAX_ROWS_PER_BATCH} rows, got {table.num_rows}"
        )
    features = [n for n in names if n not in RESERVED_COLUMNS]
    if len(features) > wire.MAX_FEATURES:
        raise InputError(
            f"features: expected at most {wire.MAX_FEATURES} columns, got {len(features)}"
        )
    for name in features:
        if len(name) > wire.MAX_NAME_LENGTH:
            raise InputError(
                f"features.{name[:40]}...: expected a name of at most "
                f"{wire.MAX_NAME_LENGTH} characters"
            )
    # the names: validated by the model itself, on an empty batch
    head = wire.PredictionsBatch.model_validate(
        {"batch_id": batch_id, "project": project, "model": model, "version": version,
         "ids": [], "timestamps": [], "predictions": []}
    )  # fmt: skip
    col = table.column
    fields: dict[str, Any] = {
        "ids": _ids(col("__id")),
        "timestamps": _timestamps(col("__timestamp")),
        "predictions": _plain(col("__prediction"), "predictions"),
        "features": {n: _feature_array(col(n), f"features.{n}") for n in features},
    }
    if "__score" in names:
        fields["scores"] = _scores(col("__score"))
    if "__latency_ms" in names:
        fields["latency_ms"] = _numbers(col("__latency_ms"), "latency_ms", finite=True)
    if "__error" in names:
        fields["errors"] = _errors(col("__error"))
    batch = wire.PredictionsBatch.model_construct(
        batch_id=head.batch_id, project=head.project, model=head.model, version=head.version,
        **fields,
    )  # fmt: skip
    batch._feature_table = table.select(features)
    return batch
