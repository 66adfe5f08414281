"""Mergeable counts: agreement with the exact metrics, merge, round trip, errors, speed."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.errors import IncompatibleProfilesError, InputError
from driftline.stats import metrics as dm


def _data(seed: int, k: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, 0.8), size=n)
    y = np.minimum((rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1), k - 1)
    pred = np.where(rng.random(n) < 0.8, proba.argmax(axis=1), rng.integers(0, k, n))
    return y, pred, proba


def _in_batches(counts: dm.ClassificationCounts, *arrays: np.ndarray, parts: int = 3) -> None:
    for chunk in zip(*(np.array_split(a, parts) for a in arrays), strict=True):
        counts.update(*chunk)


def assert_state_close(a: Any, b: Any, path: str = "") -> None:
    """Integers and strings equal; floats equal up to summation order."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_state_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_state_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (path, a, b)
    else:
        assert a == b and type(a) is type(b), (path, a, b)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_counts_match_exact_metrics(seed: int) -> None:
    y, pred, proba = _data(seed, 2)
    names = np.array(["churn", "stay"])
    yt, yp, s = names[y], names[pred], proba[:, 1]
    c = dm.ClassificationCounts(pos_label="stay")
    _in_batches(c, yt, yp, s)
    m = c.metrics()
    assert c.n == c.n_scored == y.size
    assert m["accuracy"] == pytest.approx(dm.accuracy_score(yt, yp), abs=1e-12)
    for name in ("precision", "recall", "f1"):
        func = dm.get_metric(name).func
        assert m[name] == pytest.approx(func(yt, yp, pos_label="stay"), abs=1e-12)
        for avg in ("micro", "macro", "weighted"):
            func = dm.get_metric(f"{name}_{avg}").func
            assert m[f"{name}_{avg}"] == pytest.approx(func(yt, yp), abs=1e-12)
    assert m["log_loss"] == pytest.approx(dm.log_loss(yt, s), rel=1e-12)
    assert m["brier_score_loss"] == pytest.approx(dm.brier_score_loss(yt, s), rel=1e-12)
    assert m["expected_calibration_error"] == pytest.approx(
        dm.expected_calibration_error(yt, s), abs=1e-12
    )
    exact_auc = dm.roc_auc_score(yt, s)
    assert abs(m["roc_auc"] - exact_auc) <= c.auc_error_bound() + 1e-12  # type: ignore[operator]
    assert c.auc_error_bound() < 0.01
    assert abs(m["average_precision"] - dm.average_precision_score(yt, s)) < 0.01  # type: ignore[operator]
    assert c.reasons() == {}
    assert c.expected_calibration_error(20) == pytest.approx(
        dm.expected_calibration_error(yt, s, n_bins=20), abs=1e-12
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_multiclass_counts_match_exact_metrics(seed: int) -> None:
    y, pred, proba = _data(seed, 4)
    names = np.array(["ant", "bee", "cat", "dog"])
    order = ["dog", "bee", "ant", "cat"]  # score columns follow the given labels
    cols = [["ant", "bee", "cat", "dog"].index(v) for v in order]
    c = dm.ClassificationCounts(labels=order)
    _in_batches(c, names[y], names[pred], proba[:, cols])
    m = c.metrics()
    yt, yp = names[y], names[pred]
    assert m["precision"] is None and "precision_macro" in c.reasons()["precision"]
    for name in ("accuracy", "f1_macro", "recall_weighted", "precision_micro"):
        assert m[name] == pytest.approx(dm.get_metric(name).func(yt, yp), abs=1e-12)
    assert m["log_loss"] == pytest.approx(dm.log_loss(yt, proba), rel=1e-12)
    assert m["brier_score_loss"] == pytest.approx(dm.brier_score_loss(yt, proba), rel=1e-12)
    assert m["expected_calibration_error"] == pytest.approx(
        dm.expected_calibration_error(yt, proba), abs=1e-12
    )
    assert abs(m["roc_auc"] - dm.roc_auc_score(yt, proba)) <= c.auc_error_bound() + 1e-12  # type: ignore[operator]
    assert abs(m["average_precision"] - dm.average_precision_score(yt, proba)) < 0.01  # type: ignore[operator]
    matrix, labels = c.confusion_matrix()
    ref, ref_labels = dm.confusion_matrix(yt, yp)
    np.testing.assert_array_equal(matrix, ref)
    assert labels.tolist() == ref_labels.tolist()


def test_binned_auc_bound_is_tight_enough_on_coarse_bins() -> None:
    y, _, proba = _data(5, 2)
    c = dm.ClassificationCounts(n_score_bins=10)
    c.update(y, y, proba[:, 1])
    exact = dm.roc_auc_score(y, proba[:, 1])
    assert abs(c.metrics()["roc_auc"] - exact) <= c.auc_error_bound()  # type: ignore[operator]
    assert c.metrics()["expected_calibration_error"] == pytest.approx(
        dm.expected_calibration_error(y, proba[:, 1]), abs=1e-12
    )
    # scores squeezed into one bin: the binned AUC says 0.5 and the bound says how far off
    squeezed = 0.5 + proba[:, 1] / 1000
    c1 = dm.ClassificationCounts()
    c1.update(y, y, squeezed)
    gap = abs(c1.metrics()["roc_auc"] - dm.roc_auc_score(y, squeezed))  # type: ignore[operator]
    assert c1.metrics()["roc_auc"] == 0.5 and 0.1 < gap <= c1.auc_error_bound() <= 0.5
    c7 = dm.ClassificationCounts(n_score_bins=7)
    c7.update(y, y, proba[:, 1])
    assert c7.metrics()["expected_calibration_error"] is None
    assert "n_score_bins=7" in c7.reasons()["expected_calibration_error"]


def test_undefined_metrics_are_none_with_reason() -> None:
    c = dm.ClassificationCounts()
    assert all(v is None for v in c.metrics().values())
    c.update([0, 0, 1], [0, 0, 0])
    m, reasons = c.metrics(), c.reasons()
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["precision"] is None and "no predicted rows" in reasons["precision"]
    assert m["recall"] == 0.0
    assert m["roc_auc"] is None and "no scores" in reasons["roc_auc"]
    c.update([0, 0], [0, 0], scores=[0.1, 0.2])
    assert c.metrics()["roc_auc"] is None and "no positive rows" in c.reasons()["roc_auc"]
    assert c.metrics()["log_loss"] == pytest.approx(dm.log_loss([0, 0], [0.1, 0.2]))
    assert c.n_scored == 2 and c.n == 5


def test_update_errors_leave_the_counts_unchanged() -> None:
    c = dm.ClassificationCounts(labels=["a", "b"])
    c.update(["a", "b"], ["a", "a"], scores=[0.3, 0.6])
    before = c.to_dict()
    with pytest.raises(InputError, match="expected only the given labels"):
        c.update(["a", "c"], ["a", "a"])
    with pytest.raises(InputError, match="scores: expected 1-d scores"):
        c.update(["a", "b"], ["a", "a"], scores=[[0.3, 0.7], [0.5, 0.5]])
    with pytest.raises(InputError, match="scores: expected probabilities"):
        c.update(["a", "b"], ["a", "a"], scores=[0.3, 1.7])
    with pytest.raises(InputError, match="labels of the same kind"):
        c.update([1, 0], [1, 1])
    assert c.to_dict() == before
    free = dm.ClassificationCounts()
    free.update([0, 1], [0, 1], scores=[0.2, 0.9])
    with pytest.raises(InputError, match="a third label"):
        free.update([2], [2])
    multi = dm.ClassificationCounts()
    multi.update([0, 1, 2], [0, 1, 2], scores=np.eye(3))
    with pytest.raises(InputError, match="new labels after 2-d scores"):
        multi.update([3], [3])
    with pytest.raises(InputError, match="scores: expected one column per label"):
        dm.ClassificationCounts().update([0, 1], [0, 1], scores=np.eye(3)[:2])
    with pytest.raises(InputError, match="n_score_bins: expected a positive int"):
        dm.ClassificationCounts(n_score_bins=0)


def test_merge_rejects_incompatible_counts() -> None:
    a, b = dm.ClassificationCounts(), dm.ClassificationCounts(n_score_bins=100)
    with pytest.raises(IncompatibleProfilesError, match="n_score_bins=200"):
        a.merge(b)
    a.update([0, 1], [0, 1], scores=[0.2, 0.7])
    b = dm.ClassificationCounts()
    b.update([0, 1], [0, 1], scores=np.eye(2))
    with pytest.raises(IncompatibleProfilesError, match="score kind"):
        a.merge(b)
    s = dm.ClassificationCounts()
    s.update(["x"], ["x"])
    with pytest.raises(IncompatibleProfilesError, match="expected labels like"):
        a.merge(s)
    with pytest.raises(IncompatibleProfilesError, match="kll_k=200"):
        dm.RegressionCounts().merge(dm.RegressionCounts(kll_k=100))
    with pytest.raises(IncompatibleProfilesError):
        a.merge(dm.RegressionCounts())  # type: ignore[arg-type]


def test_round_trip_is_exact_through_json() -> None:
    y, pred, proba = _data(6, 3, n=500)
    for c in (
        dm.ClassificationCounts(),
        dm.ClassificationCounts(labels=[2, 0, 1, 9]),
    ):
        c.update(y, pred, proba if c.labels == [] else None)
        d = json.loads(json.dumps(c.to_dict()))
        back = dm.ClassificationCounts.from_dict(d)
        assert back == c and back.to_dict() == c.to_dict()
        assert back.metrics() == c.metrics()
    r = dm.RegressionCounts()
    r.update(proba[:, 0], proba[:, 1])
    back_r = dm.RegressionCounts.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back_r == r and back_r.metrics() == r.metrics()
    with pytest.raises(InputError, match="d: expected a dict with format"):
        dm.ClassificationCounts.from_dict({"format": "other"})
    with pytest.raises(InputError, match="malformed"):
        dm.ClassificationCounts.from_dict({**c.to_dict(), "matrix": [[1, 2]]})
    with pytest.raises(InputError, match="malformed"):
        dm.RegressionCounts.from_dict({**r.to_dict(), "error_sketch": "!!"})


labels_strategy = st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["a", "b", "c"]),
            st.floats(0.0, 1.0),
            st.floats(0.0, 1.0),
        ),
        min_size=1,
        max_size=40,
    ),
    cut=st.floats(0.0, 1.0),
    scored=st.sampled_from(["none", "binary", "multiclass"]),
)
def test_merge_equals_counts_of_the_union(
    data: list[tuple[str, str, float, float]], cut: float, scored: str
) -> None:
    yt = np.array([d[0] for d in data])
    yp = np.array([d[1] for d in data])
    if scored == "binary":  # two labels only, 1-d scores
        yt, yp = np.where(yt == "c", "a", yt), np.where(yp == "c", "a", yp)
        scores: np.ndarray | None = np.array([d[2] for d in data])
        make = lambda: dm.ClassificationCounts(pos_label="b")  # noqa: E731
    elif scored == "multiclass":
        raw = np.array([[d[2], d[3], 1.0] for d in data])
        scores = raw / raw.sum(axis=1, keepdims=True)
        make = lambda: dm.ClassificationCounts(labels=["a", "b", "c"])  # noqa: E731
    else:
        scores = None
        make = dm.ClassificationCounts
    at = round(cut * len(data))
    a, b, whole = make(), make(), make()
    a.update(yt[:at], yp[:at], None if scores is None else scores[:at])
    b.update(yt[at:], yp[at:], None if scores is None else scores[at:])
    whole.update(yt, yp, scores)
    before = (a.to_dict(), b.to_dict())
    merged = a.merge(b)
    assert (a.to_dict(), b.to_dict()) == before  # merge returns a new object
    assert_state_close(merged.to_dict(), whole.to_dict())
    assert_state_close(b.merge(a).to_dict(), whole.to_dict())
    assert merged.metrics().keys() == whole.metrics().keys()
    for key, value in whole.metrics().items():
        other = merged.metrics()[key]
        assert (value is None) == (other is None), key
        if value is not None:
            assert other == pytest.approx(value, rel=1e-9, abs=1e-12), key


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=0, max_size=60),
    cut=st.floats(0.0, 1.0),
)
def test_regression_merge_equals_counts_of_the_union(
    pairs: list[tuple[float, float]], cut: float
) -> None:
    t = np.array([p[0] for p in pairs], dtype=float)
    p = np.array([p[1] for p in pairs], dtype=float)
    at = round(cut * len(pairs))
    a, b, whole = dm.RegressionCounts(), dm.RegressionCounts(), dm.RegressionCounts()
    a.update(t[:at], p[:at])
    b.update(t[at:], p[at:])
    whole.update(t, p)
    merged = a.merge(b)
    da, dw = merged.to_dict(), whole.to_dict()
    da.pop("error_sketch"), dw.pop("error_sketch")
    for key in ("sum_abs_error", "sum_sq_error", "sum_ape", "sum_error", "mean_true", "m2_true"):
        scale = 1.0 + abs(dw["sum_sq_error"]) + abs(dw["m2_true"]) + abs(dw["sum_ape"])
        assert math.isclose(da[key], dw[key], rel_tol=1e-9, abs_tol=1e-12 * scale), key
    assert da["n"] == dw["n"] == len(pairs)
    if pairs:  # n <= kll_k: the sketch is exact, so quantiles agree exactly
        levels = (0.0, 0.1, 0.5, 0.9, 1.0)
        assert merged.error_quantiles(levels) == whole.error_quantiles(levels)


