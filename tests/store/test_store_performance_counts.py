from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from driftline.errors import InputError
from driftline.store import PerformanceCounts
from driftline.store._downsample import minmax_downsample
from driftline.store._performance import MAX_CLASSES


def counts(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, d: np.ndarray) -> PerformanceCounts:
    c = PerformanceCounts()
    c.update(
        labels=y.tolist(),
        predictions=p.tolist(),
        scores=None if s is None else s.tolist(),
        delays=d.tolist(),
    )
    return c


def test_merge_equals_counts_of_the_union(rng: np.random.Generator) -> None:
    n = 600
    y = rng.integers(0, 2, n)
    s = rng.random(n)
    p = (s > 0.5).astype(int)
    d = rng.uniform(0, 100, n)
    whole = counts(y, p, s, d)
    merged = counts(y[:200], p[:200], s[:200], d[:200]).merge(
        counts(y[200:], p[200:], s[200:], d[200:])
    )
    assert merged.metrics() == pytest.approx(whole.metrics(), rel=1e-9)
    assert merged.n == n and merged.delay_max == d.max()
    assert merged.mean_delay == pytest.approx(d.mean())
    assert PerformanceCounts.from_dict(merged.to_dict()) == merged
    m = merged.metrics()
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert m["f1"] == pytest.approx(skm.f1_score(y, p))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=0.01)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)


def test_two_column_scores_and_regression_pairs(rng: np.random.Generator) -> None:
    c = PerformanceCounts()
    c.update(labels=[1, 0, 1, 0], predictions=[1, 1, 1, 0],
             scores=[[0.1, 0.9], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]], delays=[0, 0, 0, 0])  # fmt: skip
    m = c.metrics()
    assert m["accuracy"] == 0.75 and m["recall"] == 1.0 and m["precision"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == 1.0
    yt, yp = rng.normal(size=50), rng.normal(size=50)
    r = counts(yt, yp, None, np.zeros(50))
    assert r.metrics()["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(yt, yp))
    assert r.metrics()["r2"] == pytest.approx(skm.r2_score(yt, yp))


def test_unusable_pairs_are_skipped_not_fatal() -> None:
    c = PerformanceCounts()
    c.update(labels=[None, "a", 1.5], predictions=[1, None, "x"], scores=None, delays=[0, 0, 0])
    assert (c.n, c.n_skipped, c.metrics()) == (3, 3, {})
    # integers with more distinct values than MAX_CLASSES count as regression targets
    many = list(range(MAX_CLASSES + 5))
    c.update(labels=many, predictions=[v + 1 for v in many], scores=None, delays=[0.0] * len(many))
    assert c.metrics()["mean_absolute_error"] == pytest.approx(1.0)


def test_empty_counts_report_nothing() -> None:
    assert PerformanceCounts().metrics() == {}
    assert PerformanceCounts().mean_delay is None


def test_downsample_short_series_unchanged_and_validation() -> None:
    s, _ = minmax_downsample(np.arange(5), np.arange(5.0), max_points=10)
    assert s.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(InputError, match="max_points"):
        minmax_downsample(np.arange(5), np.arange(4.0), max_points=2)
    with pytest.raises(InputError, match="values"):
        minmax_downsample(np.arange(5), np.arange(4.0), max_points=10)
