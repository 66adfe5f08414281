"""``ModelMonitor`` while the real server is down: fast calls, exact delivery, exact drops.

``test_client_delivery.py`` covers the pipeline against a fake transport and
``tests/server/test_server_sdk.py`` a training ``Run`` across an outage; here a
production :class:`~driftline.client.ModelMonitor` talks to a real driftline
server on a loopback socket (uvicorn in a thread) that is down at first, and
the rows that reach the database are compared, id by id, with what the SDK says
it delivered and dropped.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from driftline.client import ModelMonitor
from driftline.client._spool import MemorySpool
from driftline.config import Settings, load_settings

T0 = 1_800_000_000.0
SLOW_CALL_S = 0.05
"""A logging call slower than this while the server is down fails the test."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """A driftline app served by uvicorn on a loopback port, started when asked."""

    def __init__(self, store: Any) -> None:
        from driftline.server import create_app

        self.app = create_app(store, auth_required=False)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
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
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    from driftline.store import Store

    s = Store.open(f"sqlite:///{tmp_path / 'outage.db'}")
    yield s
    s.close()


@pytest.fixture
def server(store: Any) -> Iterator[_Server]:
    srv = _Server(store)  # not started: the server is down
    yield srv
    srv.stop()


@pytest.fixture
def sdk_settings(tmp_path: Path) -> Settings:
    return load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "sdk")})


def _stored_ids(store: Any) -> list[str]:
    from driftline.store import tables as t

    with store.read() as conn:
        return [str(r) for r in conn.execute(sa.select(t.prediction_ids.c.prediction_id)).scalars()]


@pytest.mark.usefixtures("frozen_heap")
def test_monitor_stays_fast_while_down_and_delivers_everything_once(
    server: _Server, store: Any, sdk_settings: Settings
) -> None:
    from driftline.store import QueryService

    monitor = ModelMonitor(
        "shop",
        "ranker",
        "v1",
        url=server.url,
        settings=sdk_settings,  # the default file spool under the data dir
        flush_interval=0.02,
        backoff_base=0.02,
        backoff_max=0.1,
        clock=lambda: T0,
    )
    # The first call imports pandas and pyarrow (``feature_columns`` goes through
    # ``driftline.schema.as_table`` even for a dict of lists): a one-off cost of
    # a few hundred ms that has nothing to do with the outage, so it is not timed.
    logged = monitor.log_predictions({"x": [0.0, -0.0], "c": ["a", "b"]}, [0, 1])
    worst = 0.0
    for i in range(1, 300):
        t0 = time.perf_counter()
        logged += monitor.log_predictions({"x": [float(i), float(-i)], "c": ["a", "b"]}, [0, 1])
        worst = max(worst, time.perf_counter() - t0)
    t0 = time.perf_counter()
    monitor.log_labels(logged[:100], [1] * 100)
    worst = max(worst, time.perf_counter() - t0)
    assert worst < SLOW_CALL_S, f"slowest call took {worst * 1e3:.1f} ms while the server was down"
    assert monitor.flush(timeout=0.3) is False
    down = monitor.stats()
    assert down.delivered == 0 and down.retries >= 1 and down.spooled >= 1
    assert down.dropped == {}
    assert len(set(logged)) == 600 and _stored_ids(store) == []

    server.start()
    assert monitor.flush(timeout=15.0)
    monitor.close()
    up = monitor.stats()
    assert up.dropped == {} and up.spooled == 0 and up.pending == 0
    assert up.accepted == 700  # 600 predictions and 100 labels, each stored once
    stored = _stored_ids(store)
    assert len(stored) == 600 and set(stored) == set(logged)
    (window,) = QueryService(store).window_series("shop", "ranker")
    assert window.n_predictions == 600 and window.n_labels == 100


def test_overflow_drop_counters_match_the_rows_missing_from_the_database(
    server: _Server, store: Any, sdk_settings: Settings
) -> None:
    rows_per_call = 4
    spool = MemorySpool(max_bytes=2_500)  # room for a few small batches, not for all
    monitor = ModelMonitor(
        "shop",
        "ranker",
        "v1",
        url=server.url,
        settings=sdk_settings,
        spool=spool,
        max_queue=10,
        flush_interval=60.0,  # the sender sleeps: nothing drains the queue until a flush
        backoff_base=0.02,
        backoff_max=0.1,
        clock=lambda: T0,
    )

    def log(i: int) -> list[str]:
        feats = {"x": [float(i * 10 + r) for r in range(rows_per_call)]}
        return monitor.log_predictions(feats, [r % 2 for r in range(rows_per_call)])

    # 1. the in-memory queue overflows: exactly the calls beyond max_queue are dropped
    first = [log(i) for i in range(25)]
    s = monitor.stats()
    assert s.dropped == {"queue_full": 15} and s.enqueued == 10
    # 2. the server is down: the queue goes to the bounded spool until it is full
    assert monitor.flush(timeout=0.3) is False
    second = []
    for i in range(25, 45):
        second.append(log(i))
        monitor.flush(timeout=0.05)  # hand each call to the sender as its own batch
    s = monitor.stats()
    spool_full = s.dropped.get("spool_full", 0)
    assert spool_full >= 1, s
    assert s.spooled >= 2, s
    assert s.enqueued == 10 + 20
    assert s.delivered == 0 and _stored_ids(store) == []

    # 3. the server returns: what was spooled arrives, nothing more, nothing twice
    server.start()
    assert monitor.flush(timeout=15.0)
    monitor.close()
    final = monitor.stats()
    assert final.dropped == {"queue_full": 15, "spool_full": spool_full}
    assert final.pending == 0 and final.spooled == 0
    calls = len(first) + len(second)
    assert final.delivered == calls - sum(final.dropped.values())
    stored = _stored_ids(store)
    assert len(stored) == len(set(stored)) == rows_per_call * final.delivered
    # the queue kept the oldest 10 calls; the spool kept the oldest of the rest, in order
    kept = first[:10] + second[: len(second) - spool_full]
    assert set(stored) == {i for ids in kept for i in ids}
