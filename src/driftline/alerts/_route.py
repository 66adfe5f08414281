"""Route stage: routing, grouping, silences, inhibition and flush timing, as pure decisions.

An alert's labels walk the routing tree depth first (:func:`match_routes`); each
matching route puts it in a group keyed by the route and the values of the
route's ``group_by`` labels (:func:`group_key`). A group is flushed to its
receiver by :func:`flush_decision`: ``group_wait`` after the group appears,
then at most every ``group_interval`` while something changed, and again every
``repeat_interval`` while unacknowledged alerts still fire.

Example
-------
>>> from driftline.alerts._spec import RouteSpec
>>> root = RouteSpec(receiver="team", routes=[
...     RouteSpec(receiver="oncall", matchers=["severity=critical"])])
>>> [m.receiver for m in match_routes({"alertname": "x", "severity": "critical"}, root)]
['oncall']
>>> m = match_routes({"alertname": "x", "severity": "info"}, root)[0]
>>> m.receiver, m.route_id, m.group_wait, m.repeat_interval
('team', 'root', 30.0, 14400.0)
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from driftline.alerts._duration import format_duration, format_time
from driftline.alerts._model import Alert, AlertState, Matcher, Notification, Silence
from driftline.alerts._spec import DEFAULT_GROUP_BY, InhibitRule, RouteSpec
from driftline.errors import InputError

__all__ = [
    "DEFAULT_GROUP_INTERVAL",
    "DEFAULT_GROUP_WAIT",
    "DEFAULT_REPEAT_INTERVAL",
    "FlushDecision",
    "GroupState",
    "RouteMatch",
    "after_flush",
    "build_notification",
    "flush_decision",
    "group_key",
    "inhibited",
    "match_routes",
    "new_group",
    "notification_alerts",
    "silencing",
]

#: How long a new group waits for more alerts before its first notification (seconds).
DEFAULT_GROUP_WAIT = 30.0
#: Least time between two notifications of a group that changed (seconds).
DEFAULT_GROUP_INTERVAL = 300.0
#: How often a group whose alerts still fire, unchanged, is notified again (seconds).
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A route an alert matched, with the settings it inherited resolved.

    Attributes
    ----------
    route_id : str
        Path in the tree: ``root``, ``root/0``, ``root/0/2`` (child indices).
    receiver : str
    group_by : tuple of str
        ``('...',)`` groups by every label.
    group_wait, group_interval, repeat_interval : float
        Seconds.
    matchers : tuple of str
        Every matcher on the path from the root.
    """

    route_id: str
    receiver: str
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    matchers: tuple[str, ...] = ()


def match_routes(
    labels: Mapping[str, str], route: RouteSpec, *, receiver: str | None = None
) -> list[RouteMatch]:
    """The routes that take an alert with ``labels``, as Alertmanager does.

    The root takes every alert. Children are tried in order, depth first; the
    first child that matches takes the alert and the search stops, unless that
    child sets ``continue: true``. When no child matches, the node itself takes it.

    Parameters
    ----------
    labels : mapping
        The alert's labels.
    route : RouteSpec
        The root of the tree.
    receiver : str, optional
        A monitor's own ``route``: send to this receiver with the root's
        grouping and timings, bypassing the tree.

    Examples
    --------
    >>> root = RouteSpec(receiver="a", routes=[
    ...     RouteSpec(receiver="b", matchers=["team=risk"], **{"continue": True}),
    ...     RouteSpec(receiver="c", matchers=["severity=critical"])])
    >>> [m.receiver for m in match_routes({"team": "risk", "severity": "critical"}, root)]
    ['b', 'c']
    """
    base = RouteMatch(
        route_id="root",
        receiver=route.receiver or "",
        group_by=tuple(route.group_by) if route.group_by is not None else DEFAULT_GROUP_BY,
        group_wait=route.group_wait if route.group_wait is not None else DEFAULT_GROUP_WAIT,
        group_interval=(
            route.group_interval if route.group_interval is not None else DEFAULT_GROUP_INTERVAL
        ),
        repeat_interval=(
            route.repeat_interval if route.repeat_interval is not None else DEFAULT_REPEAT_INTERVAL
        ),
    )
    if not base.receiver:
        raise InputError("route: the root route needs a receiver")
    if receiver is not None:
        return [dataclasses.replace(base, route_id=f"monitor:{receiver}", receiver=receiver)]
    return _walk(labels, route, base)


