"""Probabilistic classification metrics: log loss, Brier score, expected calibration error.

Each is a mean of per-row terms (or of per-bin sums), so the helpers that
produce those terms also feed the running sums of
:class:`~driftline.stats.metrics.ClassificationCounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftline.errors import InputError
from driftline.stats.metrics._ranking import binary_target
from driftline.stats.metrics._validation import (
    _preview,
    as_label_array,
    as_probabilities,
    check_not_empty,
    encode_to,
    resolve_labels,
)

_EPS = float(np.finfo(np.float64).eps)


def bin_index(p: NDArray[np.float64], n_bins: int) -> NDArray[np.intp]:
    """Equal-width bin of each probability: bin b holds (b/n_bins, (b+1)/n_bins].

    Bin 0 also holds 0, as in scikit-learn's ``calibration_curve``. Edges are
    ``i / n_bins`` (correctly rounded), so the edges of ``n_bins`` bins are exactly
    a subset of the edges of any multiple of ``n_bins`` bins.
    """
    guess = np.clip(np.ceil(p * n_bins) - 1.0, 0.0, n_bins - 1.0)
    # p * n_bins can round across an edge; compare with the exact edge (a correctly
    # rounded division, the same value as ``i / n_bins``) and move one bin if needed
    guess -= (guess > 0.0) & (p <= guess / n_bins)
    guess += (guess < n_bins - 1.0) & (p > (guess + 1.0) / n_bins)
    return guess.astype(np.intp)


def check_n_bins(n_bins: int, name: str = "n_bins") -> None:
    """Raise InputError unless ``n_bins`` is a positive int."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise InputError(f"{name}: expected a positive int, got {n_bins!r}")


def binary_log_loss_terms(p: NDArray[np.float64], is_pos: NDArray[np.bool_]) -> NDArray[Any]:
    """Per-row cross-entropy of a positive-class probability, clipped to [eps, 1 - eps]."""
    p_pos = np.clip(p, _EPS, 1.0 - _EPS)
    p_neg = np.clip(1.0 - p, _EPS, 1.0 - _EPS)
    return np.asarray(-np.log(np.where(is_pos, p_pos, p_neg)))


