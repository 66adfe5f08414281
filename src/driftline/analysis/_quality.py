"""Data quality of the current data against the reference (private).

Counts come from the raw values when they are at hand: missing values, type
mismatches (strings in a numerical column), NaN/inf, values outside the
reference's ``[min, max]``, new and vanished categories, constant columns, and
duplicate rows. From profiles alone the counts that need raw values are
``None`` with a note saying so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from driftline.analysis._inputs import LabelValues, NumericValues
from driftline.analysis._results import ColumnQuality, DatasetQuality
from driftline.errors import InputError

__all__ = [
    "DEFAULT_MISSING_TOLERANCE",
    "DEFAULT_RANGE_TOLERANCE",
    "MAX_LISTED_CATEGORIES",
    "column_quality",
    "dataset_quality",
    "duplicate_rows",
    "table_duplicate_rows",
]

#: A current missing rate more than this above the reference's is an issue.
DEFAULT_MISSING_TOLERANCE = 0.05
#: More than this share of current values outside the reference's [min, max] is an issue.
DEFAULT_RANGE_TOLERANCE = 0.01
#: At most this many new / vanished categories are listed per column (the rest are summed).
MAX_LISTED_CATEGORIES = 50


def _top(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= MAX_LISTED_CATEGORIES:
        return dict(sorted(counts.items(), key=lambda t: (-t[1], t[0])))
    items = sorted(counts.items(), key=lambda t: (-t[1], t[0]))
    out = dict(items[:MAX_LISTED_CATEGORIES])
    rest = items[MAX_LISTED_CATEGORIES:]
    out[f"({len(rest)} more)"] = sum(v for _, v in rest)
    return out


def _missing_issue(
    n_missing_ref: int,
    n_ref: int,
    n_missing_cur: int,
    n_cur: int,
    tolerance: float,
) -> list[str]:
    if n_cur == 0:
        return []
    cur_rate = n_missing_cur / n_cur
    ref_rate = n_missing_ref / n_ref if n_ref else 0.0
    if n_missing_cur == n_cur:
        return ["every current value is missing"]
    if cur_rate > ref_rate + tolerance:
        return [f"missing rate {cur_rate:.3g} (reference {ref_rate:.3g})"]
    return []


def column_quality(
    column: str,
    kind: str,
    reference: NumericValues | LabelValues,
    current: NumericValues | LabelValues,
    *,
    missing_tolerance: float = DEFAULT_MISSING_TOLERANCE,
    range_tolerance: float = DEFAULT_RANGE_TOLERANCE,
) -> ColumnQuality:
    """Quality counts of one column from its raw values.

    Parameters
    ----------
    column, kind : str
        The column and its kind.
    reference, current : NumericValues or LabelValues
        The column's values on each side (see :mod:`driftline.analysis._inputs`).
    missing_tolerance : float
        A current missing rate more than this above the reference's is reported
        as an issue (default 0.05).

    Examples
    --------
    >>> from driftline.analysis._inputs import numeric_values
    >>> q = column_quality("x", "numerical", numeric_values(np.array([1.0, 2.0, 3.0]), "float"),
    ...                    numeric_values(np.array([0.0, 2.0, np.inf]), "float"))
    >>> q.below_reference_min, q.above_reference_max, q.inf_current, q.issues
    (1, 0, 1, ('1 infinite value(s)', '1 value(s) outside the reference range [1, 3]'))
    >>> column_quality("x", "numerical", numeric_values(np.arange(100.0), "float"),
    ...                numeric_values(np.append(np.arange(99.0), 500.0), "float")).issues
    ()
    """
    issues = _missing_issue(
        reference.n_missing, reference.n_rows, current.n_missing, current.n_rows, missing_tolerance
    )
    if isinstance(reference, NumericValues) and isinstance(current, NumericValues):
        return _numeric_quality(column, kind, reference, current, issues, range_tolerance)
    if not isinstance(reference, LabelValues) or not isinstance(current, LabelValues):
        raise InputError(f"column {column!r}: reference and current values of different kinds")
    return _label_quality(column, kind, reference, current, issues)


def _numeric_quality(
    column: str,
    kind: str,
    reference: NumericValues,
    current: NumericValues,
    issues: list[str],
    range_tolerance: float,
) -> ColumnQuality:
    """:func:`column_quality` of numbers: mismatches, infinities, range and constancy."""
    ref, cur = reference.finite, current.finite
    below = above = None
    notes: list[str] = []
    if ref.size:
        lo, hi = float(ref.min()), float(ref.max())
        below, above = int((cur < lo).sum()), int((cur > hi).sum())
    else:
        notes.append("no finite reference value: out-of-range not checked")
    if current.n_mismatch:
        shown = ", ".join(current.mismatch_examples)
        issues.append(f"{current.n_mismatch} value(s) that are not numbers ({shown}, ...)")
    if current.n_inf:
        issues.append(f"{current.n_inf} infinite value(s)")
    outside = (below or 0) + (above or 0)
    if outside and outside > range_tolerance * max(cur.size, 1):
        issues.append(f"{outside} value(s) outside the reference range [{lo:.6g}, {hi:.6g}]")
    const_ref = ref.size > 0 and bool(ref.min() == ref.max())
    const_cur = cur.size > 0 and bool(cur.min() == cur.max())
    if const_cur and not const_ref and cur.size > 1:
        issues.append(f"constant in current (every value {cur[0]:.6g})")
    return ColumnQuality(
        column=column,
        kind=kind,
        n_reference=reference.n_rows,
        n_current=current.n_rows,
        missing_reference=reference.n_missing,
        missing_current=current.n_missing,
        type_mismatch_reference=reference.n_mismatch,
        type_mismatch_current=current.n_mismatch,
        nan_current=current.n_missing,
        inf_current=current.n_inf,
        below_reference_min=below,
        above_reference_max=above,
        constant_reference=const_ref,
        constant_current=const_cur,
        issues=tuple(issues),
        notes=tuple(notes),
    )


def _label_quality(
    column: str, kind: str, reference: LabelValues, current: LabelValues, issues: list[str]
) -> ColumnQuality:
    """:func:`column_quality` of labels: new and vanished categories, constancy."""
    ref_map = dict(sorted(reference.label_counts().items()))
    cur_map = dict(sorted(current.label_counts().items()))
    new = {k: int(v) for k, v in cur_map.items() if k not in ref_map}
    gone = {k: int(v) for k, v in ref_map.items() if k not in cur_map}
    if new and ref_map:
        top = sorted(new.items(), key=lambda t: -t[1])[:3]
        shown = ", ".join(f"{k!r} ({v})" for k, v in top)
        issues.append(f"{len(new)} new categor{'y' if len(new) == 1 else 'ies'}: {shown}")
    if gone and cur_map:
        top = sorted(gone.items(), key=lambda t: -t[1])[:3]
        shown = ", ".join(f"{k!r} ({v} in reference)" for k, v in top)
        issues.append(f"{len(gone)} categor{'y' if len(gone) == 1 else 'ies'} gone: {shown}")
    const_ref = len(ref_map) == 1
    const_cur = len(cur_map) == 1
    if const_cur and not const_ref and current.n_labels > 1:
        issues.append(f"constant in current (every value {next(iter(cur_map))!r})")
    return ColumnQuality(
        column=column,
        kind=kind,
        n_reference=reference.n_rows,
        n_current=current.n_rows,
        missing_reference=reference.n_missing,
        missing_current=current.n_missing,
        new_categories=_top(new),
        missing_categories=_top(gone),
        constant_reference=const_ref,
        constant_current=const_cur,
        issues=tuple(issues),
    )


def duplicate_rows(frame: Any) -> int:
    """Rows identical to an earlier row, counted by hashing each row (vectorised).

    Examples
    --------
    >>> import pandas as pd
    >>> duplicate_rows(pd.DataFrame({"a": [1, 1, 2], "b": ["x", "x", "x"]}))
    1
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame({k: frame[k] for k in frame})
    if len(frame) == 0:
        return 0
    try:
        hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        hashes = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    # sorting and comparing neighbours: np.unique on 64-bit hashes is several times slower
    ordered = np.sort(hashes)
    return int(np.count_nonzero(ordered[1:] == ordered[:-1]))


