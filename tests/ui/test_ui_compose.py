"""The API alone (``create_app``) and the API with the dashboard (``create_dashboard_app``)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from driftline.server import create_app
from driftline.ui import create_dashboard_app


def _paths(app: Any) -> set[str]:
    return set(app.openapi()["paths"])


def test_the_api_alone_has_no_pages(store: Any) -> None:
    app = create_app(store)
    assert not hasattr(app.state, "driftline_reports")
    with TestClient(app) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/").status_code == 404
        assert client.get("/static/plotly.min.js").status_code == 404
    assert "/api/v1/reports" not in _paths(app)


def test_the_dashboard_app_is_the_api_plus_the_pages(store: Any) -> None:
    api = create_app(store, auth_required=True, max_body_bytes=1024)
    full = create_dashboard_app(store, auth_required=True, max_body_bytes=1024)
    assert _paths(full) - _paths(api) == {"/api/v1/reports", "/api/v1/reports/{report_id}"}
    # the same middlewares, in the same order, guard the pages and the API
    assert [(m.cls, m.kwargs.get("required")) for m in full.user_middleware] == [
        (m.cls, m.kwargs.get("required")) for m in api.user_middleware
    ]
    with TestClient(full) as client:
        assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
        assert client.get("/api/v1/projects").status_code == 401
        assert client.post("/api/v1/reports", content=b"x" * 2048).status_code in (401, 413)
