"""The records the service returns: their JSON keeps the API's shape and the tables' columns."""

from __future__ import annotations

import dataclasses

from driftline.alerts import (
    Alert,
    AlertDetail,
    AlertEvent,
    AlertInfo,
    AlertState,
    MonitorInfo,
    MonitorResult,
    NotificationAttempt,
    NotificationInfo,
)
from driftline.store import tables

ALERT = Alert("f1", {"alertname": "x", "project": "p"}, AlertState.FIRING, 0.0, 1.0, fired_at=0.0)
RESULT = MonitorResult(1, 7, 60.0, 0.0, 60.0, 3.0, 10.0, True, None, 3, "3 < 10")


def _columns(table: object) -> list[str]:
    return [c.name for c in table.columns]  # type: ignore[attr-defined]


def test_row_records_follow_their_tables() -> None:
    fields = [f.name for f in dataclasses.fields(MonitorResult)]
    assert fields == _columns(tables.monitor_results)
    fields = [f.name for f in dataclasses.fields(NotificationInfo)]
    assert fields == [*_columns(tables.notifications), "attempt_log"]
    assert {f.name for f in dataclasses.fields(AlertEvent)} <= set(_columns(tables.alert_events))
    attempts = {f.name for f in dataclasses.fields(NotificationAttempt)}
    assert attempts <= set(_columns(tables.notification_attempts))


def test_monitor_info_json_keeps_the_api_keys() -> None:
    info = MonitorInfo("vol", "p", None, {"name": "vol"}, True, "api", 0.0, 1.0, 2.0, 60.0,
                       120.0, False, RESULT, AlertInfo(ALERT, "vol"))  # fmt: skip
    out = info.to_dict()
    assert list(out) == [
        "name", "project", "model", "spec", "enabled", "source", "created_at", "updated_at",
        "last_evaluated_at", "last_window_end", "next_due_at", "dirty", "last_result",
        "open_alert",
    ]  # fmt: skip
    assert out["last_result"] == RESULT.to_dict()
    assert out["open_alert"] == {**ALERT.to_dict(), "monitor": "vol"}


def test_alert_detail_json_is_the_alert_then_its_history() -> None:
    event = AlertEvent(0.0, "fired", None, "firing", "fired: x", 3.0)
    detail = AlertDetail(ALERT, "vol", (event,), None, (RESULT,))
    out = detail.to_dict()
    assert list(out) == [*ALERT.to_dict(), "monitor", "events", "monitor_state", "evidence"]
    assert out["events"] == [dataclasses.asdict(event)] and out["evidence"] == [RESULT.to_dict()]
    assert detail.state == "firing" and detail.labels["project"] == "p"
