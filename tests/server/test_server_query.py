"""Query endpoints, run liveness and the Prometheus exposition."""

from __future__ import annotations

from typing import Any

import numpy as np
from httpx import Client
from prometheus_client.parser import text_string_to_metric_families

from driftline.client import HEARTBEAT_TIMEOUT
from driftline.client._delivery import INGEST_PATHS

T0 = 1_800_000_000.0
ODD = 'we"ird\\col\nx'  # a feature name that needs escaping in label values


def _predictions(
    client: Client, batch_id: str, t: float, shift: float, rng: np.random.Generator
) -> None:
    n = 200
    body = {
        "batch_id": batch_id,
        "project": "shop",
        "model": "ranker",
        "version": "v1",
        "ids": [f"{batch_id}-{i}" for i in range(n)],
        "timestamps": [t] * n,
        "features": {ODD: (rng.normal(size=n) + shift).tolist(), "city": ["Oslo"] * n},
        "predictions": [i % 2 for i in range(n)],
        "latency_ms": [5.0] * n,
    }
    assert client.post(INGEST_PATHS["predictions"], json=body).status_code == 200


def _seed(client: Client, rng: np.random.Generator) -> None:
    _predictions(client, "b1", T0, 0.0, rng)
    _predictions(client, "b2", T0 + 7200, 3.0, rng)
    labels = {
        "batch_id": "l1",
        "project": "shop",
        "model": "ranker",
        "ids": [f"b2-{i}" for i in range(50)],
        "labels": [1] * 50,
    }
    assert client.post(INGEST_PATHS["labels"], json=labels).status_code == 200
    events = {
        "batch_id": "e1",
        "project": "shop",
        "model": "ranker",
        "events": [{"name": "click", "prediction_id": "b2-1", "timestamp": T0 + 7200}],
    }
    assert client.post(INGEST_PATHS["events"], json=events).status_code == 200


def test_window_series(client: Client, rng: np.random.Generator) -> None:
    _seed(client, rng)
    resp = client.get(
        "/api/v1/projects/shop/models/ranker/windows",
        params={"start": T0, "end": T0 + 86400, "window_seconds": 3600},
    )
    assert resp.status_code == 200, resp.text
    windows = resp.json()
    assert [w["n_predictions"] for w in windows] == [200, 200]
    assert windows[1]["drift"][ODD]["statistic"] > windows[0]["drift"].get(ODD, {}).get(
        "statistic", 0
    )
    assert windows[1]["latency_p50_ms"] == 5.0
    assert "profile" not in windows[0]
    bad = client.get("/api/v1/projects/shop/models/ranker/windows", params={"window_seconds": 10})
    assert bad.status_code == 422 and "window_seconds" in bad.json()["message"]
    assert client.get("/api/v1/projects/shop/models/nope/windows").status_code == 404


def test_drift_series(client: Client, rng: np.random.Generator) -> None:
    _seed(client, rng)
    resp = client.get(
        "/api/v1/projects/shop/models/ranker/drift",
        params={"start": T0, "end": T0 + 86400, "window_seconds": 3600},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["method"] == "jensen_shannon" and body["window_seconds"] == 3600
    assert body["starts"] == [T0, T0 + 7200]
    col = body["columns"][ODD]
    assert col["kind"] == "numerical" and col["n_current"] == [200, 200]
    # the first window is the reference's own batch; the second is shifted by 3 sd
    assert col["statistic"][1] > 0.5 > col["statistic"][0]
    assert client.get("/api/v1/projects/shop/models/nope/drift").status_code == 404
    prev = client.get(
        "/api/v1/projects/shop/models/ranker/drift",
        params={"start": T0, "end": T0 + 86400, "baseline": "previous"},
    ).json()["columns"][ODD]
    assert prev["status"] == ["absent", "computed"]  # the first window has no previous one
    assert prev["statistic"][1] == col["statistic"][1]  # here the previous window is the reference
    bad_base = client.get(
        "/api/v1/projects/shop/models/ranker/drift", params={"baseline": "yesterday"}
    )
    assert bad_base.status_code == 422 and "baseline" in bad_base.json()["message"]
    bad = client.get("/api/v1/projects/shop/models/ranker/drift", params={"window_seconds": 0})
    assert bad.status_code == 422 and "window_seconds" in bad.json()["message"]


def test_prometheus_exposition_parses(client: Client, rng: np.random.Generator) -> None:
    _seed(client, rng)
    run = {"batch_id": "r1", "project": "shop", "run_id": "run-1", "name": "base", "started_at": T0}
    client.post(INGEST_PATHS["run_create"], json=run)
    pts = {
        "batch_id": "r2",
        "project": "shop",
        "run_id": "run-1",
        "points": [
            {"key": "loss", "step": s, "value": 1.0 / (s + 1), "timestamp": T0} for s in range(5)
        ],
    }
    client.post(INGEST_PATHS["run_metrics"], json=pts)
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    fams = {f.name: f for f in text_string_to_metric_families(resp.text)}
    preds = fams["driftline_predictions"]  # the parser strips the _total suffix
    assert preds.type == "counter"
    assert [(s.labels, s.value) for s in preds.samples] == [
        ({"project": "shop", "model": "ranker", "version": "v1"}, 400.0)
    ]
    assert fams["driftline_labels"].samples[0].value == 50.0
    assert fams["driftline_events"].samples[0].labels["name"] == "click"
    drift = {s.labels["column"]: s for s in fams["driftline_column_drift"].samples}
    assert ODD in drift  # quotes, backslash and newline survive the escaping
    assert drift[ODD].labels["method"] and drift[ODD].value > 0.5
    runs = fams["driftline_run_metric"].samples
    assert [(s.labels, s.value) for s in runs] == [
        ({"project": "shop", "run": "run-1", "key": "loss"}, 0.2)
    ]


def test_runs_and_liveness(client: Client, clock: list[float]) -> None:
    base = {"project": "shop", "run_id": "run-9"}
    client.post(
        INGEST_PATHS["run_create"],
        json={**base, "batch_id": "c", "name": "x", "started_at": clock[0]},
    )
    pts = {
        **base,
        "batch_id": "p",
        "points": [
            {"key": "loss", "step": s, "value": float(s % 7), "timestamp": clock[0]}
            for s in range(3000)
        ],
    }
    assert client.post(INGEST_PATHS["run_metrics"], json=pts).status_code == 200
    series = client.get(
        "/api/v1/runs/run-9/metrics", params={"key": "loss", "max_points": 100}
    ).json()
    assert len(series["steps"]) <= 100 and series["n_total"] == 3000
    assert max(series["values"]) == 6.0 and min(series["values"]) == 0.0  # spikes kept
    assert client.get("/api/v1/runs/run-9").json()["status"] == "running"
    clock[0] += HEARTBEAT_TIMEOUT + 1  # no heartbeat since
    runs = client.get("/api/v1/projects/shop/runs").json()
    assert [r["status"] for r in runs] == ["crashed"]
    assert client.get("/api/v1/runs/run-9").json()["status"] == "crashed"  # persisted
    assert client.get("/api/v1/runs/run-9/metrics", params={"key": "nope"}).status_code == 404


def test_projects_listing(client: Client) -> None:
    assert client.get("/api/v1/projects").json() == []
    body: dict[str, Any] = {
        "batch_id": "x",
        "project": "p1",
        "model": "m",
        "ids": ["a"],
        "labels": [1],
    }
    client.post(INGEST_PATHS["labels"], json=body)
    assert [p["name"] for p in client.get("/api/v1/projects").json()] == ["p1"]
