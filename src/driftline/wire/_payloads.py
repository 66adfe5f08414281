"""Wire payloads: what the SDK sends and the ingest API accepts.

Every payload is a pydantic v2 model with ``extra="forbid"``; a bad payload is
rejected with a :class:`pydantic.ValidationError` whose error locations name the
field (``features.age``, ``points.3.value``). Each payload carries a
client-generated ``batch_id`` (the idempotency key: a retried batch is stored
once) and a ``project``. Row-oriented data travels as columns: lists that must
all have the same length, checked with a message that names both lists and
both lengths. Sizes are bounded by the ``MAX_*`` constants of :mod:`driftline.wire`.

Example
-------
>>> batch = PredictionsBatch(
...     batch_id="3f1c", project="shop", model="ranker", version="v1",
...     ids=["a", "b"], timestamps=[0.0, 1.0],
...     features={"age": [31, None]}, predictions=[1, 0],
... )
>>> batch.n_rows
2
>>> try:
...     LabelsBatch(batch_id="x", project="shop", model="ranker", ids=["a"], labels=[1, 0])
... except ValueError as exc:
...     print("labels" in str(exc))
True
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from driftline.wire._contract import (
    MAX_EVENTS_PER_BATCH,
    MAX_FEATURES,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_POINTS_PER_BATCH,
    MAX_ROWS_PER_BATCH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    NAME_PATTERN,
)

__all__ = [
    "BusinessEvent",
    "EventsBatch",
    "IngestAck",
    "LabelsBatch",
    "MetricPoint",
    "Payload",
    "PredictionsBatch",
    "ReferencePayload",
    "RunCreate",
    "RunEvent",
    "RunEventsBatch",
    "RunMetricsBatch",
    "RunUpdate",
]

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
"""A project, model or version name: starts with a letter or digit, no spaces."""
Key = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
"""A metric key, feature name or event name (any printable text)."""
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
"""A client-generated id (batch, prediction, run)."""


def _check_finite(name: str, values: list[float] | None) -> None:
    if values is None:
        return
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise ValueError(f"{name}[{i}]: expected a finite number, got {v!r}")


def _check_length(name: str, values: list[Any] | None, expected: int, against: str) -> None:
    if values is not None and len(values) != expected:
        raise ValueError(
            f"{name}: expected {expected} values (one per entry of '{against}'), got {len(values)}"
        )


def _check_ids(values: list[str], name: str) -> None:
    for i, v in enumerate(values):
        if not v or len(v) > MAX_ID_LENGTH:
            raise ValueError(
                f"{name}[{i}]: expected a non-empty id of at most {MAX_ID_LENGTH} characters, "
                f"got {v[:40]!r}{'...' if len(v) > 40 else ''}"
            )


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_id: Identifier
    """Client-generated UUID; the idempotency key of the batch."""
    project: Name
    """Project the data belongs to; created on first use."""


class PredictionsBatch(_Payload):
    """Predictions of one model version, as columns of equal length.

    ``timestamps`` are epoch seconds (UTC). ``features`` maps a column name to
    its values; ``scores`` holds one score per row (binary or regression) or one
    list of class probabilities per row.

    Example
    -------
    >>> PredictionsBatch(batch_id="b1", project="p", model="m", version="1",
    ...                  ids=["x"], timestamps=[1.5], features={}, predictions=[0.3]).n_rows
    1
    """

    kind: Literal["predictions"] = "predictions"
    model: Name
    version: Name
    ids: list[str] = Field(max_length=MAX_ROWS_PER_BATCH)
    timestamps: list[float] = Field(max_length=MAX_ROWS_PER_BATCH)
    features: dict[Key, list[Any]] = Field(default_factory=dict, max_length=MAX_FEATURES)
    predictions: list[Any] = Field(max_length=MAX_ROWS_PER_BATCH)
    scores: list[float] | list[list[float]] | None = Field(
        default=None, max_length=MAX_ROWS_PER_BATCH
    )
    latency_ms: list[float] | None = Field(default=None, max_length=MAX_ROWS_PER_BATCH)
    errors: list[Annotated[str, Field(max_length=MAX_TEXT_LENGTH)] | None] | None = Field(
        default=None, max_length=MAX_ROWS_PER_BATCH
    )
    _feature_table: Any = PrivateAttr(default=None)
    """The Arrow table of the features when the batch was decoded from Arrow columns.

    A columnar decoder (the server's Arrow IPC endpoint) sets it; its ``features``
    then hold numpy arrays, and the store keeps the features exactly as they came
    (the store encodes them into its feature chunks). Not part of the payload.
    """

    @property
    def n_rows(self) -> int:
        """Number of rows in the batch."""
        return len(self.ids)

    @field_validator("ids")
    @classmethod
    def _ids_valid(cls, v: list[str]) -> list[str]:
        _check_ids(v, "ids")
        return v

    @model_validator(mode="after")
    def _columns_agree(self) -> PredictionsBatch:
        n = len(self.ids)
        _check_length("timestamps", self.timestamps, n, "ids")
        _check_length("predictions", self.predictions, n, "ids")
        _check_length("scores", self.scores, n, "ids")
        _check_length("latency_ms", self.latency_ms, n, "ids")
        _check_length("errors", self.errors, n, "ids")
        for name, col in self.features.items():
            _check_length(f"features.{name}", col, n, "ids")
        _check_finite("timestamps", self.timestamps)
        _check_finite("latency_ms", self.latency_ms)
        if self.scores and isinstance(self.scores[0], list):
            width = len(self.scores[0])
            for i, row in enumerate(self.scores):
                if not isinstance(row, list) or len(row) != width:
                    got = len(row) if isinstance(row, list) else type(row).__name__
                    raise ValueError(
                        f"scores[{i}]: expected a list of {width} class scores like scores[0], "
                        f"got {got}"
                    )
        return self


class LabelsBatch(_Payload):
    """Ground-truth labels joined to predictions by id, whenever they arrive.

    Example
    -------
    >>> LabelsBatch(batch_id="b2", project="p", model="m", ids=["x"], labels=[1]).n_rows
    1
    """

    kind: Literal["labels"] = "labels"
    model: Name
    ids: list[str] = Field(max_length=MAX_ROWS_PER_BATCH)
    labels: list[Any] = Field(max_length=MAX_ROWS_PER_BATCH)
    timestamps: list[float] | None = Field(default=None, max_length=MAX_ROWS_PER_BATCH)

    @property
    def n_rows(self) -> int:
        """Number of labels in the batch."""
        return len(self.ids)

    @field_validator("ids")
    @classmethod
    def _ids_valid(cls, v: list[str]) -> list[str]:
        _check_ids(v, "ids")
        return v

    @model_validator(mode="after")
    def _columns_agree(self) -> LabelsBatch:
        n = len(self.ids)
        _check_length("labels", self.labels, n, "ids")
        _check_length("timestamps", self.timestamps, n, "ids")
        _check_finite("timestamps", self.timestamps)
        return self


class BusinessEvent(BaseModel):
    """One business event (a click, a conversion), optionally tied to a prediction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Key
    prediction_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)] | None = None
    value: float = Field(default=1.0, allow_inf_nan=False)
    timestamp: float = Field(allow_inf_nan=False)


