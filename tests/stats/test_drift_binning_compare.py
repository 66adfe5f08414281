"""bin_counts counts by comparisons for few edges and by search for many: both agree."""

from __future__ import annotations

import numpy as np
import pytest

from driftline.stats.drift import bin_counts, quantile_edges


def _by_search(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    index = np.searchsorted(edges, values, side="left")
    counts = np.bincount(index, minlength=edges.size + 1)[1 : edges.size].astype(np.int64)
    counts[0] += np.count_nonzero(values == edges[0])
    return counts


@pytest.mark.parametrize("n_edges", [2, 5, 21, 64, 65, 300])
def test_comparisons_and_search_agree(rng: np.random.Generator, n_edges: int) -> None:
    for trial in range(20):
        pool = np.array([-np.inf, np.inf, np.nan, 0.0, 1.0, 2.5, -3.0, 7.0])
        values = rng.choice(pool, 500) if trial % 2 else rng.normal(size=500).round(1)
        edges = np.unique(rng.normal(size=n_edges * 3).round(2))[:n_edges]
        if edges.size < 2:
            continue
        if trial % 3 == 0:
            edges = np.concatenate([[-np.inf], edges[1:-1], [np.inf]])
        got = bin_counts(values, edges)
        assert got.dtype == np.int64
        assert got.tolist() == _by_search(values.astype(np.float64), edges).tolist()


def test_integer_and_boolean_values(rng: np.random.Generator) -> None:
    edges = np.array([-np.inf, 0.0, 0.5, 3.0, np.inf])
    ints = rng.integers(-5, 5, 300)
    assert bin_counts(ints, edges).tolist() == _by_search(ints.astype(float), edges).tolist()
    flags = rng.random(300) < 0.3
    assert bin_counts(flags, edges).tolist() == [int((~flags).sum()), 0, int(flags.sum()), 0]


@pytest.mark.parametrize(
    "kind", ["normal", "lognormal", "few_values", "huge_outliers", "rounded", "mostly_zero", "tiny"]
)
@pytest.mark.parametrize("n_bins", [2, 10, 20, 100])
def test_quantile_edges_select_what_np_quantile_gives(
    rng: np.random.Generator, kind: str, n_bins: int
) -> None:
    n = 60_001
    values = {
        "normal": lambda: rng.normal(size=n),
        "lognormal": lambda: rng.lognormal(0.0, 2.0, n),
        "few_values": lambda: rng.integers(0, 5, n).astype(np.float64),
        "huge_outliers": lambda: np.concatenate([rng.normal(size=n - 2), [1e300, -1e300]]),
        "rounded": lambda: np.round(rng.normal(size=n), 2),
        "mostly_zero": lambda: np.where(rng.random(n) < 0.7, 0.0, rng.normal(size=n)),
        "tiny": lambda: rng.random(n) * 1e-300,
    }[kind]()
    probabilities = np.arange(1, n_bins, dtype=np.float64) / n_bins
    want = np.unique(np.quantile(values, probabilities, method="inverted_cdf"))
    edges = quantile_edges(values, n_bins=n_bins)
    interior = edges[1:-1]
    if interior.size > want.size:  # the documented extra edge just below the minimum
        assert interior[0] == np.nextafter(want[0], -np.inf)
        interior = interior[1:]
    assert interior.tolist() == want.tolist()
