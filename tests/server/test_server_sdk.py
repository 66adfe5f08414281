"""The SDK against the real app: in process (ASGI) and over a loopback socket (uvicorn)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from driftline.client import ModelMonitor, init
from driftline.config import load_settings

T0 = 1_800_000_000.0


@pytest.fixture
def settings(tmp_path):
    return load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "sdk")})


@pytest.fixture
def app(store: Any):
    from driftline.server import create_app

    return create_app(store, auth_required=False)


def _transport(app: Any) -> httpx.BaseTransport:
    from .conftest import AppTransport

    return AppTransport(app)


def test_run_end_to_end(app: Any, store: Any, settings) -> None:
    from driftline.store import QueryService

    run = init(
        "lab",
        name="baseline",
        config={"lr": 0.1},
        tags=["cnn"],
        url="http://app",
        transport=_transport(app),
        settings=settings,
        system_metrics_interval=None,
        flush_interval=0.02,
    )
    for step in range(100):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 100})
    run.log_summary(best_acc=0.99)
    run.log_event("plateau", "loss flat", step=50, evidence={"window": 10})
    assert run.finish(timeout=10.0)
    q = QueryService(store)
    (listed,) = q.list_runs("lab")
    detail = q.get_run(listed["run_id"])
    assert detail["status"] == "finished" and detail["name"] == "baseline"
    assert detail["config"] == {"lr": 0.1} and detail["tags"] == ["cnn"]
    assert detail["summary"] == {"best_acc": 0.99}
    assert {m["key"]: m["n_points"] for m in detail["metrics"]} == {"loss": 100, "acc": 100}
    assert detail["events"][0]["kind"] == "plateau"
    assert run.stats().dropped == {}


def test_monitor_end_to_end_with_reference_and_labels(app: Any, store: Any, settings, rng) -> None:
    from driftline.schema import ColumnSpec, Schema
    from driftline.store import QueryService

    ref = pd.DataFrame({"age": rng.normal(40, 5, 300), "city": rng.choice(["a", "b"], 300)})
    schema = Schema(
        (ColumnSpec("age", "feature", "numerical"), ColumnSpec("city", "feature", "categorical"))
    )
    monitor = ModelMonitor(
        "shop",
        "ranker",
        "v1",
        schema=schema,
        reference=ref,
        url="http://app",
        transport=_transport(app),
        settings=settings,
        flush_interval=0.02,
        clock=lambda: T0,
    )
    cur = pd.DataFrame({"age": rng.normal(60, 5, 200), "city": rng.choice(["a", "b"], 200)})
    ids = monitor.log_predictions(cur, (cur["age"] > 50).astype(int), latency_ms=np.full(200, 3.0))
    monitor.log_labels(ids[:100], [1] * 100)
    monitor.log_event("click", prediction_id=ids[0])
    assert monitor.flush(10.0)
    monitor.close()
    assert monitor.stats().dropped == {}
    q = QueryService(store)
    (model,) = q.list_models("shop")
    assert model["versions"][0]["reference_source"] == "user"
    (window,) = q.window_series("shop", "ranker", start=T0 - 3600, end=T0 + 3600)
    assert window.n_predictions == 200 and window.n_labels == 100
    assert window.drift["age"]["status"] == "drift"
    assert window.events["click"]["count"] == 1


def test_lost_acknowledgement_is_retried_and_stored_once(app: Any, store: Any, settings) -> None:
    from driftline.store import QueryService

    inner = _transport(app)
    lost = {"n": 0}

    class LoseFirstAck(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            resp = inner.handle_request(request)  # the server stores the batch...
            if request.url.path.endswith("/predictions") and lost["n"] == 0:
                lost["n"] += 1
                return httpx.Response(502)  # ...but the client never sees the ack
            return resp

    monitor = ModelMonitor(
        "shop",
        "ranker",
        "v1",
        url="http://app",
        transport=LoseFirstAck(),
        settings=settings,
        flush_interval=0.02,
        backoff_base=0.01,
        clock=lambda: T0,
    )
    monitor.log_predictions({"x": [1.0, 2.0, 3.0]}, [0, 1, 0])
    assert monitor.flush(10.0)
    s = monitor.stats()
    assert s.retries == 1 and s.duplicates == 1 and s.delivered == 1
    (window,) = QueryService(store).window_series("shop", "ranker")
    assert window.n_predictions == 3  # not 6
    monitor.close()


def test_unauthorised_sdk_drops_without_retrying(store: Any, settings) -> None:
    from driftline.server import create_app
    from driftline.store import TokenService

    good = TokenService(store).create("sdk", "lab", "editor")
    app = create_app(store, auth_required=True)
    calls = {"n": 0}
    inner = _transport(app)

    class Count(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            calls["n"] += 1
            return inner.handle_request(request)

    bad = init(
        "lab",
        url="http://app",
        token="dl_wrong",
        transport=Count(),
        settings=settings,
        system_metrics_interval=None,
        flush_interval=0.02,
    )
    bad.log({"loss": 1.0})
    assert bad.flush(5.0)
    assert bad.stats().dropped == {"rejected": 2}  # run_create and the metrics
    assert calls["n"] == 2
    bad.finish(timeout=1.0)
    ok = init(
        "lab",
        url="http://app",
        token=good,
        transport=_transport(app),
        settings=settings,
        system_metrics_interval=None,
        flush_interval=0.02,
    )
    ok.log({"loss": 1.0})
    assert ok.finish(timeout=5.0) and ok.stats().dropped == {}


@pytest.mark.usefixtures("frozen_heap")
def test_server_down_then_up_over_a_socket(store: Any, settings) -> None:
    from driftline.server import create_app
    from driftline.store import QueryService

    from .conftest import LiveServer, free_port

    port = free_port()
    server = LiveServer(create_app(store, auth_required=False), port)
    run = init(
        "lab",
        url=server.url,
        settings=settings,
        system_metrics_interval=None,
        flush_interval=0.02,
        backoff_base=0.05,
        backoff_max=0.2,
    )
    worst = 0.0
    for step in range(300):
        t0 = time.perf_counter()
        run.log({"loss": float(step)}, step=step)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.05
    assert run.flush(timeout=0.3) is False
    assert run.stats().spooled >= 1
    server.start()
    try:
        assert run.finish(timeout=15.0)
        detail = QueryService(store).get_run(run.run_id)
        assert detail["status"] == "finished"
        assert detail["metrics"] == [{"key": "loss", "n_points": 300, "last_step": 299}]
    finally:
        server.stop()


def test_concurrent_retries_of_one_batch_store_it_once(live_server, store: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from driftline.client._delivery import INGEST_PATHS
    from driftline.store import QueryService

    body = {
        "batch_id": "same",
        "project": "shop",
        "model": "ranker",
        "version": "v1",
        "ids": [f"r{i}" for i in range(50)],
        "timestamps": [T0] * 50,
        "features": {"x": list(range(50))},
        "predictions": [0] * 50,
    }

    def post(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=live_server.url, timeout=30) as c:
            resp = c.post(INGEST_PATHS["predictions"], json=body)
            assert resp.status_code == 200, resp.text
            return dict(resp.json())

    with ThreadPoolExecutor(8) as pool:
        acks = list(pool.map(post, range(8)))
    assert sorted(a["duplicate"] for a in acks) == [False] + [True] * 7
    assert sum(a["accepted"] for a in acks) == 50
    (window,) = QueryService(store).window_series("shop", "ranker")
    assert window.n_predictions == 50
