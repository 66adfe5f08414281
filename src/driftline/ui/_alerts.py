"""The alerts page: open and past alerts with their evidence, silences and monitors.

The page is a shell: its script reads ``/api/v1/alerts``, ``/api/v1/silences``
and ``/api/v1/monitors`` and acts through the same routes (acknowledge,
resolve, silence, monitor create and edit) with the session's CSRF token.
Controls are shown only to editors; the routes refuse everyone else (403).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from driftline.server.context import require
from driftline.ui._common import login_redirect, render, user_of

__all__ = ["alerts_router"]

alerts_router = APIRouter(include_in_schema=False)


@alerts_router.get("/alerts", response_class=Response)
def alerts_page(
    request: Request,
    project: str = Query(""),
    state: str = Query(""),
) -> Response:
    """Alerts (open first), silences and monitors, filtered by project and state."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    if project:
        require(request, project, "viewer")
    user = user_of(request)
    data = {
        "project": project or None,
        "state": state or None,
        "role": user["role"],
        "scope": user["project"],
    }
    return render(
        request,
        "alerts.html",
        title="Alerts",
        nav="alerts",
        page="alerts",
        project=project,
        state=state,
        data=data,
    )


@alerts_router.get("/alerts/{fingerprint}", response_class=Response)
def alert_page(request: Request, fingerprint: str) -> Response:
    """One alert: the chart that fired, the reason, its history; acknowledge, silence, resolve."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    user = user_of(request)
    data = {"fingerprint": fingerprint, "role": user["role"], "scope": user["project"]}
    return render(
        request,
        "alert.html",
        title="Alert",
        nav="alerts",
        page="alert",
        fingerprint=fingerprint,
        data=data,
    )
