"""Each drift kernel checked against scipy (or a hand formula built on scipy)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from driftline.errors import InputError, InsufficientDataError
from driftline.stats import drift as d


def _brute_bin_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Right-closed bins counted one by one (first bin also closed on the left)."""
    out = [np.sum((x > lo) & (x <= hi)) for lo, hi in itertools.pairwise(edges)]
    out[0] += np.sum(x == edges[0])
    return np.array(out)


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift", "ties"),
    [
        (30, 40, 0.5, False),
        (200, 150, 0.1, True),
        (3000, 5000, 0.05, False),
        (12000, 11000, 0.0, True),
    ],
)
def test_ks_matches_scipy(
    rng: np.random.Generator, n_ref: int, n_cur: int, shift: float, ties: bool
) -> None:
    a, b = rng.normal(size=n_ref), rng.normal(shift, 1.0, size=n_cur)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    expected = stats.ks_2samp(a, b)
    res = d.ks(a, b)
    assert res.statistic == pytest.approx(float(expected.statistic), abs=1e-15)
    assert res.p_value == pytest.approx(float(expected.pvalue), rel=1e-12)
    assert (res.n_reference, res.n_current) == (n_ref, n_cur)


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "ties"),
    [(2, 2, False), (3, 7, True), (50, 50, False), (333, 1000, True), (700, 900, False)],
)
def test_wasserstein_matches_scipy(
    rng: np.random.Generator, n_ref: int, n_cur: int, ties: bool
) -> None:
    a, b = rng.gamma(2.0, 3.0, size=n_ref), rng.gamma(2.5, 3.0, size=n_cur)
    if ties:
        a, b = np.round(a), np.round(b)
    res = d.wasserstein(a, b)
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    assert res.statistic == pytest.approx(expected, rel=1e-12)
    assert res.p_value is None
    assert (res.n_reference, res.n_current) == (n_ref, n_cur)


def test_wasserstein_of_a_shift_is_the_shift(rng: np.random.Generator) -> None:
    a = rng.normal(size=500)
    assert d.wasserstein(a, a + 2.0).statistic == pytest.approx(2.0 / np.std(a), rel=1e-9)


def test_wasserstein_constant_reference() -> None:
    const = np.full(10, 3.0)
    assert d.wasserstein(const, const[:5]).statistic == 0.0
    assert d.wasserstein(const, np.array([3.0, 4.0])).statistic == math.inf


def test_anderson_darling_matches_scipy(rng: np.random.Generator) -> None:
    for shift in (0.0, 0.15, 1.0):
        a, b = rng.normal(size=300), rng.normal(shift, 1.0, size=250)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # scipy's p-value capping notice
            expected = stats.anderson_ksamp([a, b], variant="midrank")
        res = d.anderson_darling(a, b)
        assert res.statistic == pytest.approx(float(expected.statistic), rel=1e-12)
        assert res.p_value == pytest.approx(float(expected.pvalue), rel=1e-12)
        assert res.p_value is not None and 0.001 <= res.p_value <= 0.25  # scipy's interpolation cap


def test_anderson_darling_all_equal_is_insufficient() -> None:
    with pytest.raises(InsufficientDataError, match="at least 2 distinct values"):
        d.anderson_darling(np.ones(20), np.ones(30))


def test_jensen_shannon_matches_scipy(rng: np.random.Generator) -> None:
    ref, cur = rng.integers(0, 50, size=12), rng.integers(0, 50, size=12)
    ref[3] = 0
    expected = distance.jensenshannon(ref, cur, base=2)
    assert d.jensen_shannon_from_counts(ref, cur).statistic == pytest.approx(expected, rel=1e-12)

    a, b = rng.normal(size=2000), rng.normal(0.4, 1.2, size=1500)
    edges = d.quantile_edges(a, 10)
    expected = distance.jensenshannon(
        _brute_bin_counts(a, edges), _brute_bin_counts(b, edges), base=2
    )
    assert d.jensen_shannon_numerical(a, b).statistic == pytest.approx(expected, rel=1e-12)


def test_kl_matches_scipy_entropy(rng: np.random.Generator) -> None:
    ref, cur = rng.integers(1, 50, size=8), rng.integers(1, 50, size=8)
    res = d.kl_from_counts(ref, cur)
    assert res.statistic == pytest.approx(stats.entropy(cur, ref), rel=1e-12)
    # an empty reference bin: smoothed to eps then renormalised
    ref[2], eps = 0, 1e-3
    r = np.where(ref == 0, eps, ref / ref.sum())
    c = cur / cur.sum()
    res = d.kl_from_counts(ref, cur, eps=eps)
    assert res.statistic == pytest.approx(stats.entropy(c, r), rel=1e-12)
    assert math.isfinite(res.statistic)


