"""SQL for the outbox and the scheduler lease (SQLAlchemy Core; SQLite and PostgreSQL).

Re-exported by :mod:`driftline.alerts._repo`; see :mod:`driftline.alerts._deliver`
for how the outbox is drained.

Example
-------
>>> from driftline.alerts._model import Notification
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> with store.begin() as conn:
...     note = Notification("n1", "team", "g", {}, "firing", (), created_at=10.0)
...     enqueue_notification(conn, note), enqueue_notification(conn, note)
(True, False)
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from driftline.alerts._model import Notification
from driftline.store import tables as t

__all__ = [
    "acquire_lease",
    "claim_notifications",
    "enqueue_notification",
    "finish_notification",
    "list_notifications",
    "notification_attempts",
    "record_attempt",
    "release_claims",
    "release_lease",
]


def _dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def _upsert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# --- the outbox ---------------------------------------------------------------------------


def enqueue_notification(conn: sa.Connection, notification: Notification) -> bool:
    """Put a notification in the outbox (once per id); ``True`` when it was new."""
    n = t.notifications
    now = notification.created_at
    row = {
        "id": notification.id, "receiver": notification.receiver,
        "group_key": notification.group_key, "payload": notification.to_dict(),
        "status": "pending", "attempts": 0, "next_attempt_at": now,
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    stmt = _upsert(conn, n).values(**row).on_conflict_do_nothing(index_elements=["id"])
    return len(conn.execute(stmt.returning(n.c.id)).all()) == 1


def claim_notifications(
    conn: sa.Connection, owner: str, *, now: float, claim_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Claim due outbox rows for ``owner`` until ``now + claim_seconds``.

    Due: pending with ``next_attempt_at <= now``, or being sent by a claimer
    whose claim expired (it died mid-send: the row is sent again, the one
    possible duplicate). PostgreSQL locks the rows with ``FOR UPDATE SKIP
    LOCKED``, so concurrent claimers take disjoint rows; SQLite serialises
    write transactions. Each claim counts as an attempt.
    """
    n = t.notifications
    due = sa.or_(
        sa.and_(n.c.status == "pending", n.c.next_attempt_at <= now),
        sa.and_(n.c.status == "sending", n.c.claim_expires_at <= now),
    )
    q = sa.select(n.c.id).where(due).order_by(n.c.next_attempt_at, n.c.created_at).limit(limit)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = [r.id for r in conn.execute(q)]
    if not ids:
        return []
    conn.execute(
        n.update()
        .where(n.c.id.in_(ids), due)
        .values(
            status="sending", claimed_by=owner, claim_expires_at=now + claim_seconds,
            attempts=n.c.attempts + 1, updated_at=now,
        )
    )  # fmt: skip
    q2 = sa.select(n).where(n.c.id.in_(ids), n.c.claimed_by == owner, n.c.status == "sending")
    return _dicts(conn.execute(q2.order_by(n.c.next_attempt_at, n.c.created_at)))


def record_attempt(
    conn: sa.Connection,
    notification_id: str,
    *,
    at: float,
    channel: str,
    ok: bool,
    error: str | None = None,
    retryable: bool | None = None,
) -> None:
    """Append one delivery attempt of one channel."""
    conn.execute(
        t.notification_attempts.insert().values(
            notification_id=notification_id, at=at, channel=channel, ok=ok,
            error=error, retryable=retryable,
        )
    )  # fmt: skip


def finish_notification(
    conn: sa.Connection,
    notification_id: str,
    owner: str,
    *,
    status: str,
    now: float,
    next_attempt_at: float | None = None,
    error: str | None = None,
) -> bool:
    """Record the outcome of a claimed send: ``delivered``, ``pending`` (retry) or ``failed``.

    Only the current claimer can finish a row; ``False`` when the claim was
    lost (it expired and another claimer took the row).
    """
    n = t.notifications
    values: dict[str, Any] = {
        "status": status, "updated_at": now, "claimed_by": None,
        "claim_expires_at": None, "last_error": error,
    }  # fmt: skip
    if status == "delivered":
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    stmt = (
        n.update()
        .where(n.c.id == notification_id, n.c.claimed_by == owner, n.c.status == "sending")
        .values(**values)
    )
    return bool(conn.execute(stmt).rowcount)


def list_notifications(
    conn: sa.Connection, *, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Outbox rows, newest first."""
    n = t.notifications
    q = sa.select(n)
    if status is not None:
        q = q.where(n.c.status == status)
    return _dicts(conn.execute(q.order_by(n.c.created_at.desc(), n.c.id).limit(limit)))


def notification_attempts(conn: sa.Connection, notification_id: str) -> list[dict[str, Any]]:
    """The attempts of one notification, oldest first."""
    a = t.notification_attempts
    q = sa.select(a).where(a.c.notification_id == notification_id).order_by(a.c.at, a.c.id)
    return _dicts(conn.execute(q))


# --- the scheduler lease ------------------------------------------------------------------


def acquire_lease(
    conn: sa.Connection, name: str, owner: str, *, now: float, lease_seconds: float
) -> dict[str, Any]:
    """Take or renew lease ``name`` for ``owner``; returns the lease row after the attempt.

    One atomic statement: insert the lease, or take it over when it expired,
    or extend it when ``owner`` holds it already. The caller holds the lease
    when the returned ``owner`` is its own. The fencing token grows by one at
    each change of owner.
    """
    lt = t.scheduler_leases
    stmt = _upsert(conn, lt).values(
        name=name, owner=owner, expires_at=now + lease_seconds, fencing_token=1,
        acquired_at=now, renewed_at=now,
    )  # fmt: skip
    mine = lt.c.owner == owner
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "owner": owner,
            "expires_at": now + lease_seconds,
            "renewed_at": now,
            "fencing_token": sa.case((mine, lt.c.fencing_token), else_=lt.c.fencing_token + 1),
            "acquired_at": sa.case((mine, lt.c.acquired_at), else_=now),
        },
        where=sa.or_(mine, lt.c.expires_at <= now),
    )
    conn.execute(stmt)
    row = conn.execute(sa.select(lt).where(lt.c.name == name)).one()
    return dict(row._mapping)


def release_lease(conn: sa.Connection, name: str, owner: str, *, now: float) -> bool:
    """Give the lease up early (on shutdown) when ``owner`` holds it."""
    lt = t.scheduler_leases
    stmt = lt.update().where(lt.c.name == name, lt.c.owner == owner).values(expires_at=now)
    return bool(conn.execute(stmt).rowcount)


def release_claims(conn: sa.Connection, ids: Sequence[str], owner: str, *, now: float) -> int:
    """Hand claimed rows back unsent (the claim would expire before they are sent)."""
    if not ids:
        return 0
    n = t.notifications
    stmt = (
        n.update()
        .where(n.c.id.in_(list(ids)), n.c.claimed_by == owner, n.c.status == "sending")
        .values(
            status="pending",
            claimed_by=None,
            claim_expires_at=None,
            attempts=n.c.attempts - 1,
            updated_at=now,
        )
    )
    return int(conn.execute(stmt).rowcount)
