"""Common tests over the metric registry, in the manner of scikit-learn's test_common.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.calibration import calibration_curve

import driftline.stats.metrics as dm
from driftline.errors import InputError, InsufficientDataError

NAMES = np.array(["ant", "bee", "cat", "dog"])
SEEDS = (0, 1, 2)
# counts-based values that are approximations, with the bound the docs state
BINNED_TOLERANCE = {"roc_auc": 0.01, "average_precision": 0.01}


def _sk_ece(y: np.ndarray, s: np.ndarray, pos: object) -> float:
    if s.ndim == 2:
        classes = np.unique(y)
        hit, conf = classes[s.argmax(axis=1)] == y, s.max(axis=1)
    else:
        hit, conf = y == pos, s
    prob_true, prob_pred = calibration_curve(hit, conf, n_bins=10)
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], conf), minlength=10)
    return float(np.sum(counts[counts > 0] / conf.size * np.abs(prob_true - prob_pred)))


def _sk_prf(fn: Callable[..., float], average: str) -> Callable[..., float]:
    def ref(y: np.ndarray, p: np.ndarray, pos: object) -> float:
        kw: dict[str, Any] = {"pos_label": pos} if average == "binary" else {}
        return float(fn(y, p, average=average, zero_division=0, **kw))

    return ref


SKLEARN: dict[str, Callable[[np.ndarray, np.ndarray, object], float]] = {
    "accuracy": lambda y, p, pos: skm.accuracy_score(y, p),
    "roc_auc": lambda y, s, pos: (
        skm.roc_auc_score(y, s, multi_class="ovr", average="macro")
        if s.ndim == 2
        else skm.roc_auc_score(y, s)
    ),
    "average_precision": lambda y, s, pos: (
        skm.average_precision_score(y, s)
        if s.ndim == 2
        else skm.average_precision_score(y, s, pos_label=pos)
    ),
    "log_loss": lambda y, s, pos: skm.log_loss(y, s),
    "brier_score_loss": lambda y, s, pos: (
        skm.brier_score_loss(y, s) if s.ndim == 2 else skm.brier_score_loss(y, s, pos_label=pos)
    ),
    "expected_calibration_error": _sk_ece,
    "mean_absolute_error": lambda y, p, pos: skm.mean_absolute_error(y, p),
    "root_mean_squared_error": lambda y, p, pos: skm.root_mean_squared_error(y, p),
    "mean_absolute_percentage_error": lambda y, p, pos: skm.mean_absolute_percentage_error(y, p),
    "r2": lambda y, p, pos: skm.r2_score(y, p),
}
for _metric, _fn in (
    ("precision", skm.precision_score),
    ("recall", skm.recall_score),
    ("f1", skm.f1_score),
):
    SKLEARN[_metric] = _sk_prf(_fn, "binary")
    for _avg in ("micro", "macro", "weighted"):
        SKLEARN[f"{_metric}_{_avg}"] = _sk_prf(_fn, _avg)


def _cases() -> list[Any]:
    cases = []
    for name in dm.available_metrics():
        for task in sorted(dm.get_metric(name).task):
            kinds = ("int", "str") if task != "regression" else ("float",)
            cases += [pytest.param(name, task, kind, id=f"{name}-{task}-{kind}") for kind in kinds]
    return cases


CASES = _cases()


def _data(task: str, kind: str, seed: int, noise: float = 0.2, n: int = 300) -> dict[str, Any]:
    """y_true, y_pred (labels or values), scores and the positive label for one case."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(3.0, 2.0, n)
        return {"y": y, "pred": y + rng.normal(0.0, 4.0 * noise + 1e-3, n), "pos": None}
    k = 2 if task == "binary" else 4
    proba = rng.dirichlet(np.full(k, 0.6), size=n)
    y = np.minimum((rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1), k - 1)
    y[:k] = np.arange(k)
    pred = np.where(rng.random(n) < 1.0 - noise, proba.argmax(axis=1), rng.integers(0, k, n))
    labels = NAMES[:k] if kind == "str" else np.arange(k)
    scores = proba[:, 1] if k == 2 else proba
    return {"y": labels[y], "pred": labels[pred], "scores": scores, "pos": labels[-1].item()}


def _call(name: str, d: dict[str, Any], perm: np.ndarray | None = None) -> float:
    spec = dm.get_metric(name)
    second = d["scores"] if spec.needs == "scores" else d["pred"]
    y = d["y"]
    if perm is not None:
        y, second = y[perm], second[perm]
    kwargs = {}
    if d["pos"] is not None and (spec.needs == "scores" or name in ("precision", "recall", "f1")):
        kwargs["pos_label"] = d["pos"]
    return spec.func(y, second, **kwargs)


