"""Ranking metrics: ROC AUC and average precision (PR AUC).

Both are computed from "tied counts": the number of positives and negatives at
each distinct score, in ascending score order. On raw arrays the distinct scores
are the exact values (so the result equals scikit-learn's); on
:class:`~driftline.stats.metrics.ClassificationCounts` they are the bins of a
fixed histogram, which treats scores inside one bin as tied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftline.errors import InputError, InsufficientDataError
from driftline.stats.metrics._validation import (
    _preview,
    _to_python,
    as_float_array,
    as_label_array,
    check_length,
    check_not_empty,
    default_pos_label,
    encode_to,
    resolve_labels,
)

TiedKernel = Callable[[NDArray[np.float64], NDArray[np.float64]], float]


def auc_from_tied_counts(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> float:
    """ROC AUC (Mann-Whitney U / (P N), ties counted one half) from tied counts.

    ``pos[i]`` and ``neg[i]`` count positives and negatives at the i-th distinct
    score, ascending. The caller guarantees at least one of each.
    """
    n_pos, n_neg = float(pos.sum()), float(neg.sum())
    neg_below = np.cumsum(neg) - neg
    return float(np.sum(pos * (neg_below + 0.5 * neg)) / (n_pos * n_neg))


def auc_tie_bound(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> float:
    """Largest change in AUC that breaking the ties inside each group could cause.

    Pairs of one positive and one negative in the same group count one half; any
    ordering of them moves the AUC by at most ``sum(pos * neg) / (2 P N)``.
    """
    return float(np.sum(pos * neg) / (2.0 * float(pos.sum()) * float(neg.sum())))


def ap_from_tied_counts(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> float:
    """Average precision, sum over thresholds of (R_n - R_(n-1)) P_n, from tied counts.

    Thresholds run from the highest distinct score down, as in scikit-learn's
    ``average_precision_score``. The caller guarantees at least one positive.
    """
    pos_d, neg_d = pos[::-1], neg[::-1]
    tp = np.cumsum(pos_d)
    predicted = tp + np.cumsum(neg_d)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    return float(np.sum(pos_d * precision) / tp[-1])


def tied_counts(
    scores: NDArray[np.float64], is_pos: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Positives and negatives at each distinct value of ``scores`` (ascending)."""
    values, inverse = np.unique(scores, return_inverse=True)
    total = np.bincount(inverse, minlength=values.size).astype(np.float64)
    pos = np.bincount(inverse, weights=is_pos.astype(np.float64), minlength=values.size)
    return pos.astype(np.float64), total - pos


def binary_target(
    y_true: NDArray[Any], pos_label: object | None, name: str
) -> tuple[NDArray[np.bool_], object]:
    """Boolean "is positive" per row, and the positive label used."""
    classes = np.unique(y_true)
    pos = default_pos_label(classes, pos_label, name)
    return np.asarray(y_true == pos, dtype=bool), pos


def _score_inputs(
    y_true: ArrayLike, y_score: ArrayLike
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    t = as_label_array(y_true, "y_true")
    s = as_float_array(y_score, "y_score", ndim=(1, 2))
    check_length(t.shape[0], s, "y_score", "y_true")
    check_not_empty(t.shape[0], "y_true")
    return t, s


def one_vs_rest(
    t: NDArray[Any],
    scores: NDArray[np.float64],
    labels: Sequence[object] | None,
    per_class: Callable[[NDArray[np.float64], NDArray[np.bool_], object], float],
) -> float:
    """Unweighted mean over classes of ``per_class(column, is_class, label)``."""
    classes = resolve_labels(labels, np.unique(t))
    if classes.size != scores.shape[1]:
        raise InputError(
            f"y_score: expected one column per class ({classes.size} classes "
            f"{_preview(classes)}), got {scores.shape[1]} columns"
        )
    idx, _ = encode_to(t, classes)
    values = [
        per_class(scores[:, j], idx == j, _to_python(classes[j])) for j in range(classes.size)
    ]
    return float(np.mean(values))


def _roc_one(scores: NDArray[np.float64], is_pos: NDArray[np.bool_], label: object) -> float:
    n_pos = int(is_pos.sum())
    if n_pos == 0 or n_pos == is_pos.size:
        which = "positive" if n_pos == 0 else "negative"
        raise InsufficientDataError(
            f"y_true: ROC AUC is undefined with no {which} rows for class {label!r} "
            "(only one class present in that one-vs-rest problem)"
        )
    return auc_from_tied_counts(*tied_counts(scores, is_pos))


def _ap_one(scores: NDArray[np.float64], is_pos: NDArray[np.bool_], label: object) -> float:
    if not is_pos.any():
        raise InsufficientDataError(
            f"y_true: average precision is undefined with no positive rows for class {label!r}"
        )
    return ap_from_tied_counts(*tied_counts(scores, is_pos))


def roc_auc_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    labels: Sequence[object] | None = None,
    pos_label: object | None = None,
) -> float:
    """Area under the ROC curve; higher is better (0.5 is chance, 1.0 perfect ranking).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_score : array-like of shape (n,) or (n, k)
        1-d: a score for the positive class (binary). 2-d: one column of
        probabilities per class, aligned to ``labels``; the result is the
        one-vs-rest AUC averaged over classes without weights (scikit-learn's
        ``multi_class="ovr", average="macro"``).
    labels : sequence, optional
        Column order of a 2-d ``y_score``; default the sorted labels of ``y_true``.
    pos_label : object, optional
        Positive class for 1-d scores; default the greater of the two labels.

    Raises
    ------
    InsufficientDataError
        If a class has no positive or no negative rows (one class present), or no rows.
    InputError
        Bad shapes or lengths, or more than two classes with 1-d scores.

    Examples
    --------
    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    t, s = _score_inputs(y_true, y_score)
    if s.ndim == 2:
        return one_vs_rest(t, s, labels, _roc_one)
    is_pos, pos = binary_target(t, pos_label, "ROC AUC")
    return _roc_one(s, is_pos, pos)


def average_precision_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    labels: Sequence[object] | None = None,
    pos_label: object | None = None,
) -> float:
    """Average precision, the step-wise area under the precision-recall curve; higher is better.

    ``sum_n (R_n - R_(n-1)) P_n`` over score thresholds, as scikit-learn defines it
    (no interpolation). Parameters as in :func:`roc_auc_score`; a 2-d ``y_score``
    gives the one-vs-rest macro average.

    Raises
    ------
    InsufficientDataError
        If a class has no positive rows, or there are no rows.
    InputError
        Bad shapes or lengths, or more than two classes with 1-d scores.

    Examples
    --------
    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    t, s = _score_inputs(y_true, y_score)
    if s.ndim == 2:
        return one_vs_rest(t, s, labels, _ap_one)
    is_pos, pos = binary_target(t, pos_label, "average precision")
    return _ap_one(s, is_pos, pos)
