"""Column profiles checked against numpy / pandas / scikit-learn on the same data."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, mean_absolute_error

from driftline.errors import InputError, InsufficientDataError, SchemaError
from driftline.profile import (
    CategoricalProfile,
    DatetimeProfile,
    NumericalProfile,
    ProfileConfig,
    TextProfile,
    profile,
)
from driftline.schema import ColumnSpec, Schema, SchemaInferenceWarning


def _numeric_data(rng: np.random.Generator, n: int = 5000) -> np.ndarray:
    x = rng.normal(3.0, 2.0, n)
    x[rng.choice(n, 50, replace=False)] = np.nan
    x[:7] = np.inf
    x[7:10] = -np.inf
    x[10:25] = 0.0
    return x


def test_numerical_counts_moments_and_extremes(rng: np.random.Generator) -> None:
    x = _numeric_data(rng)
    p = NumericalProfile.from_values(x)
    finite = x[np.isfinite(x)]
    assert (p.n, p.n_missing, p.n_pos_inf, p.n_neg_inf) == (x.size, 50, 7, 3)
    assert p.n_zero == 15 and p.n_finite == finite.size and p.n_type_mismatch == 0
    assert p.min == finite.min() and p.max == finite.max()
    assert p.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert p.sum == pytest.approx(finite.sum(), rel=1e-12)
    assert p.std == pytest.approx(pd.Series(finite).std(), rel=1e-12)
    assert p.variance == pytest.approx(np.var(finite, ddof=1), rel=1e-12)
    assert p.missing_rate == 50 / x.size


def test_histogram_matches_numpy_on_reference_edges(rng: np.random.Generator) -> None:
    reference = NumericalProfile.from_values(
        rng.normal(0, 1, 4000), config=ProfileConfig(n_bins=12)
    )
    edges, ref_counts = reference.histogram
    assert edges.size == 13 and edges[0] == -np.inf and edges[-1] == np.inf
    assert ref_counts.sum() == 4000
    current = rng.normal(0.3, 1.2, 3000)
    p = NumericalProfile.from_values(current, edges=edges)
    got_edges, counts = p.histogram
    np.testing.assert_array_equal(got_edges, edges)
    finite_edges = edges.copy()
    finite_edges[0], finite_edges[-1] = current.min() - 1, current.max() + 1
    expected, _ = np.histogram(current, bins=finite_edges)
    np.testing.assert_array_equal(counts, expected)


def test_quantiles_and_cdf_within_rank_error(rng: np.random.Generator) -> None:
    x = rng.lognormal(0, 1, 20_000)
    p = NumericalProfile.from_values(x)
    eps = p.rank_error
    assert 0 < eps < 0.02
    probs = np.linspace(0.01, 0.99, 25)
    q = p.quantiles(probs)
    ranks = np.searchsorted(np.sort(x), q, side="right") / x.size
    assert np.all(np.abs(ranks - probs) <= eps)
    points = np.quantile(x, [0.9, 0.1, 0.5, 0.5])
    cdf = p.cdf(points)
    exact = np.array([(x <= v).mean() for v in points])
    assert np.all(np.abs(cdf - exact) <= eps) and cdf[2] == cdf[3]
    assert p.distinct_count == pytest.approx(np.unique(x).size, rel=0.05)
    with pytest.raises(InputError, match="probabilities"):
        p.quantiles([1.5])


def test_empty_numerical_profile_says_so() -> None:
    p = NumericalProfile.from_values(np.array([np.nan, np.nan]))
    assert p.n == 2 and p.n_missing == 2 and math.isnan(p.mean) and math.isnan(p.std)
    with pytest.raises(InsufficientDataError):
        p.quantiles([0.5])
    with pytest.raises(InsufficientDataError):
        _ = p.histogram


def test_type_mismatches_in_object_column() -> None:
    values = np.array([1, "2.5", "abc", None, 4.0, "x", True], dtype=object)
    p = NumericalProfile.from_values(values)
    assert (p.n, p.n_missing, p.n_type_mismatch, p.n_finite) == (7, 1, 2, 4)
    assert p.sum == pytest.approx(1 + 2.5 + 4 + 1)


def test_categorical_counts_match_value_counts(rng: np.random.Generator) -> None:
    labels = rng.choice(["red", "green", "blue", "ünï cødé"], 3000, p=[0.5, 0.3, 0.15, 0.05])
    values = labels.astype(object)
    values[rng.choice(3000, 40, replace=False)] = None
    p = CategoricalProfile.from_values(values)
    expected = pd.Series(values).value_counts(dropna=True).to_dict()
    assert p.counts == expected
    assert list(p.counts) == list(expected)  # most frequent first
    assert (p.n, p.n_missing, p.other_count, p.n_type_mismatch) == (3000, 40, 0, 0)
    assert p.distinct_count == 4.0
    assert sum(p.frequencies().values()) == pytest.approx(1.0)


def test_categorical_top_k_cap_keeps_the_most_frequent() -> None:
    values = np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"], dtype=object)
    p = CategoricalProfile.from_values(values, config=ProfileConfig(top_k=2))
    assert p.counts == {"a": 5, "b": 4} and p.other_count == 6
    assert p.distinct_count == pytest.approx(5, abs=0.5)


def test_ties_at_the_cap_do_not_depend_on_row_or_merge_order(rng: np.random.Generator) -> None:
    labels = np.array([f"id-{i}" for i in range(300)], dtype=object)
    cfg = ProfileConfig(top_k=50)
    p = CategoricalProfile.from_values(labels, config=cfg)
    q = CategoricalProfile.from_values(labels[rng.permutation(300)], config=cfg)
    # the HLL sketch's bytes depend on the feeding order; the counts must not
    assert p.counts == q.counts and len(p.counts) == 50 and p.other_count == 250
    a = CategoricalProfile.from_values(labels[:120], config=cfg)
    b = CategoricalProfile.from_values(labels[120:], config=cfg)
    assert (a + b).counts == (b + a).counts and (a + b).other_count == (b + a).other_count
    assert (a + b).n == 300 and sum((a + b).counts.values()) + (a + b).other_count == 300


def test_boolean_and_mixed_label_columns() -> None:
    answers = np.array(["yes", "no", "YES", None, "maybe", "no"], dtype=object)
    p = CategoricalProfile.from_values(answers, boolean=True)
    assert p.kind == "boolean"
    assert p.counts == {True: 2, False: 2} and p.n_missing == 1 and p.n_type_mismatch == 1
    ints = CategoricalProfile.from_values(np.array([1.0, 2.0, 2.0, np.nan]))
    assert ints.counts == {2: 2, 1: 1} and ints.n_missing == 1
    mixed = CategoricalProfile.from_values(np.array(["a", "b", 7, "a"], dtype=object))
    assert mixed.counts == {"a": 2, "b": 1, 7: 1} and mixed.n_type_mismatch == 1


def test_text_profile_lengths_match_pandas(rng: np.random.Generator) -> None:
    words = np.array(["lorem", "ipsum", "dolor", "sit", "amet"])
    texts = [" ".join(rng.choice(words, rng.integers(1, 30))) for _ in range(500)]
    values = np.array([*texts, None, 42], dtype=object)
    p = TextProfile.from_values(values)
    lengths = pd.Series(texts).str.len()
    assert (p.n, p.n_missing, p.n_type_mismatch) == (502, 1, 1)
    assert p.lengths.mean == pytest.approx(lengths.mean(), rel=1e-12)
    assert p.lengths.max == lengths.max()
    assert p.distinct_count == pytest.approx(len(set(texts)), rel=0.05)


def test_datetime_profile_from_stamps_and_iso_strings() -> None:
    stamps = pd.date_range("2024-01-01", periods=100, freq="h").to_numpy()
    p = DatetimeProfile.from_values(stamps)
    assert p.min == stamps.min() and p.max == stamps.max()
    assert p.seconds.mean == pytest.approx(stamps.astype("datetime64[s]").astype(float).mean())
    iso = np.array(["2024-05-01T12:00:00+02:00", "garbage", None, "2024-05-02"], dtype=object)
    q = DatetimeProfile.from_values(iso)
    assert (q.n, q.n_missing, q.n_type_mismatch) == (4, 1, 1)
    assert q.min == np.datetime64("2024-05-01T10:00:00", "ns")


def test_dataset_profile_with_inferred_schema(rng: np.random.Generator) -> None:
    n = 400
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "city": rng.choice(["Oslo", "Lima"], n),
            "when": pd.date_range("2024-01-01", periods=n, freq="min"),
            "ok": rng.random(n) < 0.5,
        }
    )
    p = profile(frame)
    assert p.n_rows == n and list(p.columns) == ["x", "city", "when", "ok"]
    assert isinstance(p["x"], NumericalProfile) and isinstance(p["when"], DatetimeProfile)
    assert isinstance(p["city"], CategoricalProfile) and p["ok"].kind == "boolean"
    assert p.categorical("ok").counts[True] == int(frame["ok"].sum())
    assert p.performance is None


def test_classification_performance_counts_match_sklearn(rng: np.random.Generator) -> None:
    n = 600
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, 3, n))
    frame = {"x": rng.normal(size=n), "y": y.astype(float), "pred": pred.astype(float)}
    frame["y"][:10] = np.nan  # labels not arrived yet
    schema = Schema(
        (
            ColumnSpec("x", "feature", "numerical"),
            ColumnSpec("y", "target", "categorical"),
            ColumnSpec("pred", "prediction", "categorical"),
        )
    )
    p = profile(frame, schema)
    counts = p.performance
    assert counts is not None and counts.n == n - 10
    matrix, _ = counts.confusion_matrix()
    np.testing.assert_array_equal(matrix, confusion_matrix(y[10:], pred[10:]))
    assert counts.metrics()["accuracy"] == pytest.approx(accuracy_score(y[10:], pred[10:]))


def test_regression_performance_counts(rng: np.random.Generator) -> None:
    y = rng.normal(size=300)
    pred = y + rng.normal(0, 0.1, 300)
    schema = Schema(
        (ColumnSpec("y", "target", "numerical"), ColumnSpec("p", "prediction", "numerical"))
    )
    p = profile({"y": y, "p": pred}, schema)
    assert type(p.performance).__name__ == "RegressionCounts"
    assert p.performance.metrics()["mean_absolute_error"] == pytest.approx(
        mean_absolute_error(y, pred)
    )


def test_schema_and_frame_mismatch() -> None:
    schema = Schema((ColumnSpec("a", "feature", "numerical"),))
    with pytest.raises(SchemaError, match=r"\['a'\] are not in the frame"):
        profile({"b": [1.0]}, schema)
    with pytest.warns(UserWarning, match=r"\['b'\] are not in the schema"):
        p = profile({"a": [1.0], "b": [2.0]}, schema)
    assert list(p.columns) == ["a"]
    with pytest.warns(SchemaInferenceWarning):
        profile({"zip": np.tile([10, 20], 100)})


def test_config_validation_and_public_surface() -> None:
    with pytest.raises(InputError, match=r"ProfileConfig.top_k: expected an integer"):
        ProfileConfig(top_k=0)
    with pytest.raises(InputError, match="hll_lg_k"):
        ProfileConfig(hll_lg_k=30)
    # ``driftline.profile`` the attribute is the function; the module is in sys.modules
    profile_pkg = importlib.import_module("driftline.profile")
    assert profile_pkg.__all__ == sorted(profile_pkg.__all__)
    for name in profile_pkg.__all__:
        assert hasattr(profile_pkg, name)
