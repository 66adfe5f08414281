"""The plain constants of the wire contract: endpoints, limits, Arrow columns, heartbeats.

Nothing here imports pydantic, so the SDK can check names and address the
server without loading the payload models.
"""

from __future__ import annotations

import re

from driftline.errors import InputError

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
    "check_name",
]

MAX_ROWS_PER_BATCH = 100_000
"""Most rows (predictions or labels) in one batch."""
MAX_FEATURES = 2_000
"""Most feature columns in one predictions batch."""
MAX_EVENTS_PER_BATCH = 100_000
"""Most business or run events in one batch."""
MAX_POINTS_PER_BATCH = 100_000
"""Most metric points in one run-metrics batch."""
MAX_ID_LENGTH = 256
"""Longest prediction id, batch id or run id, in characters."""
MAX_NAME_LENGTH = 200
"""Longest project, model, version, metric key, event name or tag."""
MAX_TEXT_LENGTH = 10_000
"""Longest free-text value (an error message, an event message)."""
MAX_TAGS = 100
"""Most tags on one run."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/@+=-]*$"
"""Project, model and version names: letters, digits and ``_.:/@+=-``, starting with a letter
or digit."""

_NAME = re.compile(NAME_PATTERN)

INGEST_PATHS: dict[str, str] = {
    "predictions": "/api/v1/ingest/predictions",
    "labels": "/api/v1/ingest/labels",
    "events": "/api/v1/ingest/events",
    "reference": "/api/v1/ingest/reference",
    "run_create": "/api/v1/ingest/runs",
    "run_metrics": "/api/v1/ingest/run-metrics",
    "run_update": "/api/v1/ingest/run-updates",
    "run_events": "/api/v1/ingest/run-events",
}
"""Ingest endpoint of each payload kind, relative to the server's base URL."""

ARROW_CONTENT_TYPE = "application/vnd.apache.arrow.stream"
"""Content type of an Arrow IPC stream body (predictions only)."""

ARROW_COLUMNS: dict[str, str] = {
    "ids": "__id",
    "timestamps": "__timestamp",
    "predictions": "__prediction",
    "scores": "__score",
    "latency_ms": "__latency_ms",
    "errors": "__error",
}
"""Field of a predictions payload -> its column in an Arrow body (every other column: a feature)."""

HEARTBEAT_INTERVAL = 30.0
"""Seconds between the heartbeats a live run sends from its background thread."""
HEARTBEAT_TIMEOUT = 180.0
"""A ``running`` run silent for this long (six missed heartbeats) is marked ``crashed`` by the server."""


def check_name(what: str, value: object) -> str:
    """Return ``value`` when it is a valid project/model/version name, else raise :class:`InputError`.

    Example
    -------
    >>> check_name("model", "ranker-v2")
    'ranker-v2'
    >>> check_name("model", "my model")
    Traceback (most recent call last):
    ...
    driftline.errors.InputError: model: expected a name of letters, digits and _.:/@+=- starting with a letter or digit (at most 200 characters), got 'my model'
    """
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH or not _NAME.match(value):
        raise InputError(
            f"{what}: expected a name of letters, digits and _.:/@+=- starting with a letter "
            f"or digit (at most {MAX_NAME_LENGTH} characters), got {value!r}"
        )
    return value
