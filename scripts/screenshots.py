"""Take the dashboard screenshots of docs/dashboard.md (docs/img/dashboard-*.png).

Seeds a temporary store (two weeks of hourly windows with drift, labels, events, two
training runs, alerts from the default monitors, a stored report), serves it with uvicorn
and photographs each page with headless Chromium (/usr/bin/chromium) through Playwright.

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--dark]

With ``--demo URL`` it photographs a running ``driftline demo`` instead (no login:
the demo serves 127.0.0.1 without authentication) into ``demo-*.png``:

    .venv/bin/driftline demo --port 8765 &
    .venv/bin/python scripts/screenshots.py --demo http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

NOW = 1_800_000_000.0
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img", help="folder of the PNG files (docs/img)")
    parser.add_argument("--dark", action="store_true", help="use the dark colour scheme")
    parser.add_argument("--demo", metavar="URL", help="photograph a running driftline demo")
    args = parser.parse_args()
    if args.demo:
        return _demo(args.demo.rstrip("/"), Path(args.out))

    import uvicorn
    from playwright.sync_api import sync_playwright

    from driftline.analysis import Report
    from driftline.config import Settings
    from driftline.examples import generate_loans, seed_demo
    from driftline.store import Store, TokenService
    from driftline.ui import create_dashboard_app

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="driftline-shots-"))
    store = Store.open(f"sqlite:///{root}/driftline.db")
    seed_demo(store, now=NOW, hours=14 * 24, n_features=12, rows_per_hour=150, reference_rows=3000)
    seed_demo(store, now=NOW - 3 * 86400, hours=48, n_features=5, rows_per_hour=40,
              project="search", model="reranker", with_run=False, seed=3)  # fmt: skip
    editor = TokenService(store).create("alice", "*", "admin")
    settings = Settings(data_dir=root, database_url="", server_url=None, token=None)
    clock = [NOW - 36 * 3600.0]  # the monitors evaluate every hour of the last day and a half
    app = create_dashboard_app(store, settings, auth_required=True, clock=lambda: clock[0])
    alerts = app.state.driftline.alerts
    alerts.ensure_default_monitors("shop", "ranker")
    for hour in range(36, -1, -1):
        clock[0] = NOW - hour * 3600.0
        alerts.evaluate_due(clock[0])
    loans = generate_loans(2000, 2000, seed=1)
    report = Report(loans.reference, loans.current, target="default", prediction="prediction")
    report.compute()
    html = root / "report.html"
    report.save_html(html)
    app.state.driftline_reports.save(
        "shop", "loans: weekly drift", html.read_text(), None, created_at=NOW, created_by="ci"
    )

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    firing = [a for a in alerts.list_alerts(project="shop") if a["state"] == "firing"]
    report_id = app.state.driftline_reports.list()[0]["id"]
    shots = [
        ("login", "/login", None),
        ("overview", "/", None),
        ("model", "/projects/shop/models/ranker?range=30d", "#chart-heatmap.js-plotly-plot"),
        ("feature", "/projects/shop/models/ranker/features/f0?range=30d", "#chart-stats.js-plotly-plot"),
        ("alerts", "/alerts", "#monitors table"),
        ("alert", f"/alerts/{firing[0]['fingerprint']}" if firing else "/alerts", ".js-plotly-plot"),
        ("runs", "/projects/shop/runs", None),
        ("run", "/runs/run-0", ".js-plotly-plot"),
        ("compare", "/projects/shop/runs/compare?run=run-0&run=run-1&key=loss", ".js-plotly-plot"),
        ("report", f"/reports/{report_id}", "iframe"),
    ]  # fmt: skip
    with sync_playwright() as pw:
        launch_args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=launch_args)
        ctx = browser.new_context(
            viewport={"width": 1440, "height": 900},
            device_scale_factor=1,
            color_scheme="dark" if args.dark else "light",
        )
        page = ctx.new_page()
        suffix = "-dark" if args.dark else ""
        page.goto(url + "/login")
        page.screenshot(path=str(out / f"dashboard-login{suffix}.png"))
        page.fill("input[name=token]", editor)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/")
        for name, path, selector in shots[1:]:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            if selector:
                page.wait_for_selector(selector, timeout=20_000)
            if name == "report":  # the stored report renders its own charts in the frame
                page.frame_locator("iframe").locator(".js-plotly-plot").first.wait_for()
            page.wait_for_timeout(400)
            page.screenshot(path=str(out / f"dashboard-{name}{suffix}.png"), full_page=True)
            print(out / f"dashboard-{name}{suffix}.png")
        browser.close()
    server.should_exit = True
    thread.join(10)
    store.close()
    return 0


def _demo(url: str, out: Path) -> int:
    """Photograph the main pages of a running ``driftline demo``."""
    import httpx
    from playwright.sync_api import sync_playwright

    from driftline.examples import DEMO_MODEL, DEMO_PROJECT

    model = f"/projects/{DEMO_PROJECT}/models/{DEMO_MODEL}"
    runs = httpx.get(f"{url}/api/v1/projects/{DEMO_PROJECT}/runs", timeout=30).json()
    guarded = next(r["run_id"] for r in runs if r["name"] == "mlp-guarded")
    shots = [
        ("overview", "/", None),
        ("model", f"{model}?range=30d", "#chart-heatmap.js-plotly-plot"),
        ("alerts", "/alerts", "#monitors table"),
        ("run", f"/runs/{guarded}", ".js-plotly-plot"),
    ]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        launch_args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=launch_args)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        for name, path, selector in shots:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            if selector:
                page.wait_for_selector(selector, timeout=20_000)
            page.wait_for_timeout(400)
            page.screenshot(path=str(out / f"demo-{name}.png"), full_page=True)
            print(out / f"demo-{name}.png")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
