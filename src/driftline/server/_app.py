"""The FastAPI application: :func:`create_app`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from driftline._version import __version__
from driftline.config import Settings, load_settings
from driftline.server._alerts import router as alerts_router
from driftline.server._context import ServerContext, context, token_of
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

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_MAX_BODY_BYTES = 32 * 2**20
"""Largest request body accepted, compressed and decompressed (32 MiB); more gives 413."""


def _retention(retention: Any, settings: Settings | None) -> Any:
    from driftline.store import RetentionPolicy

    if retention is not None:
        return retention
    return RetentionPolicy() if settings is None else RetentionPolicy.from_settings(settings)


def create_app(
    store: Any = None,
    settings: Settings | None = None,
    *,
    auth_required: bool | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
    scheduler: bool | None = None,
    alerts: Any = None,
    retention: Any = None,
    action_secret: str | None = None,
) -> FastAPI:
    """Build the driftline HTTP API.

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
    from driftline.store import IngestService, QueryService, Store, TokenService
    from driftline.store._ingest import SERVER_DRIFT_EVERY_S

    owns = store is None
    if store is None:
        settings = settings if settings is not None else load_settings()
        store = Store.open(settings.database_url)
    if max_body_bytes <= 0:
        from driftline.errors import InputError

        raise InputError(f"max_body_bytes: expected a positive number, got {max_body_bytes!r}")
    ctx = ServerContext(
        store=store,
        ingest=IngestService(
            store,
            clock=clock,
            retention=_retention(retention, settings),
            drift_every_s=SERVER_DRIFT_EVERY_S,
        ),
        query=QueryService(store),
        tokens=TokenService(store),
        auth_required=bool(auth_required),
        clock=clock,
        owns_store=owns,
    )
    if alerts is None:
        from driftline.server._alerting import alert_service

        alerts = alert_service(store, ctx.query, clock, settings)
    ctx.alerts = alerts
    ctx.action_secret = action_secret or (settings.action_secret if settings else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # WAL checkpoints off the request path (SQLite files only)
        checkpointing = await run_in_threadpool(ctx.store.start_checkpointer)
        if scheduler:
            from driftline.alerts._scheduler import Scheduler

            ctx.scheduler = Scheduler(ctx.alerts, clock=clock)
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

    app = FastAPI(
        title="driftline",
        version=__version__,
        description="Monitoring for machine-learning models: ingest, query and admin API.",
        lifespan=lifespan,
    )
    app.state.driftline = ctx
    install_error_handlers(app)
    app.include_router(ingest_router)
    app.include_router(query_router)
    app.include_router(admin_router)
    app.include_router(alerts_router)
    app.include_router(run_actions_router)
    app.include_router(views_router)
    from driftline.ui import install_ui  # the dashboard pages, on top of this API

    install_ui(app, settings)

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
        counts = await run_in_threadpool(ctx.alerts.alert_counts)
        results = await run_in_threadpool(latest_monitor_results, ctx.alerts, visible)
        families = metric_families(totals, visible, runs) + alert_families(counts, results, visible)
        text = render(families)
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    # outermost first: auth rejects before the body is read, then the size limit
    app.add_middleware(BodyMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(AuthMiddleware, verify=ctx.tokens.verify, required=ctx.auth_required)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_payloads(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
