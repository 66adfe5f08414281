"""Arrow IPC predictions: the SDK sends columnar batches as Arrow; the server validates by column."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest

from driftline.client._delivery import (
    ARROW_CONTENT_TYPE,
    ARROW_MIN_ROWS,
    INGEST_PATHS,
    HttpDelivery,
)
from driftline.store import QueryService, Store

from .conftest import AppTransport

ARROW = INGEST_PATHS["predictions"] + "/arrow"
HEADERS = {"Content-Type": ARROW_CONTENT_TYPE}
T0 = 1_800_000_000.0


def payload(model: str, n: int, seed: int = 5) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n).round(2)
    return {
        "batch_id": f"{model}-b1",
        "project": "shop",
        "model": model,
        "version": "v1",
        "ids": [f"p{i}" for i in range(n)],
        "timestamps": (T0 + rng.uniform(0, 7200, n)).round(3).tolist(),
        "features": {
            "age": [None if i % 7 == 0 else float(a) for i, a in enumerate(age)],
            "city": [None if i % 5 == 0 else c for i, c in enumerate(rng.choice(["a", "b"], n))],
            "visits": rng.integers(0, 9, n).tolist(),
            "member": (rng.random(n) < 0.5).tolist(),
        },
        "predictions": rng.integers(0, 2, n).tolist(),
        "scores": rng.random(n).round(4).tolist(),
        "latency_ms": rng.lognormal(2, 0.3, n).round(3).tolist(),
        "errors": [("timeout" if i % 11 == 0 else None) for i in range(n)],
    }


class Recording(httpx.BaseTransport):
    """Passes requests to the app and remembers their paths."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.paths = inner, []  # type: ignore[var-annotated]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)


@pytest.fixture
def app(store: Store) -> Any:
    from driftline.server import create_app

    return create_app(store, auth_required=False, clock=lambda: T0 + 9000)


def _body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def test_arrow_and_json_store_the_same(store: Store, app: Any) -> None:
    transport = Recording(AppTransport(app))
    try:
        arrow = HttpDelivery("http://t", transport=transport)
        plain = HttpDelivery("http://t", transport=transport, arrow=False)
        n = ARROW_MIN_ROWS + 100
        a = arrow.send("predictions", payload("via-arrow", n))
        j = plain.send("predictions", payload("via-json", n))
        assert transport.paths == [ARROW, INGEST_PATHS["predictions"]]
        assert (a.accepted, j.accepted) == (n, n)
        again = arrow.send("predictions", payload("via-arrow", n))  # same batch id
        assert (again.accepted, again.duplicate) == (0, True)
        small = arrow.send("predictions", {**payload("small", 10), "batch_id": "s"})
        assert small.accepted == 10 and transport.paths[-1] == INGEST_PATHS["predictions"]
        arrow.close()
        plain.close()
    finally:
        transport.inner.close()  # type: ignore[attr-defined]
    q = QueryService(store)
    via_arrow = [w.to_dict() for w in q.window_series("shop", "via-arrow", drift=False)]
    via_json = [w.to_dict() for w in q.window_series("shop", "via-json", drift=False)]
    assert via_arrow == via_json and sum(w["n_predictions"] for w in via_arrow) == n
    for pid in ("p0", "p7", "p11", "p12"):
        assert q.get_prediction("shop", "via-arrow", pid) == q.get_prediction(
            "shop", "via-json", pid
        )


def test_non_columnar_batches_and_old_servers_get_json() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/arrow"):
            return httpx.Response(404, json={"error": "not_found", "message": "no route"})
        return httpx.Response(200, json={"batch_id": "x", "accepted": 300, "duplicate": False})

    delivery = HttpDelivery("http://t", transport=httpx.MockTransport(handler))
    nested = payload("m", 300)
    nested["features"]["tags"] = [[1, 2]] * 300  # not a scalar column: JSON as is
    delivery.send("predictions", nested)
    assert seen == [INGEST_PATHS["predictions"]]
    delivery.send("predictions", payload("m", 300))  # the server has no Arrow route
    delivery.send("predictions", payload("m", 300))
    assert seen[1:] == [ARROW, INGEST_PATHS["predictions"], INGEST_PATHS["predictions"]]
    assert delivery.arrow is False
    delivery.close()


