"""The alert service over real ingested data, on SQLite and PostgreSQL, with a pinned clock.

A drift monitor fires end to end (ingest -> window drift -> evaluation -> alert
-> group -> outbox -> a real local webhook), then resolves; silences,
acknowledgement, isolation of failing and slow monitors, on_ingest, the
catch-up policy and clock jumps.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from driftline.alerts._service import AlertService
from driftline.alerts._spec import AlertingConfig, MonitorSpec
from driftline.alerts.channels import NetworkPolicy
from driftline.errors import InputError, NotFoundError
from driftline.profile import profile
from driftline.schema import Schema
from driftline.store import IngestService, QueryService, Store
from driftline.wire import PredictionsBatch, ReferencePayload

HOUR = 3600.0
T0 = 1_800_000_000.0 - (1_800_000_000.0 % 86_400)
LOCAL = NetworkPolicy(allow=["127.0.0.1/32"])


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Hook:
    """A local webhook receiver that records every POSTed body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(
                    json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


def rows(rng: np.random.Generator, n: int, shift: float) -> dict[str, list[Any]]:
    return {
        "age": rng.normal(40 + shift, 10, n).round(2).tolist(),
        "city": rng.choice(["oslo", "lima", "pune"], n).tolist(),
        "pred": rng.integers(0, 2, n).tolist(),
    }


def ingest_hour(store: Store, rng: np.random.Generator, start: float, shift: float = 0.0,
                n: int = 400) -> None:  # fmt: skip
    r = rows(rng, n, shift)
    IngestService(store, clock=lambda: start).ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            ids=[uuid.uuid4().hex for _ in range(n)],
            timestamps=(start + np.sort(rng.uniform(0, HOUR - 1, n))).tolist(),
            features={"age": r["age"], "city": r["city"]}, predictions=r["pred"],
        )
    )  # fmt: skip