def test_psi_is_symmetrised_kl(rng: np.random.Generator) -> None:
    ref, cur = rng.integers(1, 90, size=10), rng.integers(1, 90, size=10)
    expected = stats.entropy(cur, ref) + stats.entropy(ref, cur)
    assert d.psi_from_counts(ref, cur).statistic == pytest.approx(expected, rel=1e-12)
    # hand formula with the default eps=1e-4 on an empty current bin
    cur[0] = 0
    r = ref / ref.sum()
    c = np.where(cur == 0, 1e-4, cur / cur.sum())
    c = c / c.sum()
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert d.psi_from_counts(ref, cur).statistic == pytest.approx(expected, rel=1e-12)


def test_hellinger_and_total_variation_match_formulas(rng: np.random.Generator) -> None:
    ref, cur = rng.integers(0, 40, size=9), rng.integers(0, 40, size=9)
    p, q = ref / ref.sum(), cur / cur.sum()
    hell = math.sqrt(max(1.0 - float(np.sum(np.sqrt(p * q))), 0.0))
    assert d.hellinger_from_counts(ref, cur).statistic == pytest.approx(hell, rel=1e-9)
    tv = 0.5 * distance.cityblock(p, q)
    assert d.total_variation_from_counts(ref, cur).statistic == pytest.approx(tv, rel=1e-12)
    assert d.hellinger_from_counts([1, 0], [0, 1]).statistic == 1.0
    assert d.total_variation_from_counts([1, 0], [0, 1]).statistic == 1.0


def test_chi_square_matches_chi2_contingency(rng: np.random.Generator) -> None:
    for k in (2, 3, 7):
        ref, cur = rng.integers(5, 80, size=k), rng.integers(5, 80, size=k)
        expected = stats.chi2_contingency(np.vstack((ref, cur)), correction=False)
        res = d.chi_square_from_counts(ref, cur)
        assert res.statistic == pytest.approx(float(expected.statistic), rel=1e-12)
        assert res.p_value == pytest.approx(float(expected.pvalue), rel=1e-9)


def test_chi_square_drops_empty_bins_and_handles_one_bin() -> None:
    expected = stats.chi2_contingency(np.array([[10, 20], [15, 5]]), correction=False)
    res = d.chi_square_from_counts([10, 0, 20, 0], [15, 0, 5, 0])
    assert res.p_value == pytest.approx(float(expected.pvalue), rel=1e-12)
    one = d.chi_square_from_counts([0, 7, 0], [0, 3, 0])
    assert (one.statistic, one.p_value) == (0.0, 1.0)


def test_chi_square_categorical_on_labels(rng: np.random.Generator) -> None:
    a = rng.choice(["x", "y", "z"], size=500, p=[0.5, 0.3, 0.2])
    b = rng.choice(["x", "y", "z", "w"], size=400, p=[0.4, 0.3, 0.2, 0.1])
    table = np.array([[np.sum(s == c) for c in ("w", "x", "y", "z")] for s in (a, b)])
    expected = stats.chi2_contingency(table, correction=False)
    res = d.chi_square_categorical(a, b)
    assert res.statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert res.p_value == pytest.approx(float(expected.pvalue), rel=1e-9)


def test_z_test_matches_hand_formula(rng: np.random.Generator) -> None:
    a, b = rng.random(800) < 0.3, rng.random(600) < 0.36
    p1, p2 = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (a.size + b.size)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / a.size + 1 / b.size))
    res = d.z_test(a, b)
    assert res.statistic == pytest.approx(abs(z), rel=1e-12)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    # z**2 is the uncorrected 2x2 chi-square statistic, with the same p-value
    chi = d.chi_square_categorical(a, b)
    assert chi.statistic == pytest.approx(z**2, rel=1e-9)
    assert chi.p_value == pytest.approx(res.p_value, rel=1e-9)


def test_z_test_edge_cases() -> None:
    same = d.z_test(["a"] * 5, ["a"] * 7)
    assert (same.statistic, same.p_value) == (0.0, 1.0)
    with pytest.raises(InputError, match="z_test needs at most two categories, got 3"):
        d.z_test(["a", "b"], ["c"])


def test_benjamini_hochberg_matches_scipy(rng: np.random.Generator) -> None:
    p = np.concatenate((rng.random(40), rng.random(10) * 1e-3, [0.0, 1.0, 0.5, 0.5]))
    expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(d.benjamini_hochberg(p), expected, rtol=1e-12)


def test_benjamini_hochberg_nan_aware(rng: np.random.Generator) -> None:
    p = rng.random(20)
    with_nan = np.insert(p, [0, 5, 20], np.nan)
    out = d.benjamini_hochberg(with_nan)
    assert np.isnan(out[[0, 6, 22]]).all()
    np.testing.assert_allclose(
        out[~np.isnan(out)], stats.false_discovery_control(p, method="bh"), rtol=1e-12
    )
    assert np.isnan(d.benjamini_hochberg(np.array([np.nan, np.nan]))).all()
    with pytest.raises(InputError, match=r"p_values: expected values in \[0, 1\]"):
        d.benjamini_hochberg([0.2, 1.5])
    with pytest.raises(InputError, match="p_values: expected a 1-D array"):
        d.benjamini_hochberg([[0.2]])