def _post(client: httpx.Client, table: pa.Table, batch_id: str = "bad") -> httpx.Response:
    params = {"project": "shop", "model": "m", "version": "v1", "batch_id": batch_id}
    return client.post(ARROW, params=params, content=_body(table), headers=HEADERS)


GOOD = {"__id": ["a", "b"], "__timestamp": [T0, T0 + 1], "__prediction": [0, 1]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tags": pa.array([[1], [2]])}, "features.tags: expected a column of strings, numbers"),
        ({"__id": pa.array([1, 2])}, "ids: expected a column of strings, got Arrow type int64"),
        ({"__id": ["a", ""]}, "ids[1]: expected a non-empty id of at most 256 characters"),
        ({"__id": ["a", "x" * 300]}, "ids[1]: expected a non-empty id"),
        ({"__timestamp": [T0, None]}, "timestamps[1]: expected a number, got None"),
        ({"__timestamp": ["now", "then"]}, "timestamps: expected a column of numbers"),
        ({"__latency_ms": [1.0, float("inf")]}, "latency_ms[1]: expected a finite number"),
        ({"__score": pa.array([[0.1, 0.9], [1.0]])}, "scores[1]: expected a list of 2"),
        ({"__error": [1, 2]}, "errors: expected a column of strings or nulls"),
    ],
)
def test_bad_columns_are_refused_naming_the_field(
    client: httpx.Client, change: dict[str, Any], message: str
) -> None:
    resp = _post(client, pa.table({**GOOD, **change}))
    assert resp.status_code == 422, resp.text
    assert message in resp.json()["message"]


def test_bad_names_and_good_arrow_types(client: httpx.Client, store: Store) -> None:
    params = {"project": "bad name!", "model": "m", "version": "v1", "batch_id": "x"}
    resp = client.post(ARROW, params=params, content=_body(pa.table(GOOD)), headers=HEADERS)
    assert resp.status_code == 422
    table = pa.table(
        {
            **GOOD,
            "__timestamp": pa.array([T0 * 1e6, T0 * 1e6 + 1], pa.timestamp("us", tz="UTC")),
            "city": pa.array(["x", None]).dictionary_encode(),
            "n": pa.array([1, None], pa.int32()),
            "f": pa.array([1.5, None], pa.float32()),
        }
    )
    resp = _post(client, table, "good")
    assert resp.status_code == 200, resp.text
    got = QueryService(store).get_prediction("shop", "m", "b")
    assert got["timestamp"] == pytest.approx(T0 + 1e-6)
    assert got["features"] == {"city": None, "n": None, "f": None}


def test_class_scores_and_strings_round_trip_like_json(store: Store, app: Any) -> None:
    rng = np.random.default_rng(9)
    n = ARROW_MIN_ROWS
    probs = rng.dirichlet([1.0, 1.0, 1.0], n).round(4)
    transport = AppTransport(app)
    try:
        for model, arrow in (("m-arrow", True), ("m-json", False)):
            p = payload(model, n, seed=9)
            p["scores"] = probs.tolist()
            p["predictions"] = (
                rng.choice(["a", "b", "c"], n).tolist() if arrow else p["predictions"]
            )
            delivery = HttpDelivery("http://t", transport=transport, arrow=arrow)
            assert delivery.send("predictions", p).accepted == n  # closed with the transport
    finally:
        transport.close()
    q = QueryService(store)
    got = q.get_prediction("shop", "m-arrow", "p3")
    assert got["score"] == probs[3].tolist() and got["prediction"] in ("a", "b", "c")
    assert q.get_prediction("shop", "m-json", "p3")["score"] == got["score"]
