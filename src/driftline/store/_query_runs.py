"""Run queries of the query service: runs of a project, one run, a metric by step."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.errors import NotFoundError
from driftline.store import tables as t
from driftline.store._downsample import minmax_downsample
from driftline.store._engine import Store

__all__ = ["RunQueries"]


class RunQueries:
    """The run half of :class:`~driftline.store.QueryService` (a mixin; needs ``store``)."""

    store: Store

    @staticmethod
    def _project_id(conn: sa.Connection, project: str) -> int:
        pid = conn.execute(sa.select(t.projects.c.id).where(t.projects.c.name == project)).scalar()
        if pid is None:
            raise NotFoundError(f"project: no project named {project!r}")
        return int(pid)

    @staticmethod
    def _run_dict(r: Any, project: str) -> dict[str, Any]:
        return {
            "run_id": r.run_id,
            "project": project,
            "name": r.name,
            "status": r.status,
            "config": r.config,
            "tags": r.tags,
            "summary": r.summary,
            "started_at": r.started_at,
            "ended_at": r.ended_at,
            "updated_at": r.updated_at,
            "stop_requested_at": r.stop_requested_at,
            "stop_requested_by": r.stop_requested_by,
            "stop_reason": r.stop_reason,
        }

    def list_runs(self, project: str) -> list[dict[str, Any]]:
        """The runs of a project, newest first; :class:`NotFoundError` for an unknown project."""
        with self.store.read() as conn:
            pid = self._project_id(conn, project)
            rows = conn.execute(
                sa.select(t.runs)
                .where(t.runs.c.project_id == pid)
                .order_by(t.runs.c.started_at.desc(), t.runs.c.run_id)
            ).all()
        return [self._run_dict(r, project) for r in rows]

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run with its metric keys (``metrics``) and detector events (``events``)."""
        r_, p = t.runs, t.projects
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(r_, p.c.name.label("project_name"))
                .select_from(r_.join(p, r_.c.project_id == p.c.id))
                .where(r_.c.run_id == run_id)
            ).first()
            if row is None:
                raise NotFoundError(f"run_id: no run with id {run_id!r}")
            rm = t.run_metrics
            keys = conn.execute(
                sa.select(rm.c.key, sa.func.count(), sa.func.max(rm.c.step))
                .where(rm.c.run_id == run_id)
                .group_by(rm.c.key)
                .order_by(rm.c.key)
            ).all()
            re = t.run_events
            events = conn.execute(
                sa.select(re.c.kind, re.c.step, re.c.message, re.c.evidence, re.c.time)
                .where(re.c.run_id == run_id)
                .order_by(re.c.time, re.c.id)
            ).all()
        out = self._run_dict(row, row.project_name)
        out["metrics"] = [{"key": k, "n_points": n, "last_step": s} for k, n, s in keys]
        out["events"] = [
            {"kind": e.kind, "step": e.step, "message": e.message, "evidence": e.evidence,
             "timestamp": e.time}
            for e in events
        ]  # fmt: skip
        return out

    def run_metric_series(self, run_id: str, key: str, max_points: int = 1000) -> dict[str, Any]:
        """One metric of a run by step, downsampled to ``max_points`` keeping spikes.

        Returns ``{"run_id", "key", "steps", "values", "n_total", "downsampled"}``;
        NaN values come back as ``None``.
        """
        rm = t.run_metrics
        with self.store.read() as conn:
            exists = conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id))
            if exists.first() is None:
                raise NotFoundError(f"run_id: no run with id {run_id!r}")
            rows = conn.execute(
                sa.select(rm.c.step, rm.c.value)
                .where(rm.c.run_id == run_id, rm.c.key == key)
                .order_by(rm.c.step, rm.c.id)
            ).all()
        if not rows:
            raise NotFoundError(f"key: run {run_id!r} has no metric {key!r}")
        steps = np.fromiter((r.step for r in rows), dtype=np.int64, count=len(rows))
        values = np.fromiter(
            (math.nan if r.value is None else r.value for r in rows),
            dtype=np.float64,
            count=len(rows),
        )
        ks, kv = minmax_downsample(steps, values, max_points)
        return {
            "run_id": run_id,
            "key": key,
            "steps": ks.tolist(),
            "values": [None if math.isnan(x) else float(x) for x in kv.tolist()],
            "n_total": len(rows),
            "downsampled": len(ks) < len(rows),
        }
