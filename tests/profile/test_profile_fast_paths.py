"""The fast paths of profiling give what the plain computations give."""

from __future__ import annotations

import datasketches as ds
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from driftline.profile import NumericalProfile
from driftline.profile._categorical import _sort_key, _sorted_counts
from driftline.profile._hll import (
    _HLL8_HEADER,
    UNORDERED_MIN_VALUES,
    _coupon_values,
    _out_of_order_sketch,
    hll_coupons,
    hll_of_floats,
)
from driftline.stats.drift import bin_counts, quantile_edges


def _plain_registers(values: np.ndarray, lg_k: int) -> bytes:
    sketch = ds.hll_sketch(lg_k, ds.HLL_8)
    for v in values.tolist():
        sketch.update(v)
    return sketch.serialize_updatable()[_HLL8_HEADER:]


def test_coupon_values_match_python_bit_length(rng: np.random.Generator) -> None:
    powers = np.uint64(1) << np.arange(64, dtype=np.uint64)
    h = np.concatenate(
        [
            rng.integers(0, 2**64 - 1, size=50_000, dtype=np.uint64, endpoint=True),
            np.array([0, 2**11 - 1, 2**53 - 1, 2**53 + 1, 2**64 - 1], dtype=np.uint64),
            powers,
            powers - np.uint64(1),
            rng.integers(0, 2**11, size=1_000, dtype=np.uint64),
        ]
    )
    expected = [min(64 - v.bit_length(), 62) + 1 for v in h.tolist()]
    assert _coupon_values(h).tolist() == expected


@pytest.mark.parametrize("n", [3_000, 20_000])
def test_hll_of_sorted_unique_values_has_the_registers_of_every_value(
    rng: np.random.Generator, n: int
) -> None:
    x = np.round(rng.normal(size=n), 3)
    fast = hll_of_floats(np.unique(x), 10)
    assert fast.serialize_updatable()[_HLL8_HEADER:] == _plain_registers(x, 10)


def _expected(values: np.ndarray, edges: np.ndarray) -> dict[str, object]:
    finite = values[np.isfinite(values)]
    mean = finite.sum() / finite.size
    return {
        "n_missing": int(np.isnan(values).sum()),
        "n_pos_inf": int((values == np.inf).sum()),
        "n_neg_inf": int((values == -np.inf).sum()),
        "n_zero": int((finite == 0.0).sum()),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "sum": float(finite.sum()),
        "m2": float(((finite - mean) ** 2).sum()),
        "counts": bin_counts(finite, edges).tolist(),
    }


@settings(max_examples=60, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(1, 400),
        elements=st.one_of(
            st.floats(allow_nan=True, allow_infinity=True, width=16),
            st.sampled_from([0.0, -0.0, 1.0, -1.0]),
        ),
    )
)
def test_numerical_profile_matches_plain_numpy(values: np.ndarray) -> None:
    finite = values[np.isfinite(values)]
    edges = quantile_edges(finite, n_bins=5) if finite.size else np.array([-np.inf, np.inf])
    p = NumericalProfile.from_values(values, edges=edges)
    if not finite.size:
        assert p.n_zero == 0 and p.histogram[1].tolist() == [0] * (edges.size - 1)
        return
    expected = _expected(values, edges)
    got = {key: getattr(p, key) for key in expected if key != "counts"}
    got["counts"] = p.histogram[1].tolist()
    assert got == expected
    # the sign of a zero min/max is numpy's, as before the sort
    assert str(p.min) == str(float(finite.min())) and str(p.max) == str(float(finite.max()))


def test_numerical_profile_sketches_stay_within_their_guarantees(
    rng: np.random.Generator,
) -> None:
    x = np.round(rng.lognormal(size=50_000), 2)
    x[::50] = np.nan
    p = NumericalProfile.from_values(x)
    finite = np.sort(x[np.isfinite(x)])
    probabilities = np.linspace(0.01, 0.99, 25)
    ranks = np.searchsorted(finite, p.quantiles(probabilities), side="right") / finite.size
    assert np.abs(ranks - probabilities).max() <= p.rank_error + 1e-3  # ties at 0.01 steps
    n_distinct = np.unique(finite).size
    assert abs(p.distinct_count / n_distinct - 1) < 0.05