def table_duplicate_rows(table: Any) -> int | None:
    """:func:`duplicate_rows` of a :class:`~driftline.schema.Table`, or ``None`` if unsure.

    Rows are compared by the bits of their numbers, booleans and datetimes
    (as :func:`pandas.util.hash_pandas_object` hashes them) and by the codes
    :func:`~driftline.schema.as_table` kept for string columns. A cheap hash
    of each row finds the candidate pairs, and every candidate pair is then
    checked column by column, so the count is exact. Answers ``None`` (use
    :func:`duplicate_rows` on the frame) for any other column, for integers
    beyond 2**53 (not exact as the table's floats) and on a hash collision.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from driftline.schema import as_table
    >>> table_duplicate_rows(as_table(pa.table({"a": [1.0, 1.0, 2.0], "b": ["x", "x", "x"]})))
    1
    """
    from driftline.schema import string_codes

    if table.n_rows == 0:
        return 0
    columns: list[np.ndarray] = []
    for name in table.names:
        values = table[name]
        codes = string_codes(values)
        if codes is not None:
            columns.append(codes[0])
            continue
        if values.dtype.kind not in "fbM":
            return None
        if table.dtypes[name] == "integer" and np.nanmax(np.abs(values), initial=0.0) >= 2**53:
            return None
        columns.append(values)
    if not columns:
        return 0
    row = np.zeros(table.n_rows, dtype=np.uint64)
    spare = np.empty_like(row)
    with np.errstate(over="ignore"):
        for values in columns:
            np.bitwise_xor(row, _as_words(values), out=row)
            np.multiply(row, _MIX, out=row)
            np.right_shift(row, np.uint64(29), out=spare)
            np.bitwise_xor(row, spare, out=row)
    del spare
    ordered = np.sort(row)
    if not np.any(ordered[1:] == ordered[:-1]):
        return 0
    order = np.argsort(row, kind="stable")
    del ordered
    ordered = row[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    first, second = order[same], order[same + 1]
    for values in columns:  # every candidate pair must be a true duplicate
        if not np.array_equal(_as_words(values[first]), _as_words(values[second])):
            return None
    return int(same.size)


#: An odd 64-bit multiplier (from splitmix64) that spreads each column's bits over the row hash.
_MIX = np.uint64(0x9E3779B97F4A7C15)


_NAN_WORD = np.array(np.nan, dtype=np.float64).view(np.uint64)


def _as_words(values: np.ndarray) -> np.ndarray:
    """Each value as a uint64 word, equal iff the values are (as pandas hashes them).

    Floats compare by their bits once -0.0 is read as 0.0 and every NaN as one NaN.
    """
    if values.dtype.kind == "f":
        canonical = values.astype(np.float64) + 0.0  # -0.0 + 0.0 is 0.0
        nan = np.isnan(canonical)
        words = canonical.view(np.uint64)
        if nan.any():
            words[nan] = _NAN_WORD
        return words
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").view(np.int64).view(np.uint64)
    return values.astype(np.int64).view(np.uint64)


def dataset_quality(
    n_rows_reference: int,
    n_rows_current: int,
    reference_frame: Any | None,
    current_frame: Any | None,
    only_reference: tuple[str, ...],
    only_current: tuple[str, ...],
    duplicates: tuple[int | None, int | None] | None = None,
) -> DatasetQuality:
    """Dataset-level counts; duplicates need the raw rows (``None`` otherwise).

    ``duplicates``, when given, holds the :func:`duplicate_rows` counts of the
    two frames, already computed (``None`` for a side without raw rows).
    """
    notes = []
    if duplicates is not None:
        dup_ref, dup_cur = duplicates
    else:
        dup_ref = duplicate_rows(reference_frame) if reference_frame is not None else None
        dup_cur = duplicate_rows(current_frame) if current_frame is not None else None
    if dup_ref is None or dup_cur is None:
        notes.append("duplicate rows need the raw rows; a profile does not keep them")
    return DatasetQuality(
        n_rows_reference=n_rows_reference,
        n_rows_current=n_rows_current,
        duplicate_rows_reference=dup_ref,
        duplicate_rows_current=dup_cur,
        columns_only_in_reference=only_reference,
        columns_only_in_current=only_current,
        notes=tuple(notes),
    )
