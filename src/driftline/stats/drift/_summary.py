"""Drift from summaries that mergeable profiles hold (private).

These are the large-data path: a profile keeps a CDF on a grid of points or a
quantile sketch, never the raw values. Each function here agrees with its exact
counterpart on raw arrays up to the resolution of the summary.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from driftline.errors import InputError

from ._numerical import KS_MIN_SAMPLES, WASSERSTEIN_MIN_SAMPLES, normed_wasserstein
from ._result import DriftResult
from ._scipy import scipy_stats
from ._validation import as_1d, check_enough, preview


def _float_vector(values: ArrayLike, name: str, size: int | None = None) -> np.ndarray:
    arr = as_1d(values, name)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: expected numeric values, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if size is not None and arr.size != size:
        raise InputError(f"{name}: expected {size} values (one per point), got {arr.size}")
    return arr


def _check_count(n: int, name: str, method: str, needed: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InputError(f"{name}: expected a non-negative integer, got {n!r}")
    check_enough(int(n), needed, name, method)
    return int(n)


def ks_from_cdfs(
    points: ArrayLike,
    reference_cdf: ArrayLike,
    current_cdf: ArrayLike,
    n_reference: int,
    n_current: int,
) -> DriftResult:
    """Kolmogorov-Smirnov statistic and asymptotic p-value from two CDFs on common points.

    The statistic is ``max |F_ref(x) - F_cur(x)|`` over the given points; it
    equals the exact two-sample statistic when the points include every
    observed value, and is a lower bound otherwise. The p-value is the
    asymptotic one of ``scipy.stats.ks_2samp(method="asymp")``:
    ``scipy.scipy_stats().kstwo.sf(D, round(n_r n_c / (n_r + n_c)))``. Lower p-value
    means stronger evidence of drift; symmetric.

    Parameters
    ----------
    points : array_like
        1-D evaluation points (e.g. a quantile sketch's split points).
    reference_cdf, current_cdf : array_like
        Each CDF evaluated at ``points`` (fraction of values <= point), in [0, 1].
    n_reference, n_current : int
        Number of values each CDF was built from.

    Returns
    -------
    DriftResult
        ``method="ks"``.

    Examples
    --------
    >>> r = ks_from_cdfs([1.0, 2.0, 3.0], [0.2, 0.6, 1.0], [0.1, 0.3, 1.0], 500, 400)
    >>> round(r.statistic, 6), r.p_value < 1e-10
    (0.3, True)
    """
    pts = _float_vector(points, "points")
    if pts.size == 0:
        raise InputError("points: expected at least one evaluation point, got 0")
    ref = _float_vector(reference_cdf, "reference_cdf", pts.size)
    cur = _float_vector(current_cdf, "current_cdf", pts.size)
    for name, cdf in (("reference_cdf", ref), ("current_cdf", cur)):
        bad = ~((cdf >= 0.0) & (cdf <= 1.0))
        if bad.any():
            raise InputError(f"{name}: expected values in [0, 1], got {preview(cdf[bad])}")
    n_ref = _check_count(n_reference, "n_reference", "ks", KS_MIN_SAMPLES)
    n_cur = _check_count(n_current, "n_current", "ks", KS_MIN_SAMPLES)
    d = float(np.max(np.abs(ref - cur)))
    big, small = max(n_ref, n_cur), min(n_ref, n_cur)
    en = big * small / (big + small)
    p_value = float(np.clip(scipy_stats().kstwo.sf(d, round(en)), 0.0, 1.0))
    return DriftResult("ks", d, p_value, n_ref, n_cur)


def wasserstein_from_quantiles(
    probabilities: ArrayLike,
    reference_quantiles: ArrayLike,
    current_quantiles: ArrayLike,
    reference_std: float,
    *,
    n_reference: int = 0,
    n_current: int = 0,
) -> DriftResult:
    """Normed Wasserstein-1 distance from two quantile functions on a common grid.

    ``W1 = integral over p of |Q_ref(p) - Q_cur(p)|``, by the trapezoid rule on
    the given grid, divided by ``reference_std`` like :func:`wasserstein`
    (0.0 for equal quantiles, ``inf`` for a positive distance over a zero
    standard deviation). Only ``[probabilities[0], probabilities[-1]]`` is
    integrated: include 0 and 1 (the minimum and maximum) to cover the tails. A
    grid of a few hundred points agrees with the exact value within about 1%
    on smooth distributions. Higher means more drift; not symmetric.

    Parameters
    ----------
    probabilities : array_like
        1-D strictly increasing probabilities in [0, 1], at least two.
    reference_quantiles, current_quantiles : array_like
        Finite quantiles at ``probabilities``.
    reference_std : float
        Standard deviation of the reference (``ddof=0``), >= 0.
    n_reference, n_current : int, default 0
        Number of values behind each summary, recorded in the result (0 means
        unknown and skips the minimum-size check).

    Returns
    -------
    DriftResult
        ``method="wasserstein"``, ``p_value=None``.

    Examples
    --------
    >>> r = wasserstein_from_quantiles([0.0, 0.5, 1.0], [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], 2.0)
    >>> r.statistic
    0.5
    """
    p = _float_vector(probabilities, "probabilities")
    if p.size < 2:
        raise InputError(f"probabilities: expected at least 2 probabilities, got {p.size}")
    if not ((p >= 0.0) & (p <= 1.0)).all() or not (np.diff(p) > 0).all():
        raise InputError(
            f"probabilities: expected strictly increasing values in [0, 1], got {preview(p)}"
        )
    ref = _float_vector(reference_quantiles, "reference_quantiles", p.size)
    cur = _float_vector(current_quantiles, "current_quantiles", p.size)
    for name, q in (("reference_quantiles", ref), ("current_quantiles", cur)):
        if not np.isfinite(q).all():
            raise InputError(
                f"{name}: expected finite quantiles, got {preview(q[~np.isfinite(q)])}"
            )
    std = float(reference_std)
    if not math.isfinite(std) or std < 0.0:
        raise InputError(f"reference_std: expected a finite number >= 0, got {reference_std!r}")
    needed = WASSERSTEIN_MIN_SAMPLES
    n_ref = _check_count(n_reference, "n_reference", "wasserstein", needed if n_reference else 0)
    n_cur = _check_count(n_current, "n_current", "wasserstein", needed if n_current else 0)
    gap = np.abs(ref - cur)
    distance = float(np.sum(0.5 * (gap[1:] + gap[:-1]) * np.diff(p)))
    return DriftResult("wasserstein", normed_wasserstein(distance, std), None, n_ref, n_cur)
