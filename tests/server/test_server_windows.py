"""The window series endpoint: drift on request, the fast form without it."""

from __future__ import annotations

import uuid

import httpx
import numpy as np

from driftline.store import IngestService, QueryService, Store
from driftline.store.payloads import PredictionsBatch

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
