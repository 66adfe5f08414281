"""Outbox stage: route the open alerts, mute them, group them, and enqueue due notifications.

After the alerts of a pass have moved, every open alert (and every alert whose
firing a group was told about) is routed (:func:`match_routes`); silenced and
inhibited ones are held back; each group whose flush is due
(:func:`flush_decision`) gets a notification in the outbox table, in the same
transaction as the group's new state, so a flush is enqueued exactly once. The
deliver stage (:mod:`driftline.alerts._deliver`) drains the outbox.

Example
-------
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> dispatch(store, now=1_800_000_000.0)
0
>>> route_preview(store, {"alertname": "x"}, now=0.0).reason
'no routing config and no monitor route: nothing would be sent'
>>> store.close()
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driftline.alerts import _repo as repo
from driftline.alerts._model import Alert, AlertState, Silence
from driftline.alerts._results import RoutePreview
from driftline.alerts._route import (
    FlushDecision,
    GroupState,
    RouteMatch,
    after_flush,
    build_notification,
    flush_decision,
    group_key,
    inhibited,
    match_routes,
    new_group,
    silencing,
)
from driftline.alerts._spec import InhibitRule, RouteSpec
from driftline.alerts._transition import fingerprint
from driftline.store import Store

__all__ = ["RoutingContext", "dispatch", "route_preview"]

log = logging.getLogger("driftline.alerts")


@dataclass(frozen=True)
class RoutingContext:
    """What routing and muting read from the store at ``now``, once per pass.

    ``open`` is a list on purpose: an alert that fires during a pass is added,
    so later monitors of the same pass see it for inhibition.
    """

    route: RouteSpec | None
    rules: tuple[InhibitRule, ...]
    silences: tuple[Silence, ...]
    monitor_routes: Mapping[str, str | None]
    open: list[Alert]
    open_rows: list[dict[str, Any]]
    groups: list[dict[str, Any]]

    @classmethod
    def read(cls, store: Store, now: float) -> RoutingContext:
        """Read the routing config, active silences, open alerts and groups."""
        with store.read() as conn:
            stored = repo.get_config(conn) or {}
            silences = repo.list_silences(conn, active_at=now)
            open_rows = repo.open_alerts(conn)
            monitors = {r["name"]: r["spec"].get("route") for r in repo.list_monitors(conn)}
            groups = repo.list_groups(conn)
        return cls(
            route=RouteSpec.model_validate(stored["route"]) if stored.get("route") else None,
            rules=tuple(InhibitRule.model_validate(r) for r in stored.get("inhibit_rules") or []),
            silences=tuple(silences),
            monitor_routes=monitors,
            open=[Alert.from_dict(r) for r in open_rows],
            open_rows=open_rows,
            groups=groups,
        )

    def muted(self, labels: Mapping[str, str], now: float) -> str | None:
        """Why an alert with ``labels`` is held back (silence or inhibition), or ``None``."""
        s = silencing(labels, self.silences, now)
        if s is not None:
            by = f" by {s.created_by}" if s.created_by else ""
            note = f": {s.comment}" if s.comment else ""
            return f"silenced by {s.id}{by} until {s.ends_at:.0f}{note}"
        return inhibited(labels, self.open, self.rules)

    def routes(self, labels: Mapping[str, str], monitor: str) -> list[RouteMatch]:
        """The routes that take an alert of ``monitor`` with ``labels``."""
        own = self.monitor_routes.get(monitor)
        route = self.route
        if route is None:
            if own is None:
                return []
            route = RouteSpec(receiver=own)
        return match_routes(labels, route, receiver=own)


Members = dict[tuple[str, str], tuple[RouteMatch, dict[str, str], list[Alert]]]
"""``(group key, receiver) -> (route, labels of the first alert, alerts)``."""


def _members(store: Store, ctx: RoutingContext, now: float) -> Members:
    """The unmuted alerts of each group: the open ones and those a group was told about."""
    told = {
        fp.rsplit(":", 1)[0]
        for g in ctx.groups
        for fp in g["state"].get("group", {}).get("last_notified", ())
    }
    with store.read() as conn:
        rows = {r["fingerprint"]: r for r in ctx.open_rows}
        for r in repo.alerts_by_fingerprint(conn, sorted(told - set(rows))):
            rows[r["fingerprint"]] = r
    members: Members = {}
    for r in rows.values():
        alert = Alert.from_dict(r)
        if ctx.muted(alert.labels, now) is not None:
            continue
        for match in ctx.routes(alert.labels, r["monitor"]):
            key, _ = group_key(match, alert.labels)
            slot = members.setdefault((key, match.receiver), (match, dict(alert.labels), []))
            slot[2].append(alert)
    return members


def _stored_match(row: Mapping[str, Any]) -> RouteMatch:
    route = row["state"]["route"]
    return RouteMatch(**{**route, "group_by": tuple(route["group_by"]),
                         "matchers": tuple(route["matchers"])})  # fmt: skip


def dispatch(store: Store, now: float, *, external_url: str | None = None) -> int:
    """Flush the due groups into the outbox; returns how many notifications were enqueued."""
    ctx = RoutingContext.read(store, now)
    stored = {(g["group_key"], g["receiver"]): g for g in ctx.groups}
    members = _members(store, ctx, now)
    sent = 0
    for gk in sorted(set(members) | set(stored)):
        row = stored.get(gk)
        if gk in members:
            match, labels, alerts = members[gk]
        elif row is not None:
            match, labels, alerts = _stored_match(row), {}, []
        else:  # pragma: no cover - the union only holds keys of either
            continue
        if row is not None:
            if now < float(row["next_flush_at"] or 0.0):
                continue
            group = GroupState.from_dict(row["state"]["group"])
        elif any(a.state in (AlertState.FIRING, AlertState.ACKNOWLEDGED) for a in alerts):
            group = new_group(match, labels, now)
        else:
            continue  # only pending alerts: the group does not exist yet
        decision = flush_decision(group, alerts, match, now)
        sent += _flush(store, group, decision, alerts, match, now, external_url)
    return sent


def _flush(
    store: Store,
    group: GroupState,
    decision: FlushDecision,
    alerts: list[Alert],
    match: RouteMatch,
    now: float,
    external_url: str | None,
) -> int:
    new = after_flush(group, decision, alerts, now)
    state = {"group": new.to_dict(), "route": dataclasses.asdict(match),
             "last_decision": decision.reason, "decided_at": now}  # fmt: skip
    enqueued = 0
    with store.begin() as conn:
        if decision.notify:
            note = build_notification(group, alerts, now, external_url=external_url)
            enqueued = int(repo.enqueue_notification(conn, note))
        if decision.drop_group:
            repo.delete_group(conn, group.key, group.receiver)
        else:
            repo.save_group(conn, group.key, group.receiver, state=state,
                            next_flush_at=new.next_flush_at, now=now)  # fmt: skip
    if decision.notify:
        log.info("group %s -> %s: %s", group.key, group.receiver, decision.reason)
    return enqueued


def route_preview(store: Store, labels: Mapping[str, str], now: float) -> RoutePreview:
    """Where an alert with ``labels`` would go now (``AlertService.test_route``); sends nothing."""
    ctx = RoutingContext.read(store, now)
    labels = dict(labels)
    matches = ctx.routes(labels, labels.get("alertname", ""))
    receivers = tuple(sorted({m.receiver for m in matches}))
    routes = tuple({**dataclasses.asdict(m), "group_key": group_key(m, labels)[0]} for m in matches)
    reason = (
        f"routed to {', '.join(receivers)}"
        if matches
        else "no routing config and no monitor route: nothing would be sent"
    )
    return RoutePreview(
        labels=labels,
        fingerprint=fingerprint(labels),
        routes=routes,
        receivers=receivers,
        silenced_by=silencing(labels, ctx.silences, now),
        inhibited=inhibited(labels, ctx.open, ctx.rules),
        reason=reason,
    )
