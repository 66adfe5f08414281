"""Exact metrics on raw arrays: values against scikit-learn, edge cases and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.calibration import calibration_curve

from driftline.errors import InputError, InsufficientDataError
from driftline.stats import metrics as dm


def _classification(seed: int, k: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, 0.7), size=n)
    y = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    y = np.minimum(y, k - 1)
    y[:k] = np.arange(k)  # every class present
    pred = np.where(rng.random(n) < 0.8, proba.argmax(axis=1), rng.integers(0, k, n))
    return y, pred, proba


def test_confusion_matrix_matches_sklearn_with_string_labels() -> None:
    y, pred, _ = _classification(1, 4)
    names = np.array(["ant", "bee", "cat", "dog"])
    matrix, labels = dm.confusion_matrix(names[y], names[pred])
    assert labels.tolist() == ["ant", "bee", "cat", "dog"]
    np.testing.assert_array_equal(matrix, skm.confusion_matrix(names[y], names[pred]))
    order = ["dog", "ant", "cat", "bee", "eel"]
    matrix, labels = dm.confusion_matrix(names[y], names[pred], labels=order)
    assert labels.tolist() == order
    np.testing.assert_array_equal(matrix, skm.confusion_matrix(names[y], names[pred], labels=order))


def test_confusion_matrix_rejects_unlisted_labels() -> None:
    with pytest.raises(InputError, match="labels: expected every label"):
        dm.confusion_matrix([0, 1, 2], [0, 1, 1], labels=[0, 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
@pytest.mark.parametrize("zero_division", [0.0, 1.0])
def test_prf_averages_match_sklearn(seed: int, average: str, zero_division: float) -> None:
    y, pred, _ = _classification(seed, 5, n=60)
    pred[pred == 4] = 3  # class 4 never predicted: exercises zero_division
    for ours, theirs in (
        (dm.precision_score, skm.precision_score),
        (dm.recall_score, skm.recall_score),
        (dm.f1_score, skm.f1_score),
    ):
        got = ours(y, pred, average=average, zero_division=zero_division)  # type: ignore[arg-type]
        want = theirs(y, pred, average=average, zero_division=zero_division)
        assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(
    ("y", "pred", "pos"),
    [
        ([0, 1, 1, 0, 1], [1, 1, 0, 0, 1], 1),
        ([True, False, True], [True, True, True], True),
        (["no", "yes", "yes"], ["yes", "yes", "no"], "yes"),
        (["no", "yes", "yes"], ["yes", "yes", "no"], "no"),
        ([0, 0, 0], [0, 0, 0], 1),  # positive class absent: zero_division
    ],
)
def test_binary_prf_and_accuracy_match_sklearn(y: list[Any], pred: list[Any], pos: object) -> None:
    for ours, theirs in (
        (dm.precision_score, skm.precision_score),
        (dm.recall_score, skm.recall_score),
        (dm.f1_score, skm.f1_score),
    ):
        assert ours(y, pred, pos_label=pos) == pytest.approx(
            theirs(y, pred, pos_label=pos, zero_division=0), abs=1e-12
        )
    assert dm.accuracy_score(y, pred) == skm.accuracy_score(y, pred)


def test_binary_average_errors() -> None:
    with pytest.raises(InputError, match="average: 'binary' needs at most 2 classes"):
        dm.precision_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(InputError, match="pos_label: expected one of the labels"):
        dm.recall_score(["a", "b"], ["a", "b"])
    with pytest.raises(InputError, match="average: expected one of"):
        dm.f1_score([0, 1], [0, 1], average="samples")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="y_pred: expected 2 rows"):
        dm.accuracy_score([0, 1], [0, 1, 1])
    with pytest.raises(InputError, match="y_pred: expected labels of the same kind"):
        dm.accuracy_score(["a", "b"], [0, 1])
    with pytest.raises(InputError, match="y_true: expected a 1-d array"):
        dm.accuracy_score([[0, 1]], [[0, 1]])
    with pytest.raises(InsufficientDataError, match="no rows"):
        dm.accuracy_score([], [])


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_binary_scores_match_sklearn(seed: int) -> None:
    y, _, proba = _classification(seed, 2)
    s = proba[:, 1]
    names = np.array(["neg", "pos"])
    for labels, pos in ((y, 1), (names[y], "pos"), (y.astype(bool), True)):
        assert dm.roc_auc_score(labels, s) == pytest.approx(skm.roc_auc_score(labels, s), abs=1e-12)
        assert dm.average_precision_score(labels, s) == pytest.approx(
            skm.average_precision_score(labels, s, pos_label=pos), abs=1e-12
        )
        assert dm.log_loss(labels, s) == pytest.approx(skm.log_loss(labels, s), abs=1e-12)
        assert dm.brier_score_loss(labels, s) == pytest.approx(
            skm.brier_score_loss(labels, s, pos_label=pos), abs=1e-12
        )
    # ties and a non-probability score (a decision function) for ROC AUC
    rounded = np.round(s, 1)
    assert dm.roc_auc_score(y, rounded) == pytest.approx(skm.roc_auc_score(y, rounded), abs=1e-12)
    assert dm.average_precision_score(y, rounded) == pytest.approx(
        skm.average_precision_score(y, rounded), abs=1e-12
    )
    margin = np.log(s / (1 - s)) * 3
    assert dm.roc_auc_score(y, margin) == pytest.approx(skm.roc_auc_score(y, margin), abs=1e-12)


def test_pos_label_flips_binary_scores() -> None:
    y, _, proba = _classification(6, 2)
    s = proba[:, 1]
    assert dm.roc_auc_score(y, 1 - s, pos_label=0) == pytest.approx(skm.roc_auc_score(y, s))
    assert dm.average_precision_score(y, 1 - s, pos_label=0) == pytest.approx(
        skm.average_precision_score(y, 1 - s, pos_label=0)
    )


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_multiclass_scores_match_sklearn(seed: int) -> None:
    y, _, proba = _classification(seed, 4)
    names = np.array(["ant", "bee", "cat", "dog"])
    for labels in (y, names[y]):
        assert dm.roc_auc_score(labels, proba) == pytest.approx(
            skm.roc_auc_score(labels, proba, multi_class="ovr", average="macro"), abs=1e-12
        )
        assert dm.average_precision_score(labels, proba) == pytest.approx(
            skm.average_precision_score(labels, proba), abs=1e-12
        )
        assert dm.log_loss(labels, proba) == pytest.approx(skm.log_loss(labels, proba), abs=1e-12)
        assert dm.brier_score_loss(labels, proba) == pytest.approx(
            skm.brier_score_loss(labels, proba), abs=1e-12
        )
    # columns follow the given labels' order
    order = [2, 0, 3, 1]
    assert dm.log_loss(y, proba[:, order], labels=order) == pytest.approx(skm.log_loss(y, proba))


def _sklearn_ece(hit: np.ndarray, conf: np.ndarray, n_bins: int) -> float:
    prob_true, prob_pred = calibration_curve(hit, conf, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], conf), minlength=n_bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / conf.size * np.abs(prob_true - prob_pred)))


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_calibration_error_matches_sklearn_calibration_curve(n_bins: int) -> None:
    y, _, proba = _classification(10, 2)
    got = dm.expected_calibration_error(y, proba[:, 1], n_bins=n_bins)
    assert got == pytest.approx(_sklearn_ece(y == 1, proba[:, 1], n_bins), abs=1e-12)
    y, _, proba = _classification(11, 3)
    conf, hit = proba.max(axis=1), proba.argmax(axis=1) == y
    got = dm.expected_calibration_error(y, proba, n_bins=n_bins)
    assert got == pytest.approx(_sklearn_ece(hit, conf, n_bins), abs=1e-12)


def test_calibration_error_is_zero_for_perfect_bins() -> None:
    assert dm.expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert dm.expected_calibration_error([0, 0, 1, 1], [0.0, 0.0, 1.0, 1.0]) == 0.0


def test_score_metrics_undefined_and_bad_input() -> None:
    with pytest.raises(InsufficientDataError, match="only one class present"):
        dm.roc_auc_score([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(InsufficientDataError, match="class 2"):
        dm.roc_auc_score([0, 1, 1], np.full((3, 3), 1 / 3), labels=[0, 1, 2])
    with pytest.raises(InsufficientDataError, match="no positive rows"):
        dm.average_precision_score([0, 0], [0.2, 0.4])
    assert dm.average_precision_score([1, 1], [0.2, 0.4]) == 1.0
    with pytest.raises(InsufficientDataError, match="no rows"):
        dm.log_loss([], [])
    with pytest.raises(InputError, match="y_prob: expected probabilities in"):
        dm.log_loss([0, 1], [0.2, 1.5])
    with pytest.raises(InputError, match="y_score: expected 2 rows"):
        dm.roc_auc_score([0, 1], [0.2, 0.4, 0.3])
    with pytest.raises(InputError, match="y_score: expected one column per class"):
        dm.roc_auc_score([0, 1, 2], np.full((3, 2), 0.5))
    with pytest.raises(InputError, match="expected at most 2 classes"):
        dm.brier_score_loss([0, 1, 2], [0.2, 0.4, 0.3])
    with pytest.raises(InputError, match="y_score: expected finite numbers"):
        dm.roc_auc_score([0, 1], [0.2, np.nan])
    with pytest.raises(InputError, match="n_bins: expected a positive int"):
        dm.expected_calibration_error([0, 1], [0.2, 0.4], n_bins=0)
    with pytest.raises(InputError, match="pos_label: expected a positive class"):
        dm.log_loss(["a", "a"], [0.2, 0.4])


def test_log_loss_clips_like_sklearn() -> None:
    y, p = [0, 1, 1], [1.0, 0.0, 1.0]
    assert dm.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    assert np.isfinite(dm.log_loss(y, p))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(2.0, 3.0, 500)
    y[:3] = 0.0  # MAPE's epsilon floor
    pred = y + rng.normal(0.0, 1.0, 500)
    assert dm.mean_absolute_error(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred))
    assert dm.root_mean_squared_error(y, pred) == pytest.approx(
        skm.root_mean_squared_error(y, pred)
    )
    assert dm.mean_absolute_percentage_error(y, pred) == pytest.approx(
        skm.mean_absolute_percentage_error(y, pred), rel=1e-12
    )
    assert dm.r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred), abs=1e-12)
    q = (0.0, 0.1, 0.5, 0.9, 1.0)
    got = dm.error_quantiles(y, pred, q=q)
    assert list(got) == list(q)
    np.testing.assert_allclose(list(got.values()), np.quantile(pred - y, q))


def test_regression_undefined_and_bad_input() -> None:
    with pytest.raises(InsufficientDataError, match="constant target"):
        dm.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InsufficientDataError, match="constant target"):
        dm.r2_score([2.0], [1.0])
    with pytest.raises(InsufficientDataError, match="no rows"):
        dm.mean_absolute_error([], [])
    with pytest.raises(InputError, match="y_pred: expected 2 rows"):
        dm.root_mean_squared_error([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="y_true: expected numbers"):
        dm.mean_absolute_error(["a", "b"], [1.0, 2.0])
    with pytest.raises(InputError, match="y_pred: expected finite numbers"):
        dm.mean_absolute_error([1.0, 2.0], [1.0, np.inf])
    with pytest.raises(InputError, match="q: expected quantile levels"):
        dm.error_quantiles([1.0, 2.0], [1.0, 2.0], q=(0.5, 1.5))