class EventsBatch(_Payload):
    """Business events of one model.

    Example
    -------
    >>> EventsBatch(batch_id="b3", project="p", model="m",
    ...             events=[{"name": "click", "prediction_id": "x", "timestamp": 2.0}]).events[0].value
    1.0
    """

    kind: Literal["events"] = "events"
    model: Name
    events: list[BusinessEvent] = Field(max_length=MAX_EVENTS_PER_BATCH)


class ReferencePayload(_Payload):
    """The reference profile of a model version (a ``DatasetProfile.to_dict()``).

    Example
    -------
    >>> ReferencePayload(batch_id="b4", project="p", model="m", version="1",
    ...                  profile={"columns": {}}, schema={"columns": []}).version
    '1'
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    kind: Literal["reference"] = "reference"
    model: Name
    version: Name
    profile: dict[str, Any]
    schema_: dict[str, Any] = Field(alias="schema")

    @property
    def schema_dict(self) -> dict[str, Any]:
        """The schema as sent (``schema`` on the wire)."""
        return self.schema_


class RunCreate(_Payload):
    """Start (or re-announce) a training run; ``run_id`` is a client UUID.

    Example
    -------
    >>> RunCreate(batch_id="b5", project="p", run_id="r1", name="baseline",
    ...           started_at=0.0).run_id
    'r1'
    """

    kind: Literal["run_create"] = "run_create"
    run_id: Identifier
    name: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = ""
    config: dict[str, Any] = Field(default_factory=dict)
    tags: list[Key] = Field(default_factory=list, max_length=MAX_TAGS)
    started_at: float = Field(allow_inf_nan=False)


class MetricPoint(BaseModel):
    """One value of one metric at one step. Non-finite values are kept (NaN loss)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    step: int = Field(ge=0)
    value: float
    timestamp: float = Field(allow_inf_nan=False)


