"""Histogram summaries of predicted probabilities, the score part of ClassificationCounts.

Layout of ``hist`` (int64, one column per bin of :func:`bin_index`):

- binary (1-d positive-class probabilities): 2 rows, negatives then positives;
- multiclass ((n, k) probabilities over the sorted labels): 2k + 2 rows, the
  bins of column j among rows of class j (k rows), the bins of column j over all
  rows (k rows), then the top-label confidence bins: all rows, and the rows
  whose arg-max class was right.

``prob_sum`` (1 row) sums the binned probability per bin: the positive-class
probability (binary) or the top-label confidence (multiclass).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from driftline.stats.metrics._probabilistic import (
    bin_index,
    binary_brier_terms,
    binary_log_loss_terms,
    calibration_bins,
    multiclass_brier_terms,
    multiclass_log_loss_terms,
    top_label,
)

ScoreMode = Literal["binary", "multiclass"]


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """Binned scores and exact running sums of one batch (see the module docstring)."""

    hist: NDArray[np.int64]
    prob_sum: NDArray[np.float64]
    log_loss_sum: float
    brier_sum: float
    n: int


def summarise_binary(
    s: NDArray[np.float64], is_pos: NDArray[np.bool_], n_bins: int
) -> ScoreSummary:
    """Summarise positive-class probabilities ``s`` with the truth ``is_pos``."""
    b = bin_index(s, n_bins)
    hist = np.stack(
        [np.bincount(b[~is_pos], minlength=n_bins), np.bincount(b[is_pos], minlength=n_bins)]
    ).astype(np.int64)
    return ScoreSummary(
        hist=hist,
        prob_sum=np.bincount(b, weights=s, minlength=n_bins)[None, :].astype(np.float64),
        log_loss_sum=float(binary_log_loss_terms(s, is_pos).sum()),
        brier_sum=float(binary_brier_terms(s, is_pos).sum()),
        n=int(s.shape[0]),
    )


def summarise_multiclass(
    s: NDArray[np.float64], t_idx: NDArray[np.intp], n_bins: int
) -> ScoreSummary:
    """Summarise an (n, k) probability matrix with true class indexes ``t_idx``."""
    n, k = s.shape
    b = bin_index(s, n_bins)
    all_hist = np.bincount((np.arange(k) * n_bins + b).ravel(), minlength=k * n_bins)
    pos_hist = np.bincount(t_idx * n_bins + b[np.arange(n), t_idx], minlength=k * n_bins)
    confidence, hit = top_label(s, t_idx)
    top = calibration_bins(confidence, hit, n_bins)
    hist = np.concatenate(
        [pos_hist.reshape(k, n_bins), all_hist.reshape(k, n_bins), top[:2].astype(np.int64)]
    )
    return ScoreSummary(
        hist=hist.astype(np.int64),
        prob_sum=top[2:],
        log_loss_sum=float(multiclass_log_loss_terms(s, t_idx).sum()),
        brier_sum=float(multiclass_brier_terms(s, t_idx).sum()),
        n=int(n),
    )


def one_vs_rest_bins(
    mode: ScoreMode, hist: NDArray[np.int64], labels: list[object], pos_label: object
) -> list[tuple[object, NDArray[np.float64], NDArray[np.float64]]]:
    """(class, positives per bin, negatives per bin) for each one-vs-rest problem."""
    h = hist.astype(np.float64)
    if mode == "binary":
        return [(pos_label, h[1], h[0])]
    k = len(labels)
    return [(labels[j], h[j], h[k + j] - h[j]) for j in range(k)]


def calibration_fine_bins(
    mode: ScoreMode, hist: NDArray[np.int64], prob_sum: NDArray[np.float64], k: int
) -> NDArray[Any]:
    """Per-bin (count, hits, probability sum) in the layout of ``calibration_bins``."""
    h = hist.astype(np.float64)
    if mode == "binary":
        return np.stack([h[0] + h[1], h[1], prob_sum[0]])
    return np.stack([h[2 * k], h[2 * k + 1], prob_sum[0]])
