"""The scheduler's leader lease on SQLite and PostgreSQL: one leader, take-over, monotonic time."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest

from driftline.alerts._scheduler import Scheduler
from driftline.alerts._service import AlertService
from driftline.alerts._spec import AlertingConfig
from driftline.errors import InputError
from driftline.store import IngestService, Store
from driftline.wire import PredictionsBatch

T = 1_800_000_000.0 - (1_800_000_000.0 % 86_400)


def test_three_schedulers_elect_exactly_one_leader(store: Store) -> None:
    service = AlertService(store, clock=lambda: T)
    schedulers = [Scheduler(service, owner=f"s{i}", lease_seconds=10.0) for i in range(3)]
    rounds = 6
    barrier = threading.Barrier(3)
    leaders: list[list[str]] = [[] for _ in range(rounds + 4)]

    def run(s: Scheduler, ticks: range) -> None:
        for r in ticks:
            barrier.wait()
            if s.tick(now=T + r).leader:
                leaders[r].append(s.owner)

    threads = [threading.Thread(target=run, args=(s, range(rounds))) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = leaders[0]
    assert len(first) == 1
    assert all(lead == first for lead in leaders[:rounds])  # the same leader renews
    [leader] = [s for s in schedulers if s.owner == first[0]]
    assert leader.is_leader and leader.last_tick is not None
    assert leader.last_tick.fencing_token == 1
    # the leader dies (stops ticking): within a lease the others still wait ...
    others = [s for s in schedulers if s is not leader]
    assert not any(s.tick(now=T + rounds + 5).leader for s in others)
    # ... then exactly one takes over, with a new fencing token
    results = [s.tick(now=T + rounds + 11) for s in others]
    assert sum(r.leader for r in results) == 1
    [taken] = [r for r in results if r.leader]
    assert taken.fencing_token == 2 and taken.reason == "lease acquired (fencing token 2)"
    # the old leader comes back and finds the lease gone
    back = leader.tick(now=T + rounds + 12)
    assert not back.leader and back.reason.startswith("lease lost: held by")
    assert not leader.is_leader


def test_time_is_monotonic_per_scheduler(store: Store) -> None:
    s = Scheduler(AlertService(store, clock=lambda: T), owner="a")
    assert s.tick(now=T + 100).at == T + 100
    assert s.tick(now=T + 50).at == T + 100  # the clock went back: time does not
    assert s.tick(now=T + 101).reason == "lease renewed (fencing token 1)"


def test_the_leader_evaluates_and_delivers(store: Store, rng: np.random.Generator) -> None:
    n = 50
    IngestService(store, clock=lambda: T).ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            ids=[uuid.uuid4().hex for _ in range(n)],
            timestamps=(T + np.sort(rng.uniform(0, 3599, n))).tolist(),
            features={"x": rng.normal(size=n).tolist()}, predictions=[0] * n,
        )
    )  # fmt: skip
    service = AlertService(store, clock=lambda: T)
    service.apply(
        AlertingConfig.model_validate({
            "monitors": [{"name": "low", "project": "shop", "model": "ranker",
                          "signal": {"kind": "volume"},
                          "condition": {"kind": "threshold", "op": "<", "value": 100}}],
            "route": {"receiver": "null", "group_wait": "0s"}, "receivers": [{"name": "null"}],
        })
    )  # fmt: skip
    leader, follower = Scheduler(service, owner="a"), Scheduler(service, owner="b")
    tick = leader.tick(now=T + 3605)
    assert tick.leader and tick.evaluation is not None and tick.delivery is not None
    assert tick.evaluation.outcomes[0].event == "fired"
    assert tick.evaluation.notifications == 1 and tick.delivery.delivered == 1
    other = follower.tick(now=T + 3606)
    assert not other.leader and other.evaluation is None
    assert "held by a" in other.reason
    assert tick.to_dict()["evaluation"]["evaluated"] == 1


def test_start_wake_and_stop_hand_the_lease_over(store: Store) -> None:
    service = AlertService(store)
    a = Scheduler(service, owner="a", tick_seconds=20.0, lease_seconds=30.0)
    a.start()
    try:
        deadline = time.monotonic() + 10
        while a.last_tick is None and time.monotonic() < deadline:
            time.sleep(0.01)
        first = a.last_tick
        assert a.is_leader and first is not None and first.leader
        a.wake()  # an ingest: the next tick runs now, not in 20 s
        while a.last_tick is first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert a.last_tick is not first
        assert not Scheduler(service, owner="b").tick().leader
    finally:
        a.stop(timeout=5)
    assert not a.is_leader
    assert Scheduler(service, owner="b").tick().leader  # released, no 30 s wait


def test_bad_settings_name_the_parameter() -> None:
    service = AlertService(Store.open("sqlite://"))
    with pytest.raises(InputError, match="lease_seconds"):
        Scheduler(service, tick_seconds=5.0, lease_seconds=5.0)
    with pytest.raises(InputError, match="tick_seconds"):
        Scheduler(service, tick_seconds=0.0)
    service.store.close()


CHILD = """
import json, sys, time
from driftline.alerts._scheduler import Scheduler
from driftline.alerts._service import AlertService
from driftline.store import Store
store = Store.open(sys.argv[1])
s = Scheduler(AlertService(store), owner=sys.argv[2], lease_seconds=5.0)
print("ready", flush=True)
sys.stdin.readline()
ticks = []
end = time.monotonic() + 1.5
while time.monotonic() < end:
    r = s.tick()
    ticks.append([r.leader, r.fencing_token])
    time.sleep(0.02)
print(json.dumps(ticks), flush=True)
"""


def test_two_processes_share_one_lease(postgres_database: str) -> None:
    """Several server processes on one PostgreSQL: one evaluator (SQLite runs one server)."""
    import json
    import subprocess
    import sys

    from driftline.store.tables import scheduler_leases

    with Store.open(postgres_database) as store, store.begin() as conn:
        conn.execute(scheduler_leases.delete())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, postgres_database, f"p{i}"],
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for i in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        ticks = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    led = [any(leader for leader, _ in t) for t in ticks]
    assert sorted(led) == [False, True]  # one process led throughout, the other never did
    winner = ticks[led.index(True)]
    assert all(leader and token == 1 for leader, token in winner)
    assert len(winner) > 5 and len(ticks[led.index(False)]) > 5
