"""The dataset profile: per-column summaries plus performance counts (private)."""

from __future__ import annotations

import json
import os
import warnings
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from driftline.errors import IncompatibleProfilesError, InputError, SchemaError
from driftline.profile._categorical import CategoricalProfile
from driftline.profile._codec import field
from driftline.profile._config import ProfileConfig
from driftline.profile._numerical import NumericalProfile
from driftline.profile._other import DatetimeProfile, TextProfile
from driftline.schema import ColumnKind, Schema, Table, as_table

if TYPE_CHECKING:
    from driftline.stats.metrics import ClassificationCounts, RegressionCounts

__all__ = [
    "ColumnProfile",
    "DatasetProfile",
    "column_profile",
    "performance_counts",
    "profile",
    "profile_columns",
    "workers_for",
]

ColumnProfile = NumericalProfile | CategoricalProfile | TextProfile | DatetimeProfile
"""The profile of one column; its class follows the column's kind."""

_P = TypeVar("_P", NumericalProfile, CategoricalProfile, TextProfile, DatetimeProfile)

_FORMAT = "driftline.profile/1"
_MAGIC = b"DLP1"
_CLASSES: dict[str, Any] = {
    "numerical": NumericalProfile,
    "categorical": CategoricalProfile,
    "boolean": CategoricalProfile,
    "text": TextProfile,
    "datetime": DatetimeProfile,
}