def upload_reference(store: Store, rng: np.random.Generator) -> None:
    ref = rows(rng, 2000, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(ref, prediction="pred")
    IngestService(store, clock=lambda: T0).ingest(
        ReferencePayload(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            profile=profile(ref, schema).to_dict(), schema=schema.to_dict(),
        )
    )  # fmt: skip


def drift_monitor(**kw: Any) -> dict[str, Any]:
    spec = {"name": "age-drift", "project": "shop", "model": "ranker",
            "signal": {"kind": "drift", "column": "age"},
            "condition": {"kind": "threshold", "op": ">", "value": 0.1}, "schedule": "1m"}  # fmt: skip
    spec.update(kw)
    return spec


def volume_monitor(name: str = "volume", **kw: Any) -> dict[str, Any]:
    spec = {"name": name, "project": "shop", "model": "ranker", "signal": {"kind": "volume"},
            "condition": {"kind": "threshold", "op": "<", "value": 10}, "schedule": "1m"}  # fmt: skip
    spec.update(kw)
    return spec


def config(url: str | None = None, *monitors: dict[str, Any], **kw: Any) -> AlertingConfig:
    receivers = [{"name": "team", **({"webhook": [{"url": url}]} if url else {})}]
    data = {"monitors": list(monitors), "receivers": receivers,
            "route": {"receiver": "team", "group_wait": "30s", "group_interval": "5m"}, **kw}  # fmt: skip
    return AlertingConfig.model_validate(data)


def make(store: Store, clock: Clock, **kw: Any) -> AlertService:
    return AlertService(store, clock=clock, policy=LOCAL, rng=random.Random(3), **kw)


def test_apply_reports_what_changed_and_prunes(store: Store) -> None:
    svc = make(store, Clock(T0))
    first = svc.apply(config(None, drift_monitor(), volume_monitor()), source="file")
    assert (first.created, first.config_revision) == (("age-drift", "volume"), 1)
    again = svc.apply(config(None, drift_monitor(), volume_monitor()), source="file")
    assert again.unchanged == ("age-drift", "volume") and again.config_revision == 1
    svc.upsert_monitor(MonitorSpec.model_validate(volume_monitor("api-made")), source="api")
    silence = {"matchers": ["team=risk"], "ends_at": T0 + 86_400, "id": "maint"}
    changed = svc.apply(
        config(None, drift_monitor(severity="critical"), silences=[silence]),
        prune=True, source="file",
    )  # fmt: skip
    assert changed.updated == ("age-drift",) and changed.deleted == ("volume",)
    assert changed.silences_created == 1
    # prune only touches monitors of the same source
    assert [m.name for m in svc.list_monitors()] == ["age-drift", "api-made"]
    cfg = svc.config()
    assert cfg.monitor("age-drift").severity == "critical"
    assert cfg.route is not None and cfg.route.receiver == "team"
    assert [s.id for s in svc.list_silences()] == ["maint"]
    svc.delete_monitor("api-made")
    with pytest.raises(NotFoundError, match="api-made"):
        svc.get_monitor("api-made")


def test_a_drift_monitor_fires_notifies_and_resolves_end_to_end(
    store: Store, rng: np.random.Generator, hook: Hook
) -> None:
    upload_reference(store, rng)
    ingest_hour(store, rng, T0)
    ingest_hour(store, rng, T0 + HOUR, shift=25.0)  # the drift starts
    clock = Clock(T0 + 2 * HOUR + 5)
    svc = make(store, clock)
    svc.apply(config(hook.url, drift_monitor()))

    run = svc.evaluate_due()
    [outcome] = run.outcomes
    assert (outcome.status, outcome.firing, outcome.event) == ("evaluated", True, "fired")
    assert "drift of 'age'" in outcome.reason and "> 0.1" in outcome.reason
    assert run.notifications == 0  # group_wait 30s first
    [alert] = svc.list_alerts(project="shop", state="firing")
    detail = svc.get_alert(alert.fingerprint)
    assert [e.event for e in detail.events] == ["fired"]
    assert detail.events[0].reason.startswith("fired: drift of 'age'")
    assert detail.monitor_state.name == "age-drift"
    assert [r.window_end for r in detail.evidence] == [T0 + 2 * HOUR]
    state = svc.get_monitor("age-drift")
    assert state.open_alert.fingerprint == alert.fingerprint
    assert state.last_result.firing is True and state.last_result.value > 0.1

    clock.t += 40  # group_wait passed; the judged window is not evaluated again
    run = svc.evaluate_due()
    assert run.notifications == 1 and run.outcomes == ()  # next window not complete yet
    assert svc.deliver_due().delivered == 1
    [body] = hook.bodies
    assert body["status"] == "firing" and body["alerts"][0]["labels"]["alertname"] == "age-drift"
    assert "drift of 'age'" in body["alerts"][0]["reason"]
    assert len(svc.monitor_results("age-drift")) == 1

    clock.t += 400  # nothing changed: no repeat before repeat_interval
    assert svc.evaluate_due().notifications == 0

    ingest_hour(store, rng, T0 + 2 * HOUR)  # back to normal
    clock.t = T0 + 3 * HOUR + 5
    run = svc.evaluate_due()
    assert run.outcomes[0].event == "resolved" and run.notifications == 1
    assert svc.deliver_due().delivered == 1
    assert hook.bodies[-1]["status"] == "resolved"
    assert svc.list_alerts(state="firing") == []
    events = svc.get_alert(alert.fingerprint).events
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "firing"), ("firing", "resolved")
    ]  # fmt: skip
    assert [c.state for c in svc.alert_counts()] == ["resolved"]


def test_acknowledge_and_resolve_by_hand(store: Store, rng: np.random.Generator) -> None:
    upload_reference(store, rng)
    ingest_hour(store, rng, T0, shift=25.0)
    clock = Clock(T0 + HOUR + 5)
    svc = make(store, clock)
    svc.apply(config(None, drift_monitor()))
    svc.evaluate_due()
    [alert] = svc.list_alerts()
    fp = alert.fingerprint
    clock.t += 10
    acked = svc.acknowledge(fp, by="ana")
    assert acked.state == "acknowledged" and acked.alert.acknowledged_by == "ana"
    assert [c.to_dict() for c in svc.alert_counts()] == [{"project": "shop", "model": "ranker", "severity": "warning",
                                   "state": "acknowledged", "count": 1}]  # fmt: skip
    with pytest.raises(InputError, match="by"):
        svc.acknowledge(fp, by=" ")
    clock.t += 10
    done = svc.resolve(fp, by="ana")
    assert done.state == "resolved"
    assert [e.reason for e in done.events][-2:] == ["acknowledged by ana", "resolved by ana"]
    with pytest.raises(NotFoundError, match="fingerprint"):
        svc.get_alert("nope")
    with pytest.raises(InputError, match="state"):
        svc.list_alerts(state="open")


