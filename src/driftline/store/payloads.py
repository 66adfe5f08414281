"""The wire payloads, under their earlier name: they live in :mod:`driftline.wire`.

Kept so that code written against ``driftline.store.payloads`` keeps working;
new code imports from :mod:`driftline.wire`.

Example
-------
>>> from driftline.store.payloads import PredictionsBatch
>>> from driftline import wire
>>> PredictionsBatch is wire.PredictionsBatch
True
"""

from __future__ import annotations

from driftline.wire import (
    MAX_EVENTS_PER_BATCH,
    MAX_FEATURES,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_POINTS_PER_BATCH,
    MAX_ROWS_PER_BATCH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
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
    "MAX_EVENTS_PER_BATCH",
    "MAX_FEATURES",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_POINTS_PER_BATCH",
    "MAX_ROWS_PER_BATCH",
    "MAX_TAGS",
    "MAX_TEXT_LENGTH",
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
