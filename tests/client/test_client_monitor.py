"""ModelMonitor: frames of every kind become valid wire payloads; bad input is counted."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from driftline.client import ModelMonitor
from driftline.config import Settings
from driftline.wire import EventsBatch, LabelsBatch, PredictionsBatch

URL = "http://driftline.test"


@pytest.fixture
def monitor(fake_server, settings: Settings):
    m = ModelMonitor(
        "shop",
        "ranker",
        "v1",
        url=URL,
        transport=fake_server.transport(),
        settings=settings,
        flush_interval=0.02,
    )
    yield m
    m.close(timeout=1.0)


def _batches(fake_server, suffix, model):
    return [model.model_validate(b) for b in fake_server.stored_bodies(suffix)]


FRAME = {"age": [31, None, 45], "city": ["Oslo", "Rome", None], "score": [0.5, np.nan, 1.5]}


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.DataFrame(FRAME),
        lambda: pl.DataFrame(FRAME),
        lambda: pa.table(FRAME),
        lambda: FRAME,
    ],
    ids=["pandas", "polars", "arrow", "dict"],
)
def test_frames_become_columns(monitor, fake_server, make) -> None:
    ids = monitor.log_predictions(make(), np.array([1, 0, 1]), scores=[0.9, 0.1, 0.8])
    assert len(ids) == 3 and len(set(ids)) == 3
    assert monitor.flush(5.0)
    (batch,) = _batches(fake_server, "/predictions", PredictionsBatch)
    assert batch.ids == ids
    assert batch.features["age"] == [31, None, 45]
    assert batch.features["city"] == ["Oslo", "Rome", None]
    assert batch.features["score"] == [0.5, None, 1.5]
    assert batch.predictions == [1, 0, 1]
    assert batch.scores == [0.9, 0.1, 0.8]
    assert (batch.project, batch.model, batch.version) == ("shop", "ranker", "v1")


def test_numpy_array_and_single_rows(monitor, fake_server) -> None:
    monitor.log_predictions(np.arange(6.0).reshape(3, 2), [0.1, 0.2, 0.3], latency_ms=[1, 2, 3])
    one = monitor.log_predictions(
        {"age": np.int64(40), "city": "Oslo"},
        1,
        scores=[0.2, 0.8],
        ids="req-1",
        timestamps=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        errors=None,
    )
    assert one == ["req-1"]
    assert monitor.flush(5.0)
    batches = _batches(fake_server, "/predictions", PredictionsBatch)
    assert batches[0].features == {"col_0": [0.0, 2.0, 4.0], "col_1": [1.0, 3.0, 5.0]}
    assert batches[0].latency_ms == [1.0, 2.0, 3.0]
    single = batches[1]
    assert single.features == {"age": [40], "city": ["Oslo"]}
    assert single.predictions == [1] and single.scores == [[0.2, 0.8]]
    assert single.timestamps == [dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()]


def test_consecutive_calls_are_batched_together(monitor, fake_server) -> None:
    monitor._pipe.flush_interval = 60.0  # nothing is sent until flush
    for i in range(20):
        monitor.log_predictions({"x": [i, i + 1]}, [0, 1])
    assert monitor.flush(5.0)
    (batch,) = _batches(fake_server, "/predictions", PredictionsBatch)
    assert batch.n_rows == 40 and batch.features["x"][:4] == [0, 1, 1, 2]


def test_labels_and_events(monitor, fake_server) -> None:
    ids = monitor.log_predictions({"x": [1, 2]}, [0, 1])
    monitor.log_labels(ids, [1, 1])
    monitor.log_labels("late-id", 0)
    monitor.log_event("click", prediction_id=ids[0])
    monitor.log_event("revenue", value=12.5)
    assert monitor.flush(5.0)
    labels = _batches(fake_server, "/labels", LabelsBatch)
    assert [lab for b in labels for lab in b.labels] == [1, 1, 0]
    (events,) = _batches(fake_server, "/events", EventsBatch)
    assert [(e.name, e.prediction_id, e.value) for e in events.events] == [
        ("click", ids[0], 1.0),
        ("revenue", None, 12.5),
    ]


def test_bad_input_returns_nothing_and_is_counted(monitor, fake_server) -> None:
    assert monitor.log_predictions({"x": [1, 2, 3]}, [0, 1]) == []  # 3 rows, 2 predictions
    assert monitor.log_predictions(42, [0]) == []  # not a frame
    assert monitor.log_predictions({"x": [1]}, [0], scores=[0.1, 0.2, 0.3]) == []
    monitor.log_labels(["a", "b"], [1])
    monitor.log_event("")
    assert monitor.flush(5.0)
    assert monitor.stats().dropped == {"invalid": 5}
    assert fake_server.requests == []


def test_large_frames_are_split_into_bounded_batches(fake_server, settings: Settings) -> None:
    m = ModelMonitor(
        "shop",
        "ranker",
        "v1",
        url=URL,
        transport=fake_server.transport(),
        settings=settings,
        max_batch_weight=1000,
    )
    ids = m.log_predictions({"x": np.arange(2500)}, np.zeros(2500))
    assert m.flush(5.0)
    batches = _batches(fake_server, "/predictions/arrow", PredictionsBatch)  # columnar: Arrow
    assert [b.n_rows for b in batches] == [1000, 1000, 500]
    assert [i for b in batches for i in b.ids] == ids
    m.close()
