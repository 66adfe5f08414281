"""The alert book: alerts with their history, acknowledgements, silences, the outbox's log.

:class:`AlertBook` answers the questions of the API, the CLI and the dashboard
(which alerts are open and why, what was sent and what failed) and records what
people do (acknowledge, resolve by hand, silence). It is part of
:class:`~driftline.alerts.AlertService` (``service.book``).

Example
-------
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> book = AlertBook(store, clock=lambda: 1_800_000_000.0)
>>> book.list_alerts(), book.list_silences()
([], [])
>>> s = book.create_silence(['project="shop"'], ends_at=1_800_003_600.0, created_by="ana")
>>> [str(m) for m in s.matchers], book.list_silences(active_only=True) == [s]
(['project="shop"'], True)
>>> store.close()
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from driftline.alerts import _repo as repo
from driftline.alerts._duration import checked_now
from driftline.alerts._model import Alert, AlertState, Matcher, Silence
from driftline.alerts._monitors import monitor_info
from driftline.alerts._outbox import route_preview
from driftline.alerts._results import (
    AlertCount,
    AlertDetail,
    AlertEvent,
    AlertInfo,
    MonitorResult,
    NotificationAttempt,
    NotificationInfo,
    RoutePreview,
)
from driftline.alerts._transition import acknowledge, resolve_manually
from driftline.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from driftline.store import Store

__all__ = ["EVIDENCE_WINDOWS", "NOTIFICATION_STATUSES", "AlertBook"]

log = logging.getLogger("driftline.alerts")

EVIDENCE_WINDOWS = 24
"""Windows of results shown before and after an alert started, as its evidence."""
NOTIFICATION_STATUSES = ("pending", "sending", "delivered", "failed")
"""The statuses of an outbox row."""


class AlertBook:
    """Alerts, silences and notifications, kept in the store.

    Parameters
    ----------
    store : Store
    clock : callable, default time.time
        Epoch seconds.
    """

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    # -- alerts --------------------------------------------------------------------------------

    def list_alerts(
        self,
        project: str | None = None,
        model: str | None = None,
        state: str | None = None,
        limit: int = 500,
    ) -> list[AlertInfo]:
        """Alerts, most recently updated first; filter by project, model and state."""
        if state is not None:
            try:
                AlertState(state)
            except ValueError:
                states = ", ".join(s.value for s in AlertState)
                raise InputError(f"state: expected one of {states}, got {state!r}") from None
        with self.store.read() as conn:
            rows = repo.list_alerts(conn, project=project, model=model, state=state, limit=limit)
        return [AlertInfo.from_row(r) for r in rows]

    def get_alert(self, fingerprint: str) -> AlertDetail:
        """One alert with its history (events with reasons), its monitor and evidence.

        ``evidence`` is the monitor's result series around the alert: up to
        :data:`EVIDENCE_WINDOWS` results before it started and everything since.
        """
        with self.store.read() as conn:
            row = repo.get_alert(conn, fingerprint)
            if row is None:
                raise NotFoundError(f"fingerprint: no alert with fingerprint {fingerprint!r}")
            events = repo.alert_events(conn, row["id"])
            monitor = None
            evidence: list[dict[str, object]] = []
            if row["monitor_id"] is not None:
                m = repo.get_monitor(conn, row["monitor"])
                monitor = None if m is None else monitor_info(conn, m)
                evidence = repo.monitor_results(
                    conn, row["monitor_id"], end=row["started_at"], limit=EVIDENCE_WINDOWS
                ) + repo.monitor_results(conn, row["monitor_id"], start=row["started_at"])
        return AlertDetail(
            alert=Alert.from_dict(row),
            monitor=row["monitor"],
            events=tuple(AlertEvent.from_row(e) for e in events),
            monitor_state=monitor,
            evidence=tuple(MonitorResult.from_row(r) for r in evidence),
        )

    def _manual(self, fingerprint: str, by: str, action: str) -> AlertDetail:
        if not by or not by.strip():
            raise InputError(f"by: expected who {action} the alert, got {by!r}")
        now = checked_now(self.clock)
        with self.store.begin() as conn:
            row = repo.get_alert(conn, fingerprint)
            if row is None:
                raise NotFoundError(f"fingerprint: no alert with fingerprint {fingerprint!r}")
            alert = Alert.from_dict(row)
            now = max(now, alert.updated_at)
            decide = acknowledge if action == "acknowledged" else resolve_manually
            tr = decide(alert, by=by, now=now)
            if tr.changed and tr.alert is not None:
                repo.save_alert(
                    conn, tr.alert, monitor_id=row["monitor_id"], monitor=row["monitor"]
                )
                repo.add_alert_event(
                    conn, row["id"], at=now, event=tr.event or action,
                    from_state=alert.state.value, to_state=tr.alert.state.value,
                    reason=tr.reason, value=tr.alert.value,
                )  # fmt: skip
        log.info("alert %s %s by %s: %s", fingerprint, action, by, tr.reason)
        return self.get_alert(fingerprint)

    def acknowledge(self, fingerprint: str, by: str) -> AlertDetail:
        """Acknowledge an open alert (repeats stop; it stays open until it resolves)."""
        return self._manual(fingerprint, by, "acknowledged")

    def resolve(self, fingerprint: str, by: str) -> AlertDetail:
        """Resolve an alert by hand (it opens again if its monitor fires again)."""
        return self._manual(fingerprint, by, "resolved")

    def alert_counts(self) -> list[AlertCount]:
        """Alerts counted by project, model, severity and state (for ``driftline_alerts``)."""
        with self.store.read() as conn:
            return [AlertCount.from_row(r) for r in repo.alert_counts(conn)]

    # -- silences ------------------------------------------------------------------------------

    def create_silence(
        self,
        matchers: Sequence[Matcher | str],
        ends_at: float,
        *,
        starts_at: float | None = None,
        created_by: str = "",
        comment: str = "",
    ) -> Silence:
        """Mute the alerts matching every matcher from ``starts_at`` (default now) to ``ends_at``."""
        parsed = tuple(m if isinstance(m, Matcher) else Matcher.parse(m) for m in matchers)
        if not parsed:
            raise InputError("matchers: expected at least one matcher, got none")
        now = checked_now(self.clock)
        start = now if starts_at is None else float(starts_at)
        if not float(ends_at) > start:
            raise InputError(f"ends_at: expected a time after starts_at ({start}), got {ends_at!r}")
        silence = Silence(
            id=uuid.uuid4().hex, matchers=parsed, starts_at=start, ends_at=float(ends_at),
            created_by=created_by, comment=comment,
        )  # fmt: skip
        with self.store.begin() as conn:
            repo.save_silence(conn, silence, source="api", now=now)
        return silence

    def list_silences(self, active_only: bool = False) -> list[Silence]:
        """Every silence, or only those in force now."""
        with self.store.read() as conn:
            return repo.list_silences(
                conn, active_at=checked_now(self.clock) if active_only else None
            )

    def expire_silence(self, id: str) -> Silence:
        """End a silence now; :class:`NotFoundError` when there is none with ``id``."""
        now = checked_now(self.clock)
        with self.store.begin() as conn:
            found = [s for s in repo.list_silences(conn) if s.id == id]
            if not found:
                raise NotFoundError(f"id: no silence with id {id!r}")
            s = found[0]
            ended = Silence(
                id=s.id, matchers=s.matchers, starts_at=min(s.starts_at, now),
                ends_at=min(s.ends_at, now), created_by=s.created_by, comment=s.comment,
            )  # fmt: skip
            repo.save_silence(conn, ended, source="api", now=now)
        return ended

    # -- outbox --------------------------------------------------------------------------------

    def list_notifications(
        self, status: str | None = None, limit: int = 200
    ) -> list[NotificationInfo]:
        """Outbox rows, newest first, each with its attempts (``status``: pending,
        sending, delivered or failed)."""
        if status is not None and status not in NOTIFICATION_STATUSES:
            raise InputError(
                f"status: expected one of pending, sending, delivered, failed, got {status!r}"
            )
        with self.store.read() as conn:
            rows = repo.list_notifications(conn, status=status, limit=limit)
            return [
                NotificationInfo.from_row(
                    r,
                    tuple(
                        NotificationAttempt.from_row(a)
                        for a in repo.notification_attempts(conn, r["id"])
                    ),
                )
                for r in rows
            ]

    def test_route(self, labels: Mapping[str, str]) -> RoutePreview:
        """Where an alert with ``labels`` would go: receivers, group keys, silences, inhibition."""
        return route_preview(self.store, labels, checked_now(self.clock))
