"""The alert life cycle: every transition as a row of a table, with a pinned ``now``."""

from __future__ import annotations

import dataclasses

import pytest

from driftline.alerts import Alert, AlertState
from driftline.alerts.decisions import (
    Evaluation,
    acknowledge,
    fingerprint,
    resolve_manually,
    transition,
)
from driftline.errors import InputError

T = 1795600800.0  # 2026-11-25 10:00 UTC
LABELS = {"alertname": "income-drift", "project": "loans", "model": "scorer", "severity": "warning"}
FP = fingerprint(LABELS)


def ev(firing: bool | None, value: float | None = 0.3) -> Evaluation:
    reason = {True: "0.3 > 0.1", False: "0.05, not > 0.1", None: "only 40 predictions, need 100"}
    return Evaluation(
        "income-drift", T, T - 3600, T, value, 0.1, firing, reason[firing], labels=LABELS
    )


def alert(
    state: AlertState, *, started: float = T - 600, updated: float = T - 60, **kw: object
) -> Alert:
    fired = kw.pop("fired_at", started if state is not AlertState.PENDING else None)
    return Alert(FP, dict(LABELS), state, started, updated, fired_at=fired, **kw)  # type: ignore[arg-type]


P, F, A, R = AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.RESOLVED

# previous, evaluation, for_seconds, now, event, new state (None: no alert), changed, reason part
TABLE = [
    pytest.param(None, True, 0, T, "fired", F, True, "fired: 0.3 > 0.1", id="new-for0-fires"),
    pytest.param(
        None, True, 300, T, "pending", P, True, "pending for 5m before firing", id="new-pending"
    ),
    pytest.param(None, False, 300, T, "no_change", None, False, "not firing", id="new-clear"),
    pytest.param(
        None,
        None,
        300,
        T,
        "insufficient_data",
        None,
        False,
        "unknown, no alert kept",
        id="new-unknown",
    ),
    pytest.param(
        alert(P), True, 300, T, "fired", F, True, "held for 10m (for 5m)", id="pending-held-fires"
    ),
    pytest.param(
        alert(P, started=T - 600),
        True,
        600,
        T,
        "fired",
        F,
        True,
        "held for 10m (for 10m)",
        id="pending-boundary-fires",
    ),
    pytest.param(
        alert(P), True, 900, T, "still_pending", P, False, "held for 10m of 15m", id="pending-waits"
    ),
    pytest.param(
        alert(P),
        False,
        900,
        T,
        "dropped",
        R,
        True,
        "dropped before firing (no notification)",
        id="pending-clears-dropped",
    ),
    pytest.param(
        alert(P),
        None,
        900,
        T,
        "insufficient_data",
        P,
        False,
        "unknown, pending kept",
        id="pending-unknown-kept",
    ),
    pytest.param(
        alert(F),
        True,
        300,
        T,
        "still_firing",
        F,
        False,
        "still firing since 2026-11-25 09:50",
        id="firing-holds",
    ),
    pytest.param(
        alert(F),
        False,
        300,
        T,
        "resolved",
        R,
        True,
        "resolved: 0.05, not > 0.1",
        id="firing-clears",
    ),
    pytest.param(
        alert(F),
        None,
        300,
        T,
        "insufficient_data",
        F,
        False,
        "unknown, firing kept: only 40",
        id="firing-unknown-kept",
    ),
    pytest.param(
        alert(A, acknowledged_by="ana"),
        True,
        0,
        T,
        "still_firing",
        A,
        False,
        "acknowledged by ana",
        id="ack-holds",
    ),
    pytest.param(alert(A), False, 0, T, "resolved", R, True, "resolved", id="ack-clears"),
    pytest.param(
        alert(A), None, 0, T, "insufficient_data", A, False, "acknowledged kept", id="ack-unknown"
    ),
    pytest.param(
        alert(R, resolved_at=T - 60), True, 0, T, "fired", F, True, "fired", id="resolved-refires"
    ),
    pytest.param(
        alert(R, resolved_at=T - 60),
        True,
        60,
        T,
        "pending",
        P,
        True,
        "pending for 1m",
        id="resolved-pending-again",
    ),
    pytest.param(
        alert(R, resolved_at=T - 60),
        False,
        0,
        T,
        "no_change",
        R,
        False,
        "not firing",
        id="resolved-stays",
    ),
    pytest.param(
        alert(F),
        True,
        0,
        T - 120,
        "no_change",
        F,
        False,
        "clock went backwards",
        id="clock-backwards-firing",
    ),
    pytest.param(
        alert(P),
        True,
        0,
        T - 61,
        "no_change",
        P,
        False,
        "clock went backwards",
        id="clock-backwards-pending",
    ),
    pytest.param(
        alert(F),
        False,
        0,
        T - 61,
        "no_change",
        F,
        False,
        "clock went backwards",
        id="clock-backwards-no-resolve",
    ),
]


