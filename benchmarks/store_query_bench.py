"""Drift-series query time of the store: one year of hourly windows, 25 columns.

Builds a model version with a reference and ``--hours`` hourly bucket profiles
(``--distinct`` different profiles of ``--rows`` rows each, cycled, with a
slowly growing shift), written straight into ``window_profiles`` as the
ingest service writes them; the hourly drift rows are written as the ingest
transaction writes them (``--no-ingest-drift`` leaves them out, so the first
query computes them). Then it times, on SQLite (and PostgreSQL with
``--postgres``):

* ``series_hourly_year``: :meth:`QueryService.drift_series` over every hour;
* ``series_hourly_week_cold``: a week whose stored drift was deleted first
  (computed from the profiles and stored);
* ``series_daily_month_cold`` / ``_warm``: 30 daily windows, first query
  (merges 24 bucket profiles per day) and second (stored);
* ``window_series_week_cold``: :meth:`QueryService.window_series` of one week
  with drift (per column, from the profiles through :mod:`driftline.analysis`),
  the path a drift chart used before.

Run from the repository root::

    .venv/bin/python benchmarks/store_query_bench.py
    .venv/bin/python benchmarks/store_query_bench.py \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/driftline_store_bench
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.profile import profile
from driftline.store import QueryService, Store
from driftline.store import tables as t
from driftline.store._versions import SOURCE_USER
from driftline.store.windows import (
    WINDOW_DRIFT_METHOD,
    drift_row,
    encode_profile,
    profile_drift,
    upsert_drift,
)

T0 = 1_700_000_000.0 - (1_700_000_000.0 % 86_400)


def _frame(rng: np.random.Generator, rows: int, n_features: int, shift: float) -> dict[str, Any]:
    cols: dict[str, Any] = {
        f"f{j}": rng.normal(shift * (j % 3), 1.0, rows) for j in range(n_features)
    }
    return cols


def build(url: str, hours: int, distinct: int, rows: int, n_features: int, drift: bool) -> None:
    """Write the model, its reference, the bucket profiles and (optionally) their drift."""
    rng = np.random.default_rng(0)
    ref = profile(_frame(rng, 5 * rows, n_features, 0.0))
    parts = [
        profile(_frame(rng, rows, n_features, 0.05 * k), ref.schema, reference=ref)
        for k in range(distinct)
    ]
    blobs = [encode_profile(p) for p in parts]
    drifts = [profile_drift(ref, p) for p in parts]
    with Store.open(url) as store, store.begin() as conn:
        pid = conn.execute(
            t.projects.insert().values(name="bench", created_at=T0).returning(t.projects.c.id)
        ).scalar_one()
        mid = conn.execute(
            t.models.insert()
            .values(project_id=pid, name="m", created_at=T0)
            .returning(t.models.c.id)
        ).scalar_one()
        vid = conn.execute(
            t.model_versions.insert()
            .values(model_id=mid, name="v1", created_at=T0, schema=ref.schema.to_dict())
            .returning(t.model_versions.c.id)
        ).scalar_one()
        conn.execute(
            t.reference_profiles.insert().values(
                model_version_id=vid, profile=ref.to_dict(), schema=ref.schema.to_dict(),
                source=SOURCE_USER, revision=1, updated_at=T0,
            )
        )  # fmt: skip
        for lo in range(0, hours, 500):
            hs = range(lo, min(hours, lo + 500))
            conn.execute(
                t.window_profiles.insert(),
                [
                    {
                        "model_version_id": vid, "bucket_seconds": 3600,
                        "bucket_start": T0 + 3600.0 * h, "n_rows": rows, "n_errors": 0,
                        "profile": blobs[h % distinct], "latency": None,
                        "updated_at": T0 + 3600.0 * h, "revision": 1,
                    }
                    for h in hs
                ],
            )  # fmt: skip
            if drift:
                upsert_drift(
                    conn,
                    [
                        drift_row(
                            version_id=vid, bucket_seconds=3600, start=T0 + 3600.0 * h,
                            revision=1, reference_revision=1, method=WINDOW_DRIFT_METHOD,
                            drift=drifts[h % distinct],
                        )
                        for h in hs
                    ],
                )  # fmt: skip


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall milliseconds of ``repeat`` calls, and the last result."""
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), out


def measure(url: str, hours: int, skip_window_series: bool) -> dict[str, float]:
    """Time the queries listed in the module docstring (milliseconds)."""
    res: dict[str, float] = {}
    with Store.open(url) as store:
        q = QueryService(store)
        ms, s = timed(lambda: q.drift_series("bench", "m", "v1"), repeat=5)
        assert s.starts.size == hours and s.statistic.shape[1] >= 25, s.statistic.shape
        res["series_hourly_year"] = ms
        week_end = T0 + 7 * 86_400
        with store.begin() as conn:
            wd = t.window_drift
            conn.execute(wd.delete().where(wd.c.bucket_start < week_end))
        ms, s = timed(lambda: q.drift_series("bench", "m", "v1", end=week_end))
        assert s.starts.size == 168
        res["series_hourly_week_cold"] = ms
        month_end = T0 + 30 * 86_400
        ms, s = timed(
            lambda: q.drift_series("bench", "m", "v1", end=month_end, window_seconds=86_400)
        )
        assert s.starts.size == 30
        res["series_daily_month_cold"] = ms
        ms, _ = timed(
            lambda: q.drift_series("bench", "m", "v1", end=month_end, window_seconds=86_400),
            repeat=5,
        )
        res["series_daily_month_warm"] = ms
        if not skip_window_series:
            ms, w = timed(lambda: q.window_series("bench", "m", "v1", end=week_end))
            assert len(w) == 168
            res["window_series_week_cold"] = ms
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--hours", type=int, default=8760, help="hourly buckets (default a year)")
    ap.add_argument("--features", type=int, default=25)
    ap.add_argument("--rows", type=int, default=1000, help="rows per distinct bucket profile")
    ap.add_argument("--distinct", type=int, default=24, help="distinct bucket profiles")
    ap.add_argument("--no-ingest-drift", action="store_true",
                    help="do not write the hourly drift rows the ingest service writes")  # fmt: skip
    ap.add_argument("--skip-window-series", action="store_true")
    ap.add_argument("--postgres", default=None,
                    help="also run on this PostgreSQL URL (its public schema is dropped)")  # fmt: skip
    args = ap.parse_args()
    out: dict[str, Any] = {"hours": args.hours, "features": args.features}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'q.db'}"
        build(url, args.hours, args.distinct, args.rows, args.features, not args.no_ingest_drift)
        out["sqlite_ms"] = measure(url, args.hours, args.skip_window_series)
    if args.postgres:
        _reset(args.postgres)
        build(args.postgres, args.hours, args.distinct, args.rows, args.features,
              not args.no_ingest_drift)  # fmt: skip
        out["postgresql_ms"] = measure(args.postgres, args.hours, args.skip_window_series)
        _reset(args.postgres)
    print(json.dumps(out, indent=2))


def _reset(url: str) -> None:
    from driftline.store._engine import normalise_url

    engine = sa.create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


if __name__ == "__main__":
    main()
