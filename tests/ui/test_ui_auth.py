"""Sign-in with a token cookie, CSRF on state-changing requests, roles enforced on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from driftline.config import Settings
from driftline.examples import seed_demo
from driftline.server import CSRF_HEADER, SESSION_COOKIE, csrf_token
from driftline.store import TokenService
from driftline.ui import create_dashboard_app

NOW = 1_800_000_000.0
REPORT = {"project": "shop", "name": "weekly", "html": "<p>r</p>"}


@pytest.fixture
def app_and_tokens(store: Any, tmp_path: Path) -> tuple[Any, dict[str, str]]:
    seed_demo(store, now=NOW, hours=3, n_features=2, rows_per_hour=20, with_run=False)
    tokens = TokenService(store)
    made = {role: tokens.create(role, "shop", role) for role in ("viewer", "editor")}
    made["other"] = tokens.create("other", "elsewhere", "admin")
    settings = Settings(data_dir=tmp_path, database_url="", server_url=None, token=None)
    return create_dashboard_app(store, settings, auth_required=True, clock=lambda: NOW), made


def _login(client: TestClient, token: str) -> Any:
    return client.post("/login", data={"token": token, "next": "/alerts"}, follow_redirects=False)


def test_pages_need_a_session_and_login_sets_a_strict_cookie(app_and_tokens: Any) -> None:
    app, tokens = app_and_tokens
    with TestClient(app) as client:
        resp = client.get("/projects/shop/runs", follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login?next=%2Fprojects%2Fshop%2Fruns"
        form = client.get("/login")
        assert form.status_code == 200 and 'name="token"' in form.text
        assert client.get("/api/v1/views/overview").status_code == 401

        bad = _login(client, "dl_not-a-token")
        assert bad.status_code == 401 and "token:" in bad.text
        good = _login(client, tokens["viewer"])
        assert good.status_code == 303 and good.headers["location"] == "/alerts"
        cookie = good.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        page = client.get("/")
        assert page.status_code == 200 and "viewer · viewer on shop" in page.text
        assert csrf_token(tokens["viewer"]) in page.text  # for the page's scripts and forms
        assert client.get("/api/v1/views/overview").status_code == 200
        # an offsite `next` is ignored
        assert client.post(
            "/login", data={"token": tokens["viewer"], "next": "//evil.example"},
            follow_redirects=False,
        ).headers["location"] == "/"  # fmt: skip


def test_login_over_https_sets_a_secure_cookie(app_and_tokens: Any) -> None:
    app, tokens = app_and_tokens
    with TestClient(app, base_url="https://dash.example") as client:
        assert "Secure" in _login(client, tokens["viewer"]).headers["set-cookie"]


def test_cookie_requests_that_change_state_need_the_csrf_token(app_and_tokens: Any) -> None:
    app, tokens = app_and_tokens
    with TestClient(app) as client:
        _login(client, tokens["editor"])
        no_csrf = client.post("/api/v1/reports", json=REPORT)
        assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "csrf"
        wrong = client.post("/api/v1/reports", json=REPORT, headers={CSRF_HEADER: "0" * 64})
        assert wrong.status_code == 403
        ok = client.post(
            "/api/v1/reports", json=REPORT, headers={CSRF_HEADER: csrf_token(tokens["editor"])}
        )
        assert ok.status_code == 201, ok.text
    # a bearer-token API call needs no CSRF token
    with TestClient(app) as api:
        resp = api.post(
            "/api/v1/reports", json=REPORT, headers={"Authorization": f"Bearer {tokens['editor']}"}
        )
        assert resp.status_code == 201


def test_a_viewer_sees_pages_but_cannot_change_anything(app_and_tokens: Any) -> None:
    app, tokens = app_and_tokens
    csrf = {CSRF_HEADER: csrf_token(tokens["viewer"])}
    with TestClient(app) as client:
        _login(client, tokens["viewer"])
        assert client.get("/alerts").status_code == 200
        assert client.post("/api/v1/reports", json=REPORT, headers=csrf).status_code == 403
        silence = {"matchers": ['project="shop"'], "duration_s": 60}
        assert client.post("/api/v1/silences", json=silence, headers=csrf).status_code == 403
        # another project's pages are refused
        _login(client, tokens["other"])
        assert client.get("/projects/shop/models/ranker").status_code == 403
        assert client.get("/api/v1/views/overview").json() == []
        views = "/api/v1/views/projects/shop/models/ranker"
        for part in ("series", "heatmap", "estimated", "features/f0"):
            assert client.get(f"{views}/{part}").status_code == 403, part


def test_logout_needs_the_csrf_token_and_clears_the_cookie(app_and_tokens: Any) -> None:
    app, tokens = app_and_tokens
    with TestClient(app) as client:
        _login(client, tokens["viewer"])
        refused = client.post("/logout", data={"csrf": "nope"}, follow_redirects=False)
        assert refused.status_code == 403
        out = client.post(
            "/logout", data={"csrf": csrf_token(tokens["viewer"])}, follow_redirects=False
        )
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
        assert client.get("/", follow_redirects=False).status_code == 303


def test_without_auth_pages_need_no_login(store: Any) -> None:
    app = create_dashboard_app(store, clock=lambda: NOW)
    with TestClient(app) as client:
        assert client.get("/login", follow_redirects=False).headers["location"] == "/"
        page = client.get("/")
        assert page.status_code == 200 and "local · admin" in page.text


def test_an_editor_stops_a_running_run_from_its_page_and_a_viewer_cannot(
    store: Any, tmp_path: Path
) -> None:
    from driftline.wire import RunCreate

    tokens = TokenService(store)
    made = {role: tokens.create(role, "lab", role) for role in ("viewer", "editor")}
    settings = Settings(data_dir=tmp_path, database_url="", server_url=None, token=None)
    app = create_dashboard_app(store, settings, auth_required=True, clock=lambda: NOW)
    app.state.driftline.ingest.ingest(
        RunCreate(batch_id="r1", project="lab", run_id="run-x", name="<b>mlp</b>",
                  started_at=NOW - 60)
    )  # fmt: skip
    with TestClient(app) as client:
        _login(client, made["viewer"])
        page = client.get("/runs/run-x")
        assert page.status_code == 200 and 'id="run-actions"' in page.text  # hidden by its JS
        assert "&lt;b&gt;mlp&lt;/b&gt;" in page.text and "<b>mlp</b>" not in page.text
        viewer = {CSRF_HEADER: csrf_token(made["viewer"])}
        assert client.post("/api/v1/runs/run-x/stop", json={}, headers=viewer).status_code == 403
        _login(client, made["editor"])
        assert client.post("/api/v1/runs/run-x/stop", json={}).status_code == 403  # no CSRF
        editor = {CSRF_HEADER: csrf_token(made["editor"])}
        resp = client.post("/api/v1/runs/run-x/stop", json={"reason": "loss flat"}, headers=editor)
        assert resp.status_code == 200, resp.text
        page = client.get("/runs/run-x").text
        assert "Stop requested" in page and "loss flat" in page
        assert 'id="run-actions"' not in page  # asked once: the button is gone
