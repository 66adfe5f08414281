"""One parametrised suite over every registered drift method (raw and count forms)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from driftline.errors import InputError, InsufficientDataError
from driftline.stats.drift import DriftMethod, DriftResult, available_methods, get_method

METHODS = [get_method(name) for name in available_methods()]
NUMERICAL = [m for m in METHODS if m.numerical is not None]
CATEGORICAL = [m for m in METHODS if m.categorical is not None]
COUNTS = [m for m in METHODS if m.from_counts is not None]
AD_P_CAP = 0.25  # scipy's anderson_ksamp caps its interpolated p-value here


def _ids(methods: list[DriftMethod]) -> list[str]:
    return [m.name for m in methods]


def _numerical(m: DriftMethod) -> Callable[..., DriftResult]:
    assert m.numerical is not None
    return m.numerical


def _categorical(m: DriftMethod) -> Callable[..., DriftResult]:
    assert m.categorical is not None
    return m.categorical


def _from_counts(m: DriftMethod) -> Callable[..., DriftResult]:
    assert m.from_counts is not None
    return m.from_counts


def _labels(m: DriftMethod, rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """Labels for method ``m``: booleans for z_test, four strings otherwise."""
    if m.name == "z_test":
        return rng.random(n) < 0.4 + shift
    p = np.array([0.4 - shift, 0.3, 0.2, 0.1 + shift])
    return rng.choice(np.array(["a", "b", "c", "d"], dtype=object), size=n, p=p)


def _counts(m: DriftMethod, shift: float = 0.0) -> np.ndarray:
    if m.name == "z_test":
        return np.array([600 - 1000 * shift, 400 + 1000 * shift])
    return np.array([400 - 1000 * shift, 300, 200, 100 + 1000 * shift])


def _assert_null(m: DriftMethod, res: DriftResult) -> None:
    if m.output == "distance":
        assert res.p_value is None
        assert abs(res.statistic) <= 1e-12
    else:
        assert res.p_value is not None
        expected = AD_P_CAP if m.name == "anderson_darling" else 1.0
        assert res.p_value == pytest.approx(expected, abs=1e-9)


def _more_drift(m: DriftMethod, small: DriftResult, large: DriftResult) -> None:
    assert large.statistic > small.statistic
    if m.output == "p_value":
        assert small.p_value is not None and large.p_value is not None
        assert large.p_value < small.p_value


def _same_p(a: float | None, b: float | None, rel: float) -> None:
    if a is None or b is None:
        assert a is None and b is None
    else:
        assert a == pytest.approx(b, rel=rel, abs=1e-12)


def _same(a: DriftResult, b: DriftResult) -> None:
    assert a.method == b.method
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12, abs=1e-12)
    _same_p(a.p_value, b.p_value, rel=1e-9)
    assert (a.n_reference, a.n_current) == (b.n_reference, b.n_current)


# --- identical inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_identical_numerical_is_null(m: DriftMethod, rng: np.random.Generator) -> None:
    x = rng.normal(size=500)
    res = _numerical(m)(x, x.copy())
    assert res.method == m.name
    assert (res.n_reference, res.n_current) == (500, 500)
    _assert_null(m, res)


@pytest.mark.parametrize("m", CATEGORICAL, ids=_ids(CATEGORICAL))
def test_identical_categorical_is_null(m: DriftMethod, rng: np.random.Generator) -> None:
    x = _labels(m, rng, 400)
    res = _categorical(m)(x, x[::-1].copy())
    assert res.method == m.name
    _assert_null(m, res)


@pytest.mark.parametrize("m", COUNTS, ids=_ids(COUNTS))
def test_identical_counts_are_null(m: DriftMethod) -> None:
    c = _counts(m)
    res = _from_counts(m)(c, 3 * c)  # same proportions, different totals
    assert (res.n_reference, res.n_current) == (int(c.sum()), int(3 * c.sum()))
    _assert_null(m, res)


# --- symmetry -------------------------------------------------------------------------------


@pytest.mark.parametrize("m", COUNTS, ids=_ids(COUNTS))
def test_counts_symmetry_matches_declaration(m: DriftMethod) -> None:
    a, b = _counts(m), _counts(m, shift=0.05)
    ab, ba = _from_counts(m)(a, b), _from_counts(m)(b, a)
    if m.symmetric:
        assert ab.statistic == pytest.approx(ba.statistic, rel=1e-12)
        _same_p(ab.p_value, ba.p_value, rel=1e-12)
    else:
        assert ab.statistic != pytest.approx(ba.statistic, rel=1e-6)


@pytest.mark.parametrize("m", CATEGORICAL, ids=_ids(CATEGORICAL))
def test_categorical_symmetry_matches_declaration(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = _labels(m, rng, 300), _labels(m, rng, 200, shift=0.05)
    ab, ba = _categorical(m)(a, b), _categorical(m)(b, a)
    if m.symmetric:
        assert ab.statistic == pytest.approx(ba.statistic, rel=1e-12)
        _same_p(ab.p_value, ba.p_value, rel=1e-12)
    else:
        assert ab.statistic != pytest.approx(ba.statistic, rel=1e-6)


@pytest.mark.parametrize("m", [m for m in NUMERICAL if m.from_counts is None], ids=str)
def test_unbinned_numerical_symmetry_matches_declaration(
    m: DriftMethod, rng: np.random.Generator
) -> None:
    a, b = rng.normal(size=300), rng.normal(0.3, 2.0, size=200)
    ab, ba = _numerical(m)(a, b), _numerical(m)(b, a)
    if m.symmetric:
        assert ab.statistic == pytest.approx(ba.statistic, rel=1e-12)
        _same_p(ab.p_value, ba.p_value, rel=1e-12)
    else:
        assert ab.statistic != pytest.approx(ba.statistic, rel=1e-6)


# --- order invariance -----------------------------------------------------------------------


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_order_invariant(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=400), rng.normal(0.2, 1.0, size=300)
    _same(_numerical(m)(a, b), _numerical(m)(rng.permutation(a), rng.permutation(b)))


@pytest.mark.parametrize("m", CATEGORICAL, ids=_ids(CATEGORICAL))
def test_categorical_order_invariant(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = _labels(m, rng, 400), _labels(m, rng, 300, shift=0.05)
    _same(_categorical(m)(a, b), _categorical(m)(rng.permutation(a), rng.permutation(b)))


# --- empty and too little data --------------------------------------------------------------


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_empty_raises(m: DriftMethod) -> None:
    x = np.arange(10.0)
    with pytest.raises(InsufficientDataError, match="reference has 0 usable values"):
        _numerical(m)(np.array([]), x)
    with pytest.raises(InsufficientDataError, match="current has 0 usable values"):
        _numerical(m)(x, np.array([np.nan, np.inf]))


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_min_samples(m: DriftMethod) -> None:
    enough = np.arange(float(m.min_samples))
    _numerical(m)(enough, enough + 0.5)  # exactly min_samples works
    if m.min_samples > 1:
        with pytest.raises(InsufficientDataError, match=f"at least {m.min_samples}"):
            _numerical(m)(enough[:-1], enough + 0.5)


@pytest.mark.parametrize("m", CATEGORICAL, ids=_ids(CATEGORICAL))
def test_categorical_empty_raises(m: DriftMethod) -> None:
    with pytest.raises(InsufficientDataError, match="reference has 0"):
        _categorical(m)(np.array([], dtype=object), np.array([True, False]))
    with pytest.raises(InsufficientDataError, match="current has 0"):
        _categorical(m)(np.array([True, False]), np.array([None, np.nan], dtype=object))


@pytest.mark.parametrize("m", COUNTS, ids=_ids(COUNTS))
def test_counts_empty_raises(m: DriftMethod) -> None:
    with pytest.raises(InsufficientDataError, match="reference_counts has 0"):
        _from_counts(m)([0, 0], [3, 4])
    with pytest.raises(InsufficientDataError, match="current_counts has 0"):
        _from_counts(m)([3, 4], [0, 0])


# --- NaN policy -----------------------------------------------------------------------------


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_nonfinite_omitted(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=300), rng.normal(0.3, 1.0, size=200)
    dirty_a = np.concatenate((a[:100], [np.nan, np.inf], a[100:], [-np.inf]))
    dirty_b = np.concatenate(([np.nan], b, [np.nan]))
    clean = _numerical(m)(a, b)
    dirty = _numerical(m)(dirty_a, dirty_b)
    _same(clean, dirty)
    assert (dirty.n_reference, dirty.n_current) == (300, 200)
    with pytest.raises(InputError, match="reference: expected finite values"):
        _numerical(m)(dirty_a, b, nan_policy="raise")


@pytest.mark.parametrize("m", CATEGORICAL, ids=_ids(CATEGORICAL))
def test_categorical_missing_omitted(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = _labels(m, rng, 300), _labels(m, rng, 200, shift=0.05)
    dirty_a = np.concatenate((a.astype(object), np.array([None, np.nan], dtype=object)))
    dirty_b = np.concatenate((np.array([float("nan")], dtype=object), b.astype(object)))
    dirty = _categorical(m)(dirty_a, dirty_b)
    _same(_categorical(m)(a, b), dirty)
    assert (dirty.n_reference, dirty.n_current) == (300, 200)


# --- scale and shift ------------------------------------------------------------------------


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_scale_invariant(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=400), rng.normal(0.3, 1.5, size=300)
    base = _numerical(m)(a, b)
    scaled = _numerical(m)(a * 1000.0, b * 1000.0)
    assert scaled.statistic == pytest.approx(base.statistic, rel=1e-9)
    _same_p(scaled.p_value, base.p_value, rel=1e-9)


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_shift_increases_statistic(m: DriftMethod, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=600), rng.normal(size=600)
    _more_drift(m, _numerical(m)(a, b), _numerical(m)(a, b + 0.5))


@pytest.mark.parametrize("m", CATEGORICAL, ids=_ids(CATEGORICAL))
def test_categorical_shift_increases_statistic(m: DriftMethod, rng: np.random.Generator) -> None:
    a = _labels(m, rng, 2000)
    _more_drift(
        m,
        _categorical(m)(a, _labels(m, rng, 2000, shift=0.0)),
        _categorical(m)(a, _labels(m, rng, 2000, shift=0.1)),
    )


@pytest.mark.parametrize("m", COUNTS, ids=_ids(COUNTS))
def test_counts_shift_increases_statistic(m: DriftMethod) -> None:
    _more_drift(
        m,
        _from_counts(m)(_counts(m), _counts(m, 0.02)),
        _from_counts(m)(_counts(m), _counts(m, 0.08)),
    )


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", NUMERICAL, ids=_ids(NUMERICAL))
def test_numerical_rejects_bad_input(m: DriftMethod) -> None:
    x = np.arange(10.0)
    with pytest.raises(InputError, match=r"reference: expected a 1-D array, got .*\(2, 5\)"):
        _numerical(m)(x.reshape(2, 5), x)
    with pytest.raises(InputError, match=r"current: expected a numeric array, got strings \('abc'"):
        _numerical(m)(x, np.array(["abc", "1.5"]))
    with pytest.raises(InputError, match="current: expected a numeric array, got strings"):
        _numerical(m)(x, np.array([1.0, "abc"], dtype=object))


@pytest.mark.parametrize("m", COUNTS, ids=_ids(COUNTS))
def test_counts_reject_bad_input(m: DriftMethod) -> None:
    with pytest.raises(InputError, match="reference_counts: expected non-negative counts"):
        _from_counts(m)([3, -1], [1, 1])
    with pytest.raises(InputError, match=r"current_counts: expected 2 counts .*got 3"):
        _from_counts(m)([3, 1], [1, 1, 1])
    with pytest.raises(InputError, match="current_counts: expected a 1-D array"):
        _from_counts(m)([3, 1], [[1, 1]])


BINNED = [m for m in NUMERICAL if m.from_counts is not None]


@pytest.mark.parametrize("m", BINNED, ids=_ids(BINNED))
def test_binned_numerical_sees_a_moved_constant(m: DriftMethod) -> None:
    const = np.full(200, 3.0)
    same = _numerical(m)(const, const[:50])
    _assert_null(m, same)
    for moved in (np.full(100, 4.0), np.full(100, 2.0)):
        _more_drift(m, same, _numerical(m)(const, moved))
