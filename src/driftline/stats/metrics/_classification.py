"""Label-based classification metrics: confusion matrix, accuracy, precision, recall, F1.

All of them are computed from a confusion matrix, so the same code serves raw
arrays and merged :class:`~driftline.stats.metrics.ClassificationCounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftline.errors import InputError
from driftline.stats.metrics._validation import _preview, _to_python, check_not_empty, encode_pair

Average = Literal["binary", "micro", "macro", "weighted"]
_AVERAGES = ("binary", "micro", "macro", "weighted")


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Sequence[object] | None = None,
) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Count true labels (rows) against predicted labels (columns).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted class labels (ints, bools or strings, of one kind).
    labels : sequence, optional
        Row and column order. Default: the sorted union of the labels in
        ``y_true`` and ``y_pred``. Every label present in the data must be listed.

    Returns
    -------
    matrix : ndarray of shape (k, k), int64
        ``matrix[i, j]`` counts rows whose true label is ``labels[i]`` and whose
        predicted label is ``labels[j]`` (scikit-learn's layout).
    labels : ndarray of shape (k,)
        The labels in row/column order.

    Examples
    --------
    >>> m, labels = confusion_matrix(["a", "b", "b"], ["a", "a", "b"])
    >>> m.tolist(), labels.tolist()
    ([[1, 0], [1, 1]], ['a', 'b'])
    """
    t_idx, p_idx, classes = encode_pair(y_true, y_pred, labels)
    k = classes.size
    flat = np.bincount(t_idx * k + p_idx, minlength=k * k) if k else np.zeros(0, np.int64)
    return flat.astype(np.int64).reshape(k, k), classes


def accuracy_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of rows whose predicted label equals the true label; higher is better.

    Raises
    ------
    InsufficientDataError
        If there are no rows.

    Examples
    --------
    >>> accuracy_score([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    matrix, _ = confusion_matrix(y_true, y_pred)
    return accuracy_from_confusion(matrix)


def accuracy_from_confusion(matrix: NDArray[np.int64]) -> float:
    """Accuracy from a confusion matrix; raises InsufficientDataError when it is empty."""
    total = int(matrix.sum())
    check_not_empty(total, "y_true")
    return float(np.trace(matrix) / total)


def _safe_divide(num: NDArray[np.float64], den: NDArray[np.float64], fill: float) -> NDArray[Any]:
    out = np.full(num.shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def prf_from_confusion(
    matrix: NDArray[np.int64],
    classes: NDArray[Any],
    metric: Literal["precision", "recall", "f1"],
    average: str = "binary",
    pos_label: object = 1,
    zero_division: float = 0.0,
) -> float:
    """Precision, recall or F1 from a confusion matrix, as scikit-learn defines them.

    Labels that appear in neither the true nor the predicted column are ignored, so
    a matrix over a superset of labels gives the same numbers.
    """
    if average not in _AVERAGES:
        raise InputError(f"average: expected one of {_AVERAGES}, got {average!r}")
    if not 0.0 <= zero_division <= 1.0:
        raise InputError(f"zero_division: expected a number in [0, 1], got {zero_division!r}")
    check_not_empty(int(matrix.sum()), "y_true")
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    matrix = matrix[np.ix_(present, present)]
    classes = classes[present]
    tp = np.diag(matrix).astype(np.float64)
    pred_pos = matrix.sum(axis=0).astype(np.float64)
    true_pos = matrix.sum(axis=1).astype(np.float64)
    if average == "binary":
        if classes.size > 2:
            raise InputError(
                f"average: 'binary' needs at most 2 classes, got {classes.size} "
                f"{_preview(classes)}; use 'micro', 'macro' or 'weighted'"
            )
        values = [_to_python(c) for c in classes]
        if pos_label not in values:
            if classes.size == 2:
                raise InputError(
                    f"pos_label: expected one of the labels {_preview(classes)}, got {pos_label!r}"
                )
            tp, pred_pos, true_pos = np.zeros(1), np.zeros(1), np.zeros(1)
        else:
            i = values.index(pos_label)
            tp, pred_pos, true_pos = tp[i : i + 1], pred_pos[i : i + 1], true_pos[i : i + 1]
    elif average == "micro":
        tp, pred_pos, true_pos = (np.array([a.sum()]) for a in (tp, pred_pos, true_pos))
    if metric == "precision":
        per_class = _safe_divide(tp, pred_pos, zero_division)
    elif metric == "recall":
        per_class = _safe_divide(tp, true_pos, zero_division)
    else:
        per_class = _safe_divide(2.0 * tp, pred_pos + true_pos, zero_division)
    if average == "weighted":
        support = matrix.sum(axis=1).astype(np.float64)
        return float(np.average(per_class, weights=support))
    return float(per_class.mean())


def _prf(
    metric: Literal["precision", "recall", "f1"],
    y_true: ArrayLike,
    y_pred: ArrayLike,
    average: Average,
    pos_label: object,
    zero_division: float,
) -> float:
    matrix, classes = confusion_matrix(y_true, y_pred)
    return prf_from_confusion(matrix, classes, metric, average, pos_label, zero_division)


def precision_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = "binary",
    pos_label: object = 1,
    zero_division: float = 0.0,
) -> float:
    """Precision, tp / (tp + fp); higher is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels (ints, bools or strings).
    average : {"binary", "micro", "macro", "weighted"}, default "binary"
        "binary": the score of ``pos_label`` (at most two classes present);
        "micro": from the total counts; "macro": unweighted mean over the labels
        present in ``y_true`` or ``y_pred``; "weighted": mean weighted by support.
    pos_label : object, default 1
        The positive class for ``average="binary"``.
    zero_division : float, default 0.0
        Value of a class's precision when it was never predicted (scikit-learn's
        ``zero_division=0``).

    Raises
    ------
    InputError
        Unequal lengths, mixed label kinds, more than two classes with "binary",
        or a ``pos_label`` that is not one of two present labels.
    InsufficientDataError
        If there are no rows.

    Examples
    --------
    >>> precision_score([0, 1, 1, 0], [1, 1, 1, 0])
    0.6666666666666666
    >>> precision_score(["a", "b", "c"], ["a", "b", "b"], average="macro")
    0.5
    """
    return _prf("precision", y_true, y_pred, average, pos_label, zero_division)


def recall_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = "binary",
    pos_label: object = 1,
    zero_division: float = 0.0,
) -> float:
    """Recall (true positive rate), tp / (tp + fn); higher is better.

    Parameters and errors as in :func:`precision_score`; ``zero_division`` is the
    value of a class's recall when it never occurs in ``y_true``.

    Examples
    --------
    >>> recall_score([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    return _prf("recall", y_true, y_pred, average, pos_label, zero_division)


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = "binary",
    pos_label: object = 1,
    zero_division: float = 0.0,
) -> float:
    """F1, the harmonic mean of precision and recall, 2tp / (2tp + fp + fn); higher is better.

    Parameters and errors as in :func:`precision_score`; ``zero_division`` is the
    value of a class's F1 when it is neither true nor predicted anywhere. Macro F1
    is the mean of per-class F1 (not the F1 of macro precision and recall).

    Examples
    --------
    >>> round(f1_score([0, 1, 1, 0], [1, 1, 0, 0]), 4)
    0.5
    """
    return _prf("f1", y_true, y_pred, average, pos_label, zero_division)
