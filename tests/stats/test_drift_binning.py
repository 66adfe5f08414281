"""Reference-quantile bins and one-pass bin counting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from driftline.errors import InputError, InsufficientDataError
from driftline.stats.drift import bin_counts, quantile_edges

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def test_quantile_edges_deciles() -> None:
    edges = quantile_edges(np.arange(1.0, 101.0))
    assert edges[0] == -np.inf and edges[-1] == np.inf
    np.testing.assert_array_equal(edges[1:-1], np.arange(10.0, 91.0, 10.0))
    np.testing.assert_array_equal(bin_counts(np.arange(1.0, 101.0), edges), np.full(10, 10))


def test_quantile_edges_few_distinct_values() -> None:
    below = np.nextafter(7.0, -np.inf)
    assert quantile_edges(np.full(50, 7.0)).tolist() == [-np.inf, below, 7.0, np.inf]
    assert quantile_edges(np.full(50, 7.0), n_bins=2).tolist() == [-np.inf, 7.0, np.inf]
    assert quantile_edges(np.full(50, 7.0), n_bins=1).tolist() == [-np.inf, np.inf]
    edges = quantile_edges(np.array([0.0] * 90 + [1.0] * 10), n_bins=10)
    assert edges.tolist() == [-np.inf, np.nextafter(0.0, -1.0), 0.0, np.inf]
    # a heavy maximum is an edge: values above the reference range get their own bin
    edges = quantile_edges(np.array([-3.0, -2.0] + [5.0] * 28), n_bins=10)
    assert edges.tolist() == [-np.inf, 5.0, np.inf]
    assert bin_counts(np.array([-3.0, 5.0, 6.0]), edges).tolist() == [2, 1]


def test_constant_reference_still_sees_drift() -> None:
    const = np.full(100, 3.0)
    edges = quantile_edges(const)
    assert bin_counts(const, edges).tolist() == [0, 100, 0]
    assert bin_counts(np.full(10, 4.0), edges).tolist() == [0, 0, 10]
    assert bin_counts(np.full(10, 2.0), edges).tolist() == [10, 0, 0]


def test_quantile_edges_ignore_nonfinite() -> None:
    x = np.array([np.nan, 1.0, 2.0, np.inf, 3.0, 4.0, -np.inf])
    assert quantile_edges(x, 2).tolist() == [-np.inf, 2.0, np.inf]


def test_quantile_edges_errors() -> None:
    with pytest.raises(InsufficientDataError, match="values has 0 usable values"):
        quantile_edges(np.array([np.nan]))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="n_bins: expected an integer >= 1"):
            quantile_edges(np.arange(5.0), bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="values: expected a numeric array, got strings"):
        quantile_edges(np.array(["a", "b"]))


def test_bin_counts_closed_sides_and_outliers() -> None:
    edges = np.array([0.0, 1.0, 2.0])
    x = np.array([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, np.nan, np.inf])
    # [0, 1] holds 0, 0.5, 1; (1, 2] holds 1.5, 2; -1, 2.5, nan and inf are outside
    assert bin_counts(x, edges).tolist() == [3, 2]
    infinite = np.array([-np.inf, 0.0, np.inf])
    assert bin_counts(np.array([-np.inf, -5.0, 0.0, 3.0, np.inf]), infinite).tolist() == [3, 2]
    assert bin_counts(np.array([1, 2, 3], dtype=np.int32), np.array([0.0, 2.0, 5.0])).tolist() == [
        2,
        1,
    ]
    assert bin_counts(np.array([]), edges).tolist() == [0, 0]
    assert bin_counts(np.array([0.5]), edges).dtype == np.int64


def test_bin_counts_errors() -> None:
    with pytest.raises(InputError, match="edges: expected strictly increasing"):
        bin_counts(np.arange(3.0), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="edges: expected at least 2 bin edges"):
        bin_counts(np.arange(3.0), np.array([0.0]))
    with pytest.raises(InputError, match="values: expected a 1-D array"):
        bin_counts(np.ones((2, 2)), np.array([0.0, 1.0]))


@settings(max_examples=60, deadline=None)
@given(
    values=hnp.arrays(np.float64, st.integers(1, 80), elements=FINITE),
    n_bins=st.integers(1, 12),
)
def test_quantile_edges_properties(values: np.ndarray, n_bins: int) -> None:
    edges = quantile_edges(values, n_bins)
    assert edges[0] == -np.inf and edges[-1] == np.inf
    assert (np.diff(edges) > 0).all()
    n = edges.size - 1
    assert min(n_bins, 2) <= n <= n_bins
    assert n <= np.unique(values).size + 2
    counts = bin_counts(values, edges)
    assert counts.sum() == values.size
    # only the outer bins (beyond the reference's minimum or maximum) can be empty
    assert (counts[1:-1] > 0).all()
    if counts[0] == 0:
        assert edges[1] < values.min()
    if counts[-1] == 0:
        assert edges[-2] == values.max()


@settings(max_examples=60, deadline=None)
@given(
    values=hnp.arrays(np.float64, st.integers(0, 60), elements=st.one_of(FINITE, st.just(np.nan))),
    inner=hnp.arrays(np.float64, st.integers(2, 6), elements=FINITE, unique=True),
)
def test_bin_counts_matches_brute_force(values: np.ndarray, inner: np.ndarray) -> None:
    edges = np.sort(inner)
    counts = bin_counts(values, edges)
    expected = [np.sum((values > lo) & (values <= hi)) for lo, hi in itertools.pairwise(edges)]
    expected[0] += np.sum(values == edges[0])
    assert counts.tolist() == expected
