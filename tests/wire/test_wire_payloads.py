from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.wire import (
    MAX_ROWS_PER_BATCH,
    EventsBatch,
    LabelsBatch,
    PredictionsBatch,
    ReferencePayload,
    RunMetricsBatch,
    RunUpdate,
)

BASE: dict[str, Any] = {"batch_id": "b", "project": "shop", "model": "m", "version": "1"}


def locs(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


def preds(**kw: Any) -> PredictionsBatch:
    return PredictionsBatch.model_validate({**BASE, **kw})


def test_lengths_must_agree_and_the_message_names_both() -> None:
    with pytest.raises(ValidationError) as info:
        preds(ids=["a", "b"], timestamps=[1.0, 2.0], predictions=[1])
    assert "predictions: expected 2 values (one per entry of 'ids'), got 1" in str(info.value)
    with pytest.raises(ValidationError, match=r"features.age: expected 2 values"):
        preds(ids=["a", "b"], timestamps=[1.0, 2.0], predictions=[1, 0], features={"age": [3]})
    with pytest.raises(ValidationError, match=r"scores\[1\]: expected a list of 2 class scores"):
        preds(ids=["a", "b"], timestamps=[1.0, 2.0], predictions=[1, 0], scores=[[0.1, 0.9], [1.0]])
    with pytest.raises(ValidationError, match="labels: expected 1 values"):
        LabelsBatch.model_validate(
            {"batch_id": "b", "project": "p", "model": "m", "ids": ["a"], "labels": [1, 2]}
        )


def test_field_errors_carry_the_field_path() -> None:
    with pytest.raises(ValidationError) as info:
        preds(project="has space", ids=["a"], timestamps=["x"], predictions=[1])
    assert {"project", "timestamps.0"} <= set(locs(info.value))
    point = {"key": "loss", "step": -1, "value": 1.0, "timestamp": 0.0}
    with pytest.raises(ValidationError) as info:
        RunMetricsBatch.model_validate(
            {"batch_id": "b", "project": "p", "run_id": "r", "points": [point]}
        )
    assert locs(info.value) == ["points.0.step"]
    event = {"name": "click", "timestamp": float("inf")}
    with pytest.raises(ValidationError) as info:
        EventsBatch.model_validate(
            {"batch_id": "b", "project": "p", "model": "m", "events": [event]}
        )
    assert locs(info.value) == ["events.0.timestamp"]
    with pytest.raises(ValidationError) as info:
        RunUpdate.model_validate(
            {"batch_id": "b", "project": "p", "run_id": "r", "status": "paused"}
        )
    assert locs(info.value) == ["status"]
    with pytest.raises(ValidationError, match="extra"):
        LabelsBatch.model_validate(
            {"batch_id": "b", "project": "p", "model": "m", "ids": [], "labels": [], "surprise": 1}
        )


def test_non_finite_timestamps_and_bad_ids() -> None:
    with pytest.raises(ValidationError, match=r"timestamps\[0\]: expected a finite number"):
        preds(ids=["a"], timestamps=[float("nan")], predictions=[1])
    with pytest.raises(ValidationError, match=r"ids\[1\]: expected a non-empty id"):
        preds(ids=["a", ""], timestamps=[1.0, 2.0], predictions=[1, 1])


def test_sizes_are_bounded() -> None:
    n = MAX_ROWS_PER_BATCH + 1
    with pytest.raises(ValidationError) as info:
        LabelsBatch(batch_id="b", project="p", model="m", ids=["a"] * n, labels=[1] * n)
    assert "ids" in locs(info.value)


def test_json_round_trip_uses_the_wire_names() -> None:
    ref = ReferencePayload.model_validate(
        {**BASE, "profile": {"format": "x"}, "schema": {"columns": []}}
    )
    wire = json.loads(ref.model_dump_json())
    assert wire["schema"] == {"columns": []} and "schema_" not in wire
    assert ReferencePayload.model_validate(wire) == ref
    batch = preds(
        ids=["a"], timestamps=[1.0], predictions=["cat"], scores=[[0.2, 0.8]],
        latency_ms=[3.5], errors=[None],
    )  # fmt: skip
    assert PredictionsBatch.model_validate_json(batch.model_dump_json()) == batch
    assert batch.kind == "predictions"
