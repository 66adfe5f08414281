"""``hll_of_floats``: the registers of feeding every value, built in numpy."""

from __future__ import annotations

import datasketches as ds
import numpy as np
import pytest

from driftline.profile import DatasetProfile, profile
from driftline.profile._hll import UNORDERED_MIN_VALUES, feed_floats, hll_of_floats

_HEADER = 40


def _exact(values: np.ndarray, lg_k: int) -> ds.hll_sketch:
    sketch = ds.hll_sketch(lg_k, ds.HLL_8)
    for v in values.tolist():
        sketch.update(v)
    return sketch


def _hll_mode(sketch: ds.hll_sketch) -> bool:
    return "Current Mode   : HLL" in sketch.to_string(True, False, False, False)


@pytest.mark.parametrize(
    ("lg_k", "n"),
    [(4, 5_000), (8, 3_000), (10, 1_500), (12, 10_000), (12, 60_000), (16, 200_000)],
)
def test_registers_and_counters_match_feeding_every_value(
    rng: np.random.Generator, lg_k: int, n: int
) -> None:
    x = rng.standard_cauchy(n)
    x[: n // 10] = np.round(x[: n // 10])  # repeats
    x[n // 2 : n // 2 + 3] = -0.0
    fast, exact = hll_of_floats(x, lg_k), _exact(x, lg_k)
    assert _hll_mode(fast) and _hll_mode(exact)
    fb, eb = fast.serialize_updatable(), exact.serialize_updatable()
    k = 1 << lg_k
    assert len(fb) == len(eb) == _HEADER + k
    assert fb[_HEADER:] == eb[_HEADER:]  # the registers
    assert fb[5] & 16 and not eb[5] & 16  # out of order, like a union result
    # kxq0, kxq1 (sums of 2**-register, up to summation order) and the zero registers
    f_kxq = np.frombuffer(fb[16:32], dtype="<f8")
    e_kxq = np.frombuffer(eb[16:32], dtype="<f8")
    np.testing.assert_allclose(f_kxq, e_kxq, rtol=1e-12, atol=1e-300)
    assert fb[32:36] == eb[32:36]
    # the estimate is the composite one: what a union of the exact sketch reports
    union = ds.hll_union(lg_k)
    union.update(exact)
    union.update(fast)
    assert union.get_result(ds.HLL_8).get_estimate() == pytest.approx(fast.get_estimate())
    truth = np.unique(x + 0.0).size
    assert fast.get_estimate() == pytest.approx(truth, rel=6 * 1.04 / np.sqrt(k))


@pytest.mark.parametrize("n", [0, 1, 300, 500, 512 + UNORDERED_MIN_VALUES - 1])
def test_small_inputs_are_fed_exactly(rng: np.random.Generator, n: int) -> None:
    # below the promotion to HLL mode, or too few values left after it: every value fed
    x = rng.normal(size=n)
    fast = hll_of_floats(x, 12)
    assert fast.serialize_updatable() == _exact(x, 12).serialize_updatable()
    slow = ds.hll_sketch(12)
    feed_floats(slow, x)
    assert fast.serialize_updatable() == slow.serialize_updatable()


def test_repetitive_columns_stay_exact_counts(rng: np.random.Generator) -> None:
    x = rng.integers(0, 50, 100_000).astype(np.float64)
    fast = hll_of_floats(x, 12)
    assert not _hll_mode(fast)
    assert fast.get_estimate() == pytest.approx(50, abs=0.5)


def test_profiles_with_unordered_sketches_round_trip_and_merge(rng: np.random.Generator) -> None:
    x, y = rng.normal(size=20_000), rng.normal(size=30_000)
    a = profile({"x": x})
    b = profile({"x": y}, reference=a)
    back = DatasetProfile.from_bytes(b.to_bytes())
    assert back == b
    assert back.numerical("x").distinct_count == b.numerical("x").distinct_count
    merged = a + b
    truth = np.unique(np.concatenate([x, y])).size
    assert merged.numerical("x").distinct_count == pytest.approx(truth, rel=0.05)
    union = ds.hll_union(12)  # a union of the exact sketches: the same registers
    union.update(_exact(x, 12))
    union.update(_exact(y, 12))
    assert merged.numerical("x").distinct_count == pytest.approx(
        union.get_result(ds.HLL_8).get_estimate()
    )
