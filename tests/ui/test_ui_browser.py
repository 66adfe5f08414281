"""The dashboard in a real headless Chromium: charts draw, no console errors, roles, escaping.

One uvicorn server (a thread) over a seeded SQLite store and one browser serve the module.
Without Chromium or Playwright the tests skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.config import Settings
from driftline.examples import MALICIOUS_NAME, seed_demo
from driftline.server.context import jsonable
from driftline.store import Store, TokenService
from driftline.ui import create_dashboard_app

CHROMIUM = "/usr/bin/chromium"
NOW = 1_800_000_000.0
PAGES = [
    "/",
    "/projects/shop/models/ranker",
    "/projects/shop/models/ranker/features/f0",
    "/alerts",
    "/runs",
    "/runs/run-0",
    "/projects/shop/runs/compare?run=run-0&run=run-1&key=loss",
    "/reports",
]
"""Pages and whether they draw charts."""
CHARTS = {"/", "/alerts", "/runs", "/reports"}


def _need_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the machine
        _missing(f"the playwright package is not installed ({exc})")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing(f"Chromium is not installed at {CHROMIUM}")
    return sync_playwright


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests need Chromium and Playwright on CI: {why}")
    pytest.skip(f"browser tests skipped: {why}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    sync_playwright = _need_browser()
    import uvicorn

    root = tmp_path_factory.mktemp("browser")
    store = Store.open(f"sqlite:///{root}/driftline.db")
    seed_demo(store, now=NOW, hours=14 * 24, n_features=8, rows_per_hour=110)
    tokens = TokenService(store)
    viewer = tokens.create("viewer", "shop", "viewer")
    editor = tokens.create("editor", "shop", "editor")
    settings = Settings(data_dir=root, database_url="", server_url=None, token=None)
    app = create_dashboard_app(store, settings, auth_required=True, clock=lambda: NOW)
    alerts = app.state.driftline.alerts
    alerts.ensure_default_monitors("shop", "ranker")
    alerts.evaluate_due(NOW)
    from driftline.wire import RunCreate

    app.state.driftline.ingest.ingest(  # a run still in progress, to be stopped from its page
        RunCreate(batch_id="live", project="shop", run_id="run-live", name="live", started_at=NOW)
    )
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    with sync_playwright() as pw:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "browser": browser,
            "viewer": viewer,
            "editor": editor,
            "alerts": alerts,
        }
        browser.close()
    srv.should_exit = True
    thread.join(10)
    store.close()


def _session(server: dict[str, Any], role: str) -> tuple[Any, Any, list[str]]:
    context = server["browser"].new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server["url"] + "/login")
    page.fill("input[name=token]", server[role])
    page.click("button[type=submit]")
    page.wait_for_url(server["url"] + "/")
    return context, page, errors


def test_every_page_draws_its_charts_without_console_errors(server: dict[str, Any]) -> None:
    context, page, errors = _session(server, "editor")
    try:
        for path in PAGES:
            page.goto(server["url"] + path)
            page.wait_for_load_state("networkidle")
            if path not in CHARTS:
                page.wait_for_selector(".js-plotly-plot", timeout=15_000)
            assert not errors, (path, errors)
        # the heat map lists the drifting feature with markup as text, first or near the top
        page.goto(server["url"] + "/projects/shop/models/ranker")
        page.wait_for_selector("#chart-heatmap.js-plotly-plot")
        names = page.locator("#feature-list a").all_inner_texts()
        assert any(n.startswith(MALICIOUS_NAME) for n in names[:3]), names
        assert not errors
    finally:
        context.close()


def test_a_malicious_name_shows_as_text(server: dict[str, Any]) -> None:
    context, page, errors = _session(server, "viewer")
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server["url"] + "/runs")
        assert page.get_by_text(MALICIOUS_NAME).first.is_visible()
        page.goto(server["url"] + "/runs/run-0")
        page.wait_for_selector(".js-plotly-plot")
        assert MALICIOUS_NAME in page.locator("h1").inner_text()
        assert not dialogs and not errors
    finally:
        context.close()


def test_a_viewer_sees_no_controls_and_a_forged_post_is_refused(server: dict[str, Any]) -> None:
    context, page, _ = _session(server, "viewer")
    try:
        page.goto(server["url"] + "/alerts")
        page.wait_for_load_state("networkidle")
        assert page.locator("button.ack").count() == 0
        assert not page.locator("#new-monitor").is_visible()
        assert page.locator("button.edit-monitor").count() == 0
        status = page.evaluate(
            """async () => {
                const csrf = document.querySelector('meta[name="csrf-token"]').content;
                const r = await fetch('/api/v1/silences', {method: 'POST',
                    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                    body: JSON.stringify({matchers: ['project="shop"'], duration_s: 60})});
                return r.status;
            }"""
        )
        assert status == 403
    finally:
        context.close()


def test_an_editor_acknowledges_an_alert(server: dict[str, Any]) -> None:
    alerts = jsonable(server["alerts"].list_alerts(project="shop"))  # records as dicts
    open_alerts = [a for a in alerts if a["state"] == "firing"]
    assert open_alerts, "the seeded data fired no alert (the default monitors changed?)"
    context, page, errors = _session(server, "editor")
    try:
        page.goto(server["url"] + "/alerts")
        button = page.locator("button.ack").first
        button.wait_for(timeout=15_000)
        fp = button.get_attribute("data-fp")
        button.click()
        page.wait_for_load_state("networkidle")
        page.wait_for_selector(f'tr[data-fp="{fp}"] .badge.acknowledged', timeout=15_000)
        states = {
            a["fingerprint"]: a["state"]
            for a in jsonable(server["alerts"].list_alerts(project="shop"))
        }
        assert states[fp] == "acknowledged"
        page.goto(server["url"] + f"/alerts/{fp}")
        page.wait_for_selector("#chart-evidence.js-plotly-plot", timeout=15_000)
        assert page.locator("#alert-history tr").count() >= 2
        assert "acknowledged" in page.locator("#alert-title").inner_text()
        assert not errors, errors
    finally:
        context.close()


def test_an_editor_stops_a_running_run(server: dict[str, Any]) -> None:
    context, page, errors = _session(server, "editor")
    try:
        page.goto(server["url"] + "/runs/run-live")
        page.fill("#stop-reason", "loss is flat")
        page.click("#stop-run")
        page.wait_for_selector("text=Stop requested", timeout=15_000)
        assert "loss is flat" in page.content()
        assert page.locator("#run-actions").count() == 0
        assert not errors, errors
    finally:
        context.close()


def test_screens_fit_a_phone(server: dict[str, Any], tmp_path: Path) -> None:
    context = server["browser"].new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(server["url"] + "/login")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
    finally:
        context.close()
