"""Read endpoints over the store's ``QueryService`` (viewer role) and token admin (admin role)."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from driftline.errors import NotFoundError
from driftline.server.context import allowed, context, jsonable, require
from driftline.wire import HEARTBEAT_TIMEOUT

__all__ = ["MAX_WINDOW_SECONDS", "admin_router", "query_router"]

query_router = APIRouter(tags=["query"])
admin_router = APIRouter(tags=["admin"])

MAX_WINDOW_SECONDS = 366 * 86400
"""Longest window a series may be asked for (a year)."""
MAX_SERIES_POINTS = 100_000
"""Most points a downsampled metric series may be asked for."""


def _name(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return str(item.get("name", item.get("project", "")))
    return str(getattr(item, "name", item))


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


@query_router.get("/api/v1/projects", summary="List the projects the caller may read")
def list_projects(request: Request) -> list[Any]:
    """Projects, filtered to those the token may view."""
    projects = context(request).query.list_projects()
    return [jsonable(p) for p in projects if allowed(request, _name(p), "viewer")]


@query_router.get("/api/v1/projects/{project}/models", summary="List the models of a project")
def list_models(request: Request, project: str) -> list[Any]:
    """Models (with their versions) of ``project``; 404 when the project does not exist."""
    require(request, project, "viewer")
    return list(jsonable(context(request).query.list_models(project)))


@query_router.get(
    "/api/v1/projects/{project}/models/{model}/windows",
    summary="Per-window monitoring series of a model",
    response_model=list[Any],
)
def window_series(
    request: Request,
    project: str,
    model: str,
    version: str | None = Query(None, description="Only this version (default: all)."),
    start: float | None = Query(
        None, allow_inf_nan=False, description="Window start, epoch seconds (inclusive)."
    ),
    end: float | None = Query(
        None, allow_inf_nan=False, description="Window end, epoch seconds (exclusive)."
    ),
    window_seconds: int = Query(3600, gt=0, le=MAX_WINDOW_SECONDS, description="Window length."),
    drift: bool = Query(
        True,
        description="Per-column drift against the reference in each window (false: leave it "
        "out, read the stored series at /drift instead).",
    ),
    align: float = Query(
        0.0,
        allow_inf_nan=False,
        description="Offset of the window grid, seconds (a multiple of the bucket width): "
        "windows start at align + k * window_seconds.",
    ),
) -> Any:
    """Volume, missing rates, drift, performance, latency, errors and business rates per window."""
    require(request, project, "viewer")
    series = context(request).query.window_series(
        project, model, version=version, start=start, end=end, window_seconds=window_seconds,
        drift=drift, align=align,
    )  # fmt: skip
    try:  # plain JSON types already (a year of hourly windows: one pass, not three)
        body = json.dumps(
            [w.to_dict() for w in series],
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError):  # NaN, or a type json does not know: the general path
        return list(jsonable(series))
    return Response(content=body, media_type="application/json")


@query_router.get(
    "/api/v1/projects/{project}/models/{model}/drift",
    summary="Drift per column and window of a model (stored series)",
)
def drift_series(
    request: Request,
    project: str,
    model: str,
    version: str | None = Query(
        None, description="Only this version (default: newest per window)."
    ),
    start: float | None = Query(
        None, allow_inf_nan=False, description="Window start, epoch seconds (inclusive)."
    ),
    end: float | None = Query(
        None, allow_inf_nan=False, description="Window end, epoch seconds (exclusive)."
    ),
    window_seconds: int = Query(3600, gt=0, le=MAX_WINDOW_SECONDS, description="Window length."),
    baseline: Literal["reference", "previous"] = Query(
        "reference", description="Compare each window with the reference or the previous window."
    ),
    align: float = Query(
        0.0,
        allow_inf_nan=False,
        description="Offset of the window grid, seconds (a multiple of the bucket width): "
        "windows start at align + k * window_seconds.",
    ),
) -> Any:
    """Drift of every column in every window against the reference or the previous window.

    Computed once per window when it changes and stored, so a year of hourly windows is one
    indexed read. Statistics only (method, statistic, p-value, sample sizes, status and reason);
    thresholds are applied by monitors.
    """
    require(request, project, "viewer")
    series = context(request).query.drift_series(
        project,
        model,
        version=version,
        start=start,
        end=end,
        window_seconds=window_seconds,
        baseline=baseline,
        align=align,
    )
    return series.to_dict()


def _with_liveness(request: Request, run: Any) -> Any:
    """Mark a ``running`` run silent for :data:`HEARTBEAT_TIMEOUT` seconds as ``crashed``."""
    data = jsonable(run)
    if not isinstance(data, dict) or data.get("status") != "running":
        return data
    last = data.get("updated_at")
    ctx = context(request)
    if not isinstance(last, (int, float)) or ctx.clock() - last <= HEARTBEAT_TIMEOUT:
        return data
    from driftline.wire import RunUpdate

    run_id, project = str(data.get("run_id", "")), str(data.get("project", ""))
    try:
        ctx.ingest.ingest(
            RunUpdate(
                batch_id=f"crashed-{run_id}-{int(last)}",
                project=project,
                run_id=run_id,
                status="crashed",
                summary=data.get("summary") or {},
                ended_at=float(last),
            )
        )
    except Exception:  # reporting liveness must never fail the read
        return data
    data["status"] = "crashed"
    data["ended_at"] = float(last)
    return data


@query_router.get("/api/v1/projects/{project}/runs", summary="List the training runs of a project")
def list_runs(request: Request, project: str) -> list[Any]:
    """Runs of ``project``, newest first; silent ``running`` runs are reported ``crashed``."""
    require(request, project, "viewer")
    return [_with_liveness(request, r) for r in context(request).query.list_runs(project)]


@query_router.get("/api/v1/runs/{run_id}", summary="One training run")
def get_run(request: Request, run_id: str) -> Any:
    """A run with its config, tags, status and summary; 404 when unknown."""
    run = context(request).query.get_run(run_id)
    if run is None:
        raise NotFoundError(f"run_id: no run {run_id!r}")
    require(request, str(_get(run, "project", "")), "viewer")
    return _with_liveness(request, run)


@query_router.get("/api/v1/runs/{run_id}/metrics", summary="A downsampled metric series of a run")
def run_metric_series(
    request: Request,
    run_id: str,
    key: str = Query(..., min_length=1, description="Metric key, e.g. 'loss'."),
    max_points: int = Query(1000, gt=1, le=MAX_SERIES_POINTS, description="Most points returned."),
) -> Any:
    """Points of one metric, downsampled on the server with spikes kept."""
    get_run(request, run_id)  # 404 and authorisation
    return jsonable(context(request).query.run_metric_series(run_id, key, max_points=max_points))


# ----------------------------------------------------------------------------- admin
class TokenRequest(BaseModel):
    """A token to create: ``project`` may be ``"*"`` for every project."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    project: str = Field(min_length=1, max_length=200)
    role: Literal["viewer", "editor", "admin"]


