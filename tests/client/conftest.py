from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from driftline.client._convert import ARROW_COLUMNS
from driftline.client._delivery import ARROW_CONTENT_TYPE
from driftline.config import Settings, load_settings


class FakeServer:
    """An ``httpx.MockTransport`` handler that records batches and answers like driftline.

    ``script`` is a list of responses (status or callable) used for the first requests;
    after it runs out every request is acknowledged. Batches are deduplicated by id,
    like the real ingest service.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[float, str, dict[str, Any]]] = []
        self.script: list[Any] = []
        self.seen: dict[str, int] = {}
        self.down = False
        self.lock = threading.Lock()
        self.clock: Callable[[], float] = __import__("time").monotonic

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers["content-type"] == ARROW_CONTENT_TYPE:
            body = _arrow_body(request)
        else:
            assert request.headers["content-encoding"] == "gzip"
            body = json.loads(gzip.decompress(request.content))
        with self.lock:
            self.requests.append((self.clock(), request.url.path, body))
            if self.script:
                step = self.script.pop(0)
                if callable(step):
                    return step(request)
                return httpx.Response(step, json={"error": "scripted", "message": "no"})
            n = _rows(body)
            dup = body["batch_id"] in self.seen
            if not dup:
                self.seen[body["batch_id"]] = n
            return httpx.Response(
                200,
                json={"batch_id": body["batch_id"], "accepted": 0 if dup else n, "duplicate": dup},
            )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def stored_bodies(self, path_suffix: str = "") -> list[dict[str, Any]]:
        """Bodies stored once each (first delivery of every batch id)."""
        out, ids = [], set()
        for _, path, body in self.requests:
            if (
                path.endswith(path_suffix)
                and body["batch_id"] in self.seen
                and body["batch_id"] not in ids
            ):
                ids.add(body["batch_id"])
                out.append(body)
        return out


def _arrow_body(request: httpx.Request) -> dict[str, Any]:
    """The JSON-shaped payload of an Arrow predictions request (columns back to fields)."""
    import pyarrow as pa

    assert request.url.path.endswith("/predictions/arrow")
    table = pa.ipc.open_stream(request.content).read_all()
    fields = {column: field for field, column in ARROW_COLUMNS.items()}
    body: dict[str, Any] = dict(request.url.params)
    body["features"] = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        if name in fields:
            body[fields[name]] = values
        else:
            body["features"][name] = values
    return body


def _rows(body: dict[str, Any]) -> int:
    for key in ("ids", "points", "events"):
        if key in body:
            return len(body[key])
    return 1


@pytest.fixture
def fake_server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "data")})
