"""Stop requests on training runs: recorded once, read back by every ingest acknowledgement.

A stop request (``POST /api/v1/runs/{run_id}/stop``, or an alert's webhook sent to
``POST /api/v1/actions/stop-runs``) sets ``stop_requested_at``, ``stop_requested_by``
and ``stop_reason`` on the run. A second request keeps the first one (idempotent).
The SDK learns of it from the acknowledgement of its next run batch
(:class:`~driftline.wire.IngestAck` ``stop_requested``), one primary-key
read per batch.

Example
-------
>>> from driftline.store import IngestService, Store
>>> from driftline.wire import RunCreate
>>> store = Store.open("sqlite://")
>>> _ = IngestService(store).ingest(RunCreate(batch_id="b1", project="lab", run_id="r1",
...                                           started_at=0.0))
>>> stops = RunStopService(store, clock=lambda: 100.0)
>>> first = stops.request("r1", reason="the API", by="alice")
>>> first.created, first.requested_at
(True, 100.0)
>>> again = RunStopService(store, clock=lambda: 200.0).request("r1", reason="x", by="bob")
>>> again.created, again.requested_at, again.requested_by
(False, 100.0, 'alice')
>>> store.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from driftline.errors import InputError, NotFoundError
from driftline.store import tables as t
from driftline.store._engine import Store

__all__ = ["MAX_REASON_LENGTH", "RunStopService", "StopRequest", "stop_reason_of"]

MAX_REASON_LENGTH = 1_000
"""Longest stored stop reason, in characters (a longer one is cut, ending in '...')."""
_MAX_BY_LENGTH = t.NAME_LEN


@dataclass(frozen=True, slots=True)
class StopRequest:
    """The stop request of one run, as stored.

    ``created`` is ``False`` when the run already had a request (the first one is kept
    and returned). ``status`` is the run's status when the request was made.
    """

    run_id: str
    project: str
    status: str
    requested_at: float
    requested_by: str
    reason: str
    created: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return asdict(self)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def stop_reason_of(conn: sa.Connection, run_id: str) -> str | None:
    """The stop reason of ``run_id`` when a stop was requested, else ``None`` (one indexed read).

    A request recorded without a reason reads as ``""``.
    """
    row = conn.execute(
        sa.select(t.runs.c.stop_requested_at, t.runs.c.stop_reason).where(t.runs.c.run_id == run_id)
    ).first()
    if row is None or row.stop_requested_at is None:
        return None
    return str(row.stop_reason or "")


class RunStopService:
    """Record stop requests on runs and find the runs an alert names.

    Parameters
    ----------
    store : Store
        The database.
    clock : callable, default :func:`time.time`
        Current epoch seconds (the time a request is recorded).
    """

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def project_of(self, run_id: str) -> str:
        """The project of ``run_id``; :class:`NotFoundError` naming it when there is no such run."""
        with self.store.read() as conn:
            project = conn.execute(
                sa.select(t.projects.c.name)
                .select_from(t.runs.join(t.projects, t.runs.c.project_id == t.projects.c.id))
                .where(t.runs.c.run_id == run_id)
            ).scalar()
        if project is None:
            raise NotFoundError(f"run_id: no run with id {run_id!r}")
        return str(project)

    def request(self, run_id: str, *, reason: str, by: str) -> StopRequest:
        """Record a stop request on ``run_id``; a run that has one keeps the first.

        Raises
        ------
        NotFoundError
            When there is no run ``run_id`` (the message names it).
        InputError
            When ``reason`` or ``by`` is not a string.
        """
        for name, value in (("reason", reason), ("by", by)):
            if not isinstance(value, str):
                raise InputError(f"{name}: expected a string, got {type(value).__name__}")
        now = self.clock()
        r, p = t.runs, t.projects
        with self.store.begin() as conn:
            created = conn.execute(
                r.update()
                .where(r.c.run_id == run_id, r.c.stop_requested_at.is_(None))
                .values(
                    stop_requested_at=now,
                    stop_requested_by=_cut(by, _MAX_BY_LENGTH),
                    stop_reason=_cut(reason, MAX_REASON_LENGTH),
                )
            ).rowcount
            row = conn.execute(
                sa.select(
                    r.c.status,
                    r.c.stop_requested_at,
                    r.c.stop_requested_by,
                    r.c.stop_reason,
                    p.c.name.label("project"),
                )
                .select_from(r.join(p, r.c.project_id == p.c.id))
                .where(r.c.run_id == run_id)
            ).first()
        if row is None:
            raise NotFoundError(f"run_id: no run with id {run_id!r}")
        return StopRequest(
            run_id=run_id,
            project=str(row.project),
            status=str(row.status),
            requested_at=float(row.stop_requested_at),
            requested_by=str(row.stop_requested_by or ""),
            reason=str(row.stop_reason or ""),
            created=bool(created),
        )

    def find_runs(self, run: str, project: str | None = None) -> list[str]:
        """Ids of the runs ``run`` names: the run with that id, else the running runs of that name.

        A name is looked up in ``project`` only (names are not unique across
        projects); without a project, only an id matches. Unknown: ``[]``.

        Example
        -------
        >>> from driftline.store import Store
        >>> store = Store.open("sqlite://")
        >>> RunStopService(store).find_runs("nope", "lab")
        []
        >>> store.close()
        """
        r, p = t.runs, t.projects
        with self.store.read() as conn:
            if conn.execute(sa.select(r.c.run_id).where(r.c.run_id == run)).first() is not None:
                return [run]
            if project is None:
                return []
            rows = conn.execute(
                sa.select(r.c.run_id)
                .select_from(r.join(p, r.c.project_id == p.c.id))
                .where(p.c.name == project, r.c.name == run, r.c.status == "running")
                .order_by(r.c.started_at, r.c.run_id)
            ).scalars()
            return [str(x) for x in rows]
