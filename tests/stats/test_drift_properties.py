"""Hypothesis properties: count forms equal raw forms, distances stay in range."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial import distance

from driftline.stats.drift import (
    aligned_category_counts,
    available_methods,
    bin_counts,
    get_method,
    quantile_edges,
)

BINNED = [n for n in available_methods() if get_method(n).from_counts and get_method(n).numerical]
CATEGORICAL = [n for n in available_methods() if get_method(n).categorical and n != "z_test"]
VALUES = hnp.arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)
LABELS = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=60)


@pytest.mark.parametrize("name", BINNED)
@settings(max_examples=25, deadline=None)
@given(ref=VALUES, cur=VALUES, n_bins=st.integers(1, 10))
def test_numerical_equals_from_counts_on_reference_bins(
    name: str, ref: np.ndarray, cur: np.ndarray, n_bins: int
) -> None:
    m = get_method(name)
    assert m.numerical is not None and m.from_counts is not None
    edges = quantile_edges(ref, n_bins)
    expected = m.from_counts(bin_counts(ref, edges), bin_counts(cur, edges))
    assert m.numerical(ref, cur, n_bins=n_bins) == expected


@pytest.mark.parametrize("name", CATEGORICAL)
@settings(max_examples=25, deadline=None)
@given(ref=LABELS, cur=LABELS)
def test_categorical_equals_from_counts_on_union(name: str, ref: list[str], cur: list[str]) -> None:
    m = get_method(name)
    assert m.categorical is not None and m.from_counts is not None
    cats = sorted(set(ref) | set(cur))
    rc, cc = Counter(ref), Counter(cur)
    expected = m.from_counts([rc[c] for c in cats], [cc[c] for c in cats])
    assert m.categorical(np.array(ref, dtype=object), np.array(cur, dtype=object)) == expected


@settings(max_examples=50, deadline=None)
@given(
    ref=hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(0, 1000)),
    data=st.data(),
)
def test_distances_in_range(ref: np.ndarray, data: st.DataObject) -> None:
    cur = data.draw(hnp.arrays(np.int64, ref.size, elements=st.integers(0, 1000)))
    if ref.sum() == 0 or cur.sum() == 0:
        return
    js = get_method("jensen_shannon").from_counts
    assert js is not None
    js_value = js(ref, cur).statistic
    assert 0.0 <= js_value <= 1.0
    assert js_value == pytest.approx(distance.jensenshannon(ref, cur, base=2), abs=1e-7)
    for name in ("hellinger", "total_variation"):
        fn = get_method(name).from_counts
        assert fn is not None
        assert 0.0 <= fn(ref, cur).statistic <= 1.0
    for name in ("psi", "kl"):
        fn = get_method(name).from_counts
        assert fn is not None
        assert fn(ref, cur).statistic >= 0.0


def test_aligned_category_counts_mixed_and_missing() -> None:
    ref = np.array([1, "x", None, 1, float("nan")], dtype=object)
    cats, r, c = aligned_category_counts(ref, np.array(["x", 2.5], dtype=object))
    assert cats == (1, "x", 2.5)  # unorderable labels: reference order, then new ones
    assert r.tolist() == [2, 1, 0] and c.tolist() == [0, 1, 1]
    cats, r, c = aligned_category_counts(np.array([True, False, True]), np.array([True]))
    assert cats == (False, True) and r.tolist() == [1, 2] and c.tolist() == [0, 1]
    cats, r, c = aligned_category_counts(np.array([3.0, np.nan, 1.0]), np.array([2, 3]))
    assert cats == (1.0, 2, 3.0) and r.tolist() == [1, 0, 1] and c.tolist() == [0, 1, 1]


INT_DTYPES = st.sampled_from([np.int8, np.int64, np.uint8, np.uint64, np.bool_])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), dtype=INT_DTYPES, wide=st.booleans())
def test_aligned_category_counts_integer_labels(
    data: st.DataObject, dtype: type, wide: bool
) -> None:
    """The bincount fast path (small ranges) and the sort path agree with Counter."""
    elements: st.SearchStrategy[int] | st.SearchStrategy[bool]
    if dtype is np.bool_:
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        low, high = int(info.min), int(info.max)
        elements = st.integers(low, high) if wide else st.integers(max(low, -5), min(high, 40))
    ref = data.draw(hnp.arrays(dtype, st.integers(0, 50), elements=elements))
    cur = data.draw(hnp.arrays(dtype, st.integers(0, 50), elements=elements))
    cats, r, c = aligned_category_counts(ref, cur)
    rc, cc = Counter(ref.tolist()), Counter(cur.tolist())
    assert list(cats) == sorted(set(rc) | set(cc))
    assert r.tolist() == [rc[k] for k in cats]
    assert c.tolist() == [cc[k] for k in cats]
