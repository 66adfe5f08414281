"""The values that flow through the alert pipeline.

Monitors are evaluated over a :class:`Series` into an :class:`Evaluation`; an
evaluation moves an :class:`Alert` through its life cycle (pending, firing,
acknowledged, resolved); alerts are grouped, and a group that is due becomes a
:class:`Notification` that a channel delivers. Every value here is a frozen,
plain-data dataclass with ``to_dict``/``from_dict``, so the store can keep it as
JSON and the API can show it.

Example
-------
>>> p = Point(start=0.0, end=3600.0, value=0.21, n=500)
>>> Series.of([p]).last().value
0.21
>>> AlertState("firing").is_open
True
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from driftline.errors import InputError

__all__ = [
    "Alert",
    "AlertState",
    "Evaluation",
    "Matcher",
    "Notification",
    "Point",
    "Series",
    "Silence",
]


class AlertState(StrEnum):
    """Where an alert is in its life cycle.

    ``pending``: the condition holds but not yet for the monitor's ``for``
    duration. ``firing``: it has held long enough; notifications go out.
    ``acknowledged``: a person took it; it stays open but repeats stop.
    ``resolved``: the condition no longer holds (or a person resolved it).
    """

    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        """Whether the alert still needs attention (every state but resolved)."""
        return self is not AlertState.RESOLVED


@dataclass(frozen=True, slots=True)
class Point:
    """One window of a monitored series.

    Attributes
    ----------
    start, end : float
        Window bounds, epoch seconds, ``[start, end)``.
    value : float or None
        The signal's value in the window; ``None`` when it could not be
        computed there (no data, no reference...). Never ``0.0`` for "unknown".
    n : int
        Sample size behind the value (predictions, labelled predictions...).
    coverage : float or None
        Label coverage of the window (share of predictions with a label), for
        performance signals; ``None`` elsewhere.
    p_value : float or None
        The p-value of the statistic, for signals that have one.
    """

    start: float
    end: float
    value: float | None
    n: int = 0
    coverage: float | None = None
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Point:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True, slots=True)
class Series:
    """Consecutive windows of one signal, oldest first."""

    points: tuple[Point, ...] = ()

    @classmethod
    def of(cls, points: Iterable[Point]) -> Series:
        """A series from points in any order (sorted by start)."""
        return cls(tuple(sorted(points, key=lambda p: p.start)))

    def last(self) -> Point | None:
        """The newest point, or ``None`` for an empty series."""
        return self.points[-1] if self.points else None

    def __len__(self) -> int:
        return len(self.points)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"points": [p.to_dict() for p in self.points]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Series:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(Point.from_dict(p) for p in data.get("points", ())))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of evaluating one monitor at one time.

    Attributes
    ----------
    monitor : str
        The monitor's name.
    at : float
        When it was evaluated (the injected ``now``), epoch seconds.
    window_start, window_end : float or None
        The window that was judged; ``None`` when there was none.
    value : float or None
        The value that was compared (``None``: not enough data).
    threshold : float or None
        What it was compared against (the bound of the condition).
    firing : bool or None
        Whether the condition holds; ``None`` when it could not be decided
        (too few samples, label coverage too low, no data): never "no drift".
    reason : str
        One line a person can read: what was compared and why it fires or not.
    p_value : float or None
        For p-value based checks; may be adjusted across monitors (BH).
    n : int
        Sample size behind ``value``.
    labels : dict of str to str
        The alert's identity labels (``alertname``, ``project``, ``model``,
        ``severity``... and the monitor's own labels).
    """

    monitor: str
    at: float
    window_start: float | None
    window_end: float | None
    value: float | None
    threshold: float | None
    firing: bool | None
    reason: str
    p_value: float | None = None
    n: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out = dataclasses.asdict(self)
        out["labels"] = dict(self.labels)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert, identified by the fingerprint of its labels.

    Attributes
    ----------
    fingerprint : str
        Stable hash of ``labels`` (see ``driftline.alerts.fingerprint``).
    labels : dict of str to str
        Identity: ``alertname`` (the monitor), ``project``, ``model``,
        ``severity`` and the monitor's labels.
    annotations : dict of str to str
        Human text that does not change identity (summary, reason, value).
    state : AlertState
    started_at : float
        When the condition first held (pending began).
    fired_at, acknowledged_at, resolved_at : float or None
        When the alert entered those states.
    acknowledged_by : str or None
        Who acknowledged it.
    updated_at : float
        Last change of any field.
    value : float or None
        The last evaluated value.
    reason : str
        The reason of the last transition.
    """

    fingerprint: str
    labels: Mapping[str, str]
    state: AlertState
    started_at: float
    updated_at: float
    annotations: Mapping[str, str] = field(default_factory=dict)
    fired_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    value: float | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out = dataclasses.asdict(self)
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        out["state"] = self.state.value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Inverse of :meth:`to_dict`."""
        kw = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        kw["state"] = AlertState(kw["state"])
        return cls(**kw)


