"""The query service: read-only views for the API, the dashboard and Prometheus."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from driftline.errors import InputError, NotFoundError
from driftline.store import tables as t
from driftline.store._bulk import decode_columns
from driftline.store._chunks import predictions_by_id
from driftline.store._engine import Store
from driftline.store._ingest import DEFAULT_BUCKET_SECONDS
from driftline.store._query_runs import RunQueries
from driftline.store._sql import loads
from driftline.store.windows import (
    WINDOW_DRIFT_METHOD,
    DriftCache,
    DriftSeries,
    WindowGrid,
    WindowScope,
    WindowSummary,
    latest_drift,
    read_drift_series,
    read_drift_vs_previous,
    read_reference,
    read_window_series,
)

__all__ = ["QueryService"]


class QueryService(RunQueries):
    """Read projects, models, window series and runs.

    Parameters
    ----------
    store : Store
        The database.
    bucket_seconds : int, default 3600
        The bucket width the ingest service writes with.
    drift_methods : str or mapping of str to str, optional
        Drift method for every column, or per column, as in
        :class:`driftline.analysis.Report`; default the Report's defaults
        (a test for small windows, an effect size for large ones).
    drift_cache_size : int, default 4096
        Window drift results kept in memory; a window's drift is computed again
        only when one of its buckets or the reference changes.

    Example
    -------
    >>> from driftline.store import Store
    >>> store = Store.open("sqlite://")
    >>> QueryService(store).list_projects()
    []
    >>> store.close()
    """

    def __init__(
        self,
        store: Store,
        *,
        bucket_seconds: int = DEFAULT_BUCKET_SECONDS,
        drift_methods: str | Mapping[str, str] | None = None,
        drift_cache_size: int = 4096,
    ) -> None:
        self.store = store
        self.bucket_seconds = bucket_seconds
        self.drift_methods = drift_methods
        self.drift_cache_size = drift_cache_size
        self._drift_cache = DriftCache(drift_cache_size)

    # -- lookups ---------------------------------------------------------------------------
    def _model_id(self, conn: sa.Connection, project: str, model: str) -> int:
        pid = self._project_id(conn, project)
        mid = conn.execute(
            sa.select(t.models.c.id).where(t.models.c.project_id == pid, t.models.c.name == model)
        ).scalar()
        if mid is None:
            raise NotFoundError(f"model: project {project!r} has no model named {model!r}")
        return int(mid)

    @staticmethod
    def _reference(conn: sa.Connection, version_id: int) -> tuple[Any, str | None, Any]:
        """The reference profile of a version, its source and a key that changes with it."""
        return read_reference(conn, version_id)

    def reference_profile(self, project: str, model: str, version: str | None = None) -> Any:
        """The reference profile of ``version``, or of the newest version that has one.

        ``None`` when no version of the model has a reference yet. Raises
        :class:`~driftline.errors.NotFoundError` for an unknown project, model or version.

        Example
        -------
        >>> from driftline.store import Store
        >>> QueryService(Store.open("sqlite://")).reference_profile("shop", "ranker")
        Traceback (most recent call last):
        ...
        driftline.errors.NotFoundError: project: no project named 'shop'
        """
        with self.store.read() as conn:
            _, ids = self._version_ids(conn, project, model, version)
            for vid in reversed(ids):
                profile = self._reference(conn, vid)[0]
                if profile is not None:
                    return profile
        return None

    # -- projects and models ---------------------------------------------------------------
    def list_projects(self) -> list[dict[str, Any]]:
        """Every project: ``name``, ``created_at``, ``n_models``, ``n_runs``."""
        p, m, r = t.projects, t.models, t.runs
        n_models = sa.select(sa.func.count()).where(m.c.project_id == p.c.id).scalar_subquery()
        n_runs = sa.select(sa.func.count()).where(r.c.project_id == p.c.id).scalar_subquery()
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(
                    p.c.name, p.c.created_at, n_models.label("n"), n_runs.label("nr")
                ).order_by(p.c.name)
            ).all()
        return [
            {"name": x.name, "created_at": x.created_at, "n_models": x.n, "n_runs": x.nr}
            for x in rows
        ]

    def list_models(self, project: str) -> list[dict[str, Any]]:
        """The models of a project with their versions; :class:`NotFoundError` if none such."""
        m, v, rp = t.models, t.model_versions, t.reference_profiles
        with self.store.read() as conn:
            pid = self._project_id(conn, project)
            rows = conn.execute(
                sa.select(
                    m.c.id,
                    m.c.name,
                    m.c.created_at,
                    v.c.name.label("version"),
                    v.c.created_at.label("version_created_at"),
                    rp.c.source,
                )
                .select_from(
                    m.outerjoin(v, v.c.model_id == m.c.id).outerjoin(
                        rp, rp.c.model_version_id == v.c.id
                    )
                )
                .where(m.c.project_id == pid)
                .order_by(m.c.name, v.c.id)
            ).all()
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            entry = out.setdefault(
                r.id, {"name": r.name, "created_at": r.created_at, "versions": []}
            )
            if r.version is not None:
                entry["versions"].append(
                    {
                        "name": r.version,
                        "created_at": r.version_created_at,
                        "reference_source": r.source,
                    }
                )
        return list(out.values())

    def get_prediction(self, project: str, model: str, prediction_id: str) -> dict[str, Any]:
        """One raw prediction with its features and label, while retention keeps it.

        Returns ``{"prediction_id", "version", "timestamp", "prediction", "score",
        "latency_ms", "error", "features", "label"}``; ``features`` is ``None``
        when features are not kept, ``label`` is ``None`` until one has joined.
        """
        v, lb, fc = t.model_versions, t.labels, t.feature_chunks
        with self.store.read() as conn:
            mid = self._model_id(conn, project, model)
            found = predictions_by_id(conn, mid, [prediction_id])
            if not found:
                raise NotFoundError(
                    f"prediction_id: model {model!r} has no stored prediction {prediction_id!r}"
                )
            row = found[-1]  # the newest, when an id was logged twice
            version = conn.execute(
                sa.select(v.c.name).where(v.c.id == row.model_version_id)
            ).scalar_one()
            features = None
            if row.feature_chunk_id is not None:
                data = conn.execute(
                    sa.select(fc.c.columns).where(fc.c.id == row.feature_chunk_id)
                ).scalar()
                if data is not None:
                    cols = decode_columns(data)
                    features = {k: vals[row.feature_row] for k, vals in cols.items()}
            label = conn.execute(
                sa.select(lb.c.label).where(
                    lb.c.model_id == mid, lb.c.prediction_id == prediction_id
                )
            ).scalar()
        return {
            "prediction_id": prediction_id,
            "version": version,
            "timestamp": row.time,
            "prediction": row.output,
            "score": row.score,
            "latency_ms": row.latency_ms,
            "error": row.error,
            "features": features,
            "label": loads(label),
        }

    # -- windows ---------------------------------------------------------------------------
    def _check_window(self, window_seconds: int) -> None:
        if (
            isinstance(window_seconds, bool)
            or not isinstance(window_seconds, int)
            or window_seconds < self.bucket_seconds
            or window_seconds % self.bucket_seconds
        ):
            raise InputError(
                f"window_seconds: expected a positive multiple of the bucket width "
                f"({self.bucket_seconds} s), got {window_seconds!r}"
            )

    def _check_align(self, align: float, window_seconds: int) -> float:
        """``align`` normalised into ``[0, window_seconds)``; a multiple of the bucket width."""
        ok = isinstance(align, int | float) and not isinstance(align, bool)
        if not ok or not math.isfinite(align) or align % self.bucket_seconds:
            raise InputError(
                f"align: expected a multiple of the bucket width ({self.bucket_seconds} s) "
                f"in seconds, got {align!r}"
            )
        return float(align % window_seconds)

    def _version_ids(
        self, conn: sa.Connection, project: str, model: str, version: str | None
    ) -> tuple[int, list[int]]:
        """The model id and its version ids (oldest first), or just ``version``'s."""
        v = t.model_versions
        mid = self._model_id(conn, project, model)
        q = sa.select(v.c.id, v.c.name).where(v.c.model_id == mid).order_by(v.c.id)
        versions = conn.execute(q).all()
        if version is not None:
            versions = [x for x in versions if x.name == version]
            if not versions:
                raise NotFoundError(
                    f"version: model {model!r} of project {project!r} has no version {version!r}"
                )
        return mid, [int(x.id) for x in versions]

    def _grid(self, window_seconds: int, align: float) -> WindowGrid:
        """The checked window grid of a series."""
        self._check_window(window_seconds)
        return WindowGrid(
            self.bucket_seconds, window_seconds, self._check_align(align, window_seconds)
        )

    def _scope(
        self,
        project: str,
        model: str,
        version: str | None,
        grid: WindowGrid,
        start: float | None,
        end: float | None,
    ) -> tuple[WindowScope, int]:
        """The scope of a series over ``version`` (default every version), and the model id."""
        with self.store.read() as conn:
            mid, ids = self._version_ids(conn, project, model, version)
        return WindowScope(tuple(ids), grid, start, end), mid

    def window_series(
        self,
        project: str,
        model: str,
        version: str | None = None,
        start: float | None = None,
        end: float | None = None,
        window_seconds: int = 3600,
        *,
        drift: bool = True,
        align: float = 0.0,
    ) -> list[WindowSummary]:
        """Summaries of consecutive windows of ``window_seconds``, oldest first.

        Parameters
        ----------
        project, model : str
            The model; :class:`NotFoundError` when either does not exist.
        version : str, optional
            One version; default all versions together: volume, performance
            and events of every version, and the profile and drift of the
            newest version with rows in the window (profiles of versions with
            other references do not merge).
        start, end : float, optional
            Epoch-second bounds: windows from the one holding ``start`` to
            those starting before ``end``.
        window_seconds : int, default 3600
            Window width, a positive multiple of the bucket width.
        drift : bool, default True
            Compute drift against the reference (cached per window); ``False``
            leaves ``drift`` empty, for callers that need the rest only.
        align : float, default 0
            Windows start at ``align + k * window_seconds`` seconds since the
            epoch (e.g. days from 06:00 with ``align=21600``); a multiple of
            the bucket width, taken modulo ``window_seconds``.

        Returns
        -------
        list of WindowSummary
            One per window that holds predictions, labels or events.

        Notes
        -----
        Volume, quality, latency, errors, labels, performance and events come
        from stored per-bucket summaries read in one range scan (see
        :mod:`driftline.store.windows`); only buckets written since
        the last query are summarised again. A window's ``profile`` is read
        from its bucket profiles on first access, and with ``drift=True`` for
        the windows whose drift is not cached yet.
        """
        grid = self._grid(window_seconds, align)
        scope, mid = self._scope(project, model, version, grid, start, end)
        return read_window_series(
            self.store, scope, model_id=mid, include_unattributed_events=version is None,
            drift=drift, cache=self._drift_cache, methods=self.drift_methods,
        )  # fmt: skip

    def drift_series(
        self,
        project: str,
        model: str,
        version: str | None = None,
        start: float | None = None,
        end: float | None = None,
        window_seconds: int = 3600,
        *,
        baseline: str = "reference",
        align: float = 0.0,
    ) -> DriftSeries:
        """Per-column drift of consecutive windows against the reference, from stored results.

        ``baseline="previous"`` compares each window with the window before it instead
        (computed on query from the bucket profiles, not stored).

        The statistic is :data:`~driftline.store.WINDOW_DRIFT_METHOD`
        (Jensen-Shannon distance from the profiles' histograms and category
        counts; lower is better), stored per window with what it was computed
        from: one range scan reads a year of hourly windows; windows written
        since (or wider windows asked for the first time) are computed by
        merging their bucket profiles and stored. Thresholds are left to
        monitors. Parameters (``align`` included) as in :meth:`window_series`; with
        ``version=None`` each window takes the newest version with a profile there.
        """
        grid = self._grid(window_seconds, align)
        if baseline not in ("reference", "previous"):
            raise InputError(f"baseline: expected 'reference' or 'previous', got {baseline!r}")
        scope, _ = self._scope(project, model, version, grid, start, end)
        reader = read_drift_series if baseline == "reference" else read_drift_vs_previous
        return reader(self.store, scope, WINDOW_DRIFT_METHOD)

    # -- Prometheus ---------------------------------------------------------------------------
    def metric_totals(self) -> dict[str, list[dict[str, Any]]]:
        """Totals for the Prometheus exposition.

        Returns a dict of lists: ``predictions`` and ``labels`` (joined labels)
        per project/model/version with ``count``; ``events`` per
        project/model/name with ``count``; ``drift`` per project/model/version/column
        with the ``method``, ``statistic`` and ``status`` of the latest bucket
        against the version's reference.
        """
        p, m, v = t.projects, t.models, t.model_versions
        wp, perf, we = t.window_profiles, t.window_performance, t.window_events
        base = (
            sa.select(p.c.name.label("project"), m.c.name.label("model"), v.c.name.label("version"), v.c.id)
            .select_from(p.join(m, m.c.project_id == p.c.id).join(v, v.c.model_id == m.c.id))
            .order_by(p.c.name, m.c.name, v.c.name)
        )  # fmt: skip
        out: dict[str, list[dict[str, Any]]] = {
            "predictions": [], "labels": [], "events": [], "drift": []
        }  # fmt: skip
        with self.store.read() as conn:
            versions = conn.execute(base).all()
            preds = dict(
                conn.execute(
                    sa.select(wp.c.model_version_id, sa.func.sum(wp.c.n_rows))
                    .where(wp.c.bucket_seconds == self.bucket_seconds)
                    .group_by(wp.c.model_version_id)
                ).all()
            )
            labels = dict(
                conn.execute(
                    sa.select(perf.c.model_version_id, sa.func.sum(perf.c.n_labels))
                    .where(perf.c.bucket_seconds == self.bucket_seconds)
                    .group_by(perf.c.model_version_id)
                ).all()
            )
            for x in versions:
                labels_of = {"project": x.project, "model": x.model, "version": x.version}
                out["predictions"].append({**labels_of, "count": int(preds.get(x.id) or 0)})
                out["labels"].append({**labels_of, "count": int(labels.get(x.id) or 0)})
                for column, d in self._latest_drift(conn, x.id).items():
                    out["drift"].append(
                        {**labels_of, "column": column, "method": d.get("method"),
                         "statistic": d.get("statistic"), "status": d.get("status")}
                    )  # fmt: skip
            ev = conn.execute(
                sa.select(p.c.name, m.c.name, we.c.name, sa.func.sum(we.c.n))
                .select_from(p.join(m, m.c.project_id == p.c.id).join(we, we.c.model_id == m.c.id))
                .where(we.c.bucket_seconds == self.bucket_seconds)
                .group_by(p.c.name, m.c.name, we.c.name)
                .order_by(p.c.name, m.c.name, we.c.name)
            ).all()
        out["events"] = [
            {"project": a, "model": b, "name": c, "count": int(n or 0)} for a, b, c, n in ev
        ]
        return out

    def _latest_drift(self, conn: sa.Connection, version_id: int) -> dict[str, dict[str, Any]]:
        return latest_drift(
            conn, version_id, self.bucket_seconds, cache=self._drift_cache,
            methods=self.drift_methods,
        )  # fmt: skip
