"""Feature values kept for fewer days than their predictions."""

from __future__ import annotations

import pytest

from driftline.errors import InputError
from driftline.store import IngestService, QueryService, RetentionPolicy, Store
from driftline.wire import PredictionsBatch

DAY = 86_400.0


def batch(name: str, ts: list[float]) -> PredictionsBatch:
    return PredictionsBatch(
        batch_id=name, project="p", model="m", version="v",
        ids=[f"{name}-{i}" for i in range(len(ts))], timestamps=ts,
        features={"x": [float(i) for i in range(len(ts))]}, predictions=[1] * len(ts),
    )  # fmt: skip


def test_features_expire_before_their_predictions(store: Store) -> None:
    policy = RetentionPolicy(
        max_age_days=30, feature_max_age_days=2, max_rows_per_version=None, check_every_s=0
    )
    svc = IngestService(store, retention=policy)
    svc.ingest(batch("old", [0.0, 1.0]))
    svc.ingest(batch("mid", [2 * DAY, 2 * DAY + 1]))
    q = QueryService(store)
    assert q.get_prediction("p", "m", "old-1")["features"] == {"x": 1.0}
    svc.ingest(batch("new", [3 * DAY]))  # the old chunk is now more than 2 days older
    old = q.get_prediction("p", "m", "old-1")
    assert old["features"] is None and old["prediction"] == 1  # the row stays
    assert q.get_prediction("p", "m", "mid-1")["features"] == {"x": 1.0}
    [w] = q.window_series("p", "m", window_seconds=4 * 86_400, drift=False)
    assert w.n_predictions == 5  # aggregates keep every row


def test_bad_feature_age() -> None:
    with pytest.raises(InputError, match="feature_max_age_days: expected a positive number"):
        RetentionPolicy(feature_max_age_days=0)
