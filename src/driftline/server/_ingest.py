"""Ingest endpoints: one per payload kind, plus Arrow IPC for predictions.

Each answers 200 with the :class:`~driftline.wire.IngestAck` once the
store committed the batch (an acknowledged batch is durable); a batch id seen
before gives the same answer with ``duplicate: true`` and stores nothing.
Bodies may be gzip-compressed (``Content-Encoding: gzip``). The answer to a run
batch also carries ``stop_requested: true`` and ``stop_reason`` once a stop of the
run was requested (left out otherwise).
"""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from driftline import wire
from driftline.errors import InputError
from driftline.server._alerting import after_ingest
from driftline.server._arrow import RESERVED_COLUMNS, batch_from_arrow
from driftline.server.context import context, require

__all__ = [
    "ARROW_CONTENT_TYPE",
    "ARROW_RESERVED_COLUMNS",
    "check_scalar_features",
    "document_payloads",
    "router",
]

router = APIRouter(tags=["ingest"])

ARROW_CONTENT_TYPE = wire.ARROW_CONTENT_TYPE
"""Content type of an Arrow IPC stream body."""
ARROW_RESERVED_COLUMNS = RESERVED_COLUMNS
"""Columns of an Arrow predictions body that are not features, and the field each fills."""

_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "predictions": wire.PredictionsBatch,
    "labels": wire.LabelsBatch,
    "events": wire.EventsBatch,
    "reference": wire.ReferencePayload,
    "run_create": wire.RunCreate,
    "run_metrics": wire.RunMetricsBatch,
    "run_update": wire.RunUpdate,
    "run_events": wire.RunEventsBatch,
}

_SUMMARIES = {
    "predictions": "Ingest a batch of predictions",
    "labels": "Ingest a batch of labels (joined to predictions by id)",
    "events": "Ingest a batch of business events",
    "reference": "Set the reference profile of a model version",
    "run_create": "Create (or re-announce) a training run",
    "run_metrics": "Ingest metric points of a run",
    "run_update": "Update a run's status and summary (also the heartbeat)",
    "run_events": "Ingest detector events of a run",
}


_SCALARS = frozenset({str, int, float, bool, type(None)})


def check_scalar_features(payload: Any) -> None:
    """Raise :class:`InputError` unless every feature value is a string, number, boolean or null.

    The wire model accepts any JSON value in a feature column; nested lists and
    objects cannot be profiled, so they are refused here with the field's path.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> check_scalar_features(SimpleNamespace(features={"x": [1, "a", None]}))
    >>> check_scalar_features(SimpleNamespace(features={"x": [1, {"a": 1}]}))
    Traceback (most recent call last):
    ...
    driftline.errors.InputError: features.x[1]: expected a string, number, boolean or null, got dict
    """
    for name, values in getattr(payload, "features", {}).items():
        if {type(v) for v in values} <= _SCALARS:
            continue
        for i, v in enumerate(values):
            if type(v) not in _SCALARS:
                raise InputError(
                    f"features.{name}[{i}]: expected a string, number, boolean or null, "
                    f"got {type(v).__name__}"
                )


def _ingest(request: Request, payload: Any, *, columnar: bool = False) -> wire.IngestAck:
    require(request, payload.project, "editor")
    if not columnar:  # an Arrow body's columns were checked by type already
        check_scalar_features(payload)
    ctx = context(request)
    ack: wire.IngestAck = ctx.ingest.ingest(payload)
    after_ingest(ctx, payload)  # also for a duplicate: its first ack may have been lost
    return ack


def _parse_and_ingest(request: Request, model: type[pydantic.BaseModel], body: bytes) -> Any:
    """Parse and validate ``body`` in one pass (pydantic's JSON parser), then ingest it.

    Runs in the thread pool: a 10k-row batch is a few MB of JSON, which must not hold
    the event loop. Errors name the field, with the ``body`` prefix FastAPI uses.
    """
    try:
        payload = model.model_validate_json(body)
    except pydantic.ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        ) from exc
    return _ingest(request, payload)


def _make_endpoint(kind: str, model: type[pydantic.BaseModel]) -> None:
    async def endpoint(request: Request) -> wire.IngestAck:
        body = await request.body()
        ack: wire.IngestAck = await run_in_threadpool(_parse_and_ingest, request, model, body)
        return ack

    endpoint.__name__ = f"ingest_{kind}"
    router.add_api_route(
        wire.INGEST_PATHS[kind],
        endpoint,
        methods=["POST"],
        response_model=wire.IngestAck,
        response_model_exclude_defaults=True,  # stop_requested only when true
        summary=_SUMMARIES[kind],
        description=(
            f"Body: a `{model.__name__}` as JSON, optionally gzip-compressed "
            "(`Content-Encoding: gzip`). Needs the editor role on the payload's project."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                    }
                },
            }
        },
    )


for _kind, _model in _MODELS.items():
    _make_endpoint(_kind, _model)


def document_payloads(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the ingest payload models (and the models they use) to an OpenAPI document.

    The ingest endpoints read their bodies themselves (see :func:`_parse_and_ingest`), so
    FastAPI does not collect their schemas; their request bodies refer to these.
    """
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in _MODELS.values():
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(js.pop("$defs", {}))
        schemas[model.__name__] = js
    return openapi


@router.post(
    wire.INGEST_PATHS["predictions"] + "/arrow",
    response_model=wire.IngestAck,
    response_model_exclude_defaults=True,
    summary="Ingest a batch of predictions as an Arrow IPC stream",
    description=(
        "Body: an Arrow IPC stream (`Content-Type: application/vnd.apache.arrow.stream`). "
        "Columns `__id`, `__timestamp` (epoch seconds) and `__prediction` are required; "
        "`__score`, `__latency_ms` and `__error` are optional; every other column is a feature."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {ARROW_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def ingest_predictions_arrow(
    request: Request,
    project: str = Query(..., description="Project of the batch."),
    model: str = Query(..., description="Model of the batch."),
    version: str = Query(..., description="Model version of the batch."),
    batch_id: str = Query(..., description="Client-generated idempotency key."),
) -> wire.IngestAck:
    """Ingest predictions sent as Arrow columns."""
    data = await request.body()
    names = {"project": project, "model": model, "version": version, "batch_id": batch_id}
    ack: wire.IngestAck = await run_in_threadpool(_decode_and_ingest, request, data, names)
    return ack


def _decode_and_ingest(request: Request, data: bytes, names: dict[str, str]) -> wire.IngestAck:
    """Decode an Arrow body and ingest it, in one trip to the thread pool."""
    try:
        payload = predictions_from_arrow(data, **names)
    except pydantic.ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        ) from exc
    return _ingest(request, payload, columnar=True)


def predictions_from_arrow(
    data: bytes, *, project: str, model: str, version: str, batch_id: str
) -> wire.PredictionsBatch:
    """Build a :class:`PredictionsBatch` from an Arrow IPC stream (see :data:`ARROW_RESERVED_COLUMNS`).

    Columns are validated and converted by :func:`driftline.server._arrow.batch_from_arrow`
    with pyarrow compute and numpy, not value by value.

    Raises
    ------
    InputError
        When the bytes are not an Arrow stream, a required column is missing or a
        column does not make a valid batch (the message names the field).
    pydantic.ValidationError
        When a name (project, model, version, batch id) is not valid.
    """
    return batch_from_arrow(data, project=project, model=model, version=version, batch_id=batch_id)