class DatasetProfile:
    """A small, serialisable, mergeable summary of a batch of rows, per column.

    Made by :func:`profile`. ``a.merge(b)`` (or ``a + b``) is the profile of
    both batches: exact for counts, moments, min/max, histograms and category
    counts below the ``top_k`` cap; within the sketches' stated errors for
    quantiles and distinct counts. ``to_dict``/``to_bytes`` round-trip exactly
    (JSON and zlib-compressed JSON; never pickle).

    Attributes
    ----------
    schema : Schema
        Columns with roles and kinds.
    n_rows : int
        Rows profiled.
    columns : dict of str to ColumnProfile
        One profile per schema column, in schema order.
    performance : ClassificationCounts or RegressionCounts or None
        Counts over the rows with both a target and a prediction, when the
        schema has both.

    Examples
    --------
    >>> import numpy as np
    >>> a = profile({"x": np.arange(10.0), "c": list("ab" * 5)})
    >>> b = profile({"x": np.arange(10.0, 20.0), "c": list("bb" * 5)}, reference=a)
    >>> m = a + b
    >>> m.n_rows, m.columns["x"].mean, m.columns["c"].counts
    (20, 9.5, {'b': 15, 'a': 5})
    >>> DatasetProfile.from_bytes(m.to_bytes()) == m
    True
    """

    def __init__(
        self,
        schema: Schema,
        n_rows: int,
        columns: Mapping[str, ColumnProfile],
        performance: Any = None,
    ) -> None:
        self.schema = schema
        self.n_rows = int(n_rows)
        self.columns: dict[str, ColumnProfile] = dict(columns)
        self.performance = performance

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def _typed(self, name: str, cls: type[_P], what: str) -> _P:
        if name not in self.columns:
            raise SchemaError(
                f"column {name!r}: not in the profile (columns: {list(self.columns)[:8]})"
            )
        col = self.columns[name]
        if not isinstance(col, cls):
            raise SchemaError(f"column {name!r}: expected a {what} column, got a {col.kind} one")
        return col

    def numerical(self, name: str) -> NumericalProfile:
        """The profile of numerical column ``name`` (``SchemaError`` if absent or another kind)."""
        return self._typed(name, NumericalProfile, "numerical")

    def categorical(self, name: str) -> CategoricalProfile:
        """The profile of categorical or boolean column ``name``."""
        return self._typed(name, CategoricalProfile, "categorical or boolean")

    def text(self, name: str) -> TextProfile:
        """The profile of text column ``name``."""
        return self._typed(name, TextProfile, "text")

    def datetime(self, name: str) -> DatetimeProfile:
        """The profile of datetime column ``name``."""
        return self._typed(name, DatetimeProfile, "datetime")

    # -- merge ----------------------------------------------------------------------------
    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """Return the profile of the rows of both (neither input changes).

        Raises
        ------
        IncompatibleProfilesError
            When the schemas differ (the message names the first differing
            column), or a column cannot be merged (different kinds or bin edges).
        """
        if not isinstance(other, DatasetProfile):
            raise IncompatibleProfilesError(
                f"other: expected a DatasetProfile, got {type(other).__name__}"
            )
        if self.schema != other.schema:
            raise IncompatibleProfilesError(_schema_difference(self.schema, other.schema))
        columns = {
            name: col.merge(other.columns[name], column=name)  # type: ignore[arg-type]
            for name, col in self.columns.items()
        }
        mine, theirs = self.performance, other.performance
        if mine is None or theirs is None:
            only = mine if mine is not None else theirs
            perf = None if only is None else type(only).from_dict(only.to_dict())
        elif type(mine) is not type(theirs):
            raise IncompatibleProfilesError(
                f"performance: cannot merge {type(mine).__name__} with {type(theirs).__name__}"
            )
        else:
            perf = mine.merge(theirs)
        return DatasetProfile(self.schema, self.n_rows + other.n_rows, columns, perf)

    def __add__(self, other: DatasetProfile) -> DatasetProfile:
        return self.merge(other)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (strict JSON: no NaN or infinity literals)."""
        perf = None
        if self.performance is not None:
            perf = {
                "task": _task_of(self.performance),
                "counts": self.performance.to_dict(),
            }
        return {
            "format": _FORMAT,
            "schema": self.schema.to_dict(),
            "n_rows": self.n_rows,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
            "performance": perf,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetProfile:
        """Rebuild a profile from :meth:`to_dict` output, exactly.

        Raises
        ------
        InputError
            When ``data`` is not a driftline profile dict or a field is missing.
        """
        fmt = field(data, "format", "profile dict")
        if fmt != _FORMAT:
            raise InputError(f"profile dict: expected format {_FORMAT!r}, got {fmt!r}")
        schema = Schema.from_dict(field(data, "schema", "profile dict"))
        columns: dict[str, ColumnProfile] = {}
        for name, col in field(data, "columns", "profile dict").items():
            kind = field(col, "kind", f"column {name!r}")
            if kind not in _CLASSES:
                raise InputError(
                    f"column {name!r}: expected a kind in {sorted(_CLASSES)}, got {kind!r}"
                )
            columns[name] = _CLASSES[kind].from_dict(col)
        perf = data.get("performance")
        performance = None
        if perf is not None:
            performance = _counts_class(field(perf, "task", "performance")).from_dict(
                field(perf, "counts", "performance")
            )
        return cls(schema, field(data, "n_rows", "profile dict"), columns, performance)

    def to_bytes(self) -> bytes:
        """Return compact bytes: a 4-byte magic ``DLP1`` then zlib-compressed JSON."""
        text = json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)
        return _MAGIC + zlib.compress(text.encode("utf-8"), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> DatasetProfile:
        """Rebuild a profile from :meth:`to_bytes` output.

        Raises
        ------
        InputError
            When ``data`` is not driftline profile bytes.
        """
        if not isinstance(data, bytes | bytearray | memoryview) or bytes(data[:4]) != _MAGIC:
            raise InputError("data: expected driftline profile bytes starting with b'DLP1'")
        try:
            text = zlib.decompress(bytes(data[4:])).decode("utf-8")
            return cls.from_dict(json.loads(text))
        except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"data: the profile bytes are corrupt ({exc})") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatasetProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        perf = "" if self.performance is None else f", performance={_task_of(self.performance)}"
        return f"DatasetProfile(n_rows={self.n_rows}, columns={list(self.columns)!r}{perf})"


def _task_of(counts: Any) -> str:
    return "regression" if type(counts).__name__ == "RegressionCounts" else "classification"


def _counts_class(task: str) -> Any:
    from driftline.stats.metrics import ClassificationCounts, RegressionCounts

    if task == "regression":
        return RegressionCounts
    if task == "classification":
        return ClassificationCounts
    raise InputError(f"performance: expected task 'classification' or 'regression', got {task!r}")


def _schema_difference(a: Schema, b: Schema) -> str:
    for x, y in zip(a.columns, b.columns, strict=False):
        if x != y:
            return (
                f"column {x.name!r}: cannot merge profiles with different schemas "
                f"({x.name!r} {x.role.value} {x.kind.value} vs {y.name!r} {y.role.value} {y.kind.value})"
            )
    extra = set(a.names) ^ set(b.names)
    return f"schema: cannot merge profiles with different columns (only in one: {sorted(extra)})"


def column_profile(
    values: np.ndarray,
    kind: ColumnKind,
    ref: ColumnProfile | None,
    cfg: ProfileConfig,
    distinct: bool = True,
) -> ColumnProfile:
    """The profile of one column of ``kind``, on ``ref``'s bins when given.

    ``distinct=False`` skips the distinct-count sketch of a numerical column.

    Examples
    --------
    >>> import numpy as np
    >>> prof = column_profile(np.array([1.0, 2.0, np.nan]), ColumnKind.NUMERICAL, None, ProfileConfig())
    >>> prof.n_missing, prof.mean
    (1, 1.5)
    """
    if kind is ColumnKind.NUMERICAL:
        edges = ref.edges if isinstance(ref, NumericalProfile) else None
        return NumericalProfile._build(values, edges, cfg, 0, distinct=distinct)
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        return CategoricalProfile.from_values(
            values, boolean=kind is ColumnKind.BOOLEAN, config=cfg
        )
    if kind is ColumnKind.TEXT:
        edges = ref.lengths.edges if isinstance(ref, TextProfile) else None
        return TextProfile.from_values(values, length_edges=edges, config=cfg)
    edges = ref.seconds.edges if isinstance(ref, DatetimeProfile) else None
    return DatetimeProfile.from_values(values, seconds_edges=edges, config=cfg)


#: Rows from which :func:`profile_columns` profiles columns in parallel threads.
PARALLEL_MIN_ROWS = 20_000


def workers_for(n_rows: int, n_columns: int) -> int:
    """Threads worth using for ``n_columns`` columns of ``n_rows`` rows (1: no pool).

    The heavy numpy calls (sorts, partitions, ``searchsorted``, hashing) release
    the GIL, so columns profile in parallel on a multi-core machine. Below
    :data:`PARALLEL_MIN_ROWS` rows, or for one column, a pool costs more than it saves.

    Examples
    --------
    >>> workers_for(100, 8)
    1
    """
    if n_rows < PARALLEL_MIN_ROWS or n_columns < 2:
        return 1
    return max(1, min(4, os.cpu_count() or 1, n_columns))


def profile_columns(
    table: Table,
    schema: Schema,
    reference: DatasetProfile | None,
    cfg: ProfileConfig,
    *,
    distinct: bool = True,
) -> dict[str, ColumnProfile]:
    """The profile of each schema column of ``table`` (in schema order), in a small thread pool.

    ``distinct=False`` skips the distinct-count sketches of numerical columns
    (their :attr:`~NumericalProfile.distinct_count` is then meaningless): for
    callers that only compare distributions.

    Examples
    --------
    >>> table = as_table({"x": [1.0, 2.0], "c": ["a", "b"]})
    >>> cols = profile_columns(table, Schema.infer(table), None, ProfileConfig())
    >>> list(cols)
    ['x', 'c']
    """
    ref_cols = reference.columns if reference is not None else {}
    specs = list(schema.columns)

    def one(spec: Any) -> ColumnProfile:
        return column_profile(table[spec.name], spec.kind, ref_cols.get(spec.name), cfg, distinct)

    workers = workers_for(table.n_rows, len(specs))
    if workers == 1:
        return {spec.name: one(spec) for spec in specs}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(one, specs))
    return {spec.name: prof for spec, prof in zip(specs, done, strict=True)}


def profile(
    frame: Any,
    schema: Schema | None = None,
    *,
    reference: DatasetProfile | None = None,
    config: ProfileConfig | None = None,
) -> DatasetProfile:
    """Profile a frame: one mergeable summary per column, plus performance counts.

    Parameters
    ----------
    frame : DataFrame-like
        Anything :func:`driftline.schema.as_table` accepts.
    schema : Schema, optional
        Roles and kinds. Default: the reference's schema when ``reference`` is
        given, else :meth:`Schema.infer(frame) <driftline.schema.Schema.infer>`
        (which warns about guesses worth checking).
    reference : DatasetProfile, optional
        A reference profile whose histogram edges are reused, so that the two
        profiles' histograms align and profiles of partitions merge.
    config : ProfileConfig, optional
        Sketch sizes and bins; defaults to ``ProfileConfig()``.

    Returns
    -------
    DatasetProfile

    Raises
    ------
    SchemaError
        When a schema column is not in the frame.
    EmptyDataError
        When the frame has no rows.

    Warns
    -----
    UserWarning
        When the frame has columns that the given schema lacks; they are not profiled.

    Notes
    -----
    Without ``reference``, a profile takes its histogram edges from its own
    data (``config.n_bins`` quantiles), so two such profiles usually cannot be
    merged. To profile partitions that merge, pass the same ``reference`` to
    each (a profile of a sample or of the first partition).

    Examples
    --------
    >>> p = profile({"age": [20.0, 30.0, None], "city": ["Oslo", "Lima", "Oslo"]})
    >>> p.columns["age"].n_missing, p.columns["city"].counts
    (1, {'Oslo': 2, 'Lima': 1})
    """
    table = as_table(frame)
    cfg = config if config is not None else ProfileConfig()
    if schema is None:
        schema = reference.schema if reference is not None else Schema.infer(table)
    missing = [c.name for c in schema.columns if c.name not in table]
    if missing:
        raise SchemaError(
            f"frame: schema column(s) {missing} are not in the frame (columns: {list(table.names)[:8]})"
        )
    extra = [n for n in table.names if n not in schema]
    if extra:
        warnings.warn(
            f"frame: column(s) {extra[:8]} are not in the schema and are not profiled",
            UserWarning,
            stacklevel=2,
        )
    columns = profile_columns(table, schema, reference, cfg)
    return DatasetProfile(schema, table.n_rows, columns, performance_counts(table, schema))


def _labels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (labels, present mask) ready for the metrics counts."""
    if values.dtype.kind == "f":
        present = ~np.isnan(values)
        kept = values[present]
        if np.all(kept == np.round(kept)):
            return values.astype(np.int64, copy=False) if present.all() else np.where(
                present, values, 0
            ).astype(np.int64), present
        return values, present
    if values.dtype.kind == "O":
        present = np.fromiter((v is not None for v in values), dtype=bool, count=values.size)
        return values, present
    return values, np.ones(values.size, dtype=bool)


