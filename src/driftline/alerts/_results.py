"""What the alert service's operations return: small frozen records with ``to_dict``.

``to_dict()`` gives the JSON the HTTP API and the CLI show; the records are the
typed face of the same data for Python callers.

Example
-------
>>> ApplyResult(created=("a",)).to_dict()["created"]
['a']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driftline.alerts._model import Alert, AlertState, Silence

__all__ = [
    "AlertCount",
    "AlertDetail",
    "AlertEvent",
    "AlertInfo",
    "ApplyResult",
    "DeliveryRun",
    "EvaluationRun",
    "MonitorInfo",
    "MonitorOutcome",
    "MonitorResult",
    "NotificationAttempt",
    "NotificationInfo",
    "RoutePreview",
    "TickResult",
]


def _fields_of(cls: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    return {f.name: row[f.name] for f in dataclasses.fields(cls)}


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """One evaluation of a monitor, as stored in its result series.

    ``firing`` is ``None`` when the evaluation could not decide (``reason`` says why).

    Example
    -------
    >>> r = MonitorResult(1, 7, 60.0, 0.0, 60.0, 3.0, 10.0, True, None, 3, "3 < 10")
    >>> r.to_dict()["firing"]
    True
    """

    id: int
    monitor_id: int
    at: float
    window_start: float | None
    window_end: float | None
    value: float | None
    threshold: float | None
    firing: bool | None
    p_value: float | None
    n: int
    reason: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> MonitorResult:
        """From a ``monitor_results`` row."""
        return cls(**_fields_of(cls, row))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


class _AlertFields:
    """``fingerprint``, ``labels`` and ``state`` of a record's ``alert``."""

    __slots__ = ()
    alert: Alert

    @property
    def fingerprint(self) -> str:
        """The alert's fingerprint."""
        return self.alert.fingerprint

    @property
    def labels(self) -> Mapping[str, str]:
        """The alert's labels."""
        return self.alert.labels

    @property
    def state(self) -> AlertState:
        """The alert's state."""
        return self.alert.state


@dataclass(frozen=True, slots=True)
class AlertInfo(_AlertFields):
    """An alert with the name of the monitor that raised it.

    Example
    -------
    >>> a = Alert("f1", {"alertname": "x"}, AlertState.FIRING, 0.0, 0.0)
    >>> info = AlertInfo(a, "x")
    >>> info.state.value, info.to_dict()["monitor"]
    ('firing', 'x')
    """

    alert: Alert
    monitor: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AlertInfo:
        """From an ``alerts`` row."""
        return cls(Alert.from_dict(row), row["monitor"])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: the alert's fields and ``monitor``."""
        out = self.alert.to_dict()
        out["monitor"] = self.monitor
        return out


