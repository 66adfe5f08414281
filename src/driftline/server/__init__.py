"""The HTTP server: :func:`create_app` builds the FastAPI application.

Versioned JSON API under ``/api/v1``: ingest endpoints per payload kind (JSON,
gzip-compressed JSON, Arrow IPC for predictions), query endpoints over the
store's ``QueryService``, token admin; ``/metrics`` in the Prometheus text
format and ``/healthz``. Bearer tokens (hashed in the store) carry a role per
project: viewer reads, editor ingests, admin manages tokens. Run it with
``driftline serve``.

Example
-------
>>> from driftline.server import create_app
>>> callable(create_app)
True
"""

from __future__ import annotations

from driftline.server._app import DEFAULT_MAX_BODY_BYTES, create_app
from driftline.server._ingest import ARROW_CONTENT_TYPE, ARROW_RESERVED_COLUMNS
from driftline.server._metrics import MAX_EXPORTED_RUNS

__all__ = [
    "ARROW_CONTENT_TYPE",
    "ARROW_RESERVED_COLUMNS",
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_EXPORTED_RUNS",
    "create_app",
]
