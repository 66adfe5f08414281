"""Mergeable summary of a categorical or boolean column (private)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

import datasketches as ds
import numpy as np

from driftline.errors import IncompatibleProfilesError, InputError
from driftline.profile._codec import dec_bytes, enc_bytes, field
from driftline.profile._config import ProfileConfig
from driftline.profile._numerical import hll_union
from driftline.schema import string_codes

__all__ = ["CategoricalProfile", "Label", "count_labels", "unique_counts"]

Label = str | int | float | bool
"""A category label: JSON keeps each of these types apart."""

_TRUE_WORDS = frozenset({"yes", "true", "y", "t", "1"})
_FALSE_WORDS = frozenset({"no", "false", "n", "f", "0"})


def _label(value: Any) -> Label:
    """Normalise a value into a JSON-safe label; integral floats become ints."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if isinstance(value, str):
        return value
    if isinstance(value, np.datetime64):
        return str(value)
    return str(value)


def _as_bool(label: Label) -> bool | None:
    if isinstance(label, bool):
        return label
    if isinstance(label, int | float):
        return True if label == 1 else False if label == 0 else None
    word = label.strip().lower()
    return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None


def _type_group(label: Label) -> str:
    if isinstance(label, bool):
        return "bool"
    return "number" if isinstance(label, int | float) else "str"


def _object_array(items: Any) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


def _all_strings(labels: np.ndarray) -> bool:
    import pandas as pd

    return bool(labels.size) and pd.api.types.infer_dtype(labels, skipna=False) == "string"


