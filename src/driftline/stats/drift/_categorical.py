"""Drift kernels on raw categorical arrays (private).

Labels can be any hashable dtype (object, str, bool, int, ...). Missing labels
(``None``, NaN, NaT and other values that are not equal to themselves) are
omitted. Counts are aligned on the union of the categories of both sides.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from driftline.errors import InputError

from ._counts import (
    BINNED_MIN_SAMPLES,
    DEFAULT_EPS,
    chi_square_from_counts,
    hellinger_from_counts,
    jensen_shannon_from_counts,
    kl_from_counts,
    psi_from_counts,
    total_variation_from_counts,
    z_test_from_counts,
)
from ._result import DriftResult
from ._validation import as_1d, check_enough

_BINCOUNT_MAX_RANGE = 1 << 16
"""Integer labels spanning fewer values than this are counted with ``np.bincount``."""


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # e.g. pandas.NA, whose truth value is ambiguous
        return True


def _unique_counts(values: ArrayLike, name: str) -> dict[Hashable, int]:
    arr = as_1d(values, name)
    kind = arr.dtype.kind
    if kind in "cV":
        raise InputError(f"{name}: expected labels, got dtype {arr.dtype}")
    if kind == "O":
        counter = Counter(arr.tolist())
        return {k: int(v) for k, v in counter.items() if not _is_missing(k)}
    if kind == "b":  # one counting pass instead of a sort
        true = int(np.count_nonzero(arr))
        return {k: v for k, v in ((False, arr.size - true), (True, true)) if v}
    if kind in "iu" and arr.size:
        low, high = int(arr.min()), int(arr.max())
        if high - low < _BINCOUNT_MAX_RANGE:  # small integer codes: bincount, no sort
            offsets = arr - arr.dtype.type(low) if kind == "u" else arr.astype(np.int64) - low
            counts = np.bincount(offsets.astype(np.intp, copy=False))
            present = np.flatnonzero(counts)
            codes = [low + k for k in present.tolist()]
            return dict(zip(codes, counts[present].tolist(), strict=True))
    if kind == "f":
        arr = arr[~np.isnan(arr)]
    elif kind in "Mm":
        arr = arr[~np.isnat(arr)]
    labels, label_counts = np.unique(arr, return_counts=True)
    return dict(zip(labels.tolist(), label_counts.tolist(), strict=True))


def aligned_category_counts(
    reference: ArrayLike, current: ArrayLike
) -> tuple[tuple[Hashable, ...], np.ndarray, np.ndarray]:
    """Count the labels of two samples on the union of their categories.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of hashable labels; missing labels (None, NaN, NaT) are
        omitted.

    Returns
    -------
    categories : tuple
        The union of categories, sorted when the labels can be ordered, else the
        reference's categories followed by the new ones in ``current``.
    reference_counts, current_counts : numpy.ndarray
        int64 counts aligned on ``categories``.

    Examples
    --------
    >>> cats, r, c = aligned_category_counts(["a", "b", "a", None], ["b", "c"])
    >>> cats, r.tolist(), c.tolist()
    (('a', 'b', 'c'), [2, 1, 0], [0, 1, 1])
    """
    ref = _unique_counts(reference, "reference")
    cur = _unique_counts(current, "current")
    union: list[Hashable] = list(ref) + [k for k in cur if k not in ref]
    with contextlib.suppress(TypeError):  # labels of mixed types keep first-seen order
        union = sorted(union)  # type: ignore[type-var]
    ref_counts = np.fromiter((ref.get(k, 0) for k in union), dtype=np.int64, count=len(union))
    cur_counts = np.fromiter((cur.get(k, 0) for k in union), dtype=np.int64, count=len(union))
    return tuple(union), ref_counts, cur_counts


def _categorical(
    from_counts: Callable[..., DriftResult],
    method: str,
    reference: ArrayLike,
    current: ArrayLike,
    **params: float,
) -> DriftResult:
    _, ref, cur = aligned_category_counts(reference, current)
    check_enough(int(ref.sum()), BINNED_MIN_SAMPLES, "reference", method)
    check_enough(int(cur.sum()), BINNED_MIN_SAMPLES, "current", method)
    return from_counts(ref, cur, **params)


def chi_square_categorical(reference: ArrayLike, current: ArrayLike) -> DriftResult:
    """Chi-square test of homogeneity over the union of categories.

    See :func:`chi_square_from_counts`. Lower p-value means stronger evidence of
    drift; symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of labels.

    Returns
    -------
    DriftResult
        ``method="chi_square"``.

    Examples
    --------
    >>> r = chi_square_categorical(["a"] * 50 + ["b"] * 50, ["a"] * 40 + ["b"] * 60)
    >>> round(r.statistic, 4)
    2.0202
    """
    return _categorical(chi_square_from_counts, "chi_square", reference, current)


def z_test(reference: ArrayLike, current: ArrayLike) -> DriftResult:
    """Two-proportion z-test for two-category (e.g. boolean) labels.

    See :func:`z_test_from_counts`; the statistic is ``|z|``. Lower p-value means
    stronger evidence of drift; symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays with at most two distinct labels between them.

    Returns
    -------
    DriftResult
        ``method="z_test"``.

    Raises
    ------
    InputError
        More than two categories in total.

    Examples
    --------
    >>> r = z_test([True] * 50 + [False] * 50, [True] * 60 + [False] * 40)
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (1.4213, 0.1552)
    """
    return _categorical(z_test_from_counts, "z_test", reference, current)


def psi_categorical(
    reference: ArrayLike, current: ArrayLike, *, eps: float = DEFAULT_EPS
) -> DriftResult:
    """Population stability index over the union of categories.

    See :func:`psi_from_counts`. Higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of labels.
    eps : float, default 1e-4
        Proportion given to a category absent on one side.

    Returns
    -------
    DriftResult
        ``method="psi"``, ``p_value=None``.

    Examples
    --------
    >>> psi_categorical(["a", "b"], ["b", "a"]).statistic
    0.0
    """
    return _categorical(psi_from_counts, "psi", reference, current, eps=eps)


def kl_categorical(
    reference: ArrayLike, current: ArrayLike, *, eps: float = DEFAULT_EPS
) -> DriftResult:
    """KL(current || reference) in nats over the union of categories, smoothed.

    See :func:`kl_from_counts`. Higher means more drift; not symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of labels.
    eps : float, default 1e-4
        Proportion given to a category absent on one side.

    Returns
    -------
    DriftResult
        ``method="kl"``, ``p_value=None``.

    Examples
    --------
    >>> kl_categorical([1, 2, 2], [2, 1, 2]).statistic
    0.0
    """
    return _categorical(kl_from_counts, "kl", reference, current, eps=eps)


def jensen_shannon_categorical(reference: ArrayLike, current: ArrayLike) -> DriftResult:
    """Jensen-Shannon distance (base 2) over the union of categories.

    See :func:`jensen_shannon_from_counts`. In [0, 1]; higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of labels.

    Returns
    -------
    DriftResult
        ``method="jensen_shannon"``, ``p_value=None``.

    Examples
    --------
    >>> jensen_shannon_categorical(["a", "a"], ["b", "b"]).statistic
    1.0
    """
    return _categorical(jensen_shannon_from_counts, "jensen_shannon", reference, current)


def hellinger_categorical(reference: ArrayLike, current: ArrayLike) -> DriftResult:
    """Hellinger distance over the union of categories.

    See :func:`hellinger_from_counts`. In [0, 1]; higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of labels.

    Returns
    -------
    DriftResult
        ``method="hellinger"``, ``p_value=None``.

    Examples
    --------
    >>> hellinger_categorical(["a", "a"], ["b", "b"]).statistic
    1.0
    """
    return _categorical(hellinger_from_counts, "hellinger", reference, current)


def total_variation_categorical(reference: ArrayLike, current: ArrayLike) -> DriftResult:
    """Total variation distance over the union of categories.

    See :func:`total_variation_from_counts`. In [0, 1]; higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of labels.

    Returns
    -------
    DriftResult
        ``method="total_variation"``, ``p_value=None``.

    Examples
    --------
    >>> total_variation_categorical(["a", "b"], ["a", "a"]).statistic
    0.5
    """
    return _categorical(total_variation_from_counts, "total_variation", reference, current)
