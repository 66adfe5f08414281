"""Ingest API: acks, idempotency, gzip, size limits, and bad input that never gives a 500."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pyarrow as pa
import pytest
from httpx import Client

from driftline.client._delivery import INGEST_PATHS

PRED = INGEST_PATHS["predictions"]


def predictions(batch_id: str = "b1", n: int = 3, **extra: Any) -> dict[str, Any]:
    body = {
        "batch_id": batch_id,
        "project": "shop",
        "model": "ranker",
        "version": "v1",
        "ids": [f"{batch_id}-{i}" for i in range(n)],
        "timestamps": [1_800_000_000.0 + i for i in range(n)],
        "features": {"age": [30 + i for i in range(n)], "city": ["Oslo"] * n},
        "predictions": [i % 2 for i in range(n)],
    }
    body.update(extra)
    return body


def test_ingest_acknowledges_and_is_idempotent(client: Client) -> None:
    first = client.post(PRED, json=predictions())
    assert first.status_code == 200, first.text
    assert first.json() == {"batch_id": "b1", "accepted": 3, "duplicate": False}
    again = client.post(PRED, json=predictions())
    assert again.json() == {"batch_id": "b1", "accepted": 0, "duplicate": True}
    models = client.get("/api/v1/projects/shop/models")
    assert models.status_code == 200
    assert "ranker" in json.dumps(models.json())


def test_gzip_body_is_accepted(client: Client) -> None:
    raw = gzip.compress(json.dumps(predictions("gz")).encode())
    resp = client.post(
        PRED, content=raw, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 3


def test_body_over_the_limit_gives_413(client: Client) -> None:
    big = predictions("big", n=20_000)  # ~1 MB of JSON, limit is 256 KiB
    resp = client.post(PRED, json=big)
    assert resp.status_code == 413
    assert resp.json()["error"] == "payload_too_large" and "body" in resp.json()["message"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(100):
            yield b" " * 10_000

    resp = client.post(PRED, content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413


def test_gzip_bomb_gives_413(client: Client) -> None:
    bomb = gzip.compress(b"{" + b" " * (20 * 2**20), compresslevel=9)  # 20 MiB from ~20 KiB
    assert len(bomb) < 256 * 1024
    resp = client.post(PRED, content=bomb, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 413
    assert "after decompression" in resp.json()["message"]


def test_corrupt_gzip_and_unknown_encoding(client: Client) -> None:
    resp = client.post(PRED, content=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 400 and resp.json()["error"] == "bad_encoding"
    truncated = gzip.compress(json.dumps(predictions()).encode())[:-12]
    resp = client.post(PRED, content=truncated, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 400
    resp = client.post(PRED, content=b"{}", headers={"Content-Encoding": "br"})
    assert resp.status_code == 415


def _fields(resp: Any) -> list[str]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"] == "invalid_payload"
    return [f["path"] for f in body["fields"]]


def test_bad_payloads_name_the_field(client: Client) -> None:
    assert "ids" in _fields(client.post(PRED, json=predictions(ids="abc")))
    assert "version" in _fields(
        client.post(PRED, json={k: v for k, v in predictions().items() if k != "version"})
    )
    assert "colour" in _fields(client.post(PRED, json=predictions(colour=1)))
    resp = client.post(PRED, json=predictions(predictions=[1, 0]))
    assert resp.status_code == 422
    assert "predictions" in resp.json()["message"] and "3" in resp.json()["message"]
    assert "2" in resp.json()["message"]
    metrics = {
        "batch_id": "m",
        "project": "p",
        "run_id": "r",
        "points": [
            {"key": "loss", "step": 0, "value": 1.0, "timestamp": 1.0},
            {"key": "loss", "step": 1, "value": "high", "timestamp": 1.0},
        ],
    }
    assert "points.1.value" in _fields(client.post(INGEST_PATHS["run_metrics"], json=metrics))


def test_malformed_json_gives_422(client: Client) -> None:
    resp = client.post(
        PRED, content=b'{"batch_id": "x",', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 422 and resp.json()["error"] == "invalid_payload"


GARBAGE = [
    b"[" * 100_000 + b"]" * 100_000,  # recursion bomb
    b'{"batch_id": "n", "project": "p", "model": "m", "version": "v", "ids": ["a"], '
    b'"timestamps": [NaN], "features": {"x": [Infinity]}, "predictions": [NaN]}',
    b'{"batch_id": "n2", "project": "p", "model": "m", "version": "v", "ids": ["a"], '
    b'"timestamps": [1.0], "features": {"x": [Infinity], "y": [{"deep": [1, null]}]}, "predictions": [NaN]}',
    b"",
    b"null",
    b"[]",
    b"42",
    b'"text"',
    b"{",
    b"\xff\xfe\x00",
    b'{"batch_id": null}',
    b'{"batch_id": "x", "project": "p", "ids": {"a": 1}}',
    b'{"points": [[1, 2]]}',
    json.dumps({"batch_id": "x" * 10_000, "project": "p"}).encode(),
    json.dumps({"batch_id": "x", "project": "bad name with spaces", "model": "m"}).encode(),
    json.dumps(
        {
            "batch_id": "x",
            "project": "p",
            "run_id": "r",
            "points": [{"key": "k", "step": -1, "value": 1, "timestamp": 1}],
        }
    ).encode(),
    json.dumps(
        {
            "batch_id": "x",
            "project": "p",
            "model": "m",
            "version": "v",
            "profile": {"x": 1},
            "schema": {},
        }
    ).encode(),
    json.dumps(
        {
            "batch_id": "x",
            "project": "p",
            "model": "m",
            "events": [{"name": "c", "timestamp": "now"}],
        }
    ).encode(),
    json.dumps(
        {
            "batch_id": "x",
            "project": "p",
            "model": "m",
            "ids": ["a"],
            "labels": [[1, {"deep": [1]}]],
        }
    ).encode(),
]


@pytest.mark.parametrize("kind", sorted(INGEST_PATHS))
def test_garbage_never_gives_a_server_error(client: Client, kind: str) -> None:
    for body in GARBAGE:
        resp = client.post(
            INGEST_PATHS[kind], content=body, headers={"Content-Type": "application/json"}
        )
        assert 200 <= resp.status_code < 500, (kind, body[:60], resp.status_code, resp.text[:300])
        if resp.status_code >= 400:
            assert "message" in resp.json()


def test_bad_query_parameters_give_422(client: Client) -> None:
    client.post(PRED, json=predictions())
    url = "/api/v1/projects/shop/models/ranker/windows"
    for params in ({"start": "nan"}, {"end": "soon"}, {"window_seconds": -5}):
        resp = client.get(url, params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert next(iter(params)) in resp.json()["message"]


def test_unknown_project_or_route_gives_404(client: Client) -> None:
    resp = client.get("/api/v1/projects/nope/models")
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"
    assert client.get("/api/v1/runs/nope").status_code == 404
    assert client.get("/api/v1/nothing-here").status_code == 404


def _arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def test_arrow_predictions(client: Client) -> None:
    table = pa.table(
        {
            "__id": ["a1", "a2"],
            "__timestamp": [1_800_000_000.0, 1_800_000_001.0],
            "__prediction": [0, 1],
            "__score": [0.2, 0.9],
            "age": [31, 45],
        }
    )
    url = PRED + "/arrow?project=shop&model=ranker&version=v1&batch_id=arrow-1"
    headers = {"Content-Type": "application/vnd.apache.arrow.stream"}
    resp = client.post(url, content=_arrow(table), headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"batch_id": "arrow-1", "accepted": 2, "duplicate": False}
    assert client.post(url, content=b"garbage", headers=headers).status_code == 422
    no_ids = pa.table({"__timestamp": [1.0], "__prediction": [0]})
    resp = client.post(url.replace("arrow-1", "arrow-2"), content=_arrow(no_ids), headers=headers)
    assert resp.status_code == 422 and "__id" in resp.json()["message"]


def test_openapi_documents_every_endpoint(client: Client) -> None:
    doc = client.get("/openapi.json").json()
    for kind, path in INGEST_PATHS.items():
        assert "post" in doc["paths"][path], kind
    body = doc["paths"][PRED]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/PredictionsBatch")
    assert "PredictionsBatch" in doc["components"]["schemas"]
    for path in ("/api/v1/projects", "/api/v1/tokens", "/metrics", "/healthz"):
        assert path in doc["paths"]


def test_healthz(client: Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
