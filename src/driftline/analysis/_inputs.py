"""Turning the caller's frames into tables, a schema and per-column value arrays (private)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftline.errors import EmptyDataError, InputError, SchemaError
from driftline.schema import Schema, Table, as_table

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
    report can show them; without ``notes`` they are emitted as usual.
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
    """Profile ``frame`` with :func:`driftline.profile.profile` (imported lazily)."""
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


@dataclass(frozen=True)
class LabelValues:
    """The values of a categorical column as strings, and the count of missing values."""

    labels: np.ndarray
    n_rows: int
    n_missing: int


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
        with warnings.catch_warnings():
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


def label_values(values: np.ndarray, dtype: str) -> LabelValues:
    """Read a table column as string labels (``1.0`` reads as ``"1"``, ``True`` as ``"true"``).

    Examples
    --------
    >>> v = label_values(np.array(["a", None, 1.0], dtype=object), "object")
    >>> v.labels.tolist(), v.n_missing
    (['a', '1'], 1)
    """
    n = len(values)
    if values.dtype.kind == "f":
        mask = ~np.isnan(values)
        present = values[mask]
        if np.all(present == np.round(present)) and np.all(np.abs(present) < 2**53):
            labels = present.astype(np.int64).astype(str).astype(object)
        else:
            labels = np.array([_label(v) for v in present], dtype=object)
        return LabelValues(labels, n, int(n - mask.sum()))
    if values.dtype.kind == "b":
        return LabelValues(np.where(values, "true", "false").astype(object), n, 0)
    if values.dtype.kind == "M":
        mask = ~np.isnat(values)
        return LabelValues(values[mask].astype(str).astype(object), n, int(n - mask.sum()))
    import pandas as pd

    obj = values.astype(object, copy=False)
    missing = np.asarray(pd.isna(obj), dtype=bool)
    present = obj[~missing]
    labels = np.array([_label(v) for v in present], dtype=object)
    return LabelValues(labels, n, int(missing.sum()))
