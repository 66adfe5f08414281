"""The fast HLL feeding gives byte-for-byte the sketch that feeding every value gives."""

from __future__ import annotations

import datasketches as ds
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from driftline.profile._hll import feed_floats, hll_coupons


def _plain(values: np.ndarray, lg_k: int, tgt: ds.tgt_hll_type) -> ds.hll_sketch:
    sketch = ds.hll_sketch(lg_k, tgt)
    for v in values.tolist():
        sketch.update(v)
    return sketch


@pytest.mark.parametrize(
    ("lg_k", "n", "tgt"),
    [
        (4, 5_000, ds.HLL_8),
        (8, 3_000, ds.HLL_4),
        (12, 200_000, ds.HLL_8),
        (12, 3_100, ds.HLL_6),  # around the list/set -> HLL promotion
        (16, 400_000, ds.HLL_4),
        (17, 700_000, ds.HLL_8),  # slots beyond 16 bits take the 32-bit path
    ],
)
def test_feed_floats_is_exact(rng: np.random.Generator, lg_k: int, n: int, tgt: object) -> None:
    x = rng.standard_cauchy(n) * 10.0 ** rng.integers(-300, 300)
    x[: n // 10] = np.round(x[: n // 10], 0)  # repeats
    x[n // 2 : n // 2 + 5] = -0.0
    fast = ds.hll_sketch(lg_k, tgt)
    feed_floats(fast, x)
    assert fast.serialize_updatable() == _plain(x, lg_k, tgt).serialize_updatable()


@settings(max_examples=30, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(1, 3000),
        elements=st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
    ),
    lg_k=st.integers(4, 10),
)
def test_feed_floats_is_exact_for_any_floats(values: np.ndarray, lg_k: int) -> None:
    fast = ds.hll_sketch(lg_k)
    feed_floats(fast, values)
    assert fast.serialize_updatable() == _plain(values, lg_k, ds.HLL_8).serialize_updatable()


def test_coupons_match_the_library_hash(rng: np.random.Generator) -> None:
    # a sketch fed one value is in list mode; its compact bytes are an 8-byte preamble
    # and the 32-bit coupon (value << 26 | 26-bit address) the library computed
    values = np.concatenate([[0.0, 1.0, -2.5, 1e300, 5e-324, np.pi], rng.normal(size=50)])
    lg_k = 21
    slot, value = hll_coupons(values, lg_k)
    for v, s, r in zip(values.tolist(), slot.tolist(), value.tolist(), strict=True):
        sketch = ds.hll_sketch(lg_k)
        sketch.update(v)
        raw = sketch.serialize_compact()
        assert len(raw) == 12
        coupon = int.from_bytes(raw[8:12], "little")
        assert (coupon & ((1 << lg_k) - 1), coupon >> 26) == (s, r)
