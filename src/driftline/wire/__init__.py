"""The wire contract shared by the SDK, the server and the store.

What a batch looks like on the wire (the pydantic payload models:
:class:`PredictionsBatch`, :class:`LabelsBatch`, :class:`RunMetricsBatch` ...),
where each kind is sent (:data:`INGEST_PATHS`), how large it may be (the
``MAX_*`` limits), which names are valid (:func:`check_name`), the columns of an
Arrow predictions body (:data:`ARROW_COLUMNS`) and how long a run may stay
silent (:data:`HEARTBEAT_TIMEOUT`). Pure data: no I/O, no database, no HTTP.

The payload models load pydantic on first use, so the SDK can import the
constants and :func:`check_name` without it.

Example
-------
>>> from driftline.wire import INGEST_PATHS, PredictionsBatch, check_name
>>> INGEST_PATHS["labels"]
'/api/v1/ingest/labels'
>>> check_name("model", "ranker")
'ranker'
>>> PredictionsBatch(batch_id="b1", project="shop", model="ranker", version="v1",
...                  ids=["a"], timestamps=[0.0], predictions=[1]).n_rows
1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from driftline.wire._contract import (
    ARROW_COLUMNS,
    ARROW_CONTENT_TYPE,
    HEARTBEAT_INTERVAL,
    HEARTBEAT_TIMEOUT,
    INGEST_PATHS,
    MAX_EVENTS_PER_BATCH,
    MAX_FEATURES,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_POINTS_PER_BATCH,
    MAX_ROWS_PER_BATCH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    NAME_PATTERN,
    check_name,
)

if TYPE_CHECKING:  # pydantic models, loaded on first use
    from driftline.wire._payloads import (
        BusinessEvent,
        EventsBatch,
        IngestAck,
        LabelsBatch,
        MetricPoint,
        Payload,
        PredictionsBatch,
        ReferencePayload,
        RunCreate,
        RunEvent,
        RunEventsBatch,
        RunMetricsBatch,
        RunUpdate,
    )

__all__ = [
    "ARROW_COLUMNS",
    "ARROW_CONTENT_TYPE",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "INGEST_PATHS",
    "MAX_EVENTS_PER_BATCH",
    "MAX_FEATURES",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_POINTS_PER_BATCH",
    "MAX_ROWS_PER_BATCH",
    "MAX_TAGS",
    "MAX_TEXT_LENGTH",
    "NAME_PATTERN",
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
    "check_name",
]

_PAYLOADS = frozenset(name for name in __all__ if name not in globals())
"""The payload models: exported, not imported yet (they load pydantic on first use)."""


def __getattr__(name: str) -> Any:
    if name not in _PAYLOADS:
        raise AttributeError(f"module 'driftline.wire' has no attribute {name!r}")
    value = getattr(importlib.import_module("driftline.wire._payloads"), name)
    globals()[name] = value
    return value
