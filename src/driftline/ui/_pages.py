"""The overview, model and feature pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from driftline.server import STALE_AFTER_SECONDS, model_overview
from driftline.server.context import allowed, context, require
from driftline.ui._common import login_redirect, render

__all__ = ["RANGES", "WINDOWS", "pages_router", "time_range"]

pages_router = APIRouter(include_in_schema=False)

RANGES = (
    ("24h", "last 24 hours", 86400),
    ("7d", "last 7 days", 7 * 86400),
    ("30d", "last 30 days", 30 * 86400),
    ("90d", "last 90 days", 90 * 86400),
    ("365d", "last year", 365 * 86400),
    ("all", "all time", None),
)
"""Time ranges of the picker: key, label, seconds back from now (``None``: everything)."""
WINDOWS = (("1h", "1 hour", 3600), ("6h", "6 hours", 6 * 3600), ("1d", "1 day", 86400))
"""Window widths of the picker."""
DEFAULT_RANGE = "7d"
DEFAULT_WINDOW = ""
"""No window chosen: hourly windows up to a week, daily ones for longer ranges (a day holds
enough rows for a drift distance that is not mostly sampling noise, and a month of hours is more
points than a chart shows)."""
_AUTO_WINDOW = {"24h": "1h", "7d": "1h"}


def time_range(now: float, range_key: str, window_key: str) -> dict[str, Any]:
    """Start, end and window width of a picker choice (unknown keys fall back to the defaults).

    Example
    -------
    >>> r = time_range(1000000.0, "24h", "1h")
    >>> r["start"], r["end"], r["window_seconds"]
    (913600.0, 1000000.0, 3600)
    >>> time_range(1000000.0, "30d", "")["window"]  # no window chosen: daily for a month
    '1d'
    """
    ranges = {k: s for k, _, s in RANGES}
    windows = {k: s for k, _, s in WINDOWS}
    rk = range_key if range_key in ranges else DEFAULT_RANGE
    wk = window_key if window_key in windows else _AUTO_WINDOW.get(rk, "1d")
    back = ranges[rk]
    return {
        "range": rk,
        "window": wk,
        "start": None if back is None else now - back,
        "end": None if back is None else now,
        "window_seconds": windows[wk],
    }


def _picker(now: float, range_key: str, window_key: str) -> dict[str, Any]:
    chosen = time_range(now, range_key, window_key)
    return {
        **chosen,
        "ranges": [(k, label) for k, label, _ in RANGES],
        "windows": [(k, label) for k, label, _ in WINDOWS],
    }


@pages_router.get("/", response_class=Response)
async def overview_page(request: Request) -> Response:
    """Projects and models with their health, volume, open alerts and last data time."""
    if (redirect := login_redirect(request)) is not None:
        return redirect

    def gather() -> list[dict[str, Any]]:
        query = context(request).query
        out = []
        for p in query.list_projects():
            if not allowed(request, p["name"], "viewer"):
                continue
            models = [model_overview(request, p["name"], m) for m in query.list_models(p["name"])]
            out.append({**p, "models": models})
        return out

    projects = await run_in_threadpool(gather)
    counts: dict[str, int] = {}
    for p in projects:
        for m in p["models"]:
            counts[m.health] = counts.get(m.health, 0) + 1
    return render(
        request,
        "overview.html",
        title="Overview",
        nav="overview",
        page="overview",
        projects=projects,
        counts=counts,
        stale_hours=STALE_AFTER_SECONDS // 3600,
    )


def _versions(request: Request, project: str, model: str) -> list[str]:
    for m in context(request).query.list_models(project):
        if m["name"] == model:
            return [str(v["name"]) for v in m.get("versions", [])]
    from driftline.errors import NotFoundError

    raise NotFoundError(f"model: project {project!r} has no model named {model!r}")


async def _model_view(
    request: Request, project: str, model: str, version: str, range_key: str, window_key: str
) -> tuple[list[str], str, dict[str, Any], dict[str, Any]]:
    """What a model's pages share: its versions, the chosen one, the picker and the page data."""
    require(request, project, "viewer")
    versions = await run_in_threadpool(_versions, request, project, model)
    picker = _picker(context(request).clock(), range_key, window_key)
    chosen = version if version in versions else ""
    data = {
        "project": project,
        "model": model,
        "version": chosen or None,
        "start": picker["start"],
        "end": picker["end"],
        "window_seconds": picker["window_seconds"],
    }
    return versions, chosen, picker, data


@pages_router.get("/projects/{project}/models/{model}", response_class=Response)
async def model_page(
    request: Request,
    project: str,
    model: str,
    version: str = Query(""),
    range: str = Query(DEFAULT_RANGE),
    window: str = Query(DEFAULT_WINDOW),
) -> Response:
    """Volume, quality, drift heat map, performance, latency and business rates of a model."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    versions, chosen, picker, data = await _model_view(
        request, project, model, version, range, window
    )
    return render(
        request,
        "model.html",
        title=f"{model} · {project}",
        nav="overview",
        page="model",
        project=project,
        model=model,
        versions=versions,
        version=chosen,
        data=data,
        **picker,
    )


@pages_router.get(
    "/projects/{project}/models/{model}/features/{feature:path}", response_class=Response
)
async def feature_page(
    request: Request,
    project: str,
    model: str,
    feature: str,
    version: str = Query(""),
    range: str = Query(DEFAULT_RANGE),
    window: str = Query(DEFAULT_WINDOW),
) -> Response:
    """Reference and window distributions of one feature, its statistics and drift over time."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    versions, chosen, picker, data = await _model_view(
        request, project, model, version, range, window
    )
    data["feature"] = feature
    return render(
        request,
        "feature.html",
        title=f"{feature} · {model}",
        nav="overview",
        page="feature",
        project=project,
        model=model,
        feature=feature,
        versions=versions,
        version=chosen,
        data=data,
        **picker,
    )
