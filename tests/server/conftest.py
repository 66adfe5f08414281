from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest


@pytest.fixture
def clock() -> list[float]:
    """A settable clock: ``clock[0]`` is the current epoch seconds."""
    return [1_800_000_000.0]


class AppTransport(httpx.BaseTransport):
    """A synchronous httpx transport that calls an ASGI app in process.

    It drives ``httpx.ASGITransport`` through an anyio blocking portal, so the
    synchronous SDK (and tests) talk to the real app without a socket.
    """

    def __init__(self, app: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def go() -> httpx.Response:
            req = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            if "content-length" not in request.headers and "content-length" in req.headers:
                del req.headers["content-length"]
            resp = await self._asgi.handle_async_request(req)
            content = await resp.aread()
            return httpx.Response(resp.status_code, headers=resp.headers, content=content)

        return self._portal.call(go)

    def close(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
            self._cm = None  # type: ignore[assignment]


@pytest.fixture
def make_client() -> Iterator[Any]:
    """``make_client(app)`` gives an ``httpx.Client`` on the app, closed after the test."""
    made: list[httpx.Client] = []

    def make(app: Any) -> httpx.Client:
        c = httpx.Client(transport=AppTransport(app), base_url="http://testserver")
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(store: Any, clock: list[float], make_client: Any) -> httpx.Client:
    from driftline.server import create_app

    app = create_app(store, auth_required=False, max_body_bytes=256 * 1024, clock=lambda: clock[0])
    return make_client(app)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving an app on a loopback port, in a thread; start and stop at will."""

    def __init__(self, app: Any, port: int) -> None:
        self.app, self.port = app, port
        self.url = f"http://127.0.0.1:{port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(10)
            self._server = None


def _serving(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app, free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_server(store: Any) -> Iterator[LiveServer]:
    """The API alone (:func:`driftline.server.create_app`) on a loopback port."""
    from driftline.server import create_app

    yield from _serving(create_app(store, auth_required=False))


@pytest.fixture
def live_dashboard_server(store: Any) -> Iterator[LiveServer]:
    """The API with the dashboard on top, as ``driftline serve`` runs it, on a loopback port."""
    from driftline.ui import create_dashboard_app

    yield from _serving(create_dashboard_app(store, auth_required=False))
