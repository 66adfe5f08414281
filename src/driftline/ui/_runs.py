"""Training runs: the list, one run (curves with detector events and guard actions), comparison."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from driftline.errors import NotFoundError
from driftline.server import get_run, list_runs
from driftline.server.context import allowed, context, require
from driftline.ui._common import login_redirect, render, user_of

__all__ = ["MAX_COMPARED", "runs_router"]

runs_router = APIRouter(include_in_schema=False)

MAX_COMPARED = 8
"""Most runs drawn on one comparison chart."""


def _all_runs(request: Request, project: str | None) -> list[dict[str, Any]]:
    query = context(request).query
    names = [project] if project else [p["name"] for p in query.list_projects()]
    out: list[dict[str, Any]] = []
    for name in names:
        if project is None and not allowed(request, name, "viewer"):
            continue
        out.extend(list_runs(request, name))
    out.sort(key=lambda r: -(r.get("started_at") or 0.0))
    return out


@runs_router.get("/runs", response_class=Response)
async def all_runs_page(request: Request) -> Response:
    """Every run the user may read, newest first."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    runs = await run_in_threadpool(_all_runs, request, None)
    return render(request, "runs.html", title="Training runs", nav="runs", runs=runs, project=None)


@runs_router.get("/projects/{project}/runs", response_class=Response)
async def project_runs_page(request: Request, project: str) -> Response:
    """The runs of one project, with boxes to compare them."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    require(request, project, "viewer")
    runs = await run_in_threadpool(_all_runs, request, project)
    return render(
        request,
        "runs.html",
        title=f"Training runs · {project}",
        nav="runs",
        runs=runs,
        project=project,
    )


def _checkpoints(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in run.get("events", []) if "checkpoint" in str(e.get("kind", ""))]


@runs_router.get("/runs/{run_id}", response_class=Response)
async def run_page(request: Request, run_id: str) -> Response:
    """A run: status, config, summary, metric curves with events marked, checkpoints."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    run = await run_in_threadpool(get_run, request, run_id)
    detail = await run_in_threadpool(context(request).query.get_run, run_id)
    run = {**detail, "status": run.get("status", detail.get("status"))}
    user = user_of(request)
    data = {
        "role": user["role"],  # the stop button shows for editors of the run's project
        "scope": user["project"],
        "runs": [{"run_id": run_id, "name": run.get("name") or run_id}],
        "keys": [m["key"] for m in run.get("metrics", [])],
        "events": [
            {"kind": e["kind"], "step": e["step"], "message": e["message"]}
            for e in run.get("events", [])
            if e.get("step") is not None
        ],
    }
    return render(
        request,
        "run.html",
        title=f"{run.get('name') or run_id} · run",
        nav="runs",
        page="run",
        run=run,
        checkpoints=_checkpoints(run),
        data=data,
    )


@runs_router.get("/projects/{project}/runs/compare", response_class=Response)
async def compare_page(
    request: Request,
    project: str,
    run: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    key: str = Query(""),
) -> Response:
    """The same metric of several runs on one chart."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    require(request, project, "viewer")
    chosen = list(dict.fromkeys(run))[:MAX_COMPARED]

    def gather() -> list[dict[str, Any]]:
        query = context(request).query
        out = []
        for run_id in chosen:
            r = query.get_run(run_id)
            if r.get("project") != project:
                raise NotFoundError(f"run: project {project!r} has no run {run_id!r}")
            out.append(r)
        return out

    runs = await run_in_threadpool(gather)
    keys = sorted({m["key"] for r in runs for m in r.get("metrics", [])})
    chosen_key = key if key in keys else (keys[0] if keys else "")
    data = {
        "runs": [{"run_id": r["run_id"], "name": r.get("name") or r["run_id"]} for r in runs],
        "keys": [chosen_key] if chosen_key else [],
        "events": [],
        "compare": True,
    }
    return render(
        request,
        "compare.html",
        title="Compare runs",
        nav="runs",
        page="compare",
        project=project,
        runs=runs,
        keys=keys,
        key=chosen_key,
        data=data,
    )
