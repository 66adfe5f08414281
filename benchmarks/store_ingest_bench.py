"""Ingest throughput of the store: prediction rows per second with window profiles updated.

Builds batches of ``--batch`` rows (``--features`` numeric features, a prediction,
a score, latency), ingests ``--batches`` of them through :class:`IngestService`
into a fresh SQLite file (and PostgreSQL when ``--postgres`` is given) and prints
rows/s and the p50/p99 latency of one ``ingest()`` call. The payloads are built
(and validated by pydantic) before timing starts; the version's reference is set
by a first batch that is not timed.

Run from the repository root::

    .venv/bin/python benchmarks/store_ingest_bench.py --batch 10000 --batches 20
    .venv/bin/python benchmarks/store_ingest_bench.py --batch 1000 --batches 100 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

from driftline.store import IngestService, Store
from driftline.wire import PredictionsBatch


def make_batches(
    n_batches: int, rows: int, n_features: int, seed: int = 0, start: float = 1.7e9
) -> list[PredictionsBatch]:
    """``n_batches + 1`` batches (the first sets the reference), spread over hours."""
    rng = np.random.default_rng(seed)
    out = []
    t0 = start
    for b in range(n_batches + 1):
        feats = {f"f{j}": rng.normal(j * 0.1, 1.0, rows).tolist() for j in range(n_features)}
        ts = (t0 + np.sort(rng.uniform(0, 600, rows))).tolist()
        t0 += 600.0
        score = rng.uniform(0, 1, rows)
        out.append(
            PredictionsBatch(
                batch_id=f"b{b}",
                project="bench",
                model="m",
                version="v1",
                ids=[f"{b}-{i}" for i in range(rows)],
                timestamps=ts,
                features=feats,
                predictions=(score > 0.5).astype(int).tolist(),
                scores=score.tolist(),
                latency_ms=rng.gamma(2.0, 3.0, rows).tolist(),
            )
        )
    return out


def run(url: str, batches: list[PredictionsBatch], profile_out: str | None) -> dict[str, float]:
    """Ingest every batch (the first untimed); return rows/s and latency quantiles."""
    store = Store.open(url)
    try:
        svc = IngestService(store)
        svc.ingest(batches[0])
        lat = []
        prof = cProfile.Profile() if profile_out else None
        c0 = time.process_time()
        t0 = time.perf_counter()
        for b in batches[1:]:
            s = time.perf_counter()
            if prof is not None:
                prof.enable()
            svc.ingest(b)
            if prof is not None:
                prof.disable()
            lat.append(time.perf_counter() - s)
        total = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if prof is not None and profile_out:
            prof.dump_stats(profile_out)
            pstats.Stats(profile_out).sort_stats("cumulative").print_stats(30)
    finally:
        store.close()
    rows = sum(b.n_rows for b in batches[1:])
    arr = np.asarray(lat) * 1000
    return {
        "rows_per_s": rows / total,
        # CPU seconds of this process only: steadier than wall time on a shared
        # machine, and for SQLite (in-process) the whole cost of a write.
        "rows_per_cpu_s": rows / cpu,
        "batch_p50_ms": float(np.percentile(arr, 50)),
        "batch_p99_ms": float(np.percentile(arr, 99)),
    }


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    from driftline.store._engine import normalise_url

    engine = sa.create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000, help="rows per batch")
    ap.add_argument("--batches", type=int, default=20, help="timed batches")
    ap.add_argument("--features", type=int, default=25, help="numeric features")
    ap.add_argument(
        "--postgres",
        default=None,
        help="also run on this PostgreSQL URL (its public schema is dropped and recreated)",
    )
    ap.add_argument("--profile", default=None, help="write cProfile stats here (SQLite run)")
    args = ap.parse_args()
    batches = make_batches(args.batches, args.batch, args.features)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        results["sqlite"] = run(url, batches, args.profile)
    if args.postgres:
        _reset_postgres(args.postgres)
        results["postgresql"] = run(args.postgres, batches, None)
        _reset_postgres(args.postgres)
    print(json.dumps({"batch": args.batch, "features": args.features, **results}, indent=2))


if __name__ == "__main__":
    main()