def test_a_silence_mutes_until_it_is_expired(
    store: Store, rng: np.random.Generator, hook: Hook
) -> None:
    upload_reference(store, rng)
    ingest_hour(store, rng, T0, shift=25.0)
    clock = Clock(T0 + HOUR + 5)
    svc = make(store, clock)
    svc.apply(config(hook.url, drift_monitor()))
    s = svc.create_silence(['alertname="age-drift"'], T0 + 2 * HOUR, created_by="ana",
                           comment="known migration")  # fmt: skip
    route = svc.test_route({"alertname": "age-drift", "project": "shop", "model": "ranker"})
    assert route.receivers == ("team",) and route.silenced_by.id == s.id
    svc.evaluate_due()
    [alert] = svc.list_alerts()
    events = svc.get_alert(alert.fingerprint).events
    assert [e.event for e in events] == ["fired", "muted"]
    assert "known migration" in events[1].reason
    clock.t += 60
    assert svc.evaluate_due().notifications == 0
    assert [x.id for x in svc.list_silences(active_only=True)] == [s.id]
    svc.expire_silence(s.id)
    assert svc.list_silences(active_only=True) == []
    assert svc.config().silences == []  # the config holds the silences still to come
    clock.t += 60
    assert svc.evaluate_due().notifications == 0  # a group appears: group_wait first
    clock.t += 31
    assert svc.evaluate_due().notifications == 1


class SlowQuery(QueryService):
    """The real query service, but one model's windows take long to read."""

    slow_done = threading.Event()

    def window_series(self, project: str, model: str, *args: Any, **kw: Any) -> Any:
        if model != "slow":
            return super().window_series(project, model, *args, **kw)
        time.sleep(1.5)
        try:
            return super().window_series(project, model, *args, **kw)
        finally:
            self.slow_done.set()


def test_failing_and_slow_monitors_do_not_hold_up_the_others(
    store: Store, rng: np.random.Generator
) -> None:
    ingest_hour(store, rng, T0)
    clock = Clock(T0 + HOUR + 5)
    query = SlowQuery(store)
    query.slow_done = threading.Event()
    svc = make(store, clock, query=query, monitor_timeout=0.5)
    svc.apply(config(None, volume_monitor("good"),
                     volume_monitor("bad-window", window={"size": "30m"}),
                     volume_monitor("slow", model="slow")))  # fmt: skip
    began = time.monotonic()
    run = svc.evaluate_due()
    took = time.monotonic() - began
    by = {o.monitor: o for o in run.outcomes}
    assert by["good"].status == "evaluated" and by["good"].firing is False
    assert by["bad-window"].status == "failed" and "window" in by["bad-window"].reason
    assert by["slow"].status == "failed" and "monitor_timeout" in by["slow"].reason
    assert took < 1.4  # bounded by the timeout, not by the slow monitor
    [failure] = svc.monitor_results("bad-window")
    assert failure.firing is None and failure.reason.startswith("evaluation failed")
    # a failed monitor waits for its next schedule instead of looping
    assert svc.get_monitor("bad-window").next_due_at > clock.t
    assert query.slow_done.wait(10)  # let the abandoned read finish before the store closes


def test_on_ingest_monitors_run_after_ingest(store: Store, rng: np.random.Generator) -> None:
    ingest_hour(store, rng, T0)
    clock = Clock(T0 + HOUR + 5)
    svc = make(store, clock)
    svc.apply(config(None, volume_monitor("live", schedule="on_ingest"), volume_monitor("timed")))
    assert {o.monitor for o in svc.evaluate_due().outcomes} == {"live", "timed"}
    clock.t += 10
    assert svc.evaluate_due().outcomes == ()  # nothing due
    assert svc.mark_ingest("shop", "ranker") == 1  # only the on_ingest monitor
    assert svc.mark_ingest("shop", "ranker") == 1  # still waiting: the scheduler is woken again
    run = svc.evaluate_due()
    assert [(o.monitor, o.status) for o in run.outcomes] == [("live", "evaluated")]
    assert svc.get_monitor("live").dirty is False
    assert svc.mark_ingest("shop", "other") == 0  # no on_ingest monitor: nothing to wake for


