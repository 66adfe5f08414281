"""The notification outbox against a real local HTTP receiver: retries, restarts, dead workers.

No fakes: notifications go through the webhook channel over a socket to an
``http.server`` in a thread, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from driftline.alerts import _repo as repo
from driftline.alerts._model import Alert, AlertState, Notification
from driftline.alerts._service import AlertService
from driftline.alerts._spec import AlertingConfig
from driftline.alerts.channels import NetworkPolicy
from driftline.alerts.channels._retry import RetryPolicy
from driftline.store import Store

T = 1_800_000_000.0
LOCAL = NetworkPolicy(allow=["127.0.0.1/32"])


class Receiver:
    """An HTTP server that answers the first ``fail`` POSTs with ``status`` and then 200."""

    def __init__(self, fail: int = 0, status: int = 500, hang: threading.Event | None = None):
        self.fail, self.status, self.hang = fail, status, hang
        self.requests: list[dict[str, Any]] = []
        self.ok: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                record = {"id": self.headers["Idempotency-Key"], "body": body}
                outer.requests.append(record)
                outer.arrived.set()
                if outer.hang is not None:
                    outer.hang.wait(30)
                if len(outer.requests) <= outer.fail:
                    self.send_response(outer.status)
                    self.end_headers()
                    return
                outer.ok.append(record)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=3)
    yield r
    r.close()


def configure(service: AlertService, url: str) -> None:
    service.apply(
        AlertingConfig.model_validate(
            {"route": {"receiver": "team"},
             "receivers": [{"name": "team", "webhook": [{"url": url, "timeout": 5}]}]}
        )
    )  # fmt: skip


def enqueue(store: Store, nid: str = "n1", at: float = T) -> None:
    alert = Alert("fp1", {"alertname": "vol"}, AlertState.FIRING, at, at, fired_at=at)
    with store.begin() as conn:
        repo.enqueue_notification(
            conn, Notification(nid, "team", "g", {"alertname": "vol"}, "firing", (alert,), at)
        )


def service(store: Store, **kw: Any) -> AlertService:
    kw.setdefault("retry", RetryPolicy(max_attempts=6, base=10.0, cap=60.0))
    return AlertService(store, clock=lambda: T, policy=LOCAL, rng=random.Random(7), **kw)


def drain(svc: AlertService, start: float, until: float, step: float = 5.0) -> float:
    now = start
    while now <= until:
        svc.deliver_due(now)
        now += step
    return now


def test_three_failures_then_success_delivers_exactly_once(
    store: Store, receiver: Receiver
) -> None:
    svc = service(store)
    configure(svc, receiver.url)
    enqueue(store)
    first = svc.deliver_due(T)
    assert (first.claimed, first.retrying) == (1, 1)
    [row] = svc.list_notifications()
    assert row.status == "pending" and "HTTP 500" in row.last_error
    assert row.next_attempt_at > T  # backoff, not a tight loop
    drain(svc, T + 5, T + 600)
    [row] = svc.list_notifications()
    assert row.status == "delivered" and row.attempts == 4
    assert [a.ok for a in row.attempt_log] == [False, False, False, True]
    assert len(receiver.requests) == 4 and len(receiver.ok) == 1
    assert {r["id"] for r in receiver.requests} == {"n1"}  # one idempotency key throughout
    assert svc.list_notifications(status="delivered")[0].id == "n1"
    # a restart (a new service on the same store) neither loses nor re-sends it
    again = service(store)
    assert again.deliver_due(T + 10_000).claimed == 0
    assert len(receiver.requests) == 4


def test_a_restart_sends_what_was_pending(store: Store) -> None:
    receiver = Receiver(fail=0)
    try:
        svc = service(store)
        configure(svc, receiver.url)
        enqueue(store, "a")
        enqueue(store, "b")
        del svc  # the process "stops" before sending anything
        restarted = service(store)
        run = restarted.deliver_due(T + 1)
        assert (run.claimed, run.delivered) == (2, 2)
        assert sorted(r["id"] for r in receiver.ok) == ["a", "b"]
        assert restarted.deliver_due(T + 2).claimed == 0
    finally:
        receiver.close()


def test_an_expired_claim_is_sent_once_more(store: Store) -> None:
    receiver = Receiver(fail=0)
    try:
        svc = service(store, claim_seconds=60.0)
        configure(svc, receiver.url)
        enqueue(store)
        with store.begin() as conn:  # a worker claims it, then dies before sending
            assert len(repo.claim_notifications(conn, "dead", now=T, claim_seconds=60.0,
                                                limit=10)) == 1  # fmt: skip
        assert svc.deliver_due(T + 30).claimed == 0  # still claimed
        run = svc.deliver_due(T + 61)
        assert (run.claimed, run.delivered) == (1, 1)
        assert len(receiver.requests) == 1
        assert svc.deliver_due(T + 200).claimed == 0
    finally:
        receiver.close()


def test_a_permanent_error_fails_at_once_and_is_visible(store: Store) -> None:
    receiver = Receiver(fail=100, status=404)
    try:
        svc = service(store)
        configure(svc, receiver.url)
        enqueue(store)
        run = svc.deliver_due(T)
        assert (run.claimed, run.failed) == (1, 1)
        [row] = svc.list_notifications(status="failed")
        assert row.last_error.startswith("not retryable") and "404" in row.last_error
        assert row.attempt_log[0].retryable is False
        assert svc.deliver_due(T + 3600).claimed == 0
    finally:
        receiver.close()


def test_retries_give_up_after_max_attempts(store: Store) -> None:
    receiver = Receiver(fail=100, status=503)
    try:
        svc = service(store, retry=RetryPolicy(max_attempts=3, base=1.0, cap=2.0))
        configure(svc, receiver.url)
        enqueue(store)
        drain(svc, T, T + 60, step=1.0)
        [row] = svc.list_notifications()
        assert row.status == "failed" and row.attempts == 3
        assert "giving up after 3 attempts" in row.last_error
        assert len(receiver.requests) == 3
    finally:
        receiver.close()


def test_an_unknown_receiver_fails_with_its_name(store: Store) -> None:
    svc = service(store)
    enqueue(store)
    assert svc.deliver_due(T).failed == 1
    assert "no receiver named 'team'" in svc.list_notifications()[0].last_error


CHILD = textwrap.dedent(
    """
    import random, sys
    from driftline.alerts._service import AlertService
    from driftline.alerts.channels import NetworkPolicy
    from driftline.store import Store
    store = Store.open(sys.argv[1])
    svc = AlertService(store, policy=NetworkPolicy(allow=["127.0.0.1/32"]), owner="child",
                       rng=random.Random(1), claim_seconds=60.0)
    svc.deliver_due(float(sys.argv[2]))
    """
)


def test_kill_9_while_sending_loses_nothing_and_duplicates_at_most_one(store_url: str) -> None:
    hang = threading.Event()
    receiver = Receiver(fail=0, hang=hang)
    try:
        with Store.open(store_url) as store:
            svc = service(store, claim_seconds=60.0)
            configure(svc, receiver.url)
            enqueue(store)
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, store_url, str(T)], env=dict(os.environ)
            )
            try:
                assert receiver.arrived.wait(60), "the child never sent"
                child.send_signal(signal.SIGKILL)  # mid-request: sent, outcome never recorded
                child.wait(30)
            finally:
                if child.poll() is None:
                    child.kill()
            hang.set()
            assert svc.list_notifications()[0].status == "sending"
            assert svc.deliver_due(T + 30).claimed == 0  # the dead claim still holds
            run = svc.deliver_due(T + 61)
            assert (run.claimed, run.delivered) == (1, 1)
            assert svc.deliver_due(T + 1000).claimed == 0
            # received twice at most, both times with the same idempotency key
            deadline = time.monotonic() + 5
            while len(receiver.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert [r["id"] for r in receiver.requests] == ["n1", "n1"]
            [row] = svc.list_notifications()
            assert row.status == "delivered" and row.attempts == 2
    finally:
        hang.set()
        receiver.close()
