"""The request context the routes share: the store's services, the clock and the authorisation rule.

Public so that layers above the server (the dashboard in :mod:`driftline.ui`)
read through the same services and apply the same roles as the API:
:func:`context` gives the :class:`ServerContext` of the app serving a request,
:func:`require` / :func:`allowed` check a role on a project, :func:`token_of`
gives the verified token, and :func:`jsonable` turns results into JSON data.

Example
-------
>>> from fastapi.testclient import TestClient
>>> from driftline.server import create_app
>>> from driftline.store import Store
>>> app = create_app(Store.open("sqlite://"))
>>> ctx = app.state.driftline
>>> isinstance(ctx, ServerContext), ctx.auth_required, ctx.scheduler is None
(True, False, True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from driftline.errors import PermissionDeniedError

if TYPE_CHECKING:
    from driftline.alerts import AlertService, Scheduler
    from driftline.store import IngestService, QueryService, Store, TokenInfo, TokenService

__all__ = ["ServerContext", "allowed", "context", "jsonable", "require", "token_of"]


@dataclass(slots=True)
class ServerContext:
    """The services of one app (built by :func:`driftline.server.create_app`).

    Attributes
    ----------
    store
        The open :class:`~driftline.store.Store`.
    ingest, query, tokens
        The store's :class:`~driftline.store.IngestService`,
        :class:`~driftline.store.QueryService` and :class:`~driftline.store.TokenService`.
    auth_required
        Whether every API request needs a bearer token.
    clock
        Current epoch seconds.
    owns_store
        Whether the app opened the store (and closes it on shutdown).
    """

    store: Store
    ingest: IngestService
    query: QueryService
    tokens: TokenService
    auth_required: bool
    clock: Callable[[], float]
    owns_store: bool
    alerts: AlertService | None = None
    """The :class:`driftline.alerts.AlertService` of the alerting routes."""
    scheduler: Scheduler | None = None
    """The running :class:`driftline.alerts.Scheduler`, when the app starts one."""
    action_secret: str | None = None
    """Key of the action routes' webhook signatures (``DRIFTLINE_ACTION_SECRET``)."""


def context(request: Request) -> ServerContext:
    """The :class:`ServerContext` of the app serving ``request``."""
    ctx: ServerContext = request.app.state.driftline
    return ctx


def token_of(request: Request) -> TokenInfo | None:
    """The verified token of ``request`` (``None`` when auth is off or no token came)."""
    info: TokenInfo | None = request.scope.get("state", {}).get("driftline_token")
    return info


def require(request: Request, project: str, role: str) -> None:
    """Raise :class:`PermissionDeniedError` unless the request's token grants ``role`` on ``project``.

    Does nothing when the app runs without authentication.
    """
    if not context(request).auth_required:
        return
    info = token_of(request)
    if info is None or not info.allows(project, role):
        who = (
            "no token" if info is None else f"token {info.name!r} ({info.role} on {info.project!r})"
        )
        raise PermissionDeniedError(f"project {project!r}: this needs the {role} role, got {who}")


def allowed(request: Request, project: str, role: str) -> bool:
    """Whether ``require(request, project, role)`` would pass."""
    try:
        require(request, project, role)
    except PermissionDeniedError:
        return False
    return True


def jsonable(obj: Any) -> Any:
    """Plain JSON data from ``to_dict()`` objects, dataclasses, mappings, sequences.

    Non-finite floats become ``None`` (JSON has no NaN).

    Example
    -------
    >>> jsonable({"a": float("nan"), "b": (1, 2.5)})
    {'a': None, 'b': [1, 2.5]}
    """
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict) and not isinstance(obj, type):
        return jsonable(to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):
        return jsonable(model_dump(mode="json"))
    item = getattr(obj, "item", None)
    if callable(item):
        return jsonable(item())
    return str(obj)
