"""Model performance metrics: exact on raw arrays, and mergeable counts.

Functions named ``*_score`` are better when higher; ``*_error`` and ``*_loss``
are better when lower. Undefined cases (no rows, one class for ROC AUC, a
constant target for R²) raise :class:`driftline.errors.InsufficientDataError`;
bad shapes, lengths or values raise :class:`driftline.errors.InputError`.

:class:`ClassificationCounts` and :class:`RegressionCounts` are small summaries
that merge across windows and partitions and give the same metrics (exactly, or
within a stated bound for binned ones). :func:`get_metric` and
:func:`available_metrics` expose a registry of :class:`MetricSpec`.

Examples
--------
>>> from driftline.stats.metrics import f1_score, get_metric
>>> f1_score([0, 1, 1], [0, 1, 0])
0.6666666666666666
>>> get_metric("roc_auc").greater_is_better
True
"""

from __future__ import annotations

from driftline.stats.metrics._classification import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)
from driftline.stats.metrics._counts import ClassificationCounts
from driftline.stats.metrics._probabilistic import (
    brier_score_loss,
    expected_calibration_error,
    log_loss,
)
from driftline.stats.metrics._ranking import average_precision_score, roc_auc_score
from driftline.stats.metrics._registry import MetricSpec, available_metrics, get_metric
from driftline.stats.metrics._regression import (
    error_quantiles,
    mean_absolute_error,
    mean_absolute_percentage_error,
    r2_score,
    root_mean_squared_error,
)
from driftline.stats.metrics._regression_counts import RegressionCounts

__all__ = [
    "ClassificationCounts",
    "MetricSpec",
    "RegressionCounts",
    "accuracy_score",
    "available_metrics",
    "average_precision_score",
    "brier_score_loss",
    "confusion_matrix",
    "error_quantiles",
    "expected_calibration_error",
    "f1_score",
    "get_metric",
    "log_loss",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "precision_score",
    "r2_score",
    "recall_score",
    "roc_auc_score",
    "root_mean_squared_error",
]
