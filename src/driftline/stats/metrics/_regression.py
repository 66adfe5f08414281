"""Regression metrics on raw arrays: MAE, RMSE, MAPE, R² and error quantiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftline.errors import InputError, InsufficientDataError
from driftline.stats.metrics._validation import as_float_array, check_length, check_not_empty

MAPE_EPSILON = float(np.finfo(np.float64).eps)
"""Floor on ``|y_true|`` in MAPE's denominator (scikit-learn's choice)."""

DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


def regression_inputs(
    y_true: ArrayLike, y_pred: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate two equal-length 1-d arrays of finite numbers."""
    t = as_float_array(y_true, "y_true")
    p = as_float_array(y_pred, "y_pred")
    check_length(t.shape[0], p, "y_pred", "y_true")
    return t, p


def _nonempty(
    y_true: ArrayLike, y_pred: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t, p = regression_inputs(y_true, y_pred)
    check_not_empty(t.shape[0], "y_true")
    return t, p


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean of ``|y_true - y_pred|``; lower is better.

    Raises
    ------
    InputError
        Non-numeric, non-finite, not 1-d, or unequal lengths.
    InsufficientDataError
        If there are no rows.

    Examples
    --------
    >>> mean_absolute_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.5
    """
    t, p = _nonempty(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def root_mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Square root of the mean of ``(y_true - y_pred)^2``; lower is better.

    Errors as in :func:`mean_absolute_error`.

    Examples
    --------
    >>> root_mean_squared_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.6123724356957945
    """
    t, p = _nonempty(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean of ``|y_true - y_pred| / max(|y_true|, eps)``, as a fraction; lower is better.

    As scikit-learn defines it: not multiplied by 100, and ``eps`` is float64
    machine epsilon (:data:`MAPE_EPSILON`), so a zero target gives a huge but
    finite term rather than infinity. Errors as in :func:`mean_absolute_error`.

    Examples
    --------
    >>> round(mean_absolute_percentage_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]), 4)
    0.3274
    """
    t, p = _nonempty(y_true, y_pred)
    return float(np.mean(np.abs(t - p) / np.maximum(np.abs(t), MAPE_EPSILON)))


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination, ``1 - SS_res / SS_tot``; higher is better (1 is perfect).

    Raises
    ------
    InsufficientDataError
        If ``y_true`` is constant (``SS_tot = 0``, including a single row): R² is
        undefined there. scikit-learn returns 0.0 or 1.0 by convention; driftline
        does not report a number it cannot compute.
    InputError
        As in :func:`mean_absolute_error`.

    Examples
    --------
    >>> round(r2_score([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]), 4)
    0.9486
    """
    t, p = _nonempty(y_true, y_pred)
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        raise InsufficientDataError(
            f"y_true: R² is undefined for a constant target (all {t.shape[0]} rows equal {t[0]!r})"
        )
    return float(1.0 - np.sum((t - p) ** 2) / ss_tot)


def check_quantiles(q: Sequence[float]) -> tuple[float, ...]:
    """Validate quantile levels in [0, 1]; return them as a tuple of floats."""
    levels = np.asarray(q, dtype=np.float64).reshape(-1)
    if levels.size == 0 or not np.all((levels >= 0.0) & (levels <= 1.0)):
        raise InputError(
            f"q: expected quantile levels in [0, 1], got {list(np.asarray(q).reshape(-1))}"
        )
    return tuple(float(v) for v in levels)


def error_quantiles(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    q: Sequence[float] = DEFAULT_QUANTILES,
) -> dict[float, float]:
    """Quantiles of the signed error ``y_pred - y_true`` (positive: over-prediction).

    Neither higher nor lower is better: a good model has quantiles close to 0 and
    a narrow spread. Uses numpy's default (linear) interpolation.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted values.
    q : sequence of float, default (0.05, 0.25, 0.5, 0.75, 0.95)
        Quantile levels in [0, 1].

    Returns
    -------
    dict
        ``{level: error quantile}`` in the order of ``q``.

    Examples
    --------
    >>> error_quantiles([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.5, 2.0, 4.0, 6.0], q=(0.0, 0.5, 1.0))
    {0.0: -1.0, 0.5: 0.0, 1.0: 1.0}
    """
    levels = check_quantiles(q)
    t, p = _nonempty(y_true, y_pred)
    values = np.quantile(p - t, levels)
    return {level: float(v) for level, v in zip(levels, values, strict=True)}