@pytest.mark.parametrize(
    ("previous", "firing", "for_s", "now", "event", "state", "changed", "text"), TABLE
)
def test_transition_table(
    previous: Alert | None,
    firing: bool | None,
    for_s: float,
    now: float,
    event: str,
    state: AlertState | None,
    changed: bool,
    text: str,
) -> None:
    t = transition(previous, ev(firing), for_seconds=for_s, now=now)
    assert (t.event, t.changed) == (event, changed), t.reason
    assert text in t.reason
    if state is None:
        assert t.alert is None
        return
    assert t.alert is not None and t.alert.state is state
    assert t.alert.fingerprint == FP and dict(t.alert.labels) == LABELS
    if event in ("no_change", "insufficient_data"):
        assert t.alert is previous  # nothing at all changed
    if event == "fired":
        assert t.alert.fired_at == now and t.alert.updated_at == now
    if event in ("resolved", "dropped"):
        assert t.alert.resolved_at == now
    if event == "dropped":
        assert t.alert.fired_at is None  # never fired, so no resolve notification
    if event in ("pending", "fired") and (previous is None or previous.state is R):
        assert t.alert.started_at == now and t.alert.resolved_at is None


def test_a_new_alert_after_resolved_forgets_the_old_one() -> None:
    old = alert(R, resolved_at=T - 60, acknowledged_by="ana", acknowledged_at=T - 300)
    t = transition(old, ev(True), for_seconds=0, now=T)
    assert t.alert is not None
    assert (t.alert.acknowledged_by, t.alert.acknowledged_at, t.alert.started_at) == (None, None, T)


def test_still_firing_refreshes_value_and_keeps_times() -> None:
    prev = alert(F, annotations={"summary": "old"})
    t = transition(prev, ev(True, value=0.4), for_seconds=0, now=T, annotations={"summary": "new"})
    assert t.alert is not None
    assert (t.alert.value, t.alert.updated_at, t.alert.fired_at) == (0.4, T, prev.fired_at)
    assert t.alert.annotations == {"summary": "new"}


@pytest.mark.parametrize(
    ("previous", "now", "event", "state"),
    [
        pytest.param(
            alert(F, updated=T - 3600), T, "resolved", R, id="firing-missing-long-resolves"
        ),
        pytest.param(
            alert(P, updated=T - 3600), T, "dropped", R, id="pending-missing-long-dropped"
        ),
        pytest.param(alert(F, updated=T - 600), T, "insufficient_data", F, id="missing-short-kept"),
    ],
)
def test_resolve_after_missing(previous: Alert, now: float, event: str, state: AlertState) -> None:
    t = transition(previous, ev(None), for_seconds=0, now=now, resolve_after_missing=1800)
    assert t.event == event and t.alert is not None and t.alert.state is state
    if event == "resolved":
        assert "no usable data for 1h (resolve_after_missing 30m)" in t.reason


def test_transition_rejects_mismatched_alert_and_bad_for() -> None:
    other = dataclasses.replace(alert(F), fingerprint="0" * 16)
    with pytest.raises(InputError, match="does not match"):
        transition(other, ev(True), for_seconds=0, now=T)
    with pytest.raises(InputError, match="for_seconds"):
        transition(None, ev(True), for_seconds=-1, now=T)


@pytest.mark.parametrize(
    ("previous", "now", "event", "state", "text"),
    [
        pytest.param(alert(F), T, "acknowledged", A, "acknowledged by ana", id="ack-firing"),
        pytest.param(alert(A), T, "no_change", A, "the alert is acknowledged", id="ack-twice"),
        pytest.param(alert(P), T, "no_change", P, "the alert is pending", id="ack-pending"),
        pytest.param(alert(R), T, "no_change", R, "the alert is resolved", id="ack-resolved"),
        pytest.param(
            alert(F), T - 120, "no_change", F, "clock went backwards", id="ack-clock-backwards"
        ),
    ],
)
def test_acknowledge(previous: Alert, now: float, event: str, state: AlertState, text: str) -> None:
    t = acknowledge(previous, "ana", now)
    assert t.event == event and t.alert is not None and t.alert.state is state and text in t.reason
    if event == "acknowledged":
        assert (t.alert.acknowledged_by, t.alert.acknowledged_at) == ("ana", now)


@pytest.mark.parametrize(
    ("previous", "now", "event", "state", "text"),
    [
        pytest.param(alert(F), T, "resolved", R, "resolved by ana", id="resolve-firing"),
        pytest.param(alert(A), T, "resolved", R, "resolved by ana", id="resolve-acknowledged"),
        pytest.param(alert(P), T, "dropped", R, "resolved by ana", id="resolve-pending"),
        pytest.param(alert(R), T, "no_change", R, "already resolved", id="resolve-resolved"),
        pytest.param(
            alert(F), T - 120, "no_change", F, "clock went backwards", id="resolve-clock-backwards"
        ),
    ],
)
def test_resolve_manually(
    previous: Alert, now: float, event: str, state: AlertState, text: str
) -> None:
    t = resolve_manually(previous, "ana", now)
    assert t.event == event and t.alert is not None and t.alert.state is state and text in t.reason


def test_fingerprint_is_stable_and_order_free() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1"}) != fingerprint({"a": "1", "b": ""})
    assert fingerprint({"a,b": "c"}) != fingerprint({"a": "b,c"})
    # pinned: changing the hash would re-key every stored alert
    assert fingerprint(LABELS) == "1613b3cc31e9a436"
