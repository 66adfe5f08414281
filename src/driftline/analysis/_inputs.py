"""Turning the caller's frames into tables, a schema and per-column value arrays (private)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftline.errors import EmptyDataError, InputError, SchemaError
from driftline.schema import Schema, Table, as_table, string_codes

__all__ = [
    "ANALYSED_ROLES",
    "LabelValues",
    "NumericValues",
    "build_schema",
    "label_values",
    "numeric_values",
    "profile_frame",
    "side_table",
]

#: Column roles whose drift and quality are analysed (ids, timestamps and segments are not).
ANALYSED_ROLES: tuple[str, ...] = ("feature", "prediction", "score", "target")


def side_table(frame: Any, what: str) -> Table:
    """:func:`~driftline.schema.as_table`, with errors that say which side was bad."""
    try:
        return as_table(frame)
    except EmptyDataError as exc:
        raise EmptyDataError(f"{what}: {exc}") from exc
    except SchemaError as exc:
        raise SchemaError(f"{what}: {exc}") from exc
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from exc


def _kinds(
    categorical: Sequence[str] | None,
    numerical: Sequence[str] | None,
    kinds: Mapping[str, str] | None,
) -> dict[str, str]:
    out: dict[str, str] = dict(kinds or {})
    for names, kind in ((categorical, "categorical"), (numerical, "numerical")):
        for name in [names] if isinstance(names, str) else names or ():
            if out.get(name, kind) != kind:
                raise SchemaError(f"column {name!r}: declared both {out[name]} and {kind}")
            out[name] = kind
    return out


def build_schema(
    frame: Any,
    *,
    target: str | None = None,
    prediction: str | None = None,
    scores: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    notes: list[str] | None = None,
) -> Schema:
    """Infer a schema from ``frame``; inference warnings go to ``notes`` (when given).

    The warnings :meth:`Schema.infer` emits are collected, not raised, so that a
    report can show them; without ``notes`` they are emitted as usual. The
    keyword arguments are those of :class:`~driftline.analysis.Report`.

    Raises
    ------
    SchemaError
        When a column is declared both categorical and numerical.
    InputError
        When the column kinds cannot be inferred.

    Examples
    --------
    >>> notes: list[str] = []
    >>> schema = build_schema({"x": [1.0, 2.0], "y": [0, 1]}, target="y", notes=notes)
    >>> schema.target.name
    'y'
    """
    declared = _kinds(categorical, numerical, kinds)
    score_names = [scores] if isinstance(scores, str) else list(scores or ())
    with warnings.catch_warnings(record=notes is not None) as caught:
        if notes is not None:
            warnings.simplefilter("always")
        try:
            schema = Schema.infer(
                frame,
                target=target,
                prediction=prediction,
                scores=score_names,
                kinds=declared or None,
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(
                f"reference: cannot infer the column kinds ({type(exc).__name__}: {exc}); "
                "declare them with categorical=[...] / numerical=[...] or pass a schema"
            ) from exc
    if notes is not None and caught is not None:
        notes.extend(str(w.message) for w in caught)
    return schema


def profile_frame(frame: Any, schema: Schema, reference: Any = None) -> Any:
    """Profile ``frame`` with :func:`driftline.profile.profile` (imported lazily).

    Examples
    --------
    >>> frame = {"x": [1.0, 2.0, 3.0]}
    >>> profile_frame(frame, build_schema(frame)).columns["x"].mean
    2.0
    """
    from driftline.profile import profile

    return profile(frame, schema, reference=reference)


@dataclass(frozen=True)
class NumericValues:
    """The values of a numerical column: finite ones, and counts of everything else."""

    finite: np.ndarray
    n_rows: int
    n_missing: int
    n_inf: int
    n_mismatch: int
    mismatch_examples: tuple[str, ...] = field(default_factory=tuple)


class LabelValues:
    """The values of a categorical column as strings, and the count of missing values.

    Parameters
    ----------
    labels : numpy.ndarray or None
        The labels of the non-missing rows, in row order; ``None`` when given
        as ``codes`` into ``names`` instead (then made on first access).
    n_rows, n_missing : int
        Rows, and missing rows, of the column.
    counts : dict of str to int, optional
        Rows per label when already known (what :meth:`label_counts` counts).
    codes, names : numpy.ndarray, optional
        Each non-missing row's index into ``names``, the distinct labels.

    Examples
    --------
    >>> v = LabelValues(None, 3, 0, codes=np.array([1, 0, 1]), names=np.array(["a", "b"]))
    >>> v.labels.tolist(), v.n_labels
    (['b', 'a', 'b'], 3)
    """

    def __init__(
        self,
        labels: np.ndarray | None,
        n_rows: int,
        n_missing: int,
        counts: dict[str, int] | None = None,
        *,
        codes: np.ndarray | None = None,
        names: np.ndarray | None = None,
    ) -> None:
        if labels is None and (codes is None or names is None):
            raise InputError("labels: expected the labels, or codes and names")
        self._labels = labels
        self._codes = codes
        self._names = names
        self.n_rows = int(n_rows)
        self.n_missing = int(n_missing)
        self.counts = counts

    @property
    def labels(self) -> np.ndarray:
        """The labels of the non-missing rows, in row order (an object array)."""
        if self._labels is None:
            names = self._names if self._names is not None else np.empty(0, dtype=object)
            codes = self._codes if self._codes is not None else np.empty(0, dtype=np.intp)
            self._labels = names[codes]
        return self._labels

    @property
    def n_labels(self) -> int:
        """Number of non-missing rows (without making :attr:`labels`)."""
        if self._labels is not None:
            return int(self._labels.size)
        return int(self._codes.size) if self._codes is not None else 0

    def label_counts(self) -> dict[str, int]:
        """Rows per label (``str`` of each label), in no particular order.

        Examples
        --------
        >>> LabelValues(np.array(["a", "b", "a"], dtype=object), 3, 0).label_counts()
        {'a': 2, 'b': 1}
        """
        if self.counts is not None:
            return dict(self.counts)
        return _count_strings(self.labels)

    def __repr__(self) -> str:
        return f"LabelValues(n_rows={self.n_rows}, n_missing={self.n_missing})"


def _count_strings(labels: np.ndarray) -> dict[str, int]:
    """``{str(label): count}`` of an array, by hashing (no per-row Python)."""
    import pandas as pd

    if labels.size == 0:
        return {}
    obj = np.asarray(labels, dtype=object)
    try:
        codes, uniques = pd.factorize(obj, use_na_sentinel=False)
    except TypeError:  # unhashable labels (lists, dicts): count their text
        codes, uniques = pd.factorize(np.array([str(v) for v in obj], dtype=object))
    counts = np.bincount(codes, minlength=len(uniques)).tolist()
    out: dict[str, int] = {}
    for u, c in zip(np.asarray(uniques, dtype=object).tolist(), counts, strict=True):
        key = str(u)
        out[key] = out.get(key, 0) + int(c)
    return out


def _preview(values: Sequence[Any], limit: int = 3) -> tuple[str, ...]:
    out = []
    for v in values[:limit]:
        text = repr(v)
        out.append(text if len(text) <= 40 else text[:37] + "...")
    return tuple(out)


def numeric_values(values: np.ndarray, dtype: str) -> NumericValues:
    """Read a table column as numbers; strings that do not parse count as type mismatches.

    Examples
    --------
    >>> v = numeric_values(np.array([1.0, "x", None, float("inf")], dtype=object), "object")
    >>> v.finite.tolist(), v.n_missing, v.n_inf, v.n_mismatch
    ([1.0], 1, 1, 1)
    """
    n = len(values)
    if dtype == "datetime":
        nat = np.isnat(values)
        as_float = values.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
        return NumericValues(as_float[~nat], n, int(nat.sum()), 0, 0)
    if values.dtype.kind == "b":
        arr = values.astype(np.float64)
    elif values.dtype.kind in "fiu":
        arr = values.astype(np.float64, copy=False)
    else:
        import pandas as pd

        obj = values.astype(object, copy=False)
        missing = np.asarray(pd.isna(obj), dtype=bool)
        from driftline.analysis._parallel import WARNINGS_LOCK

        with WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_numeric(pd.Series(obj, dtype=object), errors="coerce")
        arr = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(arr) & ~missing
        n_bad = int(bad.sum())
        examples = _preview(obj[bad].tolist()) if n_bad else ()
        finite_mask = np.isfinite(arr)
        n_inf = int(np.isinf(arr).sum())
        return NumericValues(arr[finite_mask], n, int(missing.sum()), n_inf, n_bad, examples)
    nan = np.isnan(arr)
    inf = np.isinf(arr)
    return NumericValues(arr[~nan & ~inf], n, int(nan.sum()), int(inf.sum()), 0)


def _label(v: Any) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    return str(v)


def _labels_from_codes(codes: np.ndarray, uniques: list[Any], n: int) -> LabelValues:
    """Labels (and their counts) of the non-negative ``codes`` into ``uniques``."""
    names = [_label(u) for u in uniques]
    present = codes >= 0
    n_present = int(np.count_nonzero(present))
    kept = codes if n_present == codes.size else codes[present]
    # one string object per distinct label, shared by every row that has it
    table = np.empty(len(names), dtype=object)
    table[:] = names
    counts: dict[str, int] = {}
    for name, c in zip(names, np.bincount(kept, minlength=len(names)).tolist(), strict=True):
        if c:
            counts[name] = counts.get(name, 0) + int(c)
    return LabelValues(None, n, n - n_present, counts, codes=kept, names=table)


def _bools_among_others(obj: np.ndarray, uniques: list[Any]) -> bool:
    """Whether a column holds bools among other values (hashing merges ``True`` and ``1``)."""
    import pandas as pd

    if not any(isinstance(u, bool | np.bool_) for u in uniques):
        return False
    return bool(pd.api.types.infer_dtype(obj, skipna=True) != "boolean")


def _unique_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(values, return_inverse=True)`` of int64s; a ``bincount`` for short ranges."""
    if values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 1 << 16:
            shifted = values - lo
            present = np.flatnonzero(np.bincount(shifted))
            remap = np.zeros(hi - lo + 1, dtype=np.intp)
            remap[present] = np.arange(present.size)
            return present + lo, remap[shifted]
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq, inverse