def test_catch_up_judges_the_latest_window_and_clock_jumps_change_nothing(
    store: Store, rng: np.random.Generator
) -> None:
    for h in range(6):
        ingest_hour(store, rng, T0 + h * HOUR, n=50 if h in (0, 5) else 400)
    clock = Clock(T0 + HOUR + 5)
    svc = make(store, clock)
    svc.apply(config(None, volume_monitor(condition={"kind": "threshold", "op": "<", "value": 100},
                                          schedule="1h")))  # fmt: skip
    run = svc.evaluate_due()
    assert run.outcomes[0].event == "fired"
    clock.t = T0 + 6 * HOUR + 5  # down for five hours
    run = svc.evaluate_due()
    results = svc.monitor_results("volume")
    # the missed windows are backfilled into the series, not replayed through the alert
    assert [r.window_end for r in results] == [T0 + h * HOUR for h in range(1, 7)]
    assert [r.firing for r in results] == [True, False, False, False, False, True]
    assert all(r.reason.startswith("backfilled after downtime") for r in results[1:5])
    assert run.outcomes[0].event == "still_firing"
    clock.t = T0 + 3 * HOUR  # the clock jumps back
    run = svc.evaluate_due()
    assert run.outcomes == ()  # not due: next_due_at is in the (new) future
    with store.begin() as conn:  # force it due: the monitor still refuses to go back
        from driftline.alerts import _repo

        _repo.mark_dirty(conn, "shop", "ranker")
        conn.execute(
            __import__("driftline.store.tables", fromlist=["monitors"])
            .monitors.update()
            .values(next_due_at=T0)
        )
    [outcome] = svc.evaluate_due().outcomes
    assert outcome.status == "skipped" and "clock went backwards" in outcome.reason
    assert len(svc.monitor_results("volume")) == 6
    [alert] = svc.list_alerts()
    assert alert.state == "firing" and alert.alert.fired_at == T0 + HOUR + 5
    assert [e.event for e in svc.get_alert(alert.fingerprint).events] == ["fired"]


def test_default_monitors_come_from_the_reference_once(
    store: Store, rng: np.random.Generator
) -> None:
    svc = make(store, Clock(T0))
    assert svc.ensure_default_monitors("shop", "ranker") == []  # no model, no reference
    upload_reference(store, rng)
    created = svc.ensure_default_monitors("shop", "ranker")
    assert created and all(m.source == "default" for m in svc.list_monitors("shop", "ranker"))
    assert any("age" in name for name in created)
    assert svc.ensure_default_monitors("shop", "ranker") == []


def test_a_critical_alert_inhibits_the_warnings_of_its_model(
    store: Store, rng: np.random.Generator
) -> None:
    upload_reference(store, rng)
    ingest_hour(store, rng, T0, shift=25.0)  # drifted, and only 400 predictions
    clock = Clock(T0 + HOUR + 5)
    svc = make(store, clock)
    low = {"kind": "threshold", "op": "<", "value": 1000}
    rule = {"source_matchers": ["severity=critical"], "target_matchers": ["severity=warning"],
            "equal": ["model"]}  # fmt: skip
    svc.apply(config(None, volume_monitor("a-volume", severity="critical", condition=low),
                     drift_monitor(), inhibit_rules=[rule]))  # fmt: skip
    svc.evaluate_due()
    alerts = {a.labels["alertname"]: a for a in svc.list_alerts(state="firing")}
    assert set(alerts) == {"a-volume", "age-drift"}  # both fire: inhibition only mutes
    events = svc.get_alert(alerts["age-drift"].fingerprint).events
    assert events[-1].event == "muted" and "inhibited by 'a-volume'" in events[-1].reason
    preview = svc.test_route(alerts["age-drift"].labels)
    assert preview.inhibited.startswith("inhibited by 'a-volume'")
    clock.t += 31
    assert svc.evaluate_due().notifications == 1
    [note] = svc.list_notifications()
    assert [a["labels"]["alertname"] for a in note.payload["alerts"]] == ["a-volume"]


