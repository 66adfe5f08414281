"""Normalise data frames of many libraries into one light :class:`Table` (private)."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from driftline.errors import EmptyDataError, InputError, SchemaError

__all__ = ["Table", "arrow_strings", "as_table", "string_codes"]

#: The source types a Table column can have (``Table.dtypes`` values).
DTYPES = ("float", "integer", "boolean", "string", "categorical", "datetime", "object")


class Table(Mapping[str, np.ndarray]):
    """An ordered mapping of column name to a 1-D numpy array, all of one length.

    Made by :func:`as_table`; see the Notes of :func:`as_table` for how each
    source type is represented.

    Parameters
    ----------
    columns : mapping of str to numpy.ndarray
        The columns, already normalised.
    dtypes : mapping of str to str
        Source type per column: one of ``float``, ``integer``, ``boolean``,
        ``string``, ``categorical``, ``datetime``, ``object``.

    Examples
    --------
    >>> t = as_table({"a": [1, 2, None]})
    >>> t.n_rows, t["a"].dtype, t.dtypes["a"]
    (3, dtype('float64'), 'integer')
    """

    def __init__(self, columns: Mapping[str, np.ndarray], dtypes: Mapping[str, str]) -> None:
        self._columns = dict(columns)
        self.dtypes: dict[str, str] = {k: dtypes[k] for k in self._columns}
        lengths = {len(v) for v in self._columns.values()}
        if len(lengths) > 1:
            raise InputError(
                f"frame: expected columns of one length, got lengths {sorted(lengths)}"
            )
        self.n_rows: int = lengths.pop() if lengths else 0

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(self._columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return f"Table(n_rows={self.n_rows}, columns={list(self._columns)!r})"


def as_table(frame: Any) -> Table:
    """Normalise a frame into a :class:`Table`.

    Accepts a pandas DataFrame, a polars DataFrame, a pyarrow Table or
    RecordBatch, a 2-D numpy array (columns ``col_0``, ``col_1``...), a numpy
    structured array, a dict of sequences, or a :class:`Table`.

    Parameters
    ----------
    frame : DataFrame-like
        The data.

    Returns
    -------
    Table
        One 1-D numpy array per column (see Notes).

    Raises
    ------
    EmptyDataError
        When the frame has no rows or no columns.
    SchemaError
        When two columns have the same name.
    InputError
        When the frame is of an unsupported type or columns differ in length.

    Warns
    -----
    UserWarning
        When a column name is not a string; it is converted with ``str``.

    Notes
    -----
    How each source type is represented (``Table.dtypes`` names the source type):

    ===============  =======================  ================================================
    source type      numpy array              missing values
    ===============  =======================  ================================================
    ``float``        float64                  NaN
    ``integer``      float64 (exact < 2**53)  NaN
    ``boolean``      bool, or object          object array of True/False/None when any missing
    ``string``       object (str)             None
    ``categorical``  object (labels)          None
    ``datetime``     datetime64[ns] (UTC)     NaT; time-zone aware values are converted to UTC
    ``object``       object (mixed types)     None; values are kept as they came
    ===============  =======================  ================================================

    Examples
    --------
    >>> import numpy as np
    >>> t = as_table(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> t.names, t["col_1"].tolist()
    (('col_0', 'col_1'), [2.0, 4.0])
    """
    if isinstance(frame, Table):
        table = frame
    else:
        pairs = _columns_of(frame)
        cols: dict[str, np.ndarray] = {}
        dtypes: dict[str, str] = {}
        for raw_name, values in pairs:
            name = _name(raw_name)
            if name in cols:
                raise SchemaError(f"frame: duplicate column name {name!r}")
            cols[name], dtypes[name] = values
        table = Table(cols, dtypes)
    if len(table) == 0:
        raise EmptyDataError("frame: expected at least one column, got none")
    if table.n_rows == 0:
        raise EmptyDataError(
            f"frame: expected at least one row, got 0 rows in {len(table)} columns"
        )
    return table


def _name(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    name = str(raw)
    warnings.warn(
        f"column name {raw!r} ({type(raw).__name__}) is not a string; using {name!r}",
        UserWarning,
        stacklevel=4,
    )
    return name


def _columns_of(frame: Any) -> list[tuple[object, tuple[np.ndarray, str]]]:
    module = type(frame).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(frame, pd.DataFrame):
            return [
                (frame.columns[i], _from_pandas(frame.iloc[:, i])) for i in range(frame.shape[1])
            ]
    if module == "polars":
        frame = frame.to_arrow()
        module = "pyarrow"
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(frame, pa.RecordBatch):
            frame = pa.Table.from_batches([frame])
        if isinstance(frame, pa.Table):
            return [
                (name, _from_arrow(frame.column(i))) for i, name in enumerate(frame.column_names)
            ]
    if isinstance(frame, np.ndarray):
        if frame.dtype.names is not None:
            return [(n, _from_numpy(np.asarray(frame[n]).ravel())) for n in frame.dtype.names]
        if frame.ndim != 2:
            raise InputError(f"frame: expected a 2-D numpy array, got {frame.ndim}-D")
        return [(f"col_{j}", _from_numpy(frame[:, j])) for j in range(frame.shape[1])]
    if isinstance(frame, Mapping):
        return [(k, _from_sequence(v, k)) for k, v in frame.items()]
    raise InputError(
        "frame: expected a pandas/polars DataFrame, a pyarrow Table, a numpy array or a dict "
        f"of sequences, got {type(frame).__module__}.{type(frame).__name__}"
    )


def _from_sequence(values: Any, name: object) -> tuple[np.ndarray, str]:
    module = type(values).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        return _from_pandas(pd.Series(values))
    if module == "polars":
        values = values.to_arrow()
        module = "pyarrow"
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(values, pa.Array):
            values = pa.chunked_array([values])
        return _from_arrow(values)
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise InputError(
            f"column {name!r}: expected a sequence of values, got {type(values).__name__}"
        )
    arr = np.asarray(values) if isinstance(values, np.ndarray) else _list_to_array(values)
    if arr.ndim != 1:
        raise InputError(f"column {name!r}: expected a 1-D sequence, got shape {arr.shape}")
    return _from_numpy(arr)


def _list_to_array(values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested data
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
    if arr.dtype.kind in "USV" or arr.ndim != 1:
        obj = np.empty(len(values), dtype=object)
        obj[:] = list(values)
        return obj
    return arr


def _from_numpy(arr: np.ndarray) -> tuple[np.ndarray, str]:
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float64, copy=False), "float"
    if kind in "iu":
        return arr.astype(np.float64), "integer"
    if kind == "b":
        return arr.astype(bool, copy=False), "boolean"
    if kind == "M":
        return arr.astype("datetime64[ns]"), "datetime"
    if kind == "m":
        secs = arr.astype("timedelta64[ns]").astype(np.float64) / 1e9
        secs[np.isnat(arr)] = np.nan
        return secs, "float"
    if kind in "US":
        out = arr.astype(object)
        if kind == "S":
            out = np.array([v.decode("utf-8", "replace") for v in out], dtype=object)
        return out, "string"
    if kind == "c":
        raise InputError(f"column: expected real values, got complex dtype {arr.dtype}")
    return _from_object(arr.astype(object, copy=False))


#: Object columns of plain Python values up to this many rows are classified
#: without pandas (so small inputs never pay its ~0.2 s import); longer ones use
#: pandas' C loops, several times faster per value.
LIGHT_OBJECT_MAX_ROWS = 4096

_NONE_TYPE = type(None)
#: ``pandas.api.types.infer_dtype(skipna=True)`` of an object array whose present
#: values have exactly these Python types (``bool`` is not an ``int`` here).
_LIGHT_INFERRED: dict[frozenset[type], str] = {
    frozenset(): "empty",
    frozenset({int}): "integer",
    frozenset({float}): "floating",
    frozenset({int, float}): "mixed-integer-float",
    frozenset({bool}): "boolean",
    frozenset({str}): "string",
}
_LIGHT_TYPES = frozenset({_NONE_TYPE, int, float, bool, str})


def _is_missing(v: object) -> bool:
    return v is None or (type(v) is float and v != v)


def _light_classify(arr: np.ndarray) -> tuple[np.ndarray, str] | None:
    """``(pandas.isna(arr), infer_dtype(arr, skipna=True))`` without pandas.

    Only for arrays of plain ``None``/``bool``/``int``/``float``/``str`` values
    (exact types, so numpy scalars and subclasses are left to pandas); ``None``
    for anything else.
    """
    values = arr.tolist()
    kinds = set(map(type, values))
    if not kinds <= _LIGHT_TYPES:
        return None
    if float in kinds:
        missing = np.fromiter(map(_is_missing, values), dtype=bool, count=len(values))
        present = [v for v, m in zip(values, missing.tolist(), strict=True) if not m]
        kinds = set(map(type, present))
    else:
        missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        kinds.discard(_NONE_TYPE)
    inferred = _LIGHT_INFERRED.get(frozenset(kinds))
    return None if inferred is None else (missing, inferred)


def _from_object(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """Classify an object array; normalise missing values to None (or NaN for numbers)."""
    if string_codes(arr) is not None:  # strings (or None) decoded from arrow: as they are
        return arr, "string"
    light = None
    if len(arr) <= LIGHT_OBJECT_MAX_ROWS:
        light = _light_classify(arr)
    if light is not None:
        missing, inferred = light
    else:
        import pandas as pd

        missing = np.asarray(pd.isna(arr), dtype=bool)
        inferred = pd.api.types.infer_dtype(arr, skipna=True)
    present = arr[~missing] if missing.any() else arr
    if inferred in ("floating", "integer", "mixed-integer-float", "decimal"):
        out = np.full(len(arr), np.nan)
        out[~missing] = present.astype(np.float64)
        return out, "integer" if inferred == "integer" else "float"
    if inferred in ("datetime", "datetime64", "date"):
        import pandas as pd

        values = pd.to_datetime(pd.Series(arr, dtype=object), utc=True)
        return values.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"), "datetime"
    out = arr.copy()
    out[missing] = None
    if inferred == "empty":
        return out, "object"
    if inferred == "boolean":
        if not missing.any():
            return out.astype(bool), "boolean"
        return out, "boolean"
    if inferred == "string":
        return out, "string"
    if inferred == "bytes":
        out[~missing] = [v.decode("utf-8", "replace") for v in present]
        return out, "string"
    return out, "object"


def _from_pandas(series: Any) -> tuple[np.ndarray, str]:
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        values = series.astype(object).to_numpy(dtype=object, na_value=None)
        return values, "categorical"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]"), (
            "datetime"
        )
    if isinstance(dtype, pd.StringDtype):
        if getattr(dtype, "storage", None) == "pyarrow":
            import pyarrow as pa

            arr = pa.array(series.array)
            chunked = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
            return arrow_strings(chunked), "string"
        return series.to_numpy(dtype=object, na_value=None), "string"
    if isinstance(dtype, pd.BooleanDtype):
        if series.isna().any():
            return series.to_numpy(dtype=object, na_value=None), "boolean"
        return series.to_numpy(dtype=bool), "boolean"
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arr = pa.array(series.array)
        return _from_arrow(arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr]))
    kind = getattr(dtype, "kind", "O")
    if kind in "iuf" and not isinstance(dtype, np.dtype):  # nullable Int64 / Float64
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, "integer" if kind in "iu" else "float"
    if kind == "O" and not isinstance(dtype, np.dtype):
        return _from_object(series.to_numpy(dtype=object))
    return _from_numpy(series.to_numpy())


def _from_arrow(col: Any) -> tuple[np.ndarray, str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):
        col = pa.chunked_array([c.dictionary_decode() for c in col.chunks], type=t.value_type)
        values, _ = _from_arrow(col)
        return values, "categorical"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=np.float64), (
            "integer" if pa.types.is_integer(t) else "float"
        )
    if pa.types.is_boolean(t):
        if col.null_count:
            return np.array(col.to_pylist(), dtype=object), "boolean"
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool), "boolean"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        ts = pc.cast(col, pa.timestamp("ns", tz=t.tz if pa.types.is_timestamp(t) else None))
        if pa.types.is_timestamp(t) and t.tz is not None:
            ts = pc.cast(ts, pa.int64()).cast(pa.timestamp("ns"))
        return np.asarray(ts.to_numpy(zero_copy_only=False), dtype="datetime64[ns]"), "datetime"
    if pa.types.is_duration(t):
        secs = pc.divide(
            pc.cast(pc.cast(col, pa.duration("ns")), pa.int64()).cast(pa.float64()), 1e9
        )
        return np.asarray(secs.to_numpy(zero_copy_only=False), dtype=np.float64), "float"
    if pa.types.is_null(t):
        return np.full(len(col), None, dtype=object), "object"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arrow_strings(col), "string"
    return _from_object(np.array([*col.to_pylist(), None], dtype=object)[:-1])


def arrow_strings(col: Any) -> np.ndarray:
    """An arrow string column as an object array of ``str`` (``None`` where null).

    Each distinct string becomes one Python object, shared by the rows that hold
    it (dictionary encoding), which is several times faster than converting
    row by row; the codes are remembered for :func:`string_codes`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> arrow_strings(pa.chunked_array([["a", None, "a"]])).tolist()
    ['a', None, 'a']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        encoded = pc.dictionary_encode(col)
        if encoded.num_chunks > 1:
            encoded = encoded.unify_dictionaries()  # first appearances stay in order
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    if encoded.num_chunks == 0:
        return np.empty(0, dtype=object)
    dictionary = encoded.chunk(0).dictionary
    n_unique = len(dictionary)
    uniques = np.empty(n_unique, dtype=object)
    uniques[:] = dictionary.to_pylist()
    parts = [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
    codes = np.concatenate(parts).astype(np.int32, copy=False)
    lookup = np.empty(n_unique + 1, dtype=object)
    lookup[:-1] = uniques
    lookup[-1] = None  # code -1: null
    out = lookup[codes]
    _remember_codes(out, codes, uniques)
    return out


_CODES: dict[int, tuple[weakref.ref[np.ndarray], np.ndarray, np.ndarray]] = {}


def _remember_codes(values: np.ndarray, codes: np.ndarray, uniques: np.ndarray) -> None:
    key = id(values)

    def forget(_: object, key: int = key) -> None:
        _CODES.pop(key, None)

    _CODES[key] = (weakref.ref(values, forget), codes, uniques)


def string_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, uniques)`` of a string column made by :func:`as_table`, if known.

    The same as ``pandas.factorize(values)`` (codes in order of first
    appearance, ``-1`` for a missing value), remembered from the dictionary
    encoding of an arrow-backed column; ``None`` for any other array. The
    codes describe the column as :func:`as_table` made it: a caller that
    changes the array in place must not use them.

    Examples
    --------
    >>> import pyarrow as pa
    >>> col = as_table(pa.table({"s": ["b", None, "a", "b"]}))["s"]
    >>> codes, uniques = string_codes(col)
    >>> codes.tolist(), uniques.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    >>> string_codes(col.copy()) is None
    True
    """
    entry = _CODES.get(id(values))
    if entry is None or entry[0]() is not values:
        return None
    return entry[1], entry[2]