class TokenCreated(BaseModel):
    """A new token; ``token`` is shown this once and stored only hashed."""

    id: int | None
    name: str
    project: str
    role: str
    token: str


@admin_router.post(
    "/api/v1/tokens", status_code=201, response_model=TokenCreated, summary="Create an API token"
)
def create_token(request: Request, body: TokenRequest) -> TokenCreated:
    """Needs the admin role on ``body.project`` (an admin of ``"*"`` for a ``"*"`` token)."""
    require(request, body.project, "admin")
    tokens = context(request).tokens
    plaintext = tokens.create(body.name, body.project, body.role)
    info = tokens.verify(plaintext)
    return TokenCreated(
        id=_get(info, "id"), name=body.name, project=body.project, role=body.role, token=plaintext
    )


@admin_router.get("/api/v1/tokens", summary="List API tokens (without secrets)")
def list_tokens(request: Request) -> list[Any]:
    """Tokens of the projects the caller administers."""
    return [
        jsonable(t)
        for t in context(request).tokens.list()
        if allowed(request, str(_get(t, "project")), "admin")
    ]


@admin_router.delete("/api/v1/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(request: Request, token_id: int) -> Response:
    """Needs the admin role on the token's project; 404 when there is no such token."""
    tokens = context(request).tokens
    match = [t for t in tokens.list() if _get(t, "id") == token_id]
    if not match:
        raise NotFoundError(f"token_id: no token with id {token_id}")
    require(request, str(_get(match[0], "project")), "admin")
    tokens.revoke(token_id)
    return Response(status_code=204)
