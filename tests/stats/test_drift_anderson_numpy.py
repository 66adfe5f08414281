"""anderson_darling in numpy equals scipy bit for bit; ks and anderson_darling stay thread-safe."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import pytest
from scipy import stats

from driftline.stats.drift import anderson_darling, ks
from driftline.stats.drift._anderson import AD_P_VALUE_RANGE, anderson_ksamp_midrank
from driftline.stats.drift._numerical import KS_EXACT_MAX_N


def _scipy_ad(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # p-value capped / floored
        res = stats.anderson_ksamp([x, y], variant="midrank")
    return float(res.statistic), float(res.pvalue)


def test_anderson_equals_scipy_on_random_samples_with_and_without_ties(
    rng: np.random.Generator,
) -> None:
    seen_p = set()
    for _ in range(300):
        n1, n2 = (int(v) for v in rng.integers(2, 80, size=2))
        shift = float(rng.choice([0.0, 0.3, 1.0, 3.0]))
        if rng.random() < 0.4:  # many ties
            x = rng.integers(0, 5, n1).astype(float)
            y = (rng.integers(0, 5, n2) + round(shift)).astype(float)
        else:
            x, y = rng.normal(size=n1), rng.normal(shift, 1.0, size=n2)
        if np.unique(np.concatenate([x, y])).size < 2:
            continue
        assert anderson_ksamp_midrank(x, y) == _scipy_ad(x, y)
        p = anderson_darling(x, y).p_value
        seen_p.add(p if p in AD_P_VALUE_RANGE else "interpolated")
    assert seen_p == {0.001, 0.25, "interpolated"}


def test_large_inputs_enter_no_catch_warnings(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = rng.normal(size=KS_EXACT_MAX_N + 1), rng.normal(0.05, 1.0, size=KS_EXACT_MAX_N + 1)
    expected = stats.ks_2samp(x, y, method="auto")

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("warnings.catch_warnings is not thread-safe")

    monkeypatch.setattr(warnings, "catch_warnings", forbidden)
    r = ks(x, y)
    assert (r.statistic, r.p_value) == (float(expected.statistic), float(expected.pvalue))
    assert anderson_darling(x[:200], y[:200] + 5.0).p_value == 0.001
    assert anderson_darling(x[:200], x[:200]).p_value == 0.25


def test_kernels_in_threads_leave_the_warning_filters_alone(rng: np.random.Generator) -> None:
    before = list(warnings.filters)
    x = rng.normal(size=KS_EXACT_MAX_N + 10)
    results: list[float] = []

    def work(shift: float) -> None:
        for _ in range(3):
            results.append(anderson_darling(x[:500], x[:500] + shift).statistic)
            results.append(ks(x, x + shift).statistic)

    threads = [threading.Thread(target=work, args=(s,)) for s in (0.0, 0.5, 2.0, 5.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 24
    assert warnings.filters == before