class RunMetricsBatch(_Payload):
    """Metric points of one run.

    Example
    -------
    >>> RunMetricsBatch(batch_id="b6", project="p", run_id="r1",
    ...                 points=[{"key": "loss", "step": 0, "value": 0.7, "timestamp": 1.0}]).points[0].key
    'loss'
    """

    kind: Literal["run_metrics"] = "run_metrics"
    run_id: Identifier
    points: list[MetricPoint] = Field(max_length=MAX_POINTS_PER_BATCH)


RunStatus = Literal["running", "finished", "failed", "crashed"]


class RunUpdate(_Payload):
    """Change a run's status and summary; ``ended_at`` marks its end.

    Example
    -------
    >>> RunUpdate(batch_id="b7", project="p", run_id="r1", status="finished").status
    'finished'
    """

    kind: Literal["run_update"] = "run_update"
    run_id: Identifier
    status: RunStatus
    summary: dict[str, Any] = Field(default_factory=dict)
    ended_at: float | None = Field(default=None, allow_inf_nan=False)


class RunEvent(BaseModel):
    """One detector event of a run (divergence, plateau, an action taken)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Key
    step: int | None = Field(default=None, ge=0)
    message: Annotated[str, Field(max_length=MAX_TEXT_LENGTH)] = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    timestamp: float = Field(allow_inf_nan=False)


class RunEventsBatch(_Payload):
    """Detector events of one run.

    Example
    -------
    >>> RunEventsBatch(batch_id="b8", project="p", run_id="r1",
    ...                events=[{"kind": "plateau", "step": 10, "timestamp": 3.0}]).events[0].kind
    'plateau'
    """

    kind: Literal["run_events"] = "run_events"
    run_id: Identifier
    events: list[RunEvent] = Field(max_length=MAX_EVENTS_PER_BATCH)


Payload = (
    PredictionsBatch
    | LabelsBatch
    | EventsBatch
    | ReferencePayload
    | RunCreate
    | RunMetricsBatch
    | RunUpdate
    | RunEventsBatch
)
"""Any payload the ingest service accepts; ``kind`` tells them apart."""


class IngestAck(BaseModel):
    """The answer to an ingested batch.

    ``accepted`` counts the rows (or points, events) stored by this call;
    ``duplicate`` is true when the batch id was seen before and nothing was
    stored again (``accepted`` is then 0). For a run batch, ``stop_requested``
    is true once a stop of the run was requested (``POST /api/v1/runs/{id}/stop``
    or an alert's webhook), and ``stop_reason`` says by what; the SDK sets
    ``Run.stop_requested`` from it.

    Example
    -------
    >>> IngestAck(batch_id="b1", accepted=2, duplicate=False).accepted
    2
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_id: str
    accepted: int = Field(ge=0)
    duplicate: bool
    stop_requested: bool = False
    stop_reason: str | None = None
