"""Alerting end to end: the SDK -> a real server process -> a real SMTP server and HTTP receiver.

Each test starts a server process on SQLite or on a fresh PostgreSQL database,
applies a monitor config over the API, sends a reference and then drifted
predictions through :class:`driftline.ModelMonitor`, and watches what reaches
an aiosmtpd SMTP server and an HTTP receiver that the test runs:

- ``driftline serve`` itself (scheduler on, ``DRIFTLINE_ALERT_ALLOW`` lets it reach
  127.0.0.1): the drift alerts of both columns arrive as ONE grouped email and
  ONE grouped webhook, then repeat every ``repeat_interval`` until acknowledged;
- a receiver failing three times (503) then succeeding gets exactly one delivery;
- ``kill -9`` of the server while a slow receiver holds the request: after a
  restart every notification arrives, with at most one duplicate.

The last two run ``_proc/serve_alerts.py`` (the same app, with the retry, claim
and lease timings shrunk to seconds).
"""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

SERVE_ALERTS = Path(__file__).parent / "_proc" / "serve_alerts.py"
START_WAIT_S = 30.0
"""Longest wait for a server process to answer ``/healthz``."""
ARRIVAL_WAIT_S = 20.0
"""Longest wait for a notification to arrive."""
WINDOW_S = 3600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


# -- receivers -----------------------------------------------------------------------------------
@dataclass
class Hook:
    """An HTTP receiver on 127.0.0.1: fails the first ``fail_first`` requests with 503, holds
    the first request for ``hold_first`` seconds (then answers, if anyone still listens)."""

    fail_first: int = 0
    hold_first: float = 0.0
    url: str = ""
    requests: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    def ids(self) -> list[str]:
        with self.lock:
            return [nid for _, nid, _ in self.requests]


@pytest.fixture
def hook_factory() -> Iterator[Callable[..., Hook]]:
    servers: list[tuple[ThreadingHTTPServer, Hook]] = []

    def make(**kw: Any) -> Hook:
        state = Hook(**kw)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                nid = self.headers.get("Idempotency-Key", "")
                with state.lock:
                    n = len(state.requests)
                    state.requests.append((time.monotonic(), nid, body))
                if n == 0 and state.hold_first:
                    state.release.wait(state.hold_first)
                status = 503 if n < state.fail_first else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    return  # the sender was killed meanwhile
                if status == 200:
                    with state.lock:
                        state.answered.append(nid)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, state))
        return state

    yield make
    for server, state in servers:
        state.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Messages received by the aiosmtpd server."""

    port: int
    messages: list[email.message.Message] = field(default_factory=list)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=_free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# -- the server process --------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'alerts.db'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


class Server:
    """A server process on a fixed loopback port: start, ``kill -9``, start again."""

    def __init__(self, database_url: str, workdir: Path, *, fast: bool) -> None:
        self.database_url, self.workdir, self.fast = database_url, workdir, fast
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self._close_log()
        self.starts += 1
        log_path = self.workdir / f"server-{self.starts}.log"
        self.log = log_path.open("wb")
        env = {**os.environ, "DRIFTLINE_DATA_DIR": str(self.workdir / "data")}
        env["DRIFTLINE_ALERT_ALLOW"] = "127.0.0.1/32"
        for name in ("DRIFTLINE_DATABASE_URL", "DRIFTLINE_URL", "DRIFTLINE_TOKEN"):
            env.pop(name, None)
        if self.fast:
            command = [sys.executable, str(SERVE_ALERTS), str(self.port), self.database_url]
        else:
            command = [sys.executable, "-m", "driftline", "serve", "--port", str(self.port),
                       "--database-url", self.database_url, "--log-level", "warning"]  # fmt: skip
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir
        )
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the server did not answer within {START_WAIT_S} s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    made: list[Server] = []

    def make(*, fast: bool) -> Server:
        server = Server(database_url, tmp_path, fast=fast)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.stop()


# -- config and data -----------------------------------------------------------------------------
def _config(*, webhook: str, smtp_port: int | None = None, repeat: str = "1h") -> str:
    email_part = (
        f"""    email:
      - to: [ml@example.com]
        from: driftline@example.com
        smarthost: 127.0.0.1:{smtp_port}
        starttls: false
"""
        if smtp_port
        else ""
    )
    monitors = "".join(
        f"""  - name: {column}-drift
    project: shop
    model: ranker
    signal: {{kind: drift, column: {column}}}
    condition: {{kind: threshold, op: ">", value: 0.2}}
    schedule: on_ingest
    severity: warning
"""
        for column in ("a", "b")
    )
    return f"""route:
  receiver: team
  group_by: [project, model]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: {repeat}
receivers:
  - name: team
{email_part}    webhook:
      - url: {webhook}
        timeout: 30
