"""Kind inference for one column of a :class:`~driftline.schema.Table`."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from driftline.schema._table import Table, string_codes
from driftline.schema._types import ColumnKind

__all__ = ["InferenceConfig", "infer_kind"]

_TRUE_WORDS = frozenset({"yes", "true", "y", "t"})
_FALSE_WORDS = frozenset({"no", "false", "n", "f"})
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class InferenceConfig:
    """Thresholds of :meth:`Schema.infer <driftline.schema.Schema.infer>`.

    Parameters
    ----------
    max_categorical_distinct : int, default 20
        An integer column with at most this many distinct values ...
    max_categorical_fraction : float, default 0.05
        ... that are also at most this fraction of the non-missing rows is
        inferred categorical (with a warning); otherwise numerical.
    text_min_mean_length : float, default 50.0
        A string column whose mean length is at least this ...
    text_min_unique_fraction : float, default 0.5
        ... and whose distinct values are at least this fraction of the
        non-missing rows is inferred text (with a warning); otherwise categorical.
    mixed_numeric_fraction : float, default 0.5
        An object column of mixed numbers and strings is numerical when at
        least this fraction of its non-missing values are numbers (the rest
        are counted as type mismatches), categorical otherwise; both warn.
    datetime_sample : int, default 1000
        How many string values are checked against ISO-8601 before the whole
        column is parsed as datetimes.

    Examples
    --------
    >>> InferenceConfig(max_categorical_distinct=10).max_categorical_fraction
    0.05
    """

    max_categorical_distinct: int = 20
    max_categorical_fraction: float = 0.05
    text_min_mean_length: float = 50.0
    text_min_unique_fraction: float = 0.5
    mixed_numeric_fraction: float = 0.5
    datetime_sample: int = 1000


def infer_kind(table: Table, name: str, cfg: InferenceConfig) -> tuple[ColumnKind, str | None]:
    """Infer the kind of column ``name``; return it with the reason when it is not obvious.

    Examples
    --------
    >>> from driftline.schema import as_table
    >>> infer_kind(as_table({"z": [0, 1] * 50}), "z", InferenceConfig())[0].value
    'boolean'
    """
    values = table[name]
    dtype = table.dtypes[name]
    if dtype == "datetime":
        return ColumnKind.DATETIME, None
    if dtype == "boolean":
        return ColumnKind.BOOLEAN, None
    if dtype == "float":
        return _numeric_kind(values, cfg, integer=False)
    if dtype == "integer":
        return _numeric_kind(values, cfg, integer=True)
    if dtype == "categorical":
        return ColumnKind.CATEGORICAL, None
    import pandas as pd

    known = string_codes(values) if dtype == "string" else None
    if known is not None:  # codes kept by as_table: no need to hash the strings again
        codes, uniques = known
        rows = np.flatnonzero(codes >= 0)
        if rows.size == 0:
            return ColumnKind.CATEGORICAL, "every value is missing, so the kind cannot be seen"
        return _string_kind(values, cfg, (codes[rows], uniques), rows=rows)
    present = values[~np.asarray(pd.isna(values), dtype=bool)]
    if len(present) == 0:
        return ColumnKind.CATEGORICAL, "every value is missing, so the kind cannot be seen"
    if dtype == "string":
        return _string_kind(present, cfg)
    return _mixed_kind(present, cfg)


def _numeric_kind(
    values: np.ndarray, cfg: InferenceConfig, *, integer: bool
) -> tuple[ColumnKind, str | None]:
    missing = np.isnan(values)
    n_present = values.size - int(np.count_nonzero(missing))
    if n_present == 0:
        return ColumnKind.CATEGORICAL, "every value is missing, so the kind cannot be seen"
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if lo == 0.0 and hi == 1.0 and not np.any((values != 0.0) & (values != 1.0) & ~missing):
        if integer:
            return ColumnKind.BOOLEAN, "it is an integer column whose only values are 0 and 1"
        return ColumnKind.BOOLEAN, "its only values are 0.0 and 1.0"
    if not integer:
        return ColumnKind.NUMERICAL, None
    limit = min(cfg.max_categorical_distinct, cfg.max_categorical_fraction * n_present)
    present = values[~missing]
    # a sample with too many distinct values settles it without sorting every row
    if np.unique(present[:10_000]).size > limit:
        return ColumnKind.NUMERICAL, None
    n_distinct = np.unique(present).size
    if n_distinct <= limit:
        return ColumnKind.CATEGORICAL, (
            f"it is an integer column with only {n_distinct} distinct values in {n_present} rows "
            f"(at most max_categorical_distinct={cfg.max_categorical_distinct} and "
            f"max_categorical_fraction={cfg.max_categorical_fraction} of the rows)"
        )
    return ColumnKind.NUMERICAL, None


def _string_kind(
    present: np.ndarray,
    cfg: InferenceConfig,
    factorized: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    rows: np.ndarray | None = None,
) -> tuple[ColumnKind, str | None]:
    """Kind of a string column; ``present`` are its non-missing values, or, with
    ``rows``, all its values and ``rows`` the positions of the non-missing ones."""
    import pandas as pd

    codes, uniq = factorized if factorized is not None else pd.factorize(present)
    lowered = {str(u).strip().lower() for u in uniq[:3]}
    words = _TRUE_WORDS | _FALSE_WORDS
    if len(uniq) == 2 and lowered <= words and lowered & _TRUE_WORDS and lowered & _FALSE_WORDS:
        return ColumnKind.BOOLEAN, f"its only values are {sorted(str(u) for u in uniq)}"
    if rows is not None:
        sample = present[rows[: cfg.datetime_sample]]
        n_present = int(rows.size)
    else:
        sample = present[: cfg.datetime_sample]
        n_present = len(present)
    if all(_ISO_DATE.match(v) for v in sample):
        try:
            strings = present[rows] if rows is not None else present
            pd.to_datetime(pd.Series(strings, dtype=object), format="ISO8601", utc=True)
        except (ValueError, TypeError, OverflowError):
            pass
        else:
            return ColumnKind.DATETIME, None
    unique_fraction = len(uniq) / n_present
    if unique_fraction < cfg.text_min_unique_fraction:
        return ColumnKind.CATEGORICAL, None
    lengths = np.fromiter(map(len, uniq), dtype=np.float64, count=len(uniq))
    mean_len = float((lengths * np.bincount(codes, minlength=len(uniq))).sum() / n_present)
    if mean_len >= cfg.text_min_mean_length:
        return ColumnKind.TEXT, (
            f"its strings are long (mean length {mean_len:.0f} >= text_min_mean_length="
            f"{cfg.text_min_mean_length}) and mostly unique ({unique_fraction:.0%} distinct >= "
            f"text_min_unique_fraction={cfg.text_min_unique_fraction})"
        )
    return ColumnKind.CATEGORICAL, None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)


def _mixed_kind(present: np.ndarray, cfg: InferenceConfig) -> tuple[ColumnKind, str | None]:
    is_num = np.fromiter((_is_number(v) for v in present), dtype=bool, count=len(present))
    n_num = int(is_num.sum())
    others = present[~is_num]
    example = ", ".join(repr(v) for v in list(dict.fromkeys(others[:1000].tolist()))[:3])
    types = sorted({type(v).__name__ for v in present})
    if n_num and n_num >= cfg.mixed_numeric_fraction * len(present):
        return ColumnKind.NUMERICAL, (
            f"it mixes types ({', '.join(types)}) and {n_num} of {len(present)} values are "
            f"numbers (>= mixed_numeric_fraction={cfg.mixed_numeric_fraction}); the other "
            f"{len(others)} (e.g. {example}) count as type mismatches"
        )
    return ColumnKind.CATEGORICAL, (
        f"it mixes types ({', '.join(types)}); {n_num} of {len(present)} values are numbers "
        f"(< mixed_numeric_fraction={cfg.mixed_numeric_fraction}), so all are kept as labels"
    )
