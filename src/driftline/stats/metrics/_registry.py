"""A registry of scalar metrics with their direction and inputs, for monitors and common tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from driftline.errors import InputError
from driftline.stats.metrics._classification import (
    Average,
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
)
from driftline.stats.metrics._probabilistic import (
    brier_score_loss,
    expected_calibration_error,
    log_loss,
)
from driftline.stats.metrics._ranking import average_precision_score, roc_auc_score
from driftline.stats.metrics._regression import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    r2_score,
    root_mean_squared_error,
)

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What a metric is: name, tasks, direction, inputs, function and a one-line description.

    Attributes
    ----------
    name : str
        Registry key; also the key in ``ClassificationCounts.metrics()`` and
        ``RegressionCounts.metrics()``.
    task : frozenset of {"binary", "multiclass", "regression"}
        Tasks the metric applies to.
    greater_is_better : bool
        True for ``*_score``-like metrics, False for errors and losses.
    needs : {"labels", "scores"}
        ``func(y_true, y_pred)`` takes predicted labels (or values, for regression)
        with "labels", and probabilities (1-d positive-class or 2-d per-class)
        with "scores".
    func : callable
        ``func(y_true, y_pred_or_scores, **kwargs) -> float`` on raw arrays.
    description : str
        One line for reports and the UI.

    Examples
    --------
    >>> spec = get_metric("f1_macro")
    >>> spec.greater_is_better, spec.needs, sorted(spec.task)
    (True, 'labels', ['binary', 'multiclass'])
    >>> spec.func(["a", "b", "b"], ["a", "b", "a"])
    0.6666666666666666
    """

    name: str
    task: frozenset[Task]
    greater_is_better: bool
    needs: Literal["labels", "scores"]
    func: Callable[..., float]
    description: str

    def supports(self, task: str) -> bool:
        """Whether the metric applies to ``task``."""
        return task in self.task


_CLASSIFICATION = frozenset[Task]({"binary", "multiclass"})
_BINARY = frozenset[Task]({"binary"})
_REGRESSION = frozenset[Task]({"regression"})


_AVERAGES: tuple[tuple[Average, str], ...] = (
    ("micro", "from total counts over all classes"),
    ("macro", "averaged over classes without weights"),
    ("weighted", "averaged over classes weighted by support"),
)


def _label_metrics() -> list[MetricSpec]:
    """Accuracy, then precision, recall and F1: binary and each average."""
    specs = [
        MetricSpec(
            "accuracy",
            _CLASSIFICATION,
            True,
            "labels",
            accuracy_score,
            "Fraction of rows predicted correctly.",
        ),
    ]
    funcs = {"precision": precision_score, "recall": recall_score, "f1": f1_score}
    words = {"precision": "Precision", "recall": "Recall", "f1": "F1"}
    for metric, fn in funcs.items():
        specs.append(
            MetricSpec(
                metric,
                _BINARY,
                True,
                "labels",
                partial(fn, average="binary"),
                f"{words[metric]} of the positive class.",
            )
        )
        for avg, what in _AVERAGES:
            specs.append(
                MetricSpec(
                    f"{metric}_{avg}",
                    _CLASSIFICATION,
                    True,
                    "labels",
                    partial(fn, average=avg),
                    f"{words[metric]} {what}.",
                )
            )
    return specs


def _score_metrics() -> list[MetricSpec]:
    """The classification metrics of predicted probabilities."""
    return [
        MetricSpec(
            "roc_auc",
            _CLASSIFICATION,
            True,
            "scores",
            roc_auc_score,
            "Area under the ROC curve (one-vs-rest macro for multiclass).",
        ),
        MetricSpec(
            "average_precision",
            _CLASSIFICATION,
            True,
            "scores",
            average_precision_score,
            "Area under the precision-recall curve, step-wise (one-vs-rest macro).",
        ),
        MetricSpec(
            "log_loss",
            _CLASSIFICATION,
            False,
            "scores",
            log_loss,
            "Mean cross-entropy of the true class.",
        ),
        MetricSpec(
            "brier_score_loss",
            _CLASSIFICATION,
            False,
            "scores",
            brier_score_loss,
            "Mean squared error of predicted probabilities.",
        ),
        MetricSpec(
            "expected_calibration_error",
            _CLASSIFICATION,
            False,
            "scores",
            expected_calibration_error,
            "Gap between predicted probability and observed rate, over 10 bins.",
        ),
    ]


def _regression_metrics() -> list[MetricSpec]:
    """The regression metrics."""
    return [
        MetricSpec(
            "mean_absolute_error",
            _REGRESSION,
            False,
            "labels",
            mean_absolute_error,
            "Mean absolute error.",
        ),
        MetricSpec(
            "root_mean_squared_error",
            _REGRESSION,
            False,
            "labels",
            root_mean_squared_error,
            "Square root of the mean squared error.",
        ),
        MetricSpec(
            "mean_absolute_percentage_error",
            _REGRESSION,
            False,
            "labels",
            mean_absolute_percentage_error,
            "Mean absolute error relative to |y_true|.",
        ),
        MetricSpec(
            "r2",
            _REGRESSION,
            True,
            "labels",
            r2_score,
            "Coefficient of determination (1 is perfect).",
        ),
    ]


def _build() -> dict[str, MetricSpec]:
    specs = [*_label_metrics(), *_score_metrics(), *_regression_metrics()]
    return {spec.name: spec for spec in specs}


_REGISTRY = _build()


def get_metric(name: str) -> MetricSpec:
    """Return the :class:`MetricSpec` registered under ``name``.

    Raises
    ------
    InputError
        If no metric has that name; the message lists the known names.

    Examples
    --------
    >>> get_metric("log_loss").greater_is_better
    False
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(f"name: expected one of {sorted(_REGISTRY)}, got {name!r}") from None


def available_metrics(task: str | None = None) -> list[str]:
    """Sorted names of the registered metrics, optionally only those for ``task``.

    Examples
    --------
    >>> available_metrics("regression")
    ['mean_absolute_error', 'mean_absolute_percentage_error', 'r2', 'root_mean_squared_error']
    """
    if task is not None and task not in TASKS:
        raise InputError(f"task: expected one of {TASKS} or None, got {task!r}")
    return sorted(n for n, spec in _REGISTRY.items() if task is None or task in spec.task)