def performance_counts(
    table: Table, schema: Schema
) -> ClassificationCounts | RegressionCounts | None:
    """The performance counts of ``table``'s labelled rows, or ``None``.

    :class:`~driftline.stats.metrics.RegressionCounts` when the target is
    numerical, else :class:`~driftline.stats.metrics.ClassificationCounts`
    (with the score columns where every score of a row is finite); ``None``
    when the schema has no target or prediction, or no row holds both.

    Examples
    --------
    >>> from driftline.schema import Schema, as_table
    >>> table = as_table({"y": ["a", "b", "a"], "p": ["a", "a", "a"]})
    >>> performance_counts(table, Schema.infer(table, target="y", prediction="p")).n
    3
    """
    target, prediction = schema.target, schema.prediction
    if target is None or prediction is None:
        return None
    try:
        from driftline.stats.metrics import ClassificationCounts, RegressionCounts
    except ImportError:  # pragma: no cover - only while driftline.stats.metrics is being written
        return None

    y_true, t_ok = _labels(table[target.name])
    regression = target.kind is ColumnKind.NUMERICAL
    if regression:
        y_true = table[target.name].astype(np.float64)
        y_pred = table[prediction.name].astype(np.float64)
        rows = ~np.isnan(y_true) & ~np.isnan(y_pred)
        if not rows.any():
            return None
        reg = RegressionCounts()
        reg.update(y_true[rows], y_pred[rows])
        return reg
    y_pred, p_ok = _labels(table[prediction.name])
    rows = t_ok & p_ok
    if not rows.any():
        return None
    scores = None
    if schema.scores:
        cols = [table[s.name].astype(np.float64) for s in schema.scores]
        scores = cols[0] if len(cols) == 1 else np.column_stack(cols)
    counts = ClassificationCounts()
    if scores is None:
        counts.update(y_true[rows], y_pred[rows])
        return counts
    scored = rows & ~np.isnan(scores.reshape(scores.shape[0], -1)).any(axis=1)
    if scored.any():
        counts.update(y_true[scored], y_pred[scored], scores[scored])
    unscored = rows & ~scored
    if unscored.any():
        counts.update(y_true[unscored], y_pred[unscored])
    return counts
