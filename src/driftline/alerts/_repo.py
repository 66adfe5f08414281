"""SQL for the alerting tables (SQLAlchemy Core; SQLite and PostgreSQL).

The outbox and lease statements live in :mod:`driftline.alerts._repo_outbox`
and are re-exported here.

Every function takes an open connection, so the caller decides the
transaction: the alert service evaluates one monitor, stores its result, moves
its alert and fills the outbox in one transaction. Rows come back as plain
dicts.

Example
-------
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> with store.begin() as conn:
...     acquire_lease(conn, "scheduler", "a", now=100.0, lease_seconds=15.0)["owner"]
'a'
>>> with store.begin() as conn:
...     acquire_lease(conn, "scheduler", "b", now=101.0, lease_seconds=15.0)["owner"]
'a'
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from driftline.alerts._model import Alert, Evaluation, Silence
from driftline.alerts._repo_outbox import (
    acquire_lease,
    claim_notifications,
    enqueue_notification,
    finish_notification,
    list_notifications,
    notification_attempts,
    record_attempt,
    release_claims,
    release_lease,
)
from driftline.store import tables as t

__all__ = [
    "acquire_lease",
    "add_alert_event",
    "alert_counts",
    "alert_events",
    "alert_from_row",
    "alerts_by_fingerprint",
    "claim_notifications",
    "count_on_ingest",
    "delete_group",
    "delete_monitor",
    "due_groups",
    "due_monitors",
    "enqueue_notification",
    "finish_notification",
    "get_alert",
    "get_config",
    "get_group",
    "get_monitor",
    "insert_result",
    "list_alerts",
    "list_groups",
    "list_monitors",
    "list_notifications",
    "list_silences",
    "mark_dirty",
    "monitor_results",
    "notification_attempts",
    "open_alert_of",
    "open_alerts",
    "put_config",
    "record_attempt",
    "release_claims",
    "release_lease",
    "save_alert",
    "save_group",
    "save_monitor",
    "save_silence",
    "set_monitor_schedule",
]


def _dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def _upsert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# --- monitors -----------------------------------------------------------------------------


def get_monitor(conn: sa.Connection, name: str) -> dict[str, Any] | None:
    """The monitor row named ``name``, or ``None``."""
    row = conn.execute(sa.select(t.monitors).where(t.monitors.c.name == name)).first()
    return None if row is None else dict(row._mapping)


def list_monitors(
    conn: sa.Connection, project: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    """Monitor rows, by name; optionally of one project and model."""
    m = t.monitors
    q = sa.select(m).order_by(m.c.name)
    if project is not None:
        q = q.where(m.c.project == project)
    if model is not None:
        q = q.where(m.c.model == model)
    return _dicts(conn.execute(q))


def save_monitor(conn: sa.Connection, values: Mapping[str, Any], now: float) -> str:
    """Insert or update a monitor by name; ``'created'``, ``'updated'`` or ``'unchanged'``.

    ``values`` holds ``name, project, model, spec, spec_hash, enabled, source,
    on_ingest, next_due_at``. An update of the spec keeps the monitor's id (its
    results and alerts) and its evaluation state.
    """
    m = t.monitors
    old = get_monitor(conn, values["name"])
    if old is None:
        conn.execute(
            m.insert().values(
                **values, created_at=now, updated_at=now, dirty=bool(values["on_ingest"])
            )
        )
        return "created"
    keys = ("spec_hash", "enabled", "source", "project", "model")
    if all(old[k] == values[k] for k in keys):
        return "unchanged"
    changes = {k: v for k, v in values.items() if k != "next_due_at"}
    if old["spec_hash"] != values["spec_hash"]:
        changes["next_due_at"] = values["next_due_at"]
    conn.execute(m.update().where(m.c.id == old["id"]).values(**changes, updated_at=now))
    return "updated"


def delete_monitor(conn: sa.Connection, name: str) -> bool:
    """Delete a monitor and its results (its alerts stay, without monitor id)."""
    return bool(conn.execute(t.monitors.delete().where(t.monitors.c.name == name)).rowcount)


def due_monitors(conn: sa.Connection, now: float) -> list[dict[str, Any]]:
    """Enabled monitors whose time has come or that ingest marked dirty, most overdue first."""
    m = t.monitors
    q = (
        sa.select(m)
        .where(m.c.enabled.is_(True), sa.or_(m.c.next_due_at <= now, m.c.dirty.is_(True)))
        .order_by(sa.func.coalesce(m.c.next_due_at, 0.0), m.c.id)
    )
    return _dicts(conn.execute(q))


def mark_dirty(conn: sa.Connection, project: str, model: str) -> int:
    """Flag the ``on_ingest`` monitors of a model for evaluation; returns how many."""
    m = t.monitors
    where = [m.c.project == project, m.c.model == model, m.c.on_ingest.is_(True)]
    where.append(m.c.dirty.is_(False))
    return int(conn.execute(m.update().where(*where).values(dirty=True)).rowcount)


def count_on_ingest(conn: sa.Connection, project: str, model: str) -> int:
    """How many enabled ``on_ingest`` monitors a model has."""
    m = t.monitors
    where = [m.c.project == project, m.c.model == model, m.c.on_ingest.is_(True), m.c.enabled]
    return int(conn.execute(sa.select(sa.func.count()).select_from(m).where(*where)).scalar_one())


def set_monitor_schedule(
    conn: sa.Connection,
    monitor_id: int,
    *,
    evaluated_at: float | None,
    window_end: float | None,
    next_due_at: float | None,
) -> None:
    """Record an evaluation: clears ``dirty``, sets the next due time and the last window."""
    values: dict[str, Any] = {"dirty": False, "next_due_at": next_due_at}
    if evaluated_at is not None:
        values["last_evaluated_at"] = evaluated_at
    if window_end is not None:
        values["last_window_end"] = window_end
    conn.execute(t.monitors.update().where(t.monitors.c.id == monitor_id).values(**values))


# --- results ------------------------------------------------------------------------------


def insert_result(conn: sa.Connection, monitor_id: int, ev: Evaluation) -> None:
    """Append one evaluation to the monitor's result series."""
    conn.execute(
        t.monitor_results.insert().values(
            monitor_id=monitor_id, at=ev.at, window_start=ev.window_start,
            window_end=ev.window_end, value=ev.value, threshold=ev.threshold,
            firing=ev.firing, p_value=ev.p_value, n=int(ev.n), reason=ev.reason,
        )
    )  # fmt: skip


