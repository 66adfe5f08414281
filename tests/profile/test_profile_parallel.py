"""Profiling columns in threads, without distinct counts, and counting whole numbers fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import driftline.profile._dataset as dataset_module
from driftline.profile import NumericalProfile, ProfileConfig, profile
from driftline.profile._categorical import count_labels, unique_counts
from driftline.profile._dataset import profile_columns, workers_for
from driftline.schema import Schema, as_table


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "y": rng.gamma(2.0, size=n),
            "k": rng.integers(0, 40, n),
            "s": pd.Series(
                rng.choice(np.array(["a", "b", None], dtype=object), n), dtype="string[pyarrow]"
            ),
        }
    )


def test_threaded_profiles_equal_serial_ones(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(rng, 30_000)
    assert workers_for(30_000, 4) >= 1
    threaded = profile(frame)
    monkeypatch.setattr(dataset_module, "PARALLEL_MIN_ROWS", 10**12)
    serial = profile(frame)
    assert list(threaded.columns) == list(serial.columns)
    for name, prof in threaded.columns.items():
        other = serial.columns[name]
        if isinstance(prof, NumericalProfile):
            assert isinstance(other, NumericalProfile)
            assert (prof.n, prof.n_missing, prof.min, prof.max) == (
                other.n, other.n_missing, other.min, other.max,
            )  # fmt: skip
            assert prof.mean == pytest.approx(other.mean) and prof.m2 == pytest.approx(other.m2)
            assert np.array_equal(prof.histogram[0], other.histogram[0])
            assert np.array_equal(prof.histogram[1], other.histogram[1])
            assert prof.distinct_count == other.distinct_count  # HLL is deterministic
        else:
            assert prof.to_dict() == other.to_dict()


def test_profiles_without_distinct_counts_keep_everything_else(rng: np.random.Generator) -> None:
    frame = _frame(rng, 5000)
    table = as_table(frame)
    schema = Schema.infer(table)
    full = profile(frame, schema)
    quick = profile_columns(table, schema, None, ProfileConfig(), distinct=False)
    x_full, x_quick = full.columns["x"], quick["x"]
    assert isinstance(x_full, NumericalProfile) and isinstance(x_quick, NumericalProfile)
    assert x_quick.distinct_count == 0.0 and x_full.distinct_count > 1000
    assert np.array_equal(x_full.histogram[1], x_quick.histogram[1])
    assert (x_full.n, x_full.n_missing, x_full.sum) == (x_quick.n, x_quick.n_missing, x_quick.sum)


@pytest.mark.parametrize(
    "values",
    [
        np.array([]),
        np.array([2.0, 0.0, 2.0, -0.0, 5.0]),
        np.array([1.5, 1.5, 2.0]),
        np.array([1e300, 0.0]),
        np.array([np.inf, 1.0, 1.0]),
        np.arange(-70_000.0, 70_000.0, 3.0),
    ],
)
def test_unique_counts_equal_numpy_unique(values: np.ndarray) -> None:
    got, counts = unique_counts(values)
    want, want_counts = np.unique(values, return_counts=True)
    assert got.tolist() == want.tolist()
    assert counts.tolist() == want_counts.tolist() and counts.dtype == np.int64


def test_count_labels_of_whole_number_floats(rng: np.random.Generator) -> None:
    values = rng.integers(0, 4, 1000).astype(np.float64)
    values[:10] = np.nan
    labels, counts, n_missing, mismatch = count_labels(values)
    expected = pd.Series(values[10:].astype(int)).value_counts()
    assert dict(zip(labels.tolist(), counts.tolist(), strict=True)) == expected.to_dict()
    assert (n_missing, mismatch) == (10, 0)
