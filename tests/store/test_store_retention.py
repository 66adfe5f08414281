from __future__ import annotations

import uuid

import numpy as np
import pytest
import sqlalchemy as sa

from driftline.errors import InputError, NotFoundError
from driftline.store import IngestService, QueryService, RetentionPolicy, Store
from driftline.store import tables as t
from driftline.store._bulk import decode_columns
from driftline.wire import LabelsBatch, PredictionsBatch

DAY = 86_400.0


def batch(ts: list[float], ids: list[str] | None = None) -> PredictionsBatch:
    ids = ids or [uuid.uuid4().hex for _ in ts]
    return PredictionsBatch(
        batch_id=uuid.uuid4().hex, project="p", model="m", version="v", ids=ids,
        timestamps=ts, features={"x": [1.0] * len(ts)}, predictions=[1] * len(ts),
    )  # fmt: skip


def raw_times(store: Store) -> list[float]:
    """The times of the stored rows, read from the chunks (deleted rows are blanked)."""
    with store.read() as conn:
        chunks = conn.execute(sa.select(t.prediction_chunks.c.data)).scalars().all()
        n_ids = conn.execute(sa.select(sa.func.count()).select_from(t.prediction_ids)).scalar()
    times = []
    for data in chunks:
        cols = decode_columns(data)
        times.extend(tm for tm, pid in zip(cols["time"], cols["id"], strict=True) if pid)
    assert n_ids == len(times)  # the id index holds the rows kept, no more
    return sorted(times)


def test_row_bound_keeps_the_newest_rows(store: Store) -> None:
    svc = IngestService(store, retention=RetentionPolicy(max_rows_per_version=25, check_every_s=0))
    for k in range(4):
        svc.ingest(batch([k * 10.0 + i for i in range(10)]))
    assert raw_times(store) == [15.0 + i for i in range(25)]
    # window aggregates keep every row
    [w] = QueryService(store).window_series("p", "m")
    assert w.n_predictions == 40


def test_age_bound_is_relative_to_the_newest_row(store: Store) -> None:
    policy = RetentionPolicy(max_age_days=2, max_rows_per_version=None, check_every_s=0)
    svc = IngestService(store, retention=policy)
    svc.ingest(batch([0.0, 1.0 * DAY]))
    svc.ingest(
        LabelsBatch(
            batch_id="l1", project="p", model="m", ids=["old"], labels=[1], timestamps=[0.0]
        )
    )
    assert raw_times(store) == [0.0, DAY]
    svc.ingest(batch([2.5 * DAY]))
    assert raw_times(store) == [DAY, 2.5 * DAY]
    svc.ingest(
        LabelsBatch(
            batch_id="l2", project="p", model="m", ids=["new"], labels=[1], timestamps=[3 * DAY]
        )
    )
    with store.read() as conn:
        assert conn.execute(sa.select(t.labels.c.prediction_id)).scalars().all() == ["new"]


def test_features_are_optional(store: Store) -> None:
    IngestService(store, retention=RetentionPolicy(keep_features=False)).ingest(
        batch([1.0, 2.0], ids=["a", "b"])
    )
    IngestService(store).ingest(batch([3.0], ids=["c"]))
    query = QueryService(store)
    assert query.get_prediction("p", "m", "a")["features"] is None
    got = query.get_prediction("p", "m", "c")
    assert got["features"] == {"x": 1.0}
    assert (got["prediction"], got["timestamp"], got["label"]) == (1, 3.0, None)
    with pytest.raises(NotFoundError, match="prediction_id"):
        query.get_prediction("p", "m", "zzz")


def test_chunks_of_deleted_rows_go_too(store: Store) -> None:
    svc = IngestService(store, retention=RetentionPolicy(max_rows_per_version=10, check_every_s=0))
    for k in range(3):
        svc.ingest(batch([k * 10.0 + i for i in range(10)]))
    assert raw_times(store) == [20.0 + i for i in range(10)]
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.feature_chunks)).scalar() == 1


def test_retention_checks_are_rate_limited(store: Store) -> None:
    now = [0.0]
    svc = IngestService(
        store, clock=lambda: now[0],
        retention=RetentionPolicy(max_rows_per_version=5, check_every_s=60),
    )  # fmt: skip
    svc.ingest(batch([float(i) for i in range(5)]))
    svc.ingest(batch([float(i) for i in range(5, 10)]))  # within 60 s: not pruned yet
    assert len(raw_times(store)) == 10
    now[0] = 61.0
    svc.ingest(batch([10.0]))
    assert raw_times(store) == [6.0, 7.0, 8.0, 9.0, 10.0]


def test_policy_validation() -> None:
    with pytest.raises(InputError, match="max_age_days"):
        RetentionPolicy(max_age_days=0)
    with pytest.raises(InputError, match="max_rows_per_version"):
        RetentionPolicy(max_rows_per_version=0)
    assert np.isfinite(RetentionPolicy().max_age_days or 0)