monitors:
{monitors}"""


def _apply(url: str, text: str) -> None:
    resp = httpx.put(
        f"{url}/api/v1/monitors",
        content=text,
        headers={"Content-Type": "application/yaml"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text


def _drift(url: str, tmp_path: Path) -> None:
    """Reference N(0, 1) for columns a and b, then 300 predictions with both shifted by 3.

    The predictions are stamped in the last complete hour: a monitor judges complete
    windows only, so data of the running hour would alert when the hour ends.
    """
    from driftline.client import ModelMonitor
    from driftline.config import load_settings

    now = time.time()
    if now % WINDOW_S > WINDOW_S - 30:  # the test must not straddle an hour boundary
        time.sleep(WINDOW_S - now % WINDOW_S + 0.5)
        now = time.time()
    # rows of the last complete hourly window (monitors judge complete windows)
    at = (now // WINDOW_S) * WINDOW_S - WINDOW_S / 2
    rng = np.random.default_rng(20261125)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 500), "b": rng.normal(0, 1, 500)})
    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "sdk")})
    monitor = ModelMonitor(
        "shop", "ranker", "v1", reference=reference, url=url, settings=settings,
        flush_interval=0.05,
    )  # fmt: skip
    try:
        assert monitor.flush(timeout=20)
        drifted = pd.DataFrame({"a": rng.normal(3, 1, 300), "b": rng.normal(3, 1, 300)})
        monitor.log_predictions(drifted, rng.integers(0, 2, 300), timestamps=[at] * 300)
        assert monitor.flush(timeout=20)
        assert monitor.stats().dropped == {}
    finally:
        monitor.close()


# -- the tests -----------------------------------------------------------------------------------
def test_drift_reaches_smtp_and_webhook_as_one_group_then_repeats(
    server_factory: Callable[..., Server],
    hook_factory: Callable[..., Hook],
    mailbox: Mailbox,
    tmp_path: Path,
) -> None:
    hook = hook_factory()
    server = server_factory(fast=False)  # ``driftline serve`` with its own scheduler
    _apply(server.url, _config(webhook=hook.url, smtp_port=mailbox.port, repeat="2s"))
    _drift(server.url, tmp_path)
    try:
        _wait(lambda: hook.requests and mailbox.messages, ARRIVAL_WAIT_S, "the first notification")
    except AssertionError as exc:
        notes = httpx.get(f"{server.url}/api/v1/notifications").json()
        raise AssertionError(f"{exc}: {[(n['status'], n['last_error']) for n in notes]}") from None
    _, _, body = hook.requests[0]
    assert body["status"] == "firing" and body["group_labels"] == {
        "project": "shop",
        "model": "ranker",
    }
    assert sorted(a["labels"]["alertname"] for a in body["alerts"]) == ["a-drift", "b-drift"]
    message = mailbox.messages[0]
    text = message.as_string()
    assert "a-drift" in text and "b-drift" in text and message["To"] == "ml@example.com"
    # repeats: a new notification every repeat_interval (2 s; ticks are 1 s apart)
    _wait(lambda: len(hook.requests) >= 2 and len(mailbox.messages) >= 2, 10, "a repeat")
    gap = hook.requests[1][0] - hook.requests[0][0]
    assert 1.9 <= gap <= 4.5, gap
    assert len(set(hook.ids()[:2])) == 2  # each repeat is a new notification
    # acknowledged: repeats stop
    alerts = httpx.get(f"{server.url}/api/v1/alerts?state=firing").json()
    for alert in alerts:
        resp = httpx.post(f"{server.url}/api/v1/alerts/{alert['fingerprint']}/acknowledge")
        assert resp.status_code == 200
    time.sleep(1.0)  # a send in flight at the ack may still land
    settled = len(hook.requests)
    time.sleep(2.5)  # more than repeat_interval
    assert len(hook.requests) == settled
    gauge = (
        'driftline_alerts{project="shop",model="ranker",severity="warning",state="acknowledged"}'
    )
    assert f"{gauge} 2.0" in httpx.get(f"{server.url}/metrics").text


def test_receiver_failing_three_times_gets_exactly_one_delivery(
    server_factory: Callable[..., Server], hook_factory: Callable[..., Hook], tmp_path: Path
) -> None:
    hook = hook_factory(fail_first=3)
    server = server_factory(fast=True)
    _apply(server.url, _config(webhook=hook.url))
    _drift(server.url, tmp_path)
    _wait(lambda: hook.answered, ARRIVAL_WAIT_S, "the delivery after three failures")
    time.sleep(1.5)  # any extra send would come within the retry delays (< 1 s)
    ids = hook.ids()
    assert len(ids) == 4 and len(set(ids)) == 1  # one notification, tried four times
    assert hook.answered == ids[:1]
    notes = httpx.get(f"{server.url}/api/v1/notifications").json()
    (note,) = notes
    assert note["status"] == "delivered"
    failures = [a for a in note["attempt_log"] if not a["ok"]]
    assert len(failures) == 3 and all("503" in str(a["error"]) for a in failures)


def test_kill_9_while_sending_loses_nothing_and_duplicates_at_most_one(
    server_factory: Callable[..., Server], hook_factory: Callable[..., Hook], tmp_path: Path
) -> None:
    hook = hook_factory(hold_first=60.0)
    server = server_factory(fast=True)
    _apply(server.url, _config(webhook=hook.url))
    _drift(server.url, tmp_path)
    _wait(lambda: hook.requests, ARRIVAL_WAIT_S, "the send that the receiver holds")
    server.kill9()  # the outbox row is claimed and its request in flight (held until teardown)
    server.start()

    def delivered() -> bool:
        notes = httpx.get(f"{server.url}/api/v1/notifications").json()
        return bool(notes) and all(n["status"] == "delivered" for n in notes)

    _wait(delivered, ARRIVAL_WAIT_S, "every notification delivered after the restart")
    time.sleep(1.0)
    ids = hook.ids()
    notes = httpx.get(f"{server.url}/api/v1/notifications").json()
    assert {n["id"] for n in notes} == set(ids) == set(hook.answered)  # all arrived
    assert len(ids) - len(set(ids)) <= 1  # at most one duplicate
