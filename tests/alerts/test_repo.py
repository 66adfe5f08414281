"""The alerting tables' SQL on SQLite and PostgreSQL: lease, monitors, alerts, outbox claims."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from driftline.alerts import _repo as repo
from driftline.alerts._model import Alert, AlertState, Evaluation, Notification
from driftline.store import Store

T = 1_800_000_000.0


def monitor(name: str, *, on_ingest: bool = False, spec_hash: str = "h1", **kw: Any) -> dict:
    values = {
        "name": name, "project": "shop", "model": "ranker", "spec": {"name": name},
        "spec_hash": spec_hash, "enabled": True, "source": "api", "on_ingest": on_ingest,
        "next_due_at": T,
    }  # fmt: skip
    values.update(kw)
    return values


def note(nid: str, at: float = T) -> Notification:
    return Notification(nid, "team", "g1", {"alertname": "x"}, "firing", (), created_at=at)


def test_lease_is_taken_renewed_and_taken_over_after_expiry(store: Store) -> None:
    with store.begin() as conn:
        a = repo.acquire_lease(conn, "alerts", "a", now=T, lease_seconds=10.0)
        b = repo.acquire_lease(conn, "alerts", "b", now=T + 5, lease_seconds=10.0)
        a2 = repo.acquire_lease(conn, "alerts", "a", now=T + 6, lease_seconds=10.0)
    assert (a["owner"], a["fencing_token"], a["expires_at"]) == ("a", 1, T + 10)
    assert (b["owner"], b["fencing_token"]) == ("a", 1)  # b did not get it
    assert (a2["owner"], a2["fencing_token"], a2["expires_at"]) == ("a", 1, T + 16)
    with store.begin() as conn:
        b3 = repo.acquire_lease(conn, "alerts", "b", now=T + 16, lease_seconds=10.0)
        a3 = repo.acquire_lease(conn, "alerts", "a", now=T + 17, lease_seconds=10.0)
    assert (b3["owner"], b3["fencing_token"], b3["acquired_at"]) == ("b", 2, T + 16)
    assert a3["owner"] == "b"
    with store.begin() as conn:
        assert not repo.release_lease(conn, "alerts", "a", now=T + 18)
        assert repo.release_lease(conn, "alerts", "b", now=T + 18)
        c = repo.acquire_lease(conn, "alerts", "c", now=T + 18, lease_seconds=10.0)
    assert (c["owner"], c["fencing_token"]) == ("c", 3)


def test_concurrent_lease_attempts_have_one_winner(store: Store) -> None:
    owners: list[str] = []
    barrier = threading.Barrier(4)

    def attempt(me: str) -> None:
        barrier.wait()
        with store.begin() as conn:
            owners.append(
                repo.acquire_lease(conn, "alerts", me, now=T, lease_seconds=15.0)["owner"]
            )

    threads = [threading.Thread(target=attempt, args=(f"o{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(owners) == 4 and len(set(owners)) == 1


def test_monitor_upsert_reports_created_unchanged_updated(store: Store) -> None:
    with store.begin() as conn:
        assert repo.save_monitor(conn, monitor("m1"), T) == "created"
        assert repo.save_monitor(conn, monitor("m1"), T + 1) == "unchanged"
        repo.set_monitor_schedule(conn, repo.get_monitor(conn, "m1")["id"], evaluated_at=T + 2,
                                  window_end=T, next_due_at=T + 60)  # fmt: skip
        assert repo.save_monitor(conn, monitor("m1", spec_hash="h2"), T + 3) == "updated"
        row = repo.get_monitor(conn, "m1")
    # a new spec is due at once and keeps its evaluation state
    assert (row["spec_hash"], row["next_due_at"], row["last_window_end"]) == ("h2", T, T)
    assert row["created_at"] == T and row["updated_at"] == T + 3


def test_due_monitors_and_ingest_marks(store: Store) -> None:
    with store.begin() as conn:
        repo.save_monitor(conn, monitor("later", next_due_at=T + 100), T)
        repo.save_monitor(conn, monitor("now", next_due_at=T - 5), T)
        repo.save_monitor(conn, monitor("live", on_ingest=True, next_due_at=T + 100), T)
        repo.save_monitor(conn, monitor("off", enabled=False, next_due_at=T - 5), T)
        live = repo.get_monitor(conn, "live")["id"]
        # a new on_ingest monitor starts dirty; clear it as an evaluation would
        repo.set_monitor_schedule(conn, live, evaluated_at=T, window_end=None, next_due_at=T + 100)
        assert [m["name"] for m in repo.due_monitors(conn, T)] == ["now"]
        assert repo.mark_dirty(conn, "shop", "ranker") == 1  # only the on_ingest one
        assert repo.mark_dirty(conn, "shop", "ranker") == 0  # already marked: no write
        assert repo.mark_dirty(conn, "shop", "other") == 0
        assert [m["name"] for m in repo.due_monitors(conn, T)] == ["now", "live"]
        assert repo.delete_monitor(conn, "now") and not repo.delete_monitor(conn, "now")


def test_results_alerts_events_and_counts(store: Store) -> None:
    with store.begin() as conn:
        repo.save_monitor(conn, monitor("m1"), T)
        mid = repo.get_monitor(conn, "m1")["id"]
        for i in range(3):
            ev = Evaluation("m1", T + i, T - 3600, T, 0.2 + i, 0.1, i > 0, f"r{i}", n=10)
            repo.insert_result(conn, mid, ev)
        labels = {"alertname": "m1", "project": "shop", "model": "ranker", "severity": "warning"}
        alert = Alert("fp1", labels, AlertState.FIRING, T, T, fired_at=T, value=0.3, reason="r")
        aid = repo.save_alert(conn, alert, monitor_id=mid, monitor="m1")
        repo.add_alert_event(conn, aid, at=T, event="fired", from_state=None, to_state="firing",
                             reason="fired: r", value=0.3)  # fmt: skip
        acked = Alert("fp1", labels, AlertState.ACKNOWLEDGED, T, T + 1, fired_at=T,
                      acknowledged_at=T + 1, acknowledged_by="ana")  # fmt: skip
        assert repo.save_alert(conn, acked, monitor_id=mid, monitor="m1") == aid
    with store.read() as conn:
        results = repo.monitor_results(conn, mid, start=T + 1)
        assert [r["reason"] for r in results] == ["r1", "r2"]
        assert [r["firing"] for r in repo.monitor_results(conn, mid)] == [False, True, True]
        row = repo.get_alert(conn, "fp1")
        assert Alert.from_dict(row) == acked
        assert [e["event"] for e in repo.alert_events(conn, aid)] == ["fired"]
        assert repo.alert_counts(conn) == [
            {"project": "shop", "model": "ranker", "severity": "warning",
             "state": "acknowledged", "count": 1}
        ]  # fmt: skip
        assert [a["fingerprint"] for a in repo.open_alerts(conn)] == ["fp1"]
    with store.begin() as conn:
        repo.delete_monitor(conn, "m1")
    with store.read() as conn:  # results go with the monitor, the alert stays
        assert repo.monitor_results(conn, mid) == []
        assert repo.get_alert(conn, "fp1")["monitor_id"] is None


def test_outbox_enqueue_is_idempotent_and_claims_are_exclusive(store: Store) -> None:
    with store.begin() as conn:
        assert repo.enqueue_notification(conn, note("n1"))
        assert not repo.enqueue_notification(conn, note("n1"))
        assert repo.enqueue_notification(conn, note("n2", T + 50))  # due later
    with store.begin() as conn:
        a = repo.claim_notifications(conn, "a", now=T, claim_seconds=30.0, limit=10)
    with store.begin() as conn:
        b = repo.claim_notifications(conn, "b", now=T + 1, claim_seconds=30.0, limit=10)
    assert [r["id"] for r in a] == ["n1"] and a[0]["attempts"] == 1
    assert b == []
    # the claimer died: after its claim expired, another claims the row again
    with store.begin() as conn:
        b = repo.claim_notifications(conn, "b", now=T + 51, claim_seconds=30.0, limit=10)
    assert sorted(r["id"] for r in b) == ["n1", "n2"]
    assert {r["id"]: r["attempts"] for r in b} == {"n1": 2, "n2": 1}
    with store.begin() as conn:
        # the old claimer cannot record an outcome any more
        assert not repo.finish_notification(conn, "n1", "a", status="delivered", now=T + 52)
        assert repo.finish_notification(conn, "n1", "b", status="delivered", now=T + 52)
        assert repo.finish_notification(conn, "n2", "b", status="pending", now=T + 52,
                                        next_attempt_at=T + 100, error="HTTP 503")  # fmt: skip
        repo.record_attempt(conn, "n1", at=T + 52, channel="team/webhook/0", ok=True)
    with store.read() as conn:
        rows = {r["id"]: r for r in repo.list_notifications(conn)}
        assert rows["n1"]["status"] == "delivered" and rows["n1"]["delivered_at"] == T + 52
        assert rows["n2"]["status"] == "pending" and rows["n2"]["last_error"] == "HTTP 503"
        assert rows["n2"]["claimed_by"] is None
        assert [a["ok"] for a in repo.notification_attempts(conn, "n1")] == [True]
    with store.begin() as conn:
        assert repo.claim_notifications(conn, "c", now=T + 99, claim_seconds=30.0, limit=10) == []
        again = repo.claim_notifications(conn, "c", now=T + 100, claim_seconds=30.0, limit=10)
    assert [r["id"] for r in again] == ["n2"]


def test_concurrent_claimers_take_disjoint_rows(store: Store) -> None:
    with store.begin() as conn:
        for i in range(40):
            repo.enqueue_notification(conn, note(f"n{i:02d}"))
    taken: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claim(me: str) -> None:
        barrier.wait()
        got: list[str] = []
        for _ in range(5):
            with store.begin() as conn:
                rows = repo.claim_notifications(conn, me, now=T, claim_seconds=30.0, limit=3)
            got += [r["id"] for r in rows]
        taken[me] = got

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [n for ids in taken.values() for n in ids]
    assert len(everything) == len(set(everything)) == 40


def test_config_revision_grows_only_on_change(store: Store) -> None:
    kw: dict[str, Any] = dict(route={"receiver": "team"}, receivers=[{"name": "team"}],
                              inhibit_rules=[], source="file", now=T)  # fmt: skip
    with store.begin() as conn:
        assert repo.get_config(conn) is None
        assert repo.put_config(conn, **kw) == 1
        assert repo.put_config(conn, **kw) == 1
        kw["receivers"] = [{"name": "team"}, {"name": "oncall"}]
        assert repo.put_config(conn, **kw) == 2
        assert repo.get_config(conn)["receivers"][1] == {"name": "oncall"}


@pytest.mark.parametrize("due", [True, False])
def test_groups_round_trip(store: Store, due: bool) -> None:
    at = T if due else T + 10
    with store.begin() as conn:
        repo.save_group(conn, "root:{}", "team", state={"x": 1}, next_flush_at=at, now=T)
        repo.save_group(conn, "root:{}", "team", state={"x": 2}, next_flush_at=at, now=T)
        assert [g["state"] for g in repo.due_groups(conn, T)] == ([{"x": 2}] if due else [])
        repo.delete_group(conn, "root:{}", "team")
        assert repo.list_groups(conn) == []
