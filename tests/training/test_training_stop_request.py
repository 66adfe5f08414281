"""The guard stops a run whose ``stop_requested`` is true, once, through its stop path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftline.config import load_settings
from driftline.training import Guard, NonFinite, Rule


class FakeRun:
    """A run-like object: records events, and can be asked to stop."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []
        self.stop_requested = False
        self.stop_reason: str | None = None

    def log_event(self, kind: str, message: str = "", *, step=None, evidence=None) -> None:
        self.events.append((kind, message, step))


def test_guard_turns_a_stop_request_into_one_recorded_stop() -> None:
    run = FakeRun()
    guard = Guard([Rule(NonFinite(), "record")], run=run)
    assert guard.check(0, {"loss": 0.5}) is None
    run.stop_requested, run.stop_reason = True, "alert 'loss_high' (receiver 'ops')"
    verdict = guard.check(1, {"loss": 0.4})
    assert verdict is not None and verdict.stop
    assert verdict.reason == "stop requested from alert 'loss_high' (receiver 'ops')"
    result = guard.act(verdict)
    assert result.stop and guard.stopped
    assert run.events == [
        ("stop_request", "stop requested from alert 'loss_high' (receiver 'ops')", 1),
        ("guard.stop", "stopping the run: stop requested from alert 'loss_high' "
         "(receiver 'ops')", 1),
    ]  # fmt: skip
    assert guard.check(2, {"loss": 0.3}) is None  # asked once, acted once


def test_a_run_without_the_attribute_or_without_a_reason() -> None:
    class Plain:
        def log_event(self, kind: str, message: str = "", *, step=None, evidence=None) -> None:
            pass

    assert Guard([], run=Plain()).check(0, {"loss": 1.0}) is None
    run = FakeRun()
    run.stop_requested = True
    verdict = Guard([], run=run).check(3, {"loss": 1.0})
    assert verdict is not None and verdict.reason == "stop requested from the run's server"


def test_embedded_run_learns_of_a_stop_from_the_store(store: Any, tmp_path: Path) -> None:
    from driftline.client import init
    from driftline.store._run_stop import RunStopService

    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path)})
    run = init("lab", settings=settings, store_factory=lambda: store,
               system_metrics_interval=None, flush_interval=0.02)  # fmt: skip
    run.log({"loss": 0.9})
    assert run.flush(20.0) and not run.stop_requested and run.stop_reason is None
    RunStopService(store).request(run.run_id, reason="the API", by="alice")
    run.log({"loss": 0.8})
    assert run.flush(20.0)
    assert run.stop_requested and run.stop_reason == "the API"
    assert run.finish(timeout=20.0)
    from driftline.store import QueryService

    events = QueryService(store).get_run(run.run_id)["events"]
    assert [(e["kind"], e["message"]) for e in events] == [
        ("run.stop_requested", "stop requested from the API")
    ]
    assert run.stats().dropped == {}
