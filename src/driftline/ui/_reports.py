"""Stored offline reports: upload (``POST /api/v1/reports``), list, and open one.

A report is kept as files under ``<data dir>/reports/<id>/``: ``report.html``,
``report.json`` (optional) and ``meta.json``. Ids are server-made hex strings
and every path is resolved inside that root. A stored report opens in a
sandboxed frame (``sandbox allow-scripts``, an opaque origin: its scripts run
but cannot read the dashboard's cookies or call the API as the user).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from driftline.errors import InputError, NotFoundError
from driftline.server.context import allowed, context, require, token_of
from driftline.ui._common import login_redirect, render, security_headers

__all__ = ["MAX_REPORT_BYTES", "REPORT_CSP", "ReportIn", "ReportStore", "reports_router"]

reports_router = APIRouter()

MAX_REPORT_BYTES = 30 * 2**20
"""Largest stored ``report.html`` (30 MiB; the request body limit applies first)."""
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)
"""Content-Security-Policy of a stored report: an opaque-origin sandbox with only its inline code."""
_ID = re.compile(r"[0-9a-f]{32}")


class ReportIn(BaseModel):
    """A report to store: its HTML (from ``Report.save_html``) and, optionally, its JSON."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    html: str = Field(min_length=1)
    report: dict[str, Any] | None = None


class ReportStore:
    """Reports as files under ``root`` (``<data dir>/reports``, or a function giving it).

    Example
    -------
    >>> import tempfile
    >>> store = ReportStore(Path(tempfile.mkdtemp()))
    >>> meta = store.save("shop", "weekly", "<h1>hi</h1>", None, created_at=0.0, created_by="me")
    >>> store.html(meta["id"]), [m["name"] for m in store.list()]
    ('<h1>hi</h1>', ['weekly'])
    """

    def __init__(self, root: Path | Callable[[], Path]) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        """The folder holding one sub-folder per report (resolved on first use)."""
        if callable(self._root):
            self._root = self._root()
        return self._root

    def _dir(self, report_id: str) -> Path:
        if not _ID.fullmatch(report_id):
            raise NotFoundError(f"report_id: expected 32 hex digits, got {report_id!r}")
        root = self.root.resolve()
        path = (root / report_id).resolve()
        if path.parent != root or not path.is_dir():
            raise NotFoundError(f"report_id: no stored report {report_id!r}")
        return path

    def save(
        self,
        project: str,
        name: str,
        html: str,
        report: dict[str, Any] | None,
        *,
        created_at: float,
        created_by: str,
    ) -> dict[str, Any]:
        """Store a report and return its metadata (``id``, ``project``, ``name``, ...)."""
        if len(html.encode("utf-8")) > MAX_REPORT_BYTES:
            raise InputError(f"html: expected at most {MAX_REPORT_BYTES} bytes, got more")
        report_id = uuid.uuid4().hex
        path = self.root.resolve() / report_id
        path.mkdir(parents=True, exist_ok=False)
        meta = {
            "id": report_id,
            "project": project,
            "name": name,
            "created_at": created_at,
            "created_by": created_by,
            "has_json": report is not None,
        }
        (path / "report.html").write_text(html, encoding="utf-8")
        if report is not None:
            (path / "report.json").write_text(json.dumps(report), encoding="utf-8")
        (path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        return meta

    def list(self) -> list[dict[str, Any]]:
        """Metadata of every stored report, newest first."""
        if not self.root.is_dir():
            return []
        out = []
        for meta_path in self.root.glob("*/meta.json"):
            try:
                out.append(json.loads(meta_path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        out.sort(key=lambda m: -float(m.get("created_at") or 0.0))
        return out

    def meta(self, report_id: str) -> dict[str, Any]:
        """Metadata of one report; :class:`NotFoundError` when there is none."""
        data: dict[str, Any] = json.loads(
            (self._dir(report_id) / "meta.json").read_text(encoding="utf-8")
        )
        return data

    def html(self, report_id: str) -> str:
        """The stored HTML of one report."""
        return (self._dir(report_id) / "report.html").read_text(encoding="utf-8")

    def json(self, report_id: str) -> Any:
        """The stored JSON of one report; :class:`NotFoundError` when it was not uploaded."""
        path = self._dir(report_id) / "report.json"
        if not path.is_file():
            raise NotFoundError(f"report_id: report {report_id!r} was stored without JSON")
        return json.loads(path.read_text(encoding="utf-8"))


def _reports(request: Request) -> ReportStore:
    store: ReportStore = request.app.state.driftline_reports
    return store


@reports_router.post("/api/v1/reports", status_code=201, tags=["reports"], summary="Store a report")
async def upload_report(request: Request, body: ReportIn) -> dict[str, Any]:
    """Store an offline report (editor on its project); it then lists on the Reports page."""
    require(request, body.project, "editor")
    info = token_of(request)
    who = info.name if info is not None else "local"
    return await run_in_threadpool(
        _reports(request).save,
        body.project,
        body.name,
        body.html,
        body.report,
        created_at=context(request).clock(),
        created_by=who,
    )


@reports_router.get("/api/v1/reports", tags=["reports"], summary="List stored reports")
def list_reports(request: Request) -> list[dict[str, Any]]:
    """Reports of the projects the caller may read, newest first."""
    return [m for m in _reports(request).list() if allowed(request, m["project"], "viewer")]


@reports_router.get("/api/v1/reports/{report_id}", tags=["reports"], summary="A report's JSON")
def report_json(request: Request, report_id: str) -> Any:
    """The JSON uploaded with the report; 404 when there is none."""
    store = _reports(request)
    require(request, store.meta(report_id)["project"], "viewer")
    return store.json(report_id)


@reports_router.get("/reports", include_in_schema=False, response_class=Response)
def reports_page(request: Request) -> Response:
    """Stored reports, newest first."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    reports = list_reports(request)
    return render(request, "reports.html", title="Reports", nav="reports", reports=reports)


@reports_router.get("/reports/{report_id}", include_in_schema=False, response_class=Response)
def report_page(request: Request, report_id: str) -> Response:
    """One report in a sandboxed frame."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    meta = _reports(request).meta(report_id)
    require(request, meta["project"], "viewer")
    return render(request, "report.html", title=meta["name"], nav="reports", report=meta)


@reports_router.get("/reports/{report_id}/html", include_in_schema=False, response_class=Response)
def report_html(request: Request, report_id: str) -> Response:
    """The stored HTML, under :data:`REPORT_CSP` (sandboxed, no network)."""
    if (redirect := login_redirect(request)) is not None:
        return redirect
    store = _reports(request)
    require(request, store.meta(report_id)["project"], "viewer")
    response = security_headers(HTMLResponse(store.html(report_id)), csp=REPORT_CSP)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = REPORT_CSP + "; frame-ancestors 'self'"
    return response