def _regroup(labels: Any, counts: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sum the counts of labels that became equal after normalisation."""
    merged: dict[Label, int] = {}
    for label, c in zip(labels, counts, strict=True):
        merged[label] = merged.get(label, 0) + int(c)
    return _object_array(merged), np.fromiter(merged.values(), dtype=np.int64, count=len(merged))


#: Integer-valued floats spanning fewer values than this are counted with ``bincount``.
_BINCOUNT_SPAN = 1 << 16


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(values, return_counts=True)`` of floats without NaN, faster for codes.

    Whole numbers in a short range (labels such as 0/1 or small class ids) are
    counted with one ``bincount`` instead of a sort.

    Examples
    --------
    >>> u, c = unique_counts(np.array([2.0, 0.0, 2.0, -0.0]))
    >>> u.tolist(), c.tolist()
    ([0.0, 2.0], [2, 2])
    """
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if hi - lo < _BINCOUNT_SPAN and abs(lo) < 2**53 and abs(hi) < 2**53:
            as_int = values.astype(np.int64)
            if np.array_equal(as_int, values):
                cnt = np.bincount(as_int - int(lo))
                present = np.flatnonzero(cnt)
                return (present + lo).astype(np.float64), cnt[present].astype(np.int64)
    uniq, cnt = np.unique(values, return_counts=True)
    return uniq, cnt


def count_labels(
    values: np.ndarray, *, boolean: bool = False
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Count the labels of a column: (labels, counts, n_missing, n_type_mismatch).

    ``labels`` is an object array of distinct JSON-safe labels (str, int, float
    or bool; integral floats become ints) and ``counts`` their int64 counts.
    Missing values (None, NaN, NaT) are not labels. For a categorical column a
    type mismatch is a value whose type (string, number, bool) differs from the
    column's most common type; it is still counted as a label. For a boolean
    column, values are read as True/False (bools, 0/1, 'yes'/'no',
    'true'/'false', 'y'/'n', 't'/'f'); anything else is a type mismatch and is
    not counted as a label.

    Examples
    --------
    >>> labels, counts, n_missing, _ = count_labels(np.array(["a", None, "a"], dtype=object))
    >>> labels.tolist(), counts.tolist(), n_missing
    (['a'], [2], 1)
    """
    if values.dtype.kind == "b":
        n_true = int(np.count_nonzero(values))
        pairs = [(True, n_true), (False, values.size - n_true)]
        pairs = [(k, c) for k, c in pairs if c]
        return _object_array([k for k, _ in pairs]), np.array([c for _, c in pairs], np.int64), 0, 0
    if values.dtype.kind in "fiu":
        arr = values.astype(np.float64, copy=False)
        missing = np.isnan(arr)
        uniq, cnt = unique_counts(arr[~missing])
        labels, counts = _regroup([_label(u) for u in uniq.tolist()], cnt)
        n_missing = int(np.count_nonzero(missing))
    else:
        import pandas as pd

        obj = values
        if values.dtype.kind == "M":
            obj = values.astype(str).astype(object)
            obj[np.isnat(values)] = None
        known = string_codes(obj)
        if known is not None:  # a string column whose codes as_table kept
            codes, uniques = known
        else:
            codes, uniques = pd.factorize(obj.astype(object, copy=False), use_na_sentinel=True)
        present = codes >= 0
        n_missing = int(codes.size - np.count_nonzero(present))
        cnt = np.bincount(codes[present], minlength=len(uniques)).astype(np.int64)
        labels = np.asarray(uniques, dtype=object)
        counts = cnt
        if not _all_strings(labels):
            labels, counts = _regroup([_label(u) for u in labels], cnt)
    if boolean:
        as_bool: dict[Label, int] = {}
        mismatch = 0
        for label, c in zip(labels, counts.tolist(), strict=True):
            b = _as_bool(label)
            if b is None:
                mismatch += c
            else:
                as_bool[b] = as_bool.get(b, 0) + c
        bool_counts = np.fromiter(as_bool.values(), dtype=np.int64, count=len(as_bool))
        return _object_array(as_bool), bool_counts, n_missing, mismatch
    if _all_strings(labels) or labels.size == 0:
        return labels, counts, n_missing, 0
    groups: dict[str, int] = {}
    for label, c in zip(labels, counts.tolist(), strict=True):
        groups[_type_group(label)] = groups.get(_type_group(label), 0) + c
    return labels, counts, n_missing, sum(groups.values()) - max(groups.values())


def _sort_key(item: tuple[Label, int]) -> tuple[int, str, str]:
    return (-item[1], type(item[0]).__name__, str(item[0]))


def _sorted_counts(counts: Mapping[Label, int]) -> dict[Label, int]:
    """``counts`` ordered by :func:`_sort_key`: most frequent first, ties by type then text.

    When every label is a plain ``str`` the key reduces to ``(-count, label)``:
    two C-level sorts (by label, then stably by count) replace one key call per label.
    """
    if set(map(type, counts)) <= {str}:
        items = sorted(counts.items(), key=itemgetter(0))
        items.sort(key=itemgetter(1), reverse=True)  # stable: ties keep the label order
        return dict(items)
    return dict(sorted(counts.items(), key=_sort_key))


def _tie_hash(labels: np.ndarray) -> np.ndarray:
    """A fixed, order-free hash of each label, to break count ties at the cap."""
    import pandas as pd

    if not _all_strings(labels):
        labels = _object_array([f"{type(v).__name__}:{v}" for v in labels])
    return np.asarray(pd.util.hash_array(labels, categorize=False), dtype=np.uint64)


def _select_top(labels: np.ndarray, counts: np.ndarray, top_k: int) -> tuple[dict[Label, int], int]:
    """Keep the ``top_k`` most frequent labels; return them and the count of the rest.

    Ties at the cap are broken by a fixed hash of the label, so the choice does
    not depend on the order of the rows or of the merges.
    """
    if labels.size <= top_k:
        return dict(zip(labels.tolist(), counts.tolist(), strict=True)), 0
    kth = np.partition(counts, labels.size - top_k)[labels.size - top_k]
    sure = np.flatnonzero(counts > kth)
    ties = np.flatnonzero(counts == kth)
    need = top_k - sure.size
    picked = ties[np.argsort(_tie_hash(labels[ties]), kind="stable")[:need]]
    idx = np.concatenate([sure, picked])
    kept = dict(zip(labels[idx].tolist(), counts[idx].tolist(), strict=True))
    return kept, int(counts.sum()) - sum(kept.values())


def _feed_labels(sketch: ds.hll_sketch, labels: np.ndarray) -> None:
    if _all_strings(labels):
        deque(map(sketch.update, labels.tolist()), maxlen=0)
        return
    for label in labels.tolist():
        if isinstance(label, bool):
            sketch.update(f"<bool:{label}>")
        else:
            sketch.update(label)


class CategoricalProfile:
    """Mergeable summary of a categorical or boolean column.

    Exact label counts capped at ``top_k`` labels (the rest go to
    :attr:`other_count`), missing and type-mismatch counts, and a HyperLogLog
    sketch of the distinct labels.

    Above the cap, merging is approximate: each side keeps its own top labels,
    so a label that one side sent to ``other`` is under-counted in the merge
    (its share stays in ``other_count``); the total ``n`` stays exact. Below
    the cap every count merges exactly.

    Examples
    --------
    >>> import numpy as np
    >>> p = CategoricalProfile.from_values(np.array(["a", "b", "a", None], dtype=object))
    >>> p.counts, p.n_missing, p.other_count
    ({'a': 2, 'b': 1}, 1, 0)
    >>> (p + p).counts
    {'a': 4, 'b': 2}
    """

    def __init__(
        self,
        *,
        kind: str,
        n: int,
        n_missing: int,
        n_type_mismatch: int,
        counts: Mapping[Label, int],
        other_count: int,
        top_k: int,
        hll: ds.hll_sketch,
    ) -> None:
        if kind not in ("categorical", "boolean"):
            raise InputError(f"kind: expected 'categorical' or 'boolean', got {kind!r}")
        self.kind = kind
        self.n = int(n)
        self.n_missing = int(n_missing)
        self.n_type_mismatch = int(n_type_mismatch)
        self._counts = _sorted_counts(counts)
        self.other_count = int(other_count)
        self.top_k = int(top_k)
        self._hll = hll

    @classmethod
    def from_values(
        cls, values: np.ndarray, *, boolean: bool = False, config: ProfileConfig | None = None
    ) -> CategoricalProfile:
        """Profile a 1-D array of labels; ``boolean=True`` reads them as True/False.

        See :func:`count_labels` for missing values and type mismatches.
        """
        cfg = config if config is not None else ProfileConfig()
        values = np.asarray(values)
        labels, counts, n_missing, mismatch = count_labels(values, boolean=boolean)
        hll = ds.hll_sketch(cfg.hll_lg_k)
        _feed_labels(hll, labels)
        kept, other = _select_top(labels, counts, cfg.top_k)
        return cls(
            kind="boolean" if boolean else "categorical",
            n=values.size,
            n_missing=n_missing,
            n_type_mismatch=mismatch,
            counts=kept,
            other_count=other,
            top_k=cfg.top_k,
            hll=hll,
        )

    @property
    def counts(self) -> dict[Label, int]:
        """Label counts, most frequent first (at most ``top_k`` labels)."""
        return dict(self._counts)

    @property
    def n_present(self) -> int:
        """Number of labelled rows (counted labels plus ``other_count``)."""
        return sum(self._counts.values()) + self.other_count

    @property
    def missing_rate(self) -> float:
        """Fraction of rows that are missing (NaN when there are no rows); lower is better."""
        return self.n_missing / self.n if self.n else math.nan

    @property
    def distinct_count(self) -> float:
        """Number of distinct labels: exact while nothing went to ``other``, else the HLL estimate."""
        if self.other_count == 0:
            return float(len(self._counts))
        return float(self._hll.get_estimate())

    def frequencies(self) -> dict[Label, float]:
        """Label counts divided by :attr:`n_present` (the ``other`` share is left out)."""
        total = self.n_present
        return {k: v / total for k, v in self._counts.items()} if total else {}

    def merge(self, other: CategoricalProfile, *, column: str = "?") -> CategoricalProfile:
        """Return the profile of both batches (neither input changes).

        Raises
        ------
        IncompatibleProfilesError
            When ``other`` is not a profile of the same kind.
        """
        if not isinstance(other, CategoricalProfile) or other.kind != self.kind:
            raise IncompatibleProfilesError(
                f"column {column!r}: cannot merge a {self.kind} profile with a "
                f"{getattr(other, 'kind', type(other).__name__)} profile"
            )
        counts = dict(self._counts)
        for label, c in other._counts.items():
            counts[label] = counts.get(label, 0) + c
        top_k = max(self.top_k, other.top_k)
        kept, extra = _select_top(
            _object_array(counts), np.fromiter(counts.values(), np.int64, len(counts)), top_k
        )
        return CategoricalProfile(
            kind=self.kind,
            n=self.n + other.n,
            n_missing=self.n_missing + other.n_missing,
            n_type_mismatch=self.n_type_mismatch + other.n_type_mismatch,
            counts=kept,
            other_count=self.other_count + other.other_count + extra,
            top_k=top_k,
            hll=hll_union(self._hll, other._hll),
        )

    def __add__(self, other: CategoricalProfile) -> CategoricalProfile:
        return self.merge(other)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; labels keep their type (str, int, float, bool)."""
        return {
            "kind": self.kind,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_type_mismatch": self.n_type_mismatch,
            "counts": [[label, c] for label, c in self._counts.items()],
            "other_count": self.other_count,
            "top_k": self.top_k,
            "hll": enc_bytes(self._hll.serialize_updatable()),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        """Rebuild a profile from :meth:`to_dict` output."""
        where = "categorical profile"
        try:
            hll = ds.hll_sketch.deserialize(dec_bytes(field(data, "hll", where)))
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"{where}: the hll sketch bytes do not parse ({exc})") from exc
        return cls(
            kind=field(data, "kind", where),
            n=field(data, "n", where),
            n_missing=field(data, "n_missing", where),
            n_type_mismatch=field(data, "n_type_mismatch", where),
            counts={label: int(c) for label, c in field(data, "counts", where)},
            other_count=field(data, "other_count", where),
            top_k=field(data, "top_k", where),
            hll=hll,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoricalProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CategoricalProfile(kind={self.kind!r}, n={self.n}, n_missing={self.n_missing}, "
            f"labels={len(self._counts)}, other_count={self.other_count})"
        )
