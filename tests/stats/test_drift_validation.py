"""Argument checks of the drift kernels: the messages name the parameter."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from driftline.errors import InputError
from driftline.stats import drift as d


def test_object_arrays_of_numbers_are_numeric() -> None:
    res = d.ks(np.array([1, None, 2.5, 3], dtype=object), [1.0, 2.0])
    assert res.n_reference == 3
    with pytest.raises(InputError, match=r"reference: expected a numeric array, got objects"):
        d.ks(np.array([{}, 1.0], dtype=object), [1.0])
    with pytest.raises(InputError, match="current: expected a real numeric array, got dtype"):
        d.ks([1.0, 2.0], np.array([1 + 2j]))
    assert d.ks(np.array([True, False]), np.array([1, 0])).statistic == 0.0


def test_parameters_are_checked() -> None:
    x = np.arange(20.0)
    with pytest.raises(InputError, match=r"eps: expected a number in \(0, 1\), got 0"):
        d.psi_numerical(x, x, eps=0)
    with pytest.raises(InputError, match="eps: expected a number in"):
        d.kl_from_counts([1, 2], [2, 1], eps=1.5)
    with pytest.raises(InputError, match="n_bins: expected an integer >= 1, got 0"):
        d.jensen_shannon_numerical(x, x, n_bins=0)
    with pytest.raises(InputError, match="nan_policy: expected 'omit' or 'raise', got 'drop'"):
        d.wasserstein(x, x, nan_policy="drop")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="reference_counts: expected finite counts"):
        d.psi_from_counts([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(InputError, match="current_counts: expected numeric counts"):
        d.psi_from_counts([1, 1], ["a", "b"])
    with pytest.raises(InputError, match="reference: expected labels, got dtype complex"):
        d.psi_categorical(np.array([1j]), ["a"])


def test_float_counts_are_accepted() -> None:
    res = d.hellinger_from_counts([0.5, 1.5], [1.0, 3.0])
    assert res.statistic == pytest.approx(0.0, abs=1e-12)
    assert (res.n_reference, res.n_current) == (2, 4)


def test_result_is_frozen() -> None:
    res = d.DriftResult("psi", 0.1, None, 10, 10)
    with pytest.raises(AttributeError):
        res.statistic = 0.2  # type: ignore[misc]


def test_drift_import_stays_light() -> None:
    code = (
        "import sys, driftline.stats.drift\n"
        "print([m for m in ('pandas', 'sqlalchemy', 'polars', 'sklearn') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