@pytest.mark.parametrize("n_edges", [2, 5, 21, 100])
def test_bin_counts_of_sorted_values_match_the_general_path(
    rng: np.random.Generator, n_edges: int
) -> None:
    x = np.round(rng.normal(size=5_000), 1)
    x[:10] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.nan, 1.0, 1.0, -1.0, 3.0]
    edges = np.unique(rng.choice(x[np.isfinite(x)], n_edges - 2))
    for inner in (edges, np.round(np.linspace(-3, 3, n_edges), 1)):
        for outer in ((-np.inf, np.inf), (-2.0, 2.5)):
            e = np.unique(np.concatenate([[outer[0]], inner, [outer[1]]]))
            e = e[(e >= outer[0]) & (e <= outer[1])]
            fast = bin_counts(np.sort(x), e, assume_sorted=True)
            assert fast.dtype == np.int64
            assert fast.tolist() == bin_counts(x, e).tolist()


@settings(max_examples=50, deadline=None)
@given(
    counts=st.dictionaries(
        st.one_of(st.text(max_size=4), st.integers(-20, 20), st.booleans(), st.floats(-5, 5)),
        st.integers(1, 5),
        max_size=40,
    ),
    strings=st.dictionaries(st.text(max_size=4), st.integers(1, 5), max_size=40),
)
def test_sorted_counts_order_is_the_sort_key_order(
    counts: dict[object, int], strings: dict[str, int]
) -> None:
    for c in (counts, strings):
        expected = sorted(c.items(), key=_sort_key)  # type: ignore[arg-type]
        assert list(_sorted_counts(c).items()) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("lg_k", "n"), [(4, 5_000), (12, 30_000), (16, 300_000)])
def test_hll_counters_are_the_per_register_sums(
    rng: np.random.Generator, lg_k: int, n: int
) -> None:
    image = hll_of_floats(rng.standard_cauchy(n), lg_k).serialize_updatable()
    registers = np.frombuffer(image, dtype=np.uint8, offset=_HLL8_HEADER)
    inverse = np.ldexp(1.0, -registers.astype(np.int64))
    low = registers < 32
    kxq = np.frombuffer(image[16:32], dtype="<f8")
    assert kxq.tolist() == [float(inverse[low].sum()), float(inverse[~low].sum())]


def _fed_then_set(values: np.ndarray, lg_k: int) -> bytes:
    """Feed values until HLL mode, then set the registers of the rest (no shortcut)."""
    chunk = max(64, 1 << max(lg_k - 3, 0))
    sketch = ds.hll_sketch(lg_k, ds.HLL_8)
    start = 0
    while start < values.size and (
        start == 0 or "Current Mode   : HLL" not in sketch.to_string(True, False, False, False)
    ):
        for v in values[start : start + chunk].tolist():
            sketch.update(v)
        start += chunk
    if values.size - start < UNORDERED_MIN_VALUES:
        for v in values[start:].tolist():
            sketch.update(v)
        return sketch.serialize_updatable()
    image = bytearray(sketch.serialize_updatable())
    registers = np.frombuffer(image, dtype=np.uint8, offset=_HLL8_HEADER).copy()
    slot, value = hll_coupons(values[start:], lg_k)
    np.maximum.at(registers, slot, value.astype(np.uint8))
    return _out_of_order_sketch(image, registers).serialize_updatable()


@pytest.mark.parametrize("lg_k", [4, 6, 8, 9, 10, 12, 14])
@pytest.mark.parametrize("decimals", [1, 2, 3, 8])
def test_hll_without_feeding_is_the_fed_sketch_byte_for_byte(
    rng: np.random.Generator, lg_k: int, decimals: int
) -> None:
    # few decimals: too many repeats in the first values, so they are fed after all
    x = np.round(rng.normal(size=(1 << max(lg_k - 3, 6)) + 5_000), decimals) + 0.0
    assert hll_of_floats(x, lg_k).serialize_updatable() == _fed_then_set(x, lg_k)
