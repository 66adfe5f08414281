from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from driftline.errors import InputError
from driftline.store import PerformanceCounts
from driftline.store._downsample import minmax_downsample


def test_merge_equals_counts_of_the_union(rng: np.random.Generator) -> None:
    n = 600
    y = rng.integers(0, 2, n)
    s = rng.random(n)
    p = (s > 0.5).astype(int)
    d = rng.uniform(0, 100, n)
    whole = PerformanceCounts()
    whole.update(labels=y.tolist(), predictions=p.tolist(), scores=s.tolist(), delays=d.tolist())
    a, b = PerformanceCounts(), PerformanceCounts()
    a.update(
        labels=y[:200].tolist(),
        predictions=p[:200].tolist(),
        scores=s[:200].tolist(),
        delays=d[:200].tolist(),
    )
    b.update(
        labels=y[200:].tolist(),
        predictions=p[200:].tolist(),
        scores=s[200:].tolist(),
        delays=d[200:].tolist(),
    )
    merged = a.merge(b)
    assert merged.metrics() == pytest.approx(whole.metrics(), rel=1e-12)
    assert merged.n == n and merged.delay_max == d.max()
    assert merged.mean_delay == pytest.approx(d.mean())
    assert PerformanceCounts.from_dict(merged.to_dict()) == merged
    assert merged.metrics()["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=2e-3)
    assert merged.metrics()["log_loss"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)


def test_boolean_labels_and_two_column_scores() -> None:
    c = PerformanceCounts()
    c.update(labels=[True, False, True, False], predictions=[True, True, True, False],
             scores=[[0.1, 0.9], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]], delays=[0, 0, 0, 0])  # fmt: skip
    m = c.metrics()
    assert m["accuracy"] == 0.75 and m["recall"] == 1.0 and m["precision"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == 1.0


def test_empty_counts_report_nothing() -> None:
    assert PerformanceCounts().metrics() == {}
    assert PerformanceCounts().mean_delay is None


def test_downsample_short_series_unchanged_and_validation() -> None:
    s, _ = minmax_downsample(np.arange(5), np.arange(5.0), max_points=10)
    assert s.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(InputError, match="max_points"):
        minmax_downsample(np.arange(5), np.arange(5.0), max_points=2)
    with pytest.raises(InputError, match="values"):
        minmax_downsample(np.arange(5), np.arange(4.0), max_points=10)