def label_values(values: np.ndarray, dtype: str) -> LabelValues:
    """Read a table column as string labels (``1.0`` reads as ``"1"``, ``True`` as ``"true"``).

    The distinct values are found by hashing (:func:`pandas.factorize`), each is
    turned into a label once, and the labels are spread back to the rows.

    Examples
    --------
    >>> v = label_values(np.array(["a", None, 1.0], dtype=object), "object")
    >>> v.labels.tolist(), v.n_missing
    (['a', '1'], 1)
    """
    import pandas as pd

    n = len(values)
    if values.dtype.kind == "f":
        mask = ~np.isnan(values)
        present = values[mask]
        if np.all(present == np.round(present)) and np.all(np.abs(present) < 2**53):
            uniq, inverse = _unique_ints(present.astype(np.int64))
        else:
            uniq, inverse = np.unique(present, return_inverse=True)
        out = _labels_from_codes(inverse.reshape(-1), uniq.tolist(), present.size)
        out.n_rows, out.n_missing = n, int(n - mask.sum())
        return out
    if values.dtype.kind == "b":
        n_true = int(np.count_nonzero(values))
        counts = {k: c for k, c in (("true", n_true), ("false", n - n_true)) if c}
        return LabelValues(np.where(values, "true", "false").astype(object), n, 0, counts)
    if values.dtype.kind == "M":
        mask = ~np.isnat(values)
        labels = values[mask].astype(str).astype(object)
        return LabelValues(labels, n, int(n - mask.sum()))
    known = string_codes(values)
    if known is not None:  # a string column whose codes as_table kept
        return _labels_from_codes(known[0], known[1].tolist(), n)
    obj = values.astype(object, copy=False)
    try:
        codes, uniques = pd.factorize(obj, use_na_sentinel=True)
        unique_list: list[Any] | None = np.asarray(uniques, dtype=object).tolist()
    except TypeError:  # unhashable cells (lists, dicts)
        unique_list = None
    if unique_list is None or _bools_among_others(obj, unique_list):
        # unhashable, or True == 1 merged by hashing: label each row on its own
        missing = np.asarray(pd.isna(obj), dtype=bool)
        labels = np.array([_label(v) for v in obj[~missing]], dtype=object)
        return LabelValues(labels, n, int(missing.sum()))
    return _labels_from_codes(np.asarray(codes), unique_list, n)
