"""The HTTP server: :func:`create_app` builds the FastAPI application.

Versioned JSON API under ``/api/v1``: ingest endpoints per payload kind (JSON,
gzip-compressed JSON, Arrow IPC for predictions), query endpoints over the
store's ``QueryService``, token admin; ``/metrics`` in the Prometheus text
format and ``/healthz``. Bearer tokens (hashed in the store) carry a role per
project: viewer reads, editor ingests, admin manages tokens. Run it with
``driftline serve``, which adds the web dashboard on top
(:func:`driftline.ui.create_dashboard_app`).

The layers above (the dashboard) read through the same request helpers as the
routes: :mod:`driftline.server.context` (the app's services and the role
checks), and the handlers exported here (:func:`get_run`, :func:`list_runs`,
:func:`model_overview`), which apply the same roles and run liveness as the API.
The dashboard signs in with the session cookie :data:`SESSION_COOKIE`, which the
auth middleware accepts in place of a bearer token; state-changing requests
made with it carry :data:`CSRF_HEADER` (:func:`csrf_token` of the session).

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
from driftline.server._middleware import CSRF_HEADER, SESSION_COOKIE, csrf_token
from driftline.server._query import get_run, list_runs
from driftline.server._views import STALE_AFTER_SECONDS, model_overview

__all__ = [
    "ARROW_CONTENT_TYPE",
    "ARROW_RESERVED_COLUMNS",
    "CSRF_HEADER",
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_EXPORTED_RUNS",
    "SESSION_COOKIE",
    "STALE_AFTER_SECONDS",
    "create_app",
    "csrf_token",
    "get_run",
    "list_runs",
    "model_overview",
]