@pytest.mark.parametrize("seed", [0, 1])
def test_regression_counts_match_exact_metrics(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(5.0, 2.0, 20_000)
    pred = y + rng.standard_t(4, 20_000)
    c = dm.RegressionCounts()
    for chunk in zip(np.array_split(y, 7), np.array_split(pred, 7), strict=True):
        c.update(*chunk)
    m = c.metrics()
    for name in (
        "mean_absolute_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "r2",
    ):
        assert m[name] == pytest.approx(dm.get_metric(name).func(y, pred), rel=1e-9), name
    assert m["mean_error"] == pytest.approx(np.mean(pred - y), abs=1e-9)
    err = np.sort(pred - y)
    bound = c.quantile_rank_error()
    assert 0.0 < bound < 0.02
    for q, value in c.error_quantiles((0.05, 0.25, 0.5, 0.75, 0.95)).items():
        rank = np.searchsorted(err, value, side="right") / err.size
        assert abs(rank - q) <= bound, q
        assert m[f"error_quantile_{q}"] == value


def test_regression_counts_small_and_undefined() -> None:
    c = dm.RegressionCounts()
    assert all(v is None for v in c.metrics().values())
    assert set(c.reasons()) == set(c.metrics())
    c.update([2.0, 2.0, 2.0], [1.0, 2.0, 4.0])
    m = c.metrics()
    assert m["r2"] is None and "constant" in c.reasons()["r2"]
    assert m["mean_absolute_error"] == pytest.approx(1.0)
    assert c.error_quantiles((0.0, 0.5, 1.0)) == {0.0: -1.0, 0.5: 0.0, 1.0: 2.0}
    assert c.quantile_rank_error() == 0.0
    with pytest.raises(InputError, match="kll_k"):
        dm.RegressionCounts(kll_k=2)
    with pytest.raises(InputError, match="y_true: expected finite numbers"):
        c.update([np.nan], [1.0])


def test_update_of_a_million_rows_is_fast() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    y = rng.integers(0, 2, n)
    s = rng.random(n)
    c = dm.ClassificationCounts()
    c.update(y[:10], y[:10], s[:10])  # warm-up
    start = time.perf_counter()
    c.update(y, (s > 0.5).astype(np.int64), s)
    elapsed = time.perf_counter() - start
    assert c.n == n + 10
    assert elapsed < 1.0, elapsed
    r = dm.RegressionCounts()
    start = time.perf_counter()
    r.update(s, s + 0.1)
    assert time.perf_counter() - start < 1.0