def test_estimated_accuracy_comes_from_the_window_scores(store: Store) -> None:
    n = 200
    IngestService(store, clock=lambda: T0).ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            ids=[f"p{i}" for i in range(n)], timestamps=[T0 + i for i in range(n)],
            features={"x": [float(i % 7) for i in range(n)]},
            predictions=[1, 0] * (n // 2), scores=[0.8, 0.3] * (n // 2),
        )
    )  # fmt: skip
    svc = make(store, Clock(T0 + HOUR + 5))
    svc.apply(config(None, {
        "name": "est", "project": "shop", "model": "ranker",
        "signal": {"kind": "performance", "metric": "accuracy", "estimated": True},
        "condition": {"kind": "threshold", "op": "<", "value": 0.9}, "schedule": "1m"}))  # fmt: skip
    [outcome] = svc.evaluate_due().outcomes
    assert outcome.firing is True, outcome.reason
    [result] = svc.monitor_results("est")
    assert result.value == pytest.approx(0.75, abs=0.01)  # mean of max(p, 1 - p)


def test_performance_against_the_reference_uses_the_references_own_metric(
    store: Store, rng: np.random.Generator
) -> None:
    from driftline.alerts._series import reference_series

    ref = rows(rng, 2000, 0.0)
    pred = np.asarray(ref["pred"])
    ref["label"] = np.where(rng.random(2000) < 0.9, pred, 1 - pred).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(ref, prediction="pred", target="label")
    reference = profile(ref, schema)
    IngestService(store, clock=lambda: T0).ingest(
        ReferencePayload(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            profile=reference.to_dict(), schema=schema.to_dict(),
        )
    )  # fmt: skip
    spec = MonitorSpec.model_validate(
        {
            "name": "acc", "project": "shop", "model": "ranker",
            "signal": {"kind": "performance", "metric": "accuracy"}, "baseline": "reference",
            "condition": {"kind": "change", "relative": 0.1, "direction": "down"},
        }
    )  # fmt: skip
    series = reference_series(QueryService(store), spec)
    assert series is not None and len(series) == 1
    expected = float(np.mean(np.asarray(ref["label"]) == pred))
    assert series.points[0].value == pytest.approx(expected)
    estimated = spec.model_copy(
        update={"signal": spec.signal.model_copy(update={"estimated": True})}
    )
    assert reference_series(QueryService(store), estimated) is None


def test_the_monitor_list_reads_every_state_at_once_and_agrees_with_each(
    store: Store, rng: np.random.Generator
) -> None:
    upload_reference(store, rng)
    ingest_hour(store, rng, T0)
    ingest_hour(store, rng, T0 + HOUR, shift=25.0)
    clock = Clock(T0 + 2 * HOUR + 5)
    svc = make(store, clock)
    svc.apply(config(None, drift_monitor(), volume_monitor(), volume_monitor("quiet")))
    svc.evaluate_due()
    clock.t += HOUR  # one more pass: the newest result must win
    ingest_hour(store, rng, T0 + 2 * HOUR, shift=25.0)
    svc.evaluate_due()
    listed = {m.name: m for m in svc.list_monitors()}
    assert sorted(listed) == ["age-drift", "quiet", "volume"]
    for name, state in listed.items():
        one = svc.get_monitor(name)
        assert state.last_result == one.last_result, name
        assert state.open_alert == one.open_alert, name
    assert listed["age-drift"].open_alert.state == "firing"
    assert listed["age-drift"].last_result.window_end == T0 + 3 * HOUR


def test_a_config_of_monitors_only_keeps_the_stored_routing(store: Store) -> None:
    svc = make(store, Clock(T0))
    first = svc.apply(config("http://127.0.0.1:9/hook", volume_monitor()))
    routed = svc.config()
    again = svc.apply(AlertingConfig.model_validate({"monitors": [volume_monitor("quiet")]}))
    assert again.config_revision == first.config_revision
    kept = svc.config()
    assert kept.route == routed.route and kept.receivers == routed.receivers
    assert sorted(m.name for m in svc.list_monitors()) == ["quiet", "volume"]
    cleared = svc.apply(config(None, volume_monitor()))  # a routing section replaces it
    assert cleared.config_revision == first.config_revision + 1
    assert [r.webhook for r in svc.config().receivers] == [[]]
