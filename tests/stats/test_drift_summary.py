"""The summary-based kernels agree with the exact ones on raw data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from driftline.errors import InputError, InsufficientDataError
from driftline.stats import drift as d


def _ecdf(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.sort(x), points, side="right") / x.size


def test_ks_from_cdfs_on_all_points_is_exact(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=3000), rng.normal(0.1, 1.0, size=2000)
    points = np.sort(np.concatenate((a, b)))
    res = d.ks_from_cdfs(points, _ecdf(a, points), _ecdf(b, points), a.size, b.size)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert res.statistic == pytest.approx(float(expected.statistic), abs=1e-15)
    assert res.p_value == pytest.approx(float(expected.pvalue), rel=1e-12)
    assert (res.n_reference, res.n_current) == (3000, 2000)


def test_ks_from_cdfs_on_sketch_points_agrees(rng: np.random.Generator) -> None:
    """200 quantile points of 100k values: statistic within 0.005 of the exact one."""
    a, b = rng.normal(size=100_000), rng.normal(0.05, 1.1, size=100_000)
    points = np.quantile(np.concatenate((a, b)), np.linspace(0.0, 1.0, 201))
    res = d.ks_from_cdfs(points, _ecdf(a, points), _ecdf(b, points), a.size, b.size)
    exact = d.ks(a, b)
    assert res.statistic <= exact.statistic + 1e-12
    assert res.statistic == pytest.approx(exact.statistic, abs=0.005)
    assert res.p_value is not None and exact.p_value is not None
    assert res.p_value < 1e-10 and exact.p_value < 1e-10


def test_wasserstein_from_quantiles_agrees(rng: np.random.Generator) -> None:
    """A 1001-point quantile grid of 100k values: within 1% of the exact normed W1."""
    a, b = rng.normal(size=100_000), rng.gamma(4.0, 0.5, size=100_000)
    p = np.linspace(0.0, 1.0, 1001)
    res = d.wasserstein_from_quantiles(
        p,
        np.quantile(a, p),
        np.quantile(b, p),
        float(np.std(a)),
        n_reference=a.size,
        n_current=b.size,
    )
    exact = d.wasserstein(a, b)
    assert res.statistic == pytest.approx(exact.statistic, rel=0.01)
    assert (res.method, res.p_value, res.n_reference, res.n_current) == (
        "wasserstein",
        None,
        100_000,
        100_000,
    )


def test_wasserstein_from_quantiles_is_exact_for_equal_size_samples(
    rng: np.random.Generator,
) -> None:
    """For n = m the sorted values are the quantile function: the midpoint grid is exact."""
    a, b = rng.normal(size=50), rng.normal(1.0, 2.0, size=50)
    sa, sb = np.sort(a), np.sort(b)
    # each order statistic at both ends of its 1/n slice: a step function, so the
    # trapezoid rule is exact up to the 1e-12-wide joins between slices
    p = np.repeat(np.arange(51) / 50, 2)[1:-1] + np.tile([1e-12, 0.0], 50)
    res = d.wasserstein_from_quantiles(p, np.repeat(sa, 2), np.repeat(sb, 2), float(np.std(a)))
    assert res.statistic == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9)


def test_wasserstein_from_quantiles_zero_std() -> None:
    p = [0.0, 1.0]
    assert d.wasserstein_from_quantiles(p, [2.0, 2.0], [2.0, 2.0], 0.0).statistic == 0.0
    assert d.wasserstein_from_quantiles(p, [2.0, 2.0], [2.0, 3.0], 0.0).statistic == math.inf


def test_summary_validation() -> None:
    with pytest.raises(InputError, match=r"reference_cdf: expected values in \[0, 1\]"):
        d.ks_from_cdfs([1.0, 2.0], [0.5, 1.5], [0.5, 1.0], 10, 10)
    with pytest.raises(InputError, match="current_cdf: expected 2 values"):
        d.ks_from_cdfs([1.0, 2.0], [0.5, 1.0], [1.0], 10, 10)
    with pytest.raises(InsufficientDataError, match="n_current has 0 usable values"):
        d.ks_from_cdfs([1.0], [1.0], [1.0], 10, 0)
    with pytest.raises(InputError, match="probabilities: expected strictly increasing"):
        d.wasserstein_from_quantiles([0.0, 0.5, 0.5], [1, 2, 3], [1, 2, 3], 1.0)
    with pytest.raises(InputError, match="reference_std: expected a finite number >= 0"):
        d.wasserstein_from_quantiles([0.0, 1.0], [1, 2], [1, 2], -1.0)
    with pytest.raises(InsufficientDataError, match="n_reference has 1 usable values"):
        d.wasserstein_from_quantiles([0.0, 1.0], [1, 2], [1, 2], 1.0, n_reference=1, n_current=5)