def monitor_results(
    conn: sa.Connection,
    monitor_id: int,
    start: float | None = None,
    end: float | None = None,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Results of a monitor with ``start <= at < end``, oldest first (the newest ``limit``)."""
    r = t.monitor_results
    q = sa.select(r).where(r.c.monitor_id == monitor_id)
    if start is not None:
        q = q.where(r.c.at >= start)
    if end is not None:
        q = q.where(r.c.at < end)
    rows = _dicts(conn.execute(q.order_by(r.c.at.desc(), r.c.id.desc()).limit(limit)))
    rows.reverse()
    return rows


# --- alerts -------------------------------------------------------------------------------


def get_alert(conn: sa.Connection, fingerprint: str) -> dict[str, Any] | None:
    """The alert row with ``fingerprint``, or ``None``."""
    row = conn.execute(sa.select(t.alerts).where(t.alerts.c.fingerprint == fingerprint)).first()
    return None if row is None else dict(row._mapping)


def save_alert(conn: sa.Connection, alert: Alert, *, monitor_id: int | None, monitor: str) -> int:
    """Insert or overwrite the alert with ``alert.fingerprint``; returns its row id."""
    a = t.alerts
    labels = dict(alert.labels)
    values = {
        "monitor_id": monitor_id, "monitor": monitor,
        "project": labels.get("project", ""), "model": labels.get("model", ""),
        "severity": labels.get("severity", ""), "labels": labels,
        "annotations": dict(alert.annotations), "state": alert.state.value,
        "started_at": alert.started_at, "fired_at": alert.fired_at,
        "acknowledged_at": alert.acknowledged_at, "acknowledged_by": alert.acknowledged_by,
        "resolved_at": alert.resolved_at, "updated_at": alert.updated_at,
        "value": alert.value, "reason": alert.reason,
    }  # fmt: skip
    old = conn.execute(sa.select(a.c.id).where(a.c.fingerprint == alert.fingerprint)).scalar()
    if old is not None:
        conn.execute(a.update().where(a.c.id == old).values(**values))
        return int(old)
    res = conn.execute(a.insert().values(fingerprint=alert.fingerprint, **values))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def alert_from_row(row: Mapping[str, Any]) -> Alert:
    """The :class:`Alert` a row holds."""
    return Alert.from_dict(row)


def add_alert_event(
    conn: sa.Connection,
    alert_id: int,
    *,
    at: float,
    event: str,
    from_state: str | None,
    to_state: str,
    reason: str,
    value: float | None = None,
) -> None:
    """Append one entry to an alert's history."""
    conn.execute(
        t.alert_events.insert().values(
            alert_id=alert_id, at=at, event=event, from_state=from_state,
            to_state=to_state, reason=reason, value=value,
        )
    )  # fmt: skip


def alert_events(conn: sa.Connection, alert_id: int) -> list[dict[str, Any]]:
    """An alert's history, oldest first."""
    e = t.alert_events
    q = sa.select(e).where(e.c.alert_id == alert_id).order_by(e.c.at, e.c.id)
    return _dicts(conn.execute(q))


def list_alerts(
    conn: sa.Connection,
    *,
    project: str | None = None,
    model: str | None = None,
    state: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alert rows, most recently updated first."""
    a = t.alerts
    q = sa.select(a)
    if project is not None:
        q = q.where(a.c.project == project)
    if model is not None:
        q = q.where(a.c.model == model)
    if state is not None:
        q = q.where(a.c.state == state)
    return _dicts(conn.execute(q.order_by(a.c.updated_at.desc(), a.c.id.desc()).limit(limit)))


def open_alerts(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every alert that is not resolved."""
    return _dicts(conn.execute(sa.select(t.alerts).where(t.alerts.c.state != "resolved")))


def alert_counts(conn: sa.Connection) -> list[dict[str, Any]]:
    """Alerts counted by project, model, severity and state."""
    a = t.alerts
    keys = (a.c.project, a.c.model, a.c.severity, a.c.state)
    q = sa.select(*keys, sa.func.count().label("count")).group_by(*keys).order_by(*keys)
    return _dicts(conn.execute(q))


# --- silences -----------------------------------------------------------------------------


def save_silence(conn: sa.Connection, silence: Silence, *, source: str, now: float) -> bool:
    """Insert a silence, or update the one with its id; ``True`` when it was new."""
    s = t.silences
    values = {
        "matchers": [str(m) for m in silence.matchers], "starts_at": silence.starts_at,
        "ends_at": silence.ends_at, "created_by": silence.created_by,
        "comment": silence.comment, "source": source, "updated_at": now,
    }  # fmt: skip
    found = conn.execute(sa.select(s.c.id).where(s.c.id == silence.id)).scalar()
    if found is None:
        conn.execute(s.insert().values(id=silence.id, created_at=now, **values))
        return True
    conn.execute(s.update().where(s.c.id == silence.id).values(**values))
    return False


def list_silences(conn: sa.Connection, *, active_at: float | None = None) -> list[Silence]:
    """Silences by start time; only those in force at ``active_at`` when given."""
    s = t.silences
    q = sa.select(s).order_by(s.c.starts_at, s.c.id)
    if active_at is not None:
        q = q.where(s.c.starts_at <= active_at, s.c.ends_at > active_at)
    return [Silence.from_dict(r) for r in _dicts(conn.execute(q))]


# --- routing config and groups ------------------------------------------------------------


def get_config(conn: sa.Connection) -> dict[str, Any] | None:
    """The stored routing config row, or ``None`` before the first apply."""
    row = conn.execute(sa.select(t.alerting_config).where(t.alerting_config.c.id == 1)).first()
    return None if row is None else dict(row._mapping)


def put_config(
    conn: sa.Connection,
    *,
    route: Any,
    receivers: Sequence[Any],
    inhibit_rules: Sequence[Any],
    source: str,
    now: float,
) -> int:
    """Store the routing config; the revision grows when it changed. Returns the revision."""
    c = t.alerting_config
    values = {"route": route, "receivers": list(receivers), "inhibit_rules": list(inhibit_rules)}
    old = get_config(conn)
    if old is None:
        conn.execute(c.insert().values(id=1, revision=1, source=source, updated_at=now, **values))
        return 1
    if all(old[k] == v for k, v in values.items()):
        return int(old["revision"])
    revision = int(old["revision"]) + 1
    conn.execute(
        c.update()
        .where(c.c.id == 1)
        .values(revision=revision, source=source, updated_at=now, **values)
    )
    return revision


def get_group(conn: sa.Connection, group_key: str, receiver: str) -> dict[str, Any] | None:
    """The stored state of one alert group at one receiver, or ``None``."""
    g = t.alert_groups
    q = sa.select(g).where(g.c.group_key == group_key, g.c.receiver == receiver)
    row = conn.execute(q).first()
    return None if row is None else dict(row._mapping)


def save_group(
    conn: sa.Connection,
    group_key: str,
    receiver: str,
    *,
    state: Mapping[str, Any],
    next_flush_at: float | None,
    now: float,
) -> None:
    """Insert or update a group's state."""
    g = t.alert_groups
    values = {"state": dict(state), "next_flush_at": next_flush_at, "updated_at": now}
    stmt = _upsert(conn, g).values(group_key=group_key, receiver=receiver, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["group_key", "receiver"], set_=values)
    conn.execute(stmt)


def due_groups(conn: sa.Connection, now: float) -> list[dict[str, Any]]:
    """Groups whose next flush time has come."""
    g = t.alert_groups
    q = sa.select(g).where(g.c.next_flush_at <= now).order_by(g.c.next_flush_at, g.c.id)
    return _dicts(conn.execute(q))


def delete_group(conn: sa.Connection, group_key: str, receiver: str) -> None:
    """Forget a group (nothing open and nothing left to tell)."""
    g = t.alert_groups
    conn.execute(g.delete().where(g.c.group_key == group_key, g.c.receiver == receiver))


def list_groups(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every stored group."""
    g = t.alert_groups
    return _dicts(conn.execute(sa.select(g).order_by(g.c.id)))


def alerts_by_fingerprint(conn: sa.Connection, fingerprints: Sequence[str]) -> list[dict[str, Any]]:
    """The alert rows with these fingerprints."""
    if not fingerprints:
        return []
    a = t.alerts
    return _dicts(conn.execute(sa.select(a).where(a.c.fingerprint.in_(list(fingerprints)))))


def open_alert_of(conn: sa.Connection, monitor_id: int) -> dict[str, Any] | None:
    """The newest open alert of a monitor, or ``None``."""
    a = t.alerts
    q = (
        sa.select(a)
        .where(a.c.monitor_id == monitor_id, a.c.state != "resolved")
        .order_by(a.c.updated_at.desc(), a.c.id.desc())
        .limit(1)
    )
    row = conn.execute(q).first()
    return None if row is None else dict(row._mapping)


def latest_results(conn: sa.Connection, monitor_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The newest result of each monitor in ``monitor_ids``, by monitor id (one query)."""
    if not monitor_ids:
        return {}
    r = t.monitor_results
    newest = (
        sa.select(
            r.c.id,
            sa.func.row_number()
            .over(partition_by=r.c.monitor_id, order_by=(r.c.at.desc(), r.c.id.desc()))
            .label("rank"),
        )
        .where(r.c.monitor_id.in_(monitor_ids))
        .subquery()
    )
    q = sa.select(r).join(newest, newest.c.id == r.c.id).where(newest.c.rank == 1)
    return {int(row["monitor_id"]): row for row in _dicts(conn.execute(q))}


def open_alerts_of(conn: sa.Connection, monitor_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The newest open alert of each monitor in ``monitor_ids``, by monitor id (one query)."""
    if not monitor_ids:
        return {}
    a = t.alerts
    q = (
        sa.select(a)
        .where(a.c.monitor_id.in_(monitor_ids), a.c.state != "resolved")
        .order_by(a.c.monitor_id, a.c.updated_at, a.c.id)
    )
    out: dict[int, dict[str, Any]] = {}
    for row in conn.execute(q):
        out[int(row.monitor_id)] = dict(row._mapping)  # the newest comes last and wins
    return out
