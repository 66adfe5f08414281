"""Dashboard pages in process: status, security headers, escaping, JSON views, reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from driftline.config import Settings
from driftline.examples import MALICIOUS_NAME, seed_demo
from driftline.ui import create_dashboard_app

NOW = 1_800_000_000.0
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def seeded(store: Any, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    info = seed_demo(store, now=NOW, hours=12, n_features=4, rows_per_hour=40)
    settings = Settings(data_dir=tmp_path, database_url="", server_url=None, token=None)
    app = create_dashboard_app(store, settings, clock=lambda: NOW)
    with TestClient(app) as client:
        yield client, info


PAGES = [
    "/",
    "/projects/shop/models/ranker",
    "/projects/shop/models/ranker?range=24h&window=6h&version=v2",
    "/projects/shop/models/ranker/features/f0",
    "/projects/shop/models/ranker/features/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/alerts",
    "/runs",
    "/projects/shop/runs",
    "/runs/run-0",
    "/projects/shop/runs/compare?run=run-0&run=run-1&key=loss",
    "/reports",
]


def test_every_page_renders_with_security_headers(seeded: Any) -> None:
    client, _ = seeded
    for url in PAGES:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.text[:300])
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert (
            "unsafe-eval" not in csp
            and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        )
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
        html = resp.text
        assert "<script>alert(1)" not in html, url
        # no inline script: every <script> either loads a file or carries JSON data
        for chunk in html.split("<script")[1:]:
            assert chunk.startswith((' src="/static/', ' type="application/json"')), (
                url,
                chunk[:60],
            )


def test_markup_in_names_is_escaped(seeded: Any) -> None:
    client, _ = seeded
    for url in [
        "/runs",
        "/runs/run-0",
        "/projects/shop/models/ranker/features/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ]:
        assert ESCAPED in client.get(url).text, url
    # page data for the scripts is JSON with < escaped
    html = client.get("/projects/shop/models/ranker/features/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert "\\u003cscript\\u003e" in html.text


def test_overview_and_views(seeded: Any) -> None:
    client, info = seeded
    overview = client.get("/api/v1/views/overview").json()
    assert [(m["project"], m["model"]) for m in overview] == [("shop", "ranker")]
    ranker = overview[0]
    assert ranker["health"] in ("ok", "warning", "alerting")
    assert ranker["volume_24h"] == 11 * 40 + 2 * 300  # with the references (first batches)
    assert ranker["last_data_at"] is not None and ranker["last_data_at"] <= NOW
    assert ranker["versions"] == ["v1", "v2"]

    base = "/api/v1/views/projects/shop/models/ranker"
    series = client.get(f"{base}/series", params={"start": info["start"]}).json()
    assert series["n_windows"] == 12
    assert sum(series["volume"]["predictions"]["y"]) == 11 * 40 + 300
    assert set(series["latency"]) == {"p50", "p95", "p99"}
    assert "click" in series["business"]
    assert series["labels"]["label coverage"]["x"]
    small = client.get(f"{base}/series", params={"start": info["start"], "max_points": 4}).json()
    assert len(small["volume"]["predictions"]["x"]) <= 4

    est = client.get(f"{base}/estimated", params={"start": info["start"]}).json()
    line = est["estimated"]["estimated accuracy"]
    assert est["n_sampled"] == 12 and all(0.5 <= y <= 1.0 for y in line["y"])
    few = client.get(f"{base}/estimated", params={"start": info["start"], "max_points": 4}).json()
    assert few["n_sampled"] == 4

    heat = client.get(f"{base}/heatmap", params={"start": info["start"]}).json()
    assert set(heat["columns"]) >= {"f0", MALICIOUS_NAME, "city"}
    sev = [s for s in heat["severity"] if s is not None]
    assert sev == sorted(sev, reverse=True)  # worst first
    assert heat["columns"][0] in ("f0", MALICIOUS_NAME, "city")  # the drifting ones lead
    assert len(heat["z"]) == len(heat["columns"]) and len(heat["z"][0]) == len(heat["x"])

    feat = client.get(f"{base}/features/f0", params={"start": info["start"]}).json()
    assert feat["kind"] == "numerical"
    assert feat["reference"]["kind"] == "numerical" and feat["current"]["n"] > 0
    assert abs(sum(feat["reference"]["shares"]) - 1) < 1e-9
    edges = feat["current"]["edges"]
    assert None not in edges and edges == sorted(edges)  # open outer bins closed at the data
    assert feat["drift"]["column"] == "f0"
    assert len(feat["series"]["mean"]["x"]) == 12
    quality = {r["issue"]: r for r in feat["quality"]}
    assert quality["rows"]["window"] == 40 and quality["missing"]["reference"] >= 0
    first = feat["windows"][0]
    chosen = client.get(
        f"{base}/features/f0", params={"start": info["start"], "window": first}
    ).json()
    assert chosen["window_start"] == first
    city = client.get(f"{base}/features/city", params={"start": info["start"]}).json()
    assert city["kind"] == "categorical" and "Oslo" in city["reference"]["shares"]
    missing = client.get(f"{base}/features/nope", params={"start": info["start"]})
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert client.get("/projects/shop/models/nope").status_code == 404


def test_reports_upload_list_and_sandbox(seeded: Any, tmp_path: Path) -> None:
    client, _ = seeded
    body = {
        "project": "shop",
        "name": MALICIOUS_NAME,
        "html": "<h1>weekly</h1>",
        "report": {"a": 1},
    }
    resp = client.post("/api/v1/reports", json=body)
    assert resp.status_code == 201, resp.text
    rid = resp.json()["id"]
    assert (tmp_path / "reports" / rid / "report.html").read_text() == "<h1>weekly</h1>"
    assert [r["id"] for r in client.get("/api/v1/reports").json()] == [rid]
    assert client.get(f"/api/v1/reports/{rid}").json() == {"a": 1}
    listing = client.get("/reports").text
    assert ESCAPED in listing and f'href="/reports/{rid}"' in listing
    page = client.get(f"/reports/{rid}").text
    assert 'sandbox="allow-scripts"' in page and f'src="/reports/{rid}/html"' in page
    raw = client.get(f"/reports/{rid}/html")
    assert raw.text == "<h1>weekly</h1>"
    assert raw.headers["content-security-policy"].startswith("sandbox allow-scripts;")
    for bad in ["..", "0" * 31 + "g", "%2e%2e%2fdriftline.db", "0" * 32]:
        assert client.get(f"/reports/{bad}/html").status_code == 404, bad


def test_static_files_and_plotly(seeded: Any) -> None:
    client, _ = seeded
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and "max-age=31536000" in plotly.headers["cache-control"]
    assert len(plotly.content) > 1_000_000
    for name in ["app.css", "app.js", "model.js", "feature.js", "runs.js", "alerts.js"]:
        assert client.get(f"/static/{name}").status_code == 200, name