def test_public_api_is_sorted_and_complete() -> None:
    assert dm.__all__ == sorted(dm.__all__)
    public = {n for n in dir(dm) if not n.startswith("_") and n != "annotations"}
    assert set(dm.__all__) == public
    for name in dm.__all__:
        assert getattr(dm, name).__doc__


def test_registry_lookup() -> None:
    names = dm.available_metrics()
    assert names == sorted(names) and len(names) == len(set(names))
    assert set(dm.available_metrics("binary")) > set(dm.available_metrics("multiclass"))
    assert "precision" not in dm.available_metrics("multiclass")
    assert set(dm.available_metrics("regression")) == {
        "mean_absolute_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "r2",
    }
    for name in names:
        spec = dm.get_metric(name)
        assert spec.name == name and spec.description.endswith(".")
        assert spec.needs in ("labels", "scores") and spec.task
        lower_better = name.endswith(("_error", "_loss"))
        assert spec.greater_is_better is not lower_better
    with pytest.raises(InputError, match="name: expected one of"):
        dm.get_metric("accuracy_score")
    with pytest.raises(InputError, match="task: expected one of"):
        dm.available_metrics("ranking")


@pytest.mark.parametrize(("name", "task", "kind"), CASES)
def test_metric_matches_sklearn_and_ignores_row_order(name: str, task: str, kind: str) -> None:
    for seed in SEEDS:
        d = _data(task, kind, seed)
        second = d["scores"] if dm.get_metric(name).needs == "scores" else d["pred"]
        got = _call(name, d)
        assert got == pytest.approx(SKLEARN[name](d["y"], second, d["pos"]), rel=1e-10, abs=1e-12)
        perm = np.random.default_rng(seed + 100).permutation(d["y"].size)
        assert _call(name, d, perm) == pytest.approx(got, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("name", "task", "kind"), CASES)
def test_direction_and_perfect_predictions(name: str, task: str, kind: str) -> None:
    spec = dm.get_metric(name)
    good, bad = _data(task, kind, 7, noise=0.05), _data(task, kind, 7, noise=0.6)
    if spec.needs == "scores":  # the same probabilities mixed with noise
        rng = np.random.default_rng(8)
        s = good["scores"]
        noise = (
            rng.random(s.size) if s.ndim == 1 else rng.dirichlet(np.ones(s.shape[1]), s.shape[0])
        )
        bad["scores"], bad["y"] = 0.3 * s + 0.7 * noise, good["y"]
    better = _call(name, good) > _call(name, bad)
    assert better is spec.greater_is_better
    perfect = dict(good)
    perfect["pred"] = good["y"]
    if spec.needs == "scores":
        classes = np.unique(good["y"])
        onehot = (good["y"][:, None] == classes[None, :]).astype(float)
        perfect["scores"] = onehot[:, 1] if task == "binary" else onehot
    best = 1.0 if spec.greater_is_better else 0.0
    assert _call(name, perfect) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize(("name", "task", "kind"), CASES)
def test_empty_input_raises(name: str, task: str, kind: str) -> None:
    spec = dm.get_metric(name)
    empty = np.array([], dtype=float if task == "regression" else (str if kind == "str" else int))
    second = np.zeros((0, 4)) if spec.needs == "scores" and task == "multiclass" else np.array([])
    if task != "regression" and spec.needs == "labels":
        second = empty
    with pytest.raises(InsufficientDataError, match="no rows"):
        spec.func(empty, second)
    with pytest.raises(InputError, match="expected 1 rows"):
        spec.func(np.array([1.0]) if task == "regression" else ["a"], second)


@pytest.mark.parametrize(("name", "task", "kind"), CASES)
def test_counts_agree_with_exact_metric(name: str, task: str, kind: str) -> None:
    for seed in SEEDS[:2]:
        d = _data(task, kind, seed, n=2000)
        exact = _call(name, d)
        if task == "regression":
            counts: dm.ClassificationCounts | dm.RegressionCounts = dm.RegressionCounts()
            for part in np.array_split(np.arange(d["y"].size), 4):
                counts.update(d["y"][part], d["pred"][part])
        else:
            counts = dm.ClassificationCounts(pos_label=d["pos"])
            for part in np.array_split(np.arange(d["y"].size), 4):
                counts.update(d["y"][part], d["pred"][part], d["scores"][part])
            restored = dm.ClassificationCounts.from_dict(counts.to_dict())
            assert restored.metrics() == counts.metrics()
        value = counts.metrics()[name]
        assert value is not None, counts.reasons()
        tolerance = BINNED_TOLERANCE.get(name, 1e-9)
        assert value == pytest.approx(exact, abs=tolerance)
