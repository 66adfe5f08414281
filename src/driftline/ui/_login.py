"""Sign in with an API token (kept in an HttpOnly, SameSite=Strict cookie) and sign out."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from driftline.server import SESSION_COOKIE
from driftline.server.context import context
from driftline.ui._common import render, security_headers, user_of

__all__ = ["login_router", "safe_next"]

login_router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server, else ``/``.

    Example
    -------
    >>> safe_next("/alerts?x=1"), safe_next("https://evil.example"), safe_next("//evil")
    ('/alerts?x=1', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@login_router.get("/login", response_class=Response)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form; straight to the dashboard when the server runs without auth."""
    if not context(request).auth_required:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", title="Sign in", next=safe_next(next), error="")


@login_router.post("/login", response_class=Response)
async def login(request: Request) -> Response:
    """Check the pasted token; on success set the session cookie and go to ``next``."""
    form = await request.form()
    token = str(form.get("token") or "").strip()
    target = safe_next(str(form.get("next") or "/"))
    ctx = context(request)
    if not ctx.auth_required:
        return RedirectResponse(target, status_code=303)
    info = await run_in_threadpool(ctx.tokens.verify, token) if token else None
    if info is None:
        return render(
            request,
            "login.html",
            status_code=401,
            title="Sign in",
            next=target,
            error="token: expected a valid, unrevoked API token (dl_…), got one the server does not know",
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return security_headers(response)


@login_router.post("/logout", response_class=Response)
async def logout(request: Request) -> Response:
    """Clear the session cookie (the form carries the CSRF token)."""
    form = await request.form()
    user = user_of(request)
    sent = str(form.get("csrf") or "")
    if user["auth"] and user["csrf"] and not hmac.compare_digest(sent, user["csrf"]):
        return render(
            request,
            "login.html",
            status_code=403,
            title="Sign in",
            next="/",
            error="csrf: expected the page's CSRF token with the sign-out form, got a wrong one",
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return security_headers(response)
