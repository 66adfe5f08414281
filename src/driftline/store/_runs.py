"""Writes of training runs: creation, metric points, status updates, detector events.

A run is created by :class:`RunCreate`; a metrics, update or events batch for
a run not seen yet creates it implicitly (batches can arrive out of order when
the SDK replays its spool), named after its id.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from driftline.errors import InputError
from driftline.store import tables as t
from driftline.store._sql import ensure_project, insert_ignore
from driftline.wire import RunCreate, RunEventsBatch, RunMetricsBatch, RunUpdate

__all__ = ["ingest_run_payload"]


def _ensure_run(
    conn: sa.Connection,
    project: str,
    run_id: str,
    now: float,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    started_at: float | None = None,
) -> None:
    project_id = ensure_project(conn, project, now)
    insert_ignore(
        conn,
        t.runs,
        [
            {
                "run_id": run_id,
                "project_id": project_id,
                "name": name or run_id,
                "status": "running",
                "config": config or {},
                "tags": tags or [],
                "summary": {},
                "started_at": started_at if started_at is not None else now,
                "ended_at": None,
                "updated_at": now,
            }
        ],
        index=["run_id"],
    )
    owner = conn.execute(
        sa.select(t.projects.c.name)
        .select_from(t.runs.join(t.projects, t.runs.c.project_id == t.projects.c.id))
        .where(t.runs.c.run_id == run_id)
    ).scalar_one()
    if owner != project:
        raise InputError(
            f"project: run {run_id!r} belongs to project {owner!r}, got a batch for {project!r}"
        )


def ingest_run_payload(
    conn: sa.Connection,
    payload: RunCreate | RunMetricsBatch | RunUpdate | RunEventsBatch,
    now: float,
) -> int:
    """Store one run payload inside the caller's transaction; return the items stored."""
    if isinstance(payload, RunCreate):
        _ensure_run(
            conn,
            payload.project,
            payload.run_id,
            now,
            name=payload.name,
            config=payload.config,
            tags=list(payload.tags),
            started_at=payload.started_at,
        )
        # A create that follows implicit creation by an early batch fills in the details.
        values: dict[str, Any] = {
            "config": payload.config,
            "tags": list(payload.tags),
            "started_at": payload.started_at,
            "updated_at": now,
        }
        if payload.name:
            values["name"] = payload.name
        conn.execute(t.runs.update().where(t.runs.c.run_id == payload.run_id).values(values))
        return 1
    if isinstance(payload, RunMetricsBatch):
        if not payload.points:
            return 0
        start = min(p.timestamp for p in payload.points)
        _ensure_run(conn, payload.project, payload.run_id, now, started_at=start)
        rows = [
            {
                "run_id": payload.run_id,
                "key": p.key,
                "step": p.step,
                "value": p.value if not math.isnan(p.value) else None,
                "time": p.timestamp,
            }
            for p in payload.points
        ]
        conn.execute(t.run_metrics.insert(), rows)
        return len(rows)
    if isinstance(payload, RunUpdate):
        _ensure_run(conn, payload.project, payload.run_id, now)
        current = conn.execute(
            sa.select(t.runs.c.summary).where(t.runs.c.run_id == payload.run_id).with_for_update()
        ).scalar_one()
        summary = {**(current or {}), **payload.summary}
        conn.execute(
            t.runs.update()
            .where(t.runs.c.run_id == payload.run_id)
            .values(
                status=payload.status,
                summary=summary,
                ended_at=payload.ended_at,
                updated_at=now,
            )
        )
        return 1
    if not payload.events:
        return 0
    _ensure_run(conn, payload.project, payload.run_id, now)
    event_rows: list[dict[str, Any]] = [
        {
            "run_id": payload.run_id,
            "kind": e.kind,
            "step": e.step,
            "message": e.message,
            "evidence": e.evidence,
            "time": e.timestamp,
        }
        for e in payload.events
    ]
    conn.execute(t.run_events.insert(), event_rows)
    return len(event_rows)
