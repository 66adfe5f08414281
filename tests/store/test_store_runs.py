from __future__ import annotations

import math
import uuid

import numpy as np
import pytest

from driftline.errors import NotFoundError
from driftline.store import IngestService, QueryService, Store
from driftline.wire import (
    MetricPoint,
    RunCreate,
    RunEvent,
    RunEventsBatch,
    RunMetricsBatch,
    RunUpdate,
)


def bid() -> str:
    return uuid.uuid4().hex


def test_run_life_cycle(store: Store) -> None:
    svc = IngestService(store)
    svc.ingest(
        RunCreate(
            batch_id=bid(), project="train", run_id="r1", name="baseline",
            config={"lr": 0.1}, tags=["resnet"], started_at=100.0,
        )
    )  # fmt: skip
    points = [
        MetricPoint(key="loss", step=s, value=1.0 / (s + 1), timestamp=100.0 + s) for s in range(20)
    ] + [MetricPoint(key="loss", step=20, value=math.nan, timestamp=121.0)]
    assert (
        svc.ingest(
            RunMetricsBatch(batch_id=bid(), project="train", run_id="r1", points=points)
        ).accepted
        == 21
    )
    svc.ingest(
        RunEventsBatch(
            batch_id=bid(), project="train", run_id="r1",
            events=[RunEvent(kind="non_finite_loss", step=20, message="loss is NaN",
                             evidence={"value": None}, timestamp=121.0)],
        )
    )  # fmt: skip
    svc.ingest(
        RunUpdate(
            batch_id=bid(), project="train", run_id="r1", status="failed",
            summary={"best_loss": 0.05, "nan": math.nan}, ended_at=122.0,
        )
    )  # fmt: skip
    query = QueryService(store)
    run = query.get_run("r1")
    assert (run["name"], run["status"], run["ended_at"]) == ("baseline", "failed", 122.0)
    assert run["config"] == {"lr": 0.1} and run["tags"] == ["resnet"]
    assert run["summary"] == {"best_loss": 0.05, "nan": None}  # NaN is stored as null
    assert run["metrics"] == [{"key": "loss", "n_points": 21, "last_step": 20}]
    assert run["events"][0]["kind"] == "non_finite_loss" and run["events"][0]["step"] == 20
    series = query.run_metric_series("r1", "loss")
    assert series["steps"] == list(range(21))
    assert series["values"][:2] == [1.0, 0.5] and series["values"][20] is None
    assert [r["run_id"] for r in query.list_runs("train")] == ["r1"]


def test_metric_series_downsampling_keeps_spikes(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    n = 20_000
    values = np.exp(-np.arange(n) / 5000) + rng.normal(0, 0.01, n)
    spikes = {1234: 40.0, 7777: -3.0, 15001: math.inf}
    for step, v in spikes.items():
        values[step] = v
    values[18000] = math.nan
    points = [
        MetricPoint(key="loss", step=s, value=float(v), timestamp=float(s))
        for s, v in enumerate(values)
    ]
    svc.ingest(RunMetricsBatch(batch_id=bid(), project="p", run_id="big", points=points))
    series = QueryService(store).run_metric_series("big", "loss", max_points=400)
    assert series["n_total"] == n and series["downsampled"]
    assert len(series["steps"]) <= 400
    kept = dict(zip(series["steps"], series["values"], strict=True))
    for step, v in spikes.items():
        assert kept[step] == v
    assert 18000 in kept and kept[18000] is None  # the NaN is kept
    assert kept[0] == pytest.approx(values[0])
    finite = values[np.isfinite(values)]
    got = np.array([v for v in series["values"] if v is not None and math.isfinite(v)])
    assert got.max() == finite.max() and got.min() == finite.min()


def test_run_not_found(store: Store) -> None:
    query = QueryService(store)
    with pytest.raises(NotFoundError, match="run_id: no run with id 'nope'"):
        query.get_run("nope")
    with pytest.raises(NotFoundError, match="run_id"):
        query.run_metric_series("nope", "loss")
    with pytest.raises(NotFoundError, match="project"):
        query.list_runs("nope")
    IngestService(store).ingest(RunCreate(batch_id=bid(), project="p", run_id="r", started_at=0.0))
    with pytest.raises(NotFoundError, match="key: run 'r' has no metric 'acc'"):
        query.run_metric_series("r", "acc")


def test_metrics_before_create_make_the_run(store: Store) -> None:
    svc = IngestService(store)
    svc.ingest(
        RunMetricsBatch(
            batch_id=bid(), project="p", run_id="early",
            points=[MetricPoint(key="acc", step=1, value=0.5, timestamp=50.0)],
        )
    )  # fmt: skip
    svc.ingest(
        RunCreate(batch_id=bid(), project="p", run_id="early", name="late create", started_at=40.0)
    )
    run = QueryService(store).get_run("early")
    assert (run["name"], run["started_at"], run["status"]) == ("late create", 40.0, "running")