@dataclass(frozen=True, slots=True)
class MonitorInfo:
    """A monitor with its state: spec, schedule, last result and open alert.

    Example
    -------
    >>> m = MonitorInfo("vol", "shop", None, {}, True, "api", 0.0, 0.0, None, None, 0.0, False)
    >>> m.to_dict()["open_alert"] is None
    True
    """

    name: str
    project: str
    model: str | None
    spec: Mapping[str, Any]
    enabled: bool
    source: str
    created_at: float
    updated_at: float
    last_evaluated_at: float | None
    last_window_end: float | None
    next_due_at: float | None
    dirty: bool
    last_result: MonitorResult | None = None
    open_alert: AlertInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["last_result"] = None if self.last_result is None else self.last_result.to_dict()
        out["open_alert"] = None if self.open_alert is None else self.open_alert.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One step of an alert's history, with its reason."""

    at: float
    event: str
    from_state: str | None
    to_state: str | None
    reason: str
    value: float | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AlertEvent:
        """From an ``alert_events`` row."""
        return cls(**_fields_of(cls, row))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class AlertDetail(_AlertFields):
    """One alert with its history, its monitor and the evidence behind it.

    ``evidence`` is the monitor's result series around the alert's start.

    Example
    -------
    >>> a = Alert("f1", {"alertname": "x"}, AlertState.FIRING, 0.0, 0.0)
    >>> d = AlertDetail(a, "x")
    >>> d.alert.state.value, sorted(d.to_dict())[:3]
    ('firing', ['acknowledged_at', 'acknowledged_by', 'annotations'])
    """

    alert: Alert
    monitor: str
    events: tuple[AlertEvent, ...] = ()
    monitor_state: MonitorInfo | None = None
    evidence: tuple[MonitorResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: the alert's fields, ``monitor``, ``events``, ``monitor_state``,
        ``evidence``."""
        out = AlertInfo(self.alert, self.monitor).to_dict()
        out["events"] = [e.to_dict() for e in self.events]
        out["monitor_state"] = None if self.monitor_state is None else self.monitor_state.to_dict()
        out["evidence"] = [r.to_dict() for r in self.evidence]
        return out


@dataclass(frozen=True, slots=True)
class AlertCount:
    """How many alerts a project, model, severity and state hold."""

    project: str
    model: str
    severity: str
    state: str
    count: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AlertCount:
        """From a grouped ``alerts`` row."""
        return cls(**_fields_of(cls, row))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class NotificationAttempt:
    """One try to send a notification through one channel."""

    at: float
    channel: str
    ok: bool
    error: str | None
    retryable: bool | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> NotificationAttempt:
        """From a ``notification_attempts`` row."""
        return cls(**_fields_of(cls, row))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class NotificationInfo:
    """A row of the notification outbox with its attempts.

    ``status`` is pending, sending, delivered or failed; ``payload`` is the
    notification as sent (see ``Notification.to_dict``).
    """

    id: str
    receiver: str
    group_key: str
    payload: Mapping[str, Any]
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    updated_at: float
    delivered_at: float | None
    claimed_by: str | None
    claim_expires_at: float | None
    attempt_log: tuple[NotificationAttempt, ...] = ()

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], attempts: tuple[NotificationAttempt, ...] = ()
    ) -> NotificationInfo:
        """From a ``notifications`` row and its attempts."""
        kw = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name != "attempt_log"}
        return cls(**kw, attempt_log=attempts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["attempt_log"] = [a.to_dict() for a in self.attempt_log]
        return out


@dataclass(frozen=True, slots=True)
class RoutePreview:
    """Where an alert with ``labels`` would go now: routes, receivers, silence, inhibition.

    ``routes`` pairs each matched route (its fields as a mapping) with its group key.
    """

    labels: Mapping[str, str]
    fingerprint: str
    routes: tuple[Mapping[str, Any], ...]
    receivers: tuple[str, ...]
    silenced_by: Silence | None
    inhibited: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "labels": dict(self.labels),
            "fingerprint": self.fingerprint,
            "routes": [dict(r) for r in self.routes],
            "receivers": list(self.receivers),
            "silenced_by": None if self.silenced_by is None else self.silenced_by.to_dict(),
            "inhibited": self.inhibited,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :meth:`AlertService.apply` changed, by monitor name.

    Attributes
    ----------
    created, updated, unchanged, deleted : tuple of str
        Monitor names, sorted.
    config_revision : int
        Revision of the stored routes/receivers/inhibit rules after the apply.
    silences_created : int
        Silences of the config that were not stored yet.
    """

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    config_revision: int = 0
    silences_created: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out = dataclasses.asdict(self)
        for k in ("created", "updated", "unchanged", "deleted"):
            out[k] = list(out[k])
        return out


@dataclass(frozen=True, slots=True)
class MonitorOutcome:
    """One monitor in one evaluation pass.

    Attributes
    ----------
    monitor : str
        The monitor's name.
    status : {'evaluated', 'skipped', 'failed'}
        ``skipped``: its latest complete window was judged already;
        ``failed``: fetching or evaluating raised (see ``reason``).
    firing : bool or None
        The decision (``None``: undecided or not evaluated).
    reason : str
        The evaluation's reason, or why it was skipped or failed.
    event : str or None
        The alert transition it caused (``pending``, ``firing``, ``resolved``...).
    seconds : float
        Wall time spent on the monitor.
    """

    monitor: str
    status: str
    firing: bool | None
    reason: str
    event: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """One pass of :meth:`AlertService.evaluate_due`.

    Attributes
    ----------
    at : float
        The pass's ``now``.
    outcomes : tuple of MonitorOutcome
        One per due monitor, in evaluation order.
    notifications : int
        Notifications put in the outbox by the pass.
    """

    at: float
    outcomes: tuple[MonitorOutcome, ...] = ()
    notifications: int = 0

    @property
    def evaluated(self) -> int:
        """Monitors that were evaluated."""
        return sum(o.status == "evaluated" for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Monitors whose evaluation raised."""
        return sum(o.status == "failed" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "at": self.at,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "notifications": self.notifications,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    """One pass of :meth:`AlertService.deliver_due`.

    Attributes
    ----------
    at : float
        The pass's ``now``.
    claimed, delivered, retrying, failed : int
        Outbox rows claimed; of those, delivered, scheduled for another try,
        and given up (permanent error or attempts exhausted).
    """

    at: float
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class TickResult:
    """One :meth:`Scheduler.tick`.

    Attributes
    ----------
    at : float
        The tick's ``now`` (never earlier than the previous tick's, per scheduler).
    leader : bool
        Whether this scheduler held the lease during the tick.
    reason : str
        Why it acted or not (lease acquired, renewed, held by another owner...).
    evaluation, delivery : EvaluationRun or DeliveryRun or None
        What it did; ``None`` when it was not the leader.
    fencing_token : int or None
        The lease's fencing token while leader.
    """

    at: float
    leader: bool
    reason: str
    evaluation: EvaluationRun | None = None
    delivery: DeliveryRun | None = None
    fencing_token: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "at": self.at,
            "leader": self.leader,
            "reason": self.reason,
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
            "delivery": None if self.delivery is None else self.delivery.to_dict(),
            "fencing_token": self.fencing_token,
        }
