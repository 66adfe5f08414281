"""Mergeable regression summary: running sums, Chan-merged moments and a KLL error sketch."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from driftline.errors import IncompatibleProfilesError, InputError, InsufficientDataError
from driftline.stats.metrics._regression import (
    DEFAULT_QUANTILES,
    MAPE_EPSILON,
    check_quantiles,
    regression_inputs,
)


def _kll() -> Any:
    """``datasketches.kll_doubles_sketch``, imported on first use (not by ``import driftline.stats``)."""
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch


_FORMAT = "driftline.regression_counts/1"
_SUMS = ("sum_abs_error", "sum_sq_error", "sum_ape", "sum_error")


class RegressionCounts:
    """Mergeable summary of (y_true, y_pred) pairs that yields regression metrics.

    MAE, RMSE, MAPE, mean error and R² come from running sums and from the mean
    and centred sum of squares of ``y_true``, merged with Chan et al.'s parallel
    formula, so they equal the exact values up to floating-point rounding. Error
    quantiles come from an Apache DataSketches KLL sketch of ``y_pred - y_true``:
    exact while at most ``kll_k`` rows have been seen, afterwards within a
    normalised rank error of about 1.3 % (for the default ``kll_k=200``, at 99 %
    confidence; see :meth:`quantile_rank_error`).

    Parameters
    ----------
    kll_k : int, default 200
        Size parameter of the KLL sketch (larger: more accurate and bigger).

    Examples
    --------
    >>> a, b = RegressionCounts(), RegressionCounts()
    >>> a.update([3.0, -0.5], [2.5, 0.0])
    >>> b.update([2.0, 7.0], [2.0, 8.0])
    >>> m = a.merge(b).metrics()
    >>> m["mean_absolute_error"], round(m["r2"], 4)
    (0.5, 0.9486)
    """

    def __init__(self, kll_k: int = 200) -> None:
        if isinstance(kll_k, bool) or not isinstance(kll_k, int) or not 8 <= kll_k <= 65535:
            raise InputError(f"kll_k: expected an int in [8, 65535], got {kll_k!r}")
        self._k = kll_k
        self._n = 0
        self._sums = dict.fromkeys(_SUMS, 0.0)
        self._mean_true = 0.0
        self._m2_true = 0.0
        self._sketch = _kll()(kll_k)

    @property
    def n(self) -> int:
        """Number of rows counted."""
        return self._n

    def update(self, y_true: ArrayLike, y_pred: ArrayLike) -> None:
        """Add a batch of rows; InputError for non-finite values or unequal lengths."""
        t, p = regression_inputs(y_true, y_pred)
        n = t.shape[0]
        if n == 0:
            return
        err = p - t
        abs_err = np.abs(err)
        batch = {
            "sum_abs_error": float(abs_err.sum()),
            "sum_sq_error": float(np.dot(err, err)),
            "sum_ape": float(np.sum(abs_err / np.maximum(np.abs(t), MAPE_EPSILON))),
            "sum_error": float(err.sum()),
        }
        mean = float(t.mean())
        centred = t - mean
        self._combine(n, batch, mean, float(np.dot(centred, centred)))
        self._sketch.update(np.ascontiguousarray(err))

    def _combine(self, n_b: int, sums: dict[str, float], mean_b: float, m2_b: float) -> None:
        """Chan et al.: merge (n, mean, M2) of another part into this one."""
        n_a = self._n
        n = n_a + n_b
        delta = mean_b - self._mean_true
        self._mean_true += delta * n_b / n
        self._m2_true += m2_b + delta * delta * n_a * n_b / n
        self._n = n
        for key in _SUMS:
            self._sums[key] += sums[key]

    def merge(self, other: RegressionCounts) -> RegressionCounts:
        """Return a new summary of the rows of both.

        Raises
        ------
        IncompatibleProfilesError
            If ``other`` is not a RegressionCounts or uses another ``kll_k``.
        """
        if not isinstance(other, RegressionCounts):
            raise IncompatibleProfilesError(
                f"other: expected RegressionCounts, got {type(other).__name__}"
            )
        if other._k != self._k:
            raise IncompatibleProfilesError(f"other: expected kll_k={self._k}, got {other._k}")
        out = RegressionCounts.from_dict(self.to_dict())
        if other._n:
            out._combine(other._n, other._sums, other._mean_true, other._m2_true)
            out._sketch.merge(other._sketch)
        return out

    def quantile_rank_error(self) -> float:
        """Normalised rank error of :meth:`error_quantiles` (0 while exact)."""
        if self._n <= self._k:
            return 0.0
        return float(self._sketch.normalized_rank_error(False))

    def error_quantiles(self, q: Sequence[float] = DEFAULT_QUANTILES) -> dict[float, float]:
        """Approximate quantiles of ``y_pred - y_true``; InsufficientDataError without rows.

        While exact (n <= kll_k) the value at level q is the ``ceil(q n)``-th
        smallest error (no interpolation), which can differ from numpy's linear
        interpolation by less than the gap between neighbouring errors.
        """
        levels = check_quantiles(q)
        if self._n == 0:
            raise InsufficientDataError("y_true: no rows; error quantiles are undefined")
        values = self._sketch.get_quantiles(list(levels), True)
        return {level: float(v) for level, v in zip(levels, values, strict=True)}

    def metrics(self) -> dict[str, float | None]:
        """MAE, RMSE, MAPE, R², mean error and the default error quantiles; None if undefined.

        Keys: ``mean_absolute_error``, ``root_mean_squared_error``,
        ``mean_absolute_percentage_error``, ``r2`` (None for a constant target),
        ``mean_error`` and ``error_quantile_<q>`` for q in (0.05, 0.25, 0.5, 0.75, 0.95).
        All are None without rows; :meth:`reasons` says why.
        """
        n = self._n
        names = [
            "mean_absolute_error",
            "root_mean_squared_error",
            "mean_absolute_percentage_error",
            "r2",
            "mean_error",
        ] + [f"error_quantile_{q}" for q in DEFAULT_QUANTILES]
        if n == 0:
            return dict.fromkeys(names)
        s = self._sums
        out: dict[str, float | None] = {
            "mean_absolute_error": s["sum_abs_error"] / n,
            "root_mean_squared_error": float(np.sqrt(s["sum_sq_error"] / n)),
            "mean_absolute_percentage_error": s["sum_ape"] / n,
            "r2": None if self._m2_true == 0.0 else 1.0 - s["sum_sq_error"] / self._m2_true,
            "mean_error": s["sum_error"] / n,
        }
        for q, v in self.error_quantiles().items():
            out[f"error_quantile_{q}"] = v
        return out

    def reasons(self) -> dict[str, str]:
        """For each metric that :meth:`metrics` reports as None, the reason."""
        if self._n == 0:
            return dict.fromkeys(self.metrics(), "no rows were counted")
        if self._m2_true == 0.0:
            return {"r2": f"y_true is constant over all {self._n} rows; R² is undefined"}
        return {}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (the sketch as base64 bytes); :meth:`from_dict` restores it exactly."""
        return {
            "format": _FORMAT,
            "kll_k": self._k,
            "n": self._n,
            **self._sums,
            "mean_true": self._mean_true,
            "m2_true": self._m2_true,
            "error_sketch": base64.b64encode(self._sketch.serialize()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegressionCounts:
        """Rebuild from :meth:`to_dict` output; InputError when ``d`` is malformed."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise InputError(f"d: expected a dict with format {_FORMAT!r}, got {got!r}")
        try:
            out = cls(int(d["kll_k"]))
            out._n = int(d["n"])
            out._sums = {key: float(d[key]) for key in _SUMS}
            out._mean_true = float(d["mean_true"])
            out._m2_true = float(d["m2_true"])
            raw = base64.b64decode(d["error_sketch"], validate=True)
            out._sketch = _kll().deserialize(raw)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise InputError(f"d: malformed RegressionCounts state ({exc})") from exc
        if out._sketch.n != out._n:
            raise InputError(f"d: sketch holds {out._sketch.n} rows, expected n={out._n}")
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RegressionCounts):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RegressionCounts(n={self._n}, kll_k={self._k})"
