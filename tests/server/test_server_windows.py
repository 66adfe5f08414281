"""The window series endpoint: drift on request, the fast form without it."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import numpy as np

from driftline.store import IngestService, QueryService, Store
from driftline.wire import PredictionsBatch

T0 = 1_800_000_000.0
URL = "/api/v1/projects/shop/models/ranker/windows"


def test_windows_with_and_without_drift(client: httpx.Client, store: Store) -> None:
    rng = np.random.default_rng(2)
    n = 300
    age = rng.normal(40, 5, n)
    svc = IngestService(store)
    svc.ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            ids=[f"p{i}" for i in range(n)], timestamps=(T0 + rng.uniform(0, 7200, n)).tolist(),
            features={"age": [None if i % 10 == 0 else float(a) for i, a in enumerate(age)],
                      "city": ["ø" if i % 2 else "a" for i in range(n)]},
            predictions=rng.integers(0, 2, n).tolist(), latency_ms=[5.0] * n,
        )
    )  # fmt: skip
    fast = client.get(URL, params={"drift": "false"})
    assert fast.status_code == 200 and fast.headers["content-type"] == "application/json"
    windows = fast.json()
    expected = [
        w.to_dict() for w in QueryService(store).window_series("shop", "ranker", drift=False)
    ]
    assert windows == expected
    assert all(w["drift"] == {} for w in windows) and sum(w["n_predictions"] for w in windows) == n
    assert windows[0]["missing_rates"]["age"] > 0 and windows[0]["latency_p50_ms"] == 5.0
    full = client.get(URL).json()  # drift=true by default
    assert [w["n_predictions"] for w in full] == [w["n_predictions"] for w in windows]
    assert all("age" in w["drift"] for w in full)
    assert client.get(URL, params={"drift": "maybe"}).status_code == 422


def test_windows_and_drift_take_the_grid_offset(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from driftline.server import create_app

    store = Store.open(f"sqlite:///{tmp_path}/align.db")
    n = 48
    IngestService(store).ingest(
        PredictionsBatch(
            batch_id="b", project="p", model="m", version="v1",
            ids=[str(i) for i in range(n)], timestamps=[i * 3600.0 + 1 for i in range(n)],
            features={"x": [float(i % 7) for i in range(n)]}, predictions=[0] * n,
        )
    )  # fmt: skip
    with TestClient(create_app(store)) as client:
        base = "/api/v1/projects/p/models/m"
        params = {"window_seconds": 86400, "drift": "false"}
        plain = client.get(f"{base}/windows", params=params).json()
        shifted = client.get(f"{base}/windows", params={**params, "align": 21600}).json()
        assert [w["start"] for w in plain] == [0.0, 86400.0]
        assert [w["start"] for w in shifted] == [-64800.0, 21600.0, 108000.0]
        assert [w["n_predictions"] for w in shifted] == [6, 24, 18]
        drift = client.get(f"{base}/drift", params={"window_seconds": 86400, "align": 21600})
        assert drift.status_code == 200, drift.text
        bad = client.get(f"{base}/windows", params={**params, "align": 1800})
        assert bad.status_code == 422 and "align" in bad.text
    store.close()
