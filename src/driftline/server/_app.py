"""The FastAPI application: :func:`create_app` builds the HTTP API, in named steps.

The steps: :func:`_build_context` (the store's services, the alert service),
:func:`_lifespan` (WAL checkpoints, the alert scheduler), :func:`_include_routers`
(the ``/api/v1`` routes), :func:`_add_operations_routes` (``/healthz``,
``/metrics``), :func:`_add_middleware` (auth, then the body limit) and
:func:`_document_payloads` (the OpenAPI schema). The dashboard is not part of
this app: :func:`driftline.ui.create_dashboard_app` adds it on top.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from driftline._version import __version__
from driftline.config import Settings, load_settings
from driftline.errors import InputError
from driftline.server._alerts import router as alerts_router
from driftline.server._errors import install_error_handlers
from driftline.server._ingest import document_payloads
from driftline.server._ingest import router as ingest_router
from driftline.server._metrics import (
    alert_families,
    latest_monitor_results,
    latest_run_metrics,
    metric_families,
)
from driftline.server._middleware import AuthMiddleware, BodyMiddleware
from driftline.server._prometheus import CONTENT_TYPE, render
from driftline.server._query import admin_router, query_router
from driftline.server._run_actions import router as run_actions_router
from driftline.server._views import views_router
from driftline.server.context import ServerContext, context, token_of

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from driftline.alerts import AlertService
    from driftline.store import RetentionPolicy, Store

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_MAX_BODY_BYTES = 32 * 2**20
"""Largest request body accepted, compressed and decompressed (32 MiB); more gives 413."""


def create_app(
    store: Store | None = None,
    settings: Settings | None = None,
    *,
    auth_required: bool | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
    scheduler: bool | None = None,
    alerts: AlertService | None = None,
    retention: RetentionPolicy | None = None,
    action_secret: str | None = None,
) -> FastAPI:
    """Build the driftline HTTP API; :func:`driftline.ui.create_dashboard_app` adds the dashboard.

    Parameters
    ----------
    store
        An open :class:`driftline.store.Store`; default: opened from ``settings``
        (``DRIFTLINE_DATABASE_URL`` or the SQLite file of the data dir) and closed
        when the app shuts down.
    settings
        Default: :func:`driftline.config.load_settings`.
    auth_required
        Whether every ``/api/`` and ``/metrics`` request needs a bearer token
        (viewer reads, editor ingests, admin manages tokens). ``None`` means
        ``False``: fine on 127.0.0.1, which ``driftline serve`` enforces.
    max_body_bytes
        Largest request body, as sent and after gzip decompression (default 32 MiB).
    clock
        Current epoch seconds, for the ingest service and run liveness.
    scheduler
        Whether the app runs the alert :class:`~driftline.alerts.Scheduler` (evaluate
        monitors, send notifications) from startup to shutdown. ``None`` means ``False``
        (tests drive alerting by hand); ``driftline serve`` turns it on unless
        ``--no-scheduler``. Several processes may run one: a lease elects one leader.
    alerts
        The :class:`~driftline.alerts.AlertService` of the alerting routes; default:
        one over ``store`` with this ``clock`` whose network policy also allows the
        targets of ``DRIFTLINE_ALERT_ALLOW`` when ``settings`` are given or loaded here.
    retention
        The :class:`~driftline.store.RetentionPolicy` of the raw rows; default: from
        ``settings`` (``DRIFTLINE_PREDICTION_RETENTION_DAYS`` ...) when given or
        loaded here, else the policy's defaults.
    action_secret
        Key that requests to ``POST /api/v1/actions/stop-runs`` must be signed with
        (driftline's webhook signature); default: ``DRIFTLINE_ACTION_SECRET`` from
        ``settings`` when given or loaded here. Unset, and without ``auth_required``,
        only requests from the local machine may use that route.

    Example
    -------
    >>> from driftline.store import Store
    >>> app = create_app(Store.open("sqlite://"))
    >>> sorted(p for p in app.openapi()["paths"] if p.startswith("/api/v1/ingest"))[:2]
    ['/api/v1/ingest/events', '/api/v1/ingest/labels']
    """
    if max_body_bytes <= 0:
        raise InputError(f"max_body_bytes: expected a positive number, got {max_body_bytes!r}")
    ctx = _build_context(
        store,
        settings,
        auth_required=bool(auth_required),
        clock=clock,
        alerts=alerts,
        retention=retention,
        action_secret=action_secret,
    )
    app = FastAPI(
        title="driftline",
        version=__version__,
        description="Monitoring for machine-learning models: ingest, query and admin API.",
        lifespan=_lifespan(ctx, scheduler=bool(scheduler)),
    )
    app.state.driftline = ctx
    install_error_handlers(app)
    _include_routers(app)
    _add_operations_routes(app)
    _add_middleware(app, ctx, max_body_bytes)
    _document_payloads(app)
    return app


def _build_context(
    store: Store | None,
    settings: Settings | None,
    *,
    auth_required: bool,
    clock: Callable[[], float],
    alerts: AlertService | None,
    retention: RetentionPolicy | None,
    action_secret: str | None,
) -> ServerContext:
    """The app's services; opens the store from ``settings`` (loaded here) when none is given."""
    from driftline.store import (
        SERVER_DRIFT_EVERY_S,
        IngestService,
        QueryService,
        RetentionPolicy,
        Store,
        TokenService,
    )

    owns = store is None
    if store is None:
        settings = settings if settings is not None else load_settings()
        store = Store.open(settings.database_url)
    if retention is None:
        retention = (
            RetentionPolicy() if settings is None else RetentionPolicy.from_settings(settings)
        )
    query = QueryService(store)
    if alerts is None:
        from driftline.server._alerting import alert_service

        alerts = alert_service(store, query, clock, settings)
    return ServerContext(
        store=store,
        ingest=IngestService(
            store, clock=clock, retention=retention, drift_every_s=SERVER_DRIFT_EVERY_S
        ),
        query=query,
        tokens=TokenService(store),
        auth_required=auth_required,
        clock=clock,
        owns_store=owns,
        alerts=alerts,
        action_secret=action_secret or (settings.action_secret if settings else None),
    )


def _lifespan(
    ctx: ServerContext, *, scheduler: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Startup and shutdown: WAL checkpoints, the alert scheduler, closing an owned store."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # WAL checkpoints off the request path (SQLite files only)
        checkpointing = await run_in_threadpool(ctx.store.start_checkpointer)
        if scheduler and ctx.alerts is not None:
            from driftline.alerts import Scheduler

            ctx.scheduler = Scheduler(ctx.alerts, clock=ctx.clock)
            ctx.scheduler.start()
        try:
            yield
        finally:
            if ctx.scheduler is not None:
                await run_in_threadpool(ctx.scheduler.stop, 10.0)
                ctx.scheduler = None
            if checkpointing:
                await run_in_threadpool(ctx.store.stop_checkpointer)
        if ctx.owns_store:
            ctx.store.close()

    return lifespan


def _include_routers(app: FastAPI) -> None:
    """The ``/api/v1`` routes: ingest, query, admin, alerting, run actions, dashboard views."""
    for router in (
        ingest_router,
        query_router,
        admin_router,
        alerts_router,
        run_actions_router,
        views_router,
    ):
        app.include_router(router)


def _add_operations_routes(app: FastAPI) -> None:
    """``/healthz`` (liveness and database check) and ``/metrics`` (Prometheus exposition)."""

    @app.get("/healthz", tags=["operations"], summary="Liveness and database check")
    def healthz(request: Request) -> dict[str, Any]:
        """``{"status": "ok"}`` when the database answers."""
        context(request).query.list_projects()
        return {"status": "ok", "version": __version__}

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus exposition",
        response_class=PlainTextResponse,
    )
    async def metrics(request: Request) -> PlainTextResponse:
        """Counts of predictions, labels and events, latest drift per column, latest run metrics."""
        ctx = context(request)
        info = token_of(request)
        visible: Callable[[str], bool] = (
            (lambda project: True)
            if info is None
            else (lambda project: bool(info.allows(project, "viewer")))
        )
        totals = await run_in_threadpool(ctx.query.metric_totals)
        runs = None
        if "run_metrics" not in totals:
            runs = await run_in_threadpool(latest_run_metrics, ctx.query, visible)
        families = metric_families(totals, visible, runs)
        if ctx.alerts is not None:
            counts = await run_in_threadpool(ctx.alerts.alert_counts)
            results = await run_in_threadpool(latest_monitor_results, ctx.alerts, visible)
            families += alert_families(counts, results, visible)
        return PlainTextResponse(render(families), media_type=CONTENT_TYPE)


def _add_middleware(app: FastAPI, ctx: ServerContext, max_body_bytes: int) -> None:
    """Auth (outermost: rejects before the body is read), then the body size limit."""
    # add_middleware puts each new one outside the previous ones
    app.add_middleware(BodyMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(AuthMiddleware, verify=ctx.tokens.verify, required=ctx.auth_required)


def _document_payloads(app: FastAPI) -> None:
    """Generate the OpenAPI schema once, with the ingest payloads' bodies documented."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_payloads(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