def multiclass_log_loss_terms(proba: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[Any]:
    """Per-row cross-entropy of the true class's probability, clipped to [eps, 1 - eps]."""
    p_true = proba[np.arange(idx.size), idx]
    return np.asarray(-np.log(np.clip(p_true, _EPS, 1.0 - _EPS)))


def binary_brier_terms(p: NDArray[np.float64], is_pos: NDArray[np.bool_]) -> NDArray[Any]:
    """Per-row squared error of a positive-class probability."""
    return np.asarray((is_pos.astype(np.float64) - p) ** 2)


def multiclass_brier_terms(proba: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[Any]:
    """Per-row sum over classes of (p_k - 1[y = k])^2."""
    p_true = proba[np.arange(idx.size), idx]
    return np.asarray(np.sum(proba**2, axis=1) - 2.0 * p_true + 1.0)


def top_label(
    proba: NDArray[np.float64], idx: NDArray[np.intp]
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Confidence (largest probability) and correctness (arg-max equals truth) per row."""
    pred = np.argmax(proba, axis=1)
    return proba[np.arange(idx.size), pred], pred == idx


def calibration_bins(
    confidence: NDArray[np.float64], hit: NDArray[np.bool_], n_bins: int
) -> NDArray[np.float64]:
    """Per-bin (count, hits, sum of confidence) as an array of shape (3, n_bins)."""
    b = bin_index(confidence, n_bins)
    return np.stack(
        [
            np.bincount(b, minlength=n_bins).astype(np.float64),
            np.bincount(b, weights=hit.astype(np.float64), minlength=n_bins),
            np.bincount(b, weights=confidence, minlength=n_bins),
        ]
    )


def ece_from_bins(bins: NDArray[np.float64]) -> float:
    """ECE = sum_b (n_b / n) |hit rate_b - mean confidence_b| from :func:`calibration_bins`."""
    return float(np.sum(np.abs(bins[1] - bins[2])) / bins[0].sum())


def _prob_inputs(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    labels: Sequence[object] | None,
    pos_label: object | None,
    name: str,
) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """Validate; return probabilities and either an is-positive mask (1-d) or class indexes (2-d)."""
    t = as_label_array(y_true, "y_true")
    p = as_probabilities(y_prob, "y_prob", t.shape[0])
    check_not_empty(t.shape[0], "y_true")
    if p.ndim == 1:
        is_pos, _ = binary_target(t, pos_label, name)
        return p, is_pos
    classes = resolve_labels(labels, np.unique(t))
    if classes.size != p.shape[1]:
        raise InputError(
            f"y_prob: expected one column per class ({classes.size} classes "
            f"{_preview(classes)}), got {p.shape[1]} columns; pass labels"
        )
    idx, _ = encode_to(t, classes)
    return p, idx


def log_loss(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    labels: Sequence[object] | None = None,
    pos_label: object | None = None,
) -> float:
    """Mean cross-entropy (natural log) of the true class; lower is better.

    Probabilities are clipped to ``[eps, 1 - eps]`` (float64 machine epsilon), as
    scikit-learn does, so a confident mistake costs about 36, not infinity.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_prob : array-like of shape (n,) or (n, k)
        1-d: probability of the positive class. 2-d: one column per class,
        aligned to ``labels``; rows should sum to one (they are not renormalised).
    labels : sequence, optional
        Column order of a 2-d ``y_prob``; default the sorted labels of ``y_true``.
    pos_label : object, optional
        Positive class for 1-d input; default the greater of two labels, or 1 when
        ``y_true`` holds a single numeric label.

    Raises
    ------
    InputError
        Probabilities outside [0, 1], bad shapes or lengths, a column count that
        does not match the labels.
    InsufficientDataError
        If there are no rows.

    Examples
    --------
    >>> round(log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]), 5)
    0.21616
    """
    p, target = _prob_inputs(y_true, y_prob, labels, pos_label, "log loss")
    if p.ndim == 1:
        return float(np.mean(binary_log_loss_terms(p, target)))
    return float(np.mean(multiclass_log_loss_terms(p, target)))


def brier_score_loss(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    labels: Sequence[object] | None = None,
    pos_label: object | None = None,
) -> float:
    """Brier score, the mean squared error of predicted probabilities; lower is better.

    1-d input: ``mean((1[y = pos] - p)^2)``. 2-d input: ``mean(sum_k (p_k - 1[y = k])^2)``
    (scikit-learn's ``scale_by_half="auto"``). Parameters and errors as in
    :func:`log_loss`.

    Examples
    --------
    >>> round(brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]), 4)
    0.0375
    """
    p, target = _prob_inputs(y_true, y_prob, labels, pos_label, "Brier score")
    if p.ndim == 1:
        return float(np.mean(binary_brier_terms(p, target)))
    return float(np.mean(multiclass_brier_terms(p, target)))


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    labels: Sequence[object] | None = None,
    pos_label: object | None = None,
) -> float:
    """Expected calibration error over equal-width probability bins; lower is better.

    ``ECE = sum_b (n_b / n) |observed rate_b - mean predicted probability_b|``.
    1-d input (binary): the probability of the positive class against the positive
    rate, on the bins of scikit-learn's ``calibration_curve(strategy="uniform")``.
    2-d input (multiclass): top-label calibration, the largest probability against
    whether its class was right.

    Parameters
    ----------
    y_true, y_prob, labels, pos_label
        As in :func:`log_loss`.
    n_bins : int, default 10
        Number of equal-width bins on [0, 1]; bin b holds (b/n_bins, (b+1)/n_bins].

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3], n_bins=2), 4)
    0.175
    """
    check_n_bins(n_bins)
    p, target = _prob_inputs(y_true, y_prob, labels, pos_label, "calibration error")
    if p.ndim == 1:
        return ece_from_bins(calibration_bins(p, target, n_bins))
    confidence, hit = top_label(p, target)
    return ece_from_bins(calibration_bins(confidence, hit, n_bins))
