"""``kill -9`` of a real ``driftline serve`` process during sustained ingestion.

Several clients (threads, each with its own HTTP connection) post prediction
batches with known batch ids and row ids; a batch counts as acknowledged only
after a 200 answer. The server is killed with SIGKILL in the middle of the load
at a known point (``_proc/serve_paused.py`` freezes it there): one batch is
committed but its acknowledgement was never sent, another has its rows written
in a transaction that is not committed, other requests are in flight. The
server is restarted on the same database and port, and the clients retry
whatever was not acknowledged. Then every acknowledged batch must be stored
exactly once: no row id twice, none missing, and the window totals agree. On SQLite and on a fresh PostgreSQL database
(skipped when PostgreSQL is unreachable, unless ``CI`` is set).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import sqlalchemy as sa

from driftline.client._delivery import INGEST_PATHS

from .conftest import free_port

T0 = 1_800_000_000.0
N_CLIENTS = 4
BATCHES_PER_CLIENT = 24
ROWS_PER_BATCH = 40
SERVE_PAUSED = Path(__file__).parent / "_proc" / "serve_paused.py"
START_WAIT_S = 30.0
"""Longest wait for ``driftline serve`` to answer ``/healthz``."""
CLIENT_DEADLINE_S = 60.0
"""Longest time a client keeps retrying before the test fails."""
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# -- databases ----------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLite file, or a freshly created PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    from driftline.store._engine import normalise_url

    raw = os.environ.get("DRIFTLINE_TEST_POSTGRES_URL", "").strip() or DEFAULT_POSTGRES_URL
    server = sa.make_url(normalise_url(raw))
    admin = sa.create_engine(
        server.update_query_dict({"connect_timeout": "3"}),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    name = f"driftline_crash_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        msg = f"PostgreSQL is unreachable (set DRIFTLINE_TEST_POSTGRES_URL): {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- the server process -------------------------------------------------------------------------
class ServerProcess:
    """``python -m driftline serve`` on a fixed loopback port; start, kill -9, start again."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0
        self.markers = workdir

    def start(self, freeze: str | None = None) -> None:
        """Start and wait for ``/healthz``; with ``freeze`` (a batch id) run ``serve_paused.py``."""
        self.starts += 1
        log_path = self.workdir / f"serve-{self.starts}.log"
        self._log = log_path.open("wb")
        env = {**os.environ, "DRIFTLINE_DATA_DIR": str(self.workdir / "data")}
        env.pop("DRIFTLINE_DATABASE_URL", None)
        command = [sys.executable, "-m", "driftline"]
        if freeze is not None:
            self.markers = self.workdir / f"frozen-{self.starts}"
            self.markers.mkdir()
            command = [sys.executable, str(SERVE_PAUSED), freeze, str(self.markers)]
        self.proc = subprocess.Popen(
            [*command, "serve", "--port", str(self.port),
             "--database-url", self.database_url, "--log-level", "warning"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
        )  # fmt: skip
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"driftline serve exited with {self.proc.returncode}: "
                    f"{log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"driftline serve did not answer within {START_WAIT_S} s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL
        self._close_log()

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
        if self._log is not None:
            self._log.close()
            self._log = None


# -- the clients --------------------------------------------------------------------------------
@dataclass
class Ledger:
    """What the clients saw, shared between their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[str, list[str]] = field(default_factory=dict)  # batch id -> row ids
    duplicate: dict[str, bool] = field(default_factory=dict)  # batch id -> ack said duplicate
    failures: int = 0
    errors: list[str] = field(default_factory=list)

    def n_acked(self, prefix: str = "") -> int:
        with self.lock:
            return sum(b.startswith(prefix) for b in self.acked)

    def snapshot(self) -> dict[str, list[str]]:
        with self.lock:
            return dict(self.acked)


def _batch(client: int, index: int) -> dict[str, Any]:
    batch_id = f"c{client}-b{index}"
    ids = [f"{batch_id}-r{r}" for r in range(ROWS_PER_BATCH)]
    return {
        "batch_id": batch_id,
        "project": "crash",
        "model": "m",
        "version": "v1",
        "ids": ids,
        "timestamps": [T0 + index] * ROWS_PER_BATCH,
        "features": {
            "x": [float(client * 1000 + index * 10 + r % 10) for r in range(ROWS_PER_BATCH)],
            "c": [("a", "b", "c")[r % 3] for r in range(ROWS_PER_BATCH)],
        },
        "predictions": [r % 2 for r in range(ROWS_PER_BATCH)],
    }


GATE_INDEX = 12
"""Clients other than 0 hold their batches from this index on until the first freeze, so that
some other client's batch is still to come when c0-b5 freezes (the second freeze needs one)."""


def _client(
    number: int, url: str, ledger: Ledger, stop: threading.Event, gate: Path | None = None
) -> None:
    """Post this client's batches in order; each one until a 200 answer (bounded)."""
    deadline = time.monotonic() + CLIENT_DEADLINE_S
    try:
        # The timeout outlasts the wait for the freezes, so a frozen request is never retried
        # before the kill (a retry then would be acknowledged as a duplicate).
        with httpx.Client(base_url=url, timeout=60.0) as http:
            for index in range(BATCHES_PER_CLIENT):
                body = _batch(number, index)
                if gate is not None and number != 0 and index >= GATE_INDEX:
                    while not gate.exists() and not stop.is_set():
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"client {number}: the first freeze never came")
                        time.sleep(0.01)
                while True:
                    if stop.is_set() or time.monotonic() > deadline:
                        raise TimeoutError(f"client {number}: batch {index} never acknowledged")
                    try:
                        resp = http.post(INGEST_PATHS["predictions"], json=body)
                    except httpx.TransportError:
                        resp = None
                    if resp is not None and resp.status_code == 200:
                        ack = resp.json()
                        assert ack["batch_id"] == body["batch_id"]
                        with ledger.lock:
                            ledger.acked[str(body["batch_id"])] = list(body["ids"])
                            ledger.duplicate[str(body["batch_id"])] = bool(ack["duplicate"])
                        break
                    if resp is not None and resp.status_code < 500:
                        raise AssertionError(f"client {number}: {resp.status_code} {resp.text}")
                    with ledger.lock:
                        ledger.failures += 1
                    time.sleep(0.02)
    except BaseException as exc:  # reported by the test thread
        with ledger.lock:
            ledger.errors.append(f"{type(exc).__name__}: {exc}")


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def _stored(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Read the database directly: times each row id is stored, and ``accepted`` per batch id."""
    from driftline.store import tables as t
    from driftline.store._engine import normalise_url

    engine = sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            p, b = t.prediction_ids, t.ingest_batches
            rows = conn.execute(
                sa.select(p.c.prediction_id, sa.func.count()).group_by(p.c.prediction_id)
            )
            counts = {str(k): int(n) for k, n in rows}
            batches = {
                str(k): int(n) for k, n in conn.execute(sa.select(b.c.batch_id, b.c.accepted))
            }
    finally:
        engine.dispose()
    return counts, batches


def _check_exactly_once(url: str, acked: dict[str, list[str]]) -> dict[str, int]:
    """Every row of every acknowledged batch is stored once, and no row twice."""
    counts, batches = _stored(url)
    duplicated = sorted(k for k, n in counts.items() if n != 1)
    assert duplicated == [], f"rows stored more than once: {duplicated[:5]}"
    for batch_id, ids in acked.items():
        missing = [i for i in ids if i not in counts]
        assert missing == [], f"batch {batch_id} was acknowledged, rows lost: {missing[:3]}"
        assert batches.get(batch_id) == ROWS_PER_BATCH
    return counts


def _wait_for_outage(ledger: Ledger) -> None:
    with ledger.lock:
        failures = ledger.failures
    _wait(lambda: ledger.failures > failures + N_CLIENTS, 10, "clients to see the outage")


def test_acknowledged_batches_survive_kill_9_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    from driftline.store import QueryService, Store

    total = N_CLIENTS * BATCHES_PER_CLIENT
    server = ServerProcess(database_url, tmp_path)
    ledger = Ledger()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    committed_unacked = "c0-b5"
    try:
        # c0-b5 commits, then the server freezes before acknowledging it, and freezes the
        # next transaction before its commit; other clients' requests are in flight
        server.start(freeze=committed_unacked)
        frozen = [server.markers / "after_commit", server.markers / "before_commit"]
        threads = [
            threading.Thread(
                target=_client, args=(c, server.url, ledger, stop, frozen[0]), daemon=True
            )
            for c in range(N_CLIENTS)
        ]
        for th in threads:
            th.start()
        _wait(lambda: all(m.exists() for m in frozen) or ledger.errors, 30, "the freezes")
        server.kill9()
        acked = ledger.snapshot()
        uncommitted = frozen[1].read_text()
        assert ledger.errors == []
        assert uncommitted != committed_unacked
        assert committed_unacked not in acked and uncommitted not in acked
        assert ledger.n_acked("c0-") == 5 and len(acked) < total
        counts = _check_exactly_once(database_url, acked)
        assert f"{committed_unacked}-r0" in counts  # committed, although never acknowledged
        assert f"{uncommitted}-r0" not in counts  # rolled back with the killed process
        _wait_for_outage(ledger)

        # a plain restart: the clients retry and finish
        server.start()
        for th in threads:
            th.join(CLIENT_DEADLINE_S)
        stop.set()
        assert not any(th.is_alive() for th in threads)
        assert ledger.errors == []
        assert len(ledger.acked) == total
        # the retry of the committed batch was recognised; the rolled back one was stored anew
        assert ledger.duplicate[committed_unacked] is True
        assert ledger.duplicate[uncommitted] is False
        # a client that lost its acks re-sends batches the killed processes had stored
        with httpx.Client(base_url=server.url, timeout=10.0) as http:
            for batch_id in [committed_unacked, uncommitted, *sorted(acked)[:4]]:
                client, index = (int(x[1:]) for x in batch_id.split("-"))
                resp = http.post(INGEST_PATHS["predictions"], json=_batch(client, index))
                assert resp.status_code == 200, resp.text
                assert resp.json() == {"batch_id": batch_id, "accepted": 0, "duplicate": True}
    finally:
        stop.set()
        server.stop()

    counts = _check_exactly_once(database_url, ledger.acked)
    assert set(counts) == {i for ids in ledger.acked.values() for i in ids}
    assert set(_stored(database_url)[1]) == set(ledger.acked)
    # the window aggregates were written in the same transactions: no double count
    with Store.open(database_url) as store:
        (preds,) = QueryService(store).metric_totals()["predictions"]
    assert preds["count"] == total * ROWS_PER_BATCH