_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label matcher, as in Alertmanager: ``name op value``.

    ``=`` equal, ``!=`` not equal, ``=~`` full regex match, ``!~`` no full match.
    A label that is absent reads as the empty string.

    Example
    -------
    >>> Matcher.parse('severity=~"warn.*"').matches({"severity": "warning"})
    True
    >>> Matcher.parse("team!=risk").matches({})
    True
    """

    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise InputError(f"matcher op: expected one of {_OPS}, got {self.op!r}")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise InputError(
                    f"matcher {self.name!r}: invalid regular expression {self.value!r}: {exc}"
                ) from exc

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse ``name=value``, ``name!="value"``, ``name=~regex``, ``name!~regex``."""
        m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*", text)
        if m is None:
            raise InputError(f"matcher: expected 'name=value' (or !=, =~, !~), got {text!r}")
        name, op, value = m.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return cls(name, op, value)  # type: ignore[arg-type]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher."""
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = re.fullmatch(self.value, got) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes the alerts whose labels match every matcher, from ``starts_at`` to ``ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str = ""
    comment: str = ""

    def active(self, now: float) -> bool:
        """Whether the silence is in force at ``now``."""
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher matches ``labels``."""
        return all(m.matches(labels) for m in self.matchers)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (matchers as strings)."""
        out = dataclasses.asdict(self)
        out["matchers"] = [str(m) for m in self.matchers]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        """Inverse of :meth:`to_dict`."""
        kw = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        kw["matchers"] = tuple(Matcher.parse(m) for m in kw.get("matchers", ()))
        return cls(**kw)


@dataclass(frozen=True, slots=True)
class Notification:
    """What one receiver gets for one group of alerts at one flush.

    Attributes
    ----------
    id : str
        Idempotency key (stable across retries; channels that can send it do,
        e.g. as a header, so receivers can deduplicate).
    receiver : str
        The receiver's name (from the routing config).
    group_key : str
        The group's identity (route + values of its ``group_by`` labels).
    group_labels : dict of str to str
        The ``group_by`` labels and their values.
    status : {'firing', 'resolved'}
        ``firing`` while any alert of the group fires.
    alerts : tuple of Alert
        The group's alerts at this flush (firing and newly resolved).
    created_at : float
        When the flush happened.
    external_url : str or None
        Link back to the dashboard.
    """

    id: str
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    status: Literal["firing", "resolved"]
    alerts: tuple[Alert, ...]
    created_at: float
    external_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "id": self.id,
            "receiver": self.receiver,
            "group_key": self.group_key,
            "group_labels": dict(self.group_labels),
            "status": self.status,
            "alerts": [a.to_dict() for a in self.alerts],
            "created_at": self.created_at,
            "external_url": self.external_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=data["id"],
            receiver=data["receiver"],
            group_key=data["group_key"],
            group_labels=dict(data.get("group_labels", {})),
            status=data["status"],
            alerts=tuple(Alert.from_dict(a) for a in data.get("alerts", ())),
            created_at=float(data["created_at"]),
            external_url=data.get("external_url"),
        )