def _inherit(parent: RouteMatch, node: RouteSpec, route_id: str) -> RouteMatch:
    return RouteMatch(
        route_id=route_id,
        receiver=node.receiver or parent.receiver,
        group_by=tuple(node.group_by) if node.group_by is not None else parent.group_by,
        group_wait=node.group_wait if node.group_wait is not None else parent.group_wait,
        group_interval=(
            node.group_interval if node.group_interval is not None else parent.group_interval
        ),
        repeat_interval=(
            node.repeat_interval if node.repeat_interval is not None else parent.repeat_interval
        ),
        matchers=(*parent.matchers, *node.matchers),
    )


def _walk(labels: Mapping[str, str], node: RouteSpec, here: RouteMatch) -> list[RouteMatch]:
    found: list[RouteMatch] = []
    for i, child in enumerate(node.routes):
        if not all(m.matches(labels) for m in child.parsed_matchers):
            continue
        found += _walk(labels, child, _inherit(here, child, f"{here.route_id}/{i}"))
        if not child.continue_:
            break
    return found or [here]


def group_key(match: RouteMatch, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The group an alert joins on a route: its key and the ``group_by`` labels' values.

    Labels the alert does not have are left out, as in Alertmanager.

    Examples
    --------
    >>> m = RouteMatch("root/1", "team", ("alertname", "model"), 30.0, 300.0, 14400.0)
    >>> group_key(m, {"alertname": "drift", "model": "scorer", "severity": "warning"})
    ('root/1:{alertname="drift",model="scorer"}', {'alertname': 'drift', 'model': 'scorer'})
    """
    if "..." in match.group_by:
        values = dict(sorted(labels.items()))
    else:
        values = {k: labels[k] for k in sorted(set(match.group_by)) if k in labels}
    inner = ",".join(f'{k}="{v}"' for k, v in values.items())
    return f"{match.route_id}:{{{inner}}}", values


def _notified_state(alert: Alert) -> str | None:
    """How an alert counts for a notification: 'firing', 'resolved', or None (left out)."""
    if alert.state in (AlertState.FIRING, AlertState.ACKNOWLEDGED):
        return "firing"
    if alert.state is AlertState.RESOLVED and alert.fired_at is not None:
        return "resolved"
    return None  # pending, or dropped before it fired


@dataclass(frozen=True, slots=True)
class GroupState:
    """What the dispatcher remembers about one group between flushes.

    Attributes
    ----------
    key : str
        From :func:`group_key`.
    receiver, route_id : str
    group_labels : dict of str to str
    started_at : float
        When the group first appeared.
    next_flush_at : float
        Before this time the group is not flushed (``started_at + group_wait``
        at first, then the last flush plus ``group_interval``).
    last_flush_at : float or None
        When it was last notified (``None``: never).
    last_notified : frozenset of str
        ``"<fingerprint>:firing"`` / ``"<fingerprint>:resolved"`` as last sent.
    """

    key: str
    receiver: str
    route_id: str
    started_at: float
    next_flush_at: float
    group_labels: Mapping[str, str] = field(default_factory=dict)
    last_flush_at: float | None = None
    last_notified: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "key": self.key,
            "receiver": self.receiver,
            "route_id": self.route_id,
            "started_at": self.started_at,
            "next_flush_at": self.next_flush_at,
            "group_labels": dict(self.group_labels),
            "last_flush_at": self.last_flush_at,
            "last_notified": sorted(self.last_notified),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupState:
        """Inverse of :meth:`to_dict`."""
        return cls(
            key=data["key"],
            receiver=data["receiver"],
            route_id=data["route_id"],
            started_at=float(data["started_at"]),
            next_flush_at=float(data["next_flush_at"]),
            group_labels=dict(data.get("group_labels", {})),
            last_flush_at=data.get("last_flush_at"),
            last_notified=frozenset(data.get("last_notified", ())),
        )


def new_group(match: RouteMatch, labels: Mapping[str, str], now: float) -> GroupState:
    """The state of a group that appears at ``now``: first flush after ``group_wait``.

    Examples
    --------
    >>> m = RouteMatch("root", "team", ("alertname",), 30.0, 300.0, 14400.0)
    >>> g = new_group(m, {"alertname": "x"}, now=100.0)
    >>> g.key, g.next_flush_at
    ('root:{alertname="x"}', 130.0)
    """
    key, values = group_key(match, labels)
    return GroupState(
        key=key,
        receiver=match.receiver,
        route_id=match.route_id,
        started_at=now,
        next_flush_at=now + match.group_wait,
        group_labels=values,
    )


@dataclass(frozen=True, slots=True)
class FlushDecision:
    """Whether to notify a group now, why, and when to look again.

    ``drop_group`` is ``True`` when the group has nothing open and nothing left
    to tell; the dispatcher may forget it.
    """

    notify: bool
    reason: str
    next_at: float
    drop_group: bool = False


def notification_alerts(group: GroupState, alerts: Sequence[Alert]) -> tuple[Alert, ...]:
    """The alerts a notification of ``group`` carries: firing and acknowledged ones, and
    resolved ones whose firing was notified before. Sorted by fingerprint."""
    out = []
    for a in alerts:
        state = _notified_state(a)
        if state == "firing" or (
            state == "resolved" and f"{a.fingerprint}:firing" in group.last_notified
        ):
            out.append(a)
    return tuple(sorted(out, key=lambda a: a.fingerprint))


def flush_decision(
    group: GroupState, alerts: Sequence[Alert], route: RouteMatch, now: float
) -> FlushDecision:
    """Decide whether ``group`` is notified at ``now`` (Alertmanager's dedup, as a pure function).

    Parameters
    ----------
    group : GroupState
        The group as remembered.
    alerts : sequence of Alert
        The group's alerts now: open ones and those resolved since the last flush.
    route : RouteMatch
        The route of the group (its timings).
    now : float
        Epoch seconds.

    Returns
    -------
    FlushDecision
        Rules, in order: before ``next_flush_at`` nothing is sent (group_wait,
        then group_interval). The first notification goes out when something
        fires. After that a notification goes out when an alert started firing
        or one that was notified as firing resolved; else when firing alerts that
        are not all acknowledged were last notified ``repeat_interval`` ago.
        Acknowledged alerts are not repeated; pending alerts and alerts dropped
        before firing are never sent. ``next_at`` is ``now + group_interval``
        after a due check.

    Examples
    --------
    >>> m = RouteMatch("root", "team", ("alertname",), 30.0, 300.0, 14400.0)
    >>> a = Alert("f1", {"alertname": "x"}, AlertState.FIRING, 100.0, 100.0, fired_at=100.0)
    >>> g = new_group(m, a.labels, now=100.0)
    >>> flush_decision(g, [a], m, now=110.0).notify
    False
    >>> d = flush_decision(g, [a], m, now=130.0)
    >>> d.notify, d.reason, d.next_at
    (True, 'first notification of the group after group_wait 30s: 1 firing', 430.0)
    """
    if now < group.next_flush_at:
        timer = "group_wait" if group.last_flush_at is None else "group_interval"
        return FlushDecision(
            False,
            f"not due: {timer} until {format_time(group.next_flush_at)}",
            group.next_flush_at,
        )
    next_at = now + route.group_interval
    firing = [a for a in alerts if _notified_state(a) == "firing"]
    empty = not any(a.state.is_open for a in alerts)
    if group.last_flush_at is None:
        if firing:
            return FlushDecision(
                True,
                f"first notification of the group after group_wait "
                f"{format_duration(route.group_wait)}: {len(firing)} firing",
                next_at,
            )
        return FlushDecision(False, "nothing firing yet", next_at, drop_group=empty)
    changed = _changed_since_flush(group, alerts, firing, next_at)
    if changed is not None:
        return changed
    if not firing:
        return FlushDecision(
            False, "nothing firing and nothing newly resolved", next_at, drop_group=empty
        )
    return _repeat_decision(group, firing, route, now, next_at)


def _changed_since_flush(
    group: GroupState, alerts: Sequence[Alert], firing: Sequence[Alert], next_at: float
) -> FlushDecision | None:
    """Notify when an alert started firing or a notified one resolved since the last flush."""
    new_firing = [a for a in firing if f"{a.fingerprint}:firing" not in group.last_notified]
    resolved = [
        a
        for a in alerts
        if _notified_state(a) == "resolved" and f"{a.fingerprint}:firing" in group.last_notified
    ]
    if not new_firing and not resolved:
        return None
    parts = [f"{len(new_firing)} newly firing"] if new_firing else []
    parts += [f"{len(resolved)} resolved"] if resolved else []
    return FlushDecision(
        True,
        f"{' and '.join(parts)} since the last notification at "
        f"{format_time(group.last_flush_at or 0.0)}",
        next_at,
    )


def _repeat_decision(
    group: GroupState, firing: Sequence[Alert], route: RouteMatch, now: float, next_at: float
) -> FlushDecision:
    """Repeat a notification of still-firing, unacknowledged alerts every ``repeat_interval``."""
    unacked = [a for a in firing if a.state is AlertState.FIRING]
    if not unacked:
        return FlushDecision(
            False,
            f"all {len(firing)} firing alerts are acknowledged: no repeat",
            next_at,
        )
    last = group.last_flush_at or 0.0
    due = last + route.repeat_interval
    if now >= due:
        return FlushDecision(
            True,
            f"repeat after repeat_interval {format_duration(route.repeat_interval)}: "
            f"{len(unacked)} still firing unacknowledged",
            next_at,
        )
    return FlushDecision(
        False,
        f"no change since the last notification at {format_time(last)}; "
        f"repeat at {format_time(due)}",
        next_at,
    )


def after_flush(
    group: GroupState, decision: FlushDecision, alerts: Sequence[Alert], now: float
) -> GroupState:
    """The group's state once ``decision`` has been carried out at ``now``.

    Examples
    --------
    >>> g = GroupState("k", "team", "root", 0.0, 30.0)
    >>> a = Alert("f1", {}, AlertState.FIRING, 0.0, 0.0, fired_at=0.0)
    >>> g2 = after_flush(g, FlushDecision(True, "first", 330.0), [a], now=30.0)
    >>> g2.last_flush_at, sorted(g2.last_notified), g2.next_flush_at
    (30.0, ['f1:firing'], 330.0)
    """
    if not decision.notify:
        return dataclasses.replace(group, next_flush_at=decision.next_at)
    sent = {
        f"{a.fingerprint}:{s}"
        for a in notification_alerts(group, alerts)
        if (s := _notified_state(a)) is not None
    }
    return dataclasses.replace(
        group, next_flush_at=decision.next_at, last_flush_at=now, last_notified=frozenset(sent)
    )


def build_notification(
    group: GroupState, alerts: Sequence[Alert], now: float, *, external_url: str | None = None
) -> Notification:
    """The notification for a due group, with an id that is a hash of the group key and ``now``.

    Retrying the same flush builds the same id, so receivers can deduplicate.

    Examples
    --------
    >>> g = GroupState("k", "team", "root", 0.0, 30.0, {"alertname": "x"})
    >>> a = Alert("f1", {"alertname": "x"}, AlertState.FIRING, 0.0, 0.0, fired_at=0.0)
    >>> n = build_notification(g, [a], now=30.0)
    >>> n.status, n.receiver, len(n.id), n.id == build_notification(g, [a], now=30.0).id
    ('firing', 'team', 32, True)
    """
    included = notification_alerts(group, alerts)
    status: Literal["firing", "resolved"] = (
        "firing" if any(_notified_state(a) == "firing" for a in included) else "resolved"
    )
    digest = hashlib.sha256(f"{group.receiver}\x00{group.key}\x00{now!r}".encode()).hexdigest()
    return Notification(
        id=digest[:32],
        receiver=group.receiver,
        group_key=group.key,
        group_labels=dict(group.group_labels),
        status=status,
        alerts=included,
        created_at=now,
        external_url=external_url,
    )


# --- muting: silences (by matchers, for a time) and inhibition (by another firing alert) ---


def silencing(labels: Mapping[str, str], silences: Iterable[Silence], now: float) -> Silence | None:
    """The silence that mutes ``labels`` at ``now``, or ``None``.

    A silence is active from ``starts_at`` (inclusive) to ``ends_at``
    (exclusive). When several match, the one that ends last is returned.

    Examples
    --------
    >>> s = Silence("s1", (Matcher.parse("model=scorer"),), starts_at=0.0, ends_at=100.0)
    >>> silencing({"model": "scorer"}, [s], now=99.0).id, silencing({"model": "scorer"}, [s], 100.0)
    ('s1', None)
    """
    hits = [s for s in silences if s.active(now) and s.matches(labels)]
    return max(hits, key=lambda s: (s.ends_at, s.id)) if hits else None


def inhibited(
    labels: Mapping[str, str], firing_alerts: Iterable[Alert], rules: Iterable[InhibitRule]
) -> str | None:
    """Why an alert with ``labels`` is inhibited by a firing alert, or ``None``.

    A rule inhibits the target when the target matches ``target_matchers``, and
    another open, fired alert (firing or acknowledged) matches
    ``source_matchers`` with the same values of the ``equal`` labels (a label
    missing on both sides counts as equal). An alert never inhibits itself.

    Examples
    --------
    >>> rule = InhibitRule(source_matchers=["severity=critical"],
    ...                    target_matchers=["severity=warning"], equal=["model"])
    >>> src = Alert("c1", {"alertname": "down", "severity": "critical", "model": "m"},
    ...             AlertState.FIRING, 0.0, 0.0, fired_at=0.0)
    >>> print(inhibited({"alertname": "drift", "severity": "warning", "model": "m"}, [src], [rule]))
    inhibited by 'down' (c1), rule 0: source severity="critical", equal ['model']
    """
    rules = list(rules)
    sources = [
        a
        for a in firing_alerts
        if a.state in (AlertState.FIRING, AlertState.ACKNOWLEDGED)
        and dict(a.labels) != dict(labels)
    ]
    for i, rule in enumerate(rules):
        targets = [Matcher.parse(m) for m in rule.target_matchers]
        if not all(m.matches(labels) for m in targets):
            continue
        wanted = [Matcher.parse(m) for m in rule.source_matchers]
        for a in sorted(sources, key=lambda a: a.fingerprint):
            if all(m.matches(a.labels) for m in wanted) and all(
                a.labels.get(k, "") == labels.get(k, "") for k in rule.equal
            ):
                name = a.labels.get("alertname", "?")
                return (
                    f"inhibited by {name!r} ({a.fingerprint}), rule {i}: source "
                    f"{', '.join(str(m) for m in wanted)}, equal {list(rule.equal)}"
                )
    return None
