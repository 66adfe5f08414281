"""What the pages share: templates, security headers, the signed-in user and formatting.

Pages are Jinja2 templates, auto-escaped, rendered with names and tables from
the same services the API uses; charts are drawn in the browser by the static
scripts from the JSON views. No inline script runs: page data travels in a
``<script type="application/json">`` block, read by the static scripts.

Example
-------
>>> fmt_time(0.0)
'1970-01-01 00:00'
>>> fmt_number(1234567)
'1,234,567'
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from driftline._version import __version__
from driftline.server.context import allowed, context, token_of

__all__ = [
    "CSP",
    "SECURITY_HEADERS",
    "fmt_number",
    "fmt_time",
    "login_redirect",
    "render",
    "security_headers",
]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "frame-src 'self'"
)
"""Content-Security-Policy of every page. Scripts only from this server (no inline script, no
eval); ``style-src 'unsafe-inline'`` because Plotly sets styles on the elements it draws."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Headers set on every page."""


def security_headers(response: Any, csp: str = CSP) -> Any:
    """Set :data:`SECURITY_HEADERS` (with ``csp``) on ``response`` and return it."""
    for key, value in SECURITY_HEADERS.items():
        response.headers[key] = value
    response.headers["Content-Security-Policy"] = csp
    return response


def fmt_time(ts: float | None) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM`` (UTC); an empty string for none."""
    if ts is None or not math.isfinite(ts):
        return ""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def fmt_number(x: float | None, digits: int = 3) -> str:
    """Integers with thousands separators, floats with ``digits`` significant digits."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, int) or (float(x).is_integer() and abs(x) >= 1):
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def _json_attr(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["time"] = fmt_time
_env.filters["num"] = fmt_number
_env.filters["q"] = lambda s: quote(str(s), safe="")
_env.filters["as_json"] = _json_attr


def user_of(request: Request) -> dict[str, Any]:
    """The signed-in user for the templates: ``name``, ``role``, ``project``, ``auth``, ``csrf``."""
    ctx = context(request)
    info = token_of(request)
    if not ctx.auth_required:
        return {"name": "local", "role": "admin", "project": "*", "auth": False, "csrf": ""}
    if info is None:
        return {"name": "", "role": "", "project": "", "auth": True, "csrf": ""}
    csrf = request.scope.get("state", {}).get("driftline_csrf") or ""
    return {
        "name": info.name,
        "role": info.role,
        "project": info.project,
        "auth": True,
        "csrf": csrf,
    }


def login_redirect(request: Request) -> RedirectResponse | None:
    """A redirect to ``/login`` when auth is on and nobody is signed in; else ``None``."""
    if context(request).auth_required and token_of(request) is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return None


def can_edit(request: Request, project: str) -> bool:
    """Whether the user may change things of ``project`` (the editor role)."""
    return allowed(request, project, "editor")


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render ``template`` with ``values``, the user and the page's JSON data, with the headers."""
    values.setdefault("data", {})
    values.setdefault("title", "driftline")
    values.setdefault("nav", "")
    html = _env.get_template(template).render(
        request=request, user=user_of(request), app_version=__version__, **values
    )
    return security_headers(HTMLResponse(html, status_code=status_code))
