"""Live-system benchmark of the driftline server: HTTP ingest and the window-series query.

Two measurements, each against a real ``driftline serve`` process on a free
loopback port (started by this script with a fresh database, stopped after):

* **ingest**: prediction rows per second through ``POST /api/v1/ingest/predictions``
  (``--encodings json``: gzip JSON) and ``POST /api/v1/ingest/predictions/arrow``
  (``--encodings arrow``: an LZ4-compressed Arrow IPC stream), each body exactly
  what the SDK sends for such a batch, 25 features (20 numeric with some
  missing values, 5 categorical), a prediction, a score and a latency per row,
  in batches of 1k and 10k rows, posted one after the other by one ``httpx``
  client; plus the latency distribution of one request (p50, p99). Bodies are
  built and compressed before the clock starts. SQLite (a temporary file) and
  PostgreSQL (a fresh database created on the server of ``--postgres-url``,
  dropped after).
* **query**: ``GET /api/v1/projects/{p}/models/{m}/windows`` over one year of
  hourly buckets (8,760) with 25 columns, seeded in process through the
  store's ``IngestService`` (``--query-rows-per-hour`` rows an hour), then asked
  for hourly windows (8,760 points) and daily windows (365 points). The first
  request is cold (per-bucket summaries are computed and stored; with
  ``--windows-drift`` also the drift against the reference, per window, cached
  by the server); the next ``--query-repeats`` are warm. By default ``/windows``
  is asked with ``drift=false`` (the drift series is the ``/drift`` endpoint).

``--chart`` draws the PNG of ``docs/benchmarks-live.md`` from the JSON of this
script and of ``sdk_bench.py``; it needs only matplotlib (run it with the
``benchmarks/.venvs/tensorboard`` interpreter).

Example::

    .venv/bin/python benchmarks/server_bench.py --out benchmarks/results/server.json
    benchmarks/.venvs/tensorboard/bin/python benchmarks/server_bench.py --chart \\
        benchmarks/results/sdk.json benchmarks/results/server.json docs/img/live-bench.png
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import itertools
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Features per prediction row: 20 numeric and 5 categorical columns.
N_NUMERIC = 20
N_CATEGORICAL = 5
#: Seconds to wait for a started server to answer ``/healthz``.
SERVER_START_TIMEOUT_S = 60.0
#: Start of the synthetic data: 2026-01-01T00:00:00Z.
BASE_TIME = 1_767_225_600.0
#: zlib level of request bodies, the SDK's (``driftline.client._delivery.GZIP_LEVEL``).
GZIP_LEVEL = 5
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ shared helpers
def machine_info() -> dict[str, Any]:
    """nproc, memory and CPU model of this machine (Linux /proc), plus Python."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_total_gb"] = round(int(line.split()[1]) / 2**20, 1)
                break
    with contextlib.suppress(OSError):
        info["loadavg_at_start"] = Path("/proc/loadavg").read_text().split()[:3]
    return info


def run_header(argv: Sequence[str]) -> dict[str, Any]:
    """Machine, command line, UTC date and git commit, for the JSON of a run."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": shlex.join([Path(sys.executable).name, *argv]),
        "git_commit": commit + ("+dirty" if dirty else ""),
        "machine": machine_info(),
    }


def percentiles_us(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99, p99.9, max and mean of ``samples_ns`` in microseconds.

    Nearest-rank percentiles on the sorted samples (no interpolation).
    """
    s = sorted(samples_ns)
    n = len(s)
    if n == 0:
        return {}

    def rank(q: float) -> float:
        return s[min(n - 1, max(0, int(q * n + 0.5) - 1))] / 1e3

    return {
        "p50_us": rank(0.50),
        "p90_us": rank(0.90),
        "p99_us": rank(0.99),
        "p999_us": rank(0.999),
        "max_us": s[-1] / 1e3,
        "mean_us": sum(s) / n / 1e3,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(
    database_url: str, *, project_python: str = sys.executable, log_path: Path | None = None
) -> Iterator[str]:
    """Run ``driftline serve`` on a free loopback port with ``database_url``; yield its URL.

    Uvicorn logs at ``warning`` (no access log line per request). The server is
    stopped with SIGINT (graceful) when the block ends, killed after 15 s.
    """
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    driftline = Path(project_python).parent / "driftline"
    cmd = [
        str(driftline),
        "serve",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--log-level",
        "warning",
    ]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"driftline serve exited with {proc.returncode}: {cmd}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"driftline serve did not answer within {SERVER_START_TIMEOUT_S}s"
                )
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log_path:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create a fresh database on the server of ``admin_url``; yield its URL; drop it after."""
    import sqlalchemy as sa

    name = f"driftline_bench_{os.getpid()}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield str(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextlib.contextmanager
def backend_url(backend: str, workdir: Path, postgres_url: str) -> Iterator[str]:
    """A fresh database of ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
    elif backend == "postgresql":
        with postgres_database(postgres_url) as url:
            yield url
    else:
        raise ValueError(f"backend: expected 'sqlite' or 'postgresql', got {backend!r}")


# ------------------------------------------------------------------ synthetic rows
def prediction_columns(n: int, seed: int, start: float, span_s: float) -> dict[str, Any]:
    """One batch of ``n`` prediction rows as the SDK's payload columns (no ids, no batch id)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    features: dict[str, list[Any]] = {}
    for j in range(N_NUMERIC):
        col = rng.normal(j, 1.0 + j / 10, n).round(4)
        values: list[Any] = col.tolist()
        if j % 5 == 0:  # 4 columns with about 2 % missing
            for i in np.flatnonzero(rng.random(n) < 0.02).tolist():
                values[i] = None
        features[f"num_{j:02d}"] = values
    for j in range(N_CATEGORICAL):
        k = (3, 10, 50, 200, 1000)[j]
        probs = 1.0 / np.arange(1, k + 1)
        codes = rng.choice(k, size=n, p=probs / probs.sum())
        features[f"cat_{j}"] = [f"c{j}_{c}" for c in codes.tolist()]
    scores = rng.random(n)
    return {
        "timestamps": np.sort(start + rng.random(n) * span_s).round(3).tolist(),
        "features": features,
        "predictions": (scores > 0.5).astype(int).tolist(),
        "scores": scores.round(5).tolist(),
        "latency_ms": rng.gamma(2.0, 2.0, n).round(3).tolist(),
    }


def prediction_bodies(
    batch_rows: int, n_batches: int, *, project: str, model: str, seed: int, encoding: str = "json"
) -> list[tuple[bytes, int, dict[str, str]]]:
    """``n_batches`` bodies of ``batch_rows`` rows each, with unique ids and batch ids.

    ``encoding`` ``"json"``: gzip JSON (the body, its JSON size, no query
    parameters); ``"arrow"``: the SDK's Arrow IPC stream (the body, its JSON size,
    the query parameters that carry the batch id and names). Four distinct
    column blocks are cycled (building each costs more than posting it); each
    body gets its own ``batch_id`` and row ids.
    """
    from driftline.client._convert import arrow_predictions

    blocks = [
        prediction_columns(batch_rows, seed + b, BASE_TIME + 600 * b, 600.0) for b in range(4)
    ]
    out = []
    for i in range(n_batches):
        payload = {
            "batch_id": f"bench-{seed}-{batch_rows}-{i}",
            "project": project,
            "model": model,
            "version": "v1",
            "ids": [f"{seed}-{batch_rows}-{i}-{r}" for r in range(batch_rows)],
            **blocks[i % 4],
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        if encoding == "arrow":
            body = arrow_predictions(payload)
            if body is None:
                raise RuntimeError("the synthetic batch is not columnar")
            keys = ("project", "model", "version", "batch_id")
            out.append((body, len(raw), {k: str(payload[k]) for k in keys}))
        else:
            out.append((gzip.compress(raw, compresslevel=GZIP_LEVEL), len(raw), {}))
    return out


# ------------------------------------------------------------------ ingest
def bench_ingest(
    url: str,
    batch_rows: int,
    n_batches: int,
    *,
    warmup: int,
    seed: int,
    encoding: str = "json",
    clients: int = 1,
) -> dict:
    """Post ``warmup`` then ``n_batches`` bodies; rows/s and latency.

    ``clients`` threads, each with its own connection, post their share of the
    bodies one after the other (1: a single SDK process; more: several).
    """
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    bodies = prediction_bodies(
        batch_rows, warmup + n_batches, project="bench", model=f"ingest{batch_rows}", seed=seed,
        encoding=encoding,
    )  # fmt: skip
    if encoding == "arrow":
        path = "/api/v1/ingest/predictions/arrow"
        headers = {"Content-Type": "application/vnd.apache.arrow.stream"}
    else:
        path = "/api/v1/ingest/predictions"
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    lat: list[int] = []
    conns = [
        httpx.Client(base_url=url, headers=headers, timeout=300.0) for _ in range(max(1, clients))
    ]

    def post(client: httpx.Client, body: bytes, params: dict[str, str]) -> int:
        t0 = time.perf_counter_ns()
        r = client.post(path, content=body, params=params)
        dt_ns = time.perf_counter_ns() - t0
        if r.status_code != 200 or r.json().get("accepted") != batch_rows:
            raise RuntimeError(f"ingest answered {r.status_code}: {r.text[:300]}")
        return dt_ns

    def share(k: int) -> list[int]:
        return [post(conns[k], b, p) for b, _, p in bodies[warmup:][k :: len(conns)]]

    try:
        for body, _, params in bodies[:warmup]:
            post(conns[0], body, params)
        t_start = time.perf_counter()
        with ThreadPoolExecutor(len(conns)) as pool:
            for part in pool.map(share, range(len(conns))):
                lat.extend(part)
        wall = time.perf_counter() - t_start
    finally:
        for c in conns:
            c.close()
    rows = batch_rows * n_batches
    ms = {k.replace("_us", "_ms"): v / 1e3 for k, v in percentiles_us(lat).items()}
    return {
        "encoding": encoding,
        "clients": len(conns),
        "batch_rows": batch_rows,
        "batches": n_batches,
        "warmup_batches": warmup,
        "rows": rows,
        "wall_s": round(wall, 3),
        "rows_per_s": round(rows / wall, 1),
        "body_bytes": sum(len(b) for b, _, _ in bodies) // len(bodies),
        "body_json_bytes": sum(n for _, n, _ in bodies) // len(bodies),
        "latency": {k: round(v, 3) for k, v in ms.items()},
    }


def bench_ingest_ab(url: str, batch_rows: int, n_batches: int, *, warmup: int, seed: int) -> list:
    """gzip JSON and Arrow bodies posted alternately to one server: one result per encoding.

    On a shared machine whose load drifts, alternating the two encodings batch by
    batch gives both the same conditions; rows/s is rows over the summed request times.
    """
    import httpx

    paths = {"json": "/api/v1/ingest/predictions", "arrow": "/api/v1/ingest/predictions/arrow"}
    heads = {
        "json": {"Content-Encoding": "gzip", "Content-Type": "application/json"},
        "arrow": {"Content-Type": "application/vnd.apache.arrow.stream"},
    }
    bodies = {
        enc: prediction_bodies(
            batch_rows,
            warmup + n_batches,
            project="bench",
            model=f"ab{batch_rows}{enc}",
            seed=seed + k,
            encoding=enc,
        )
        for k, enc in enumerate(("json", "arrow"))
    }
    lat: dict[str, list[int]] = {"json": [], "arrow": []}
    with httpx.Client(base_url=url, timeout=300.0) as client:
        for i in range(warmup + n_batches):
            for enc in ("json", "arrow") if i % 2 == 0 else ("arrow", "json"):
                body, _, params = bodies[enc][i]
                t0 = time.perf_counter_ns()
                r = client.post(paths[enc], content=body, params=params, headers=heads[enc])
                dt_ns = time.perf_counter_ns() - t0
                if r.status_code != 200 or r.json().get("accepted") != batch_rows:
                    raise RuntimeError(f"ingest answered {r.status_code}: {r.text[:300]}")
                if i >= warmup:
                    lat[enc].append(dt_ns)
    out = []
    for enc in ("json", "arrow"):
        busy = sum(lat[enc]) / 1e9
        ms = {k.replace("_us", "_ms"): v / 1e3 for k, v in percentiles_us(lat[enc]).items()}
        out.append({
            "encoding": enc, "interleaved": True, "clients": 1, "batch_rows": batch_rows,
            "batches": n_batches, "warmup_batches": warmup, "rows": batch_rows * n_batches,
            "wall_s": round(busy, 3), "rows_per_s": round(batch_rows * n_batches / busy, 1),
            "body_bytes": sum(len(b) for b, _, _ in bodies[enc]) // len(bodies[enc]),
            "body_json_bytes": sum(n for _, n, _ in bodies[enc]) // len(bodies[enc]),
            "latency": {k: round(v, 3) for k, v in ms.items()},
        })  # fmt: skip
    return out


# ------------------------------------------------------------------ query
def seed_year(database_url: str, *, hours: int, rows_per_hour: int, seed: int) -> dict:
    """Store ``hours`` hourly buckets of model ``bench/year`` in process; time it."""
    import numpy as np

    from driftline.store import IngestService, Store
    from driftline.wire import PredictionsBatch

    store = Store.open(database_url)
    svc = IngestService(store)
    chunk_hours = 24 * 30
    t0 = time.perf_counter()
    rows = 0
    try:
        for c, h0 in enumerate(range(0, hours, chunk_hours)):
            h1 = min(hours, h0 + chunk_hours)
            n = (h1 - h0) * rows_per_hour
            cols = prediction_columns(n, seed + c, 0.0, 1.0)
            hour = np.repeat(np.arange(h0, h1), rows_per_hour)
            offset = np.random.default_rng(seed + c).random(n) * 3600
            cols["timestamps"] = (BASE_TIME + hour * 3600.0 + offset).round(3).tolist()
            batch = PredictionsBatch(
                batch_id=f"year-{c}",
                project="bench",
                model="year",
                version="v1",
                ids=[f"y{c}-{i}" for i in range(n)],
                **cols,
            )
            ack = svc.ingest(batch)
            rows += ack.accepted
    finally:
        store.close()
    return {"hours": hours, "rows": rows, "seed_s": round(time.perf_counter() - t0, 2)}


def bench_query(
    url: str,
    *,
    hours: int,
    window_seconds: int,
    repeats: int,
    endpoint: str = "windows",
    drift: bool = False,
) -> dict:
    """Time ``GET .../{endpoint}`` over the seeded year: one cold request, ``repeats`` warm ones.

    ``drift`` is the stored per-window drift series; ``windows`` the full window summaries
    (volume, quality, drift, performance, latency, business rates).
    """
    import httpx

    params: dict[str, Any] = {
        "start": BASE_TIME,
        "end": BASE_TIME + hours * 3600.0,
        "window_seconds": window_seconds,
    }
    if endpoint == "windows":
        params["drift"] = "true" if drift else "false"
    times = []
    with httpx.Client(base_url=url, timeout=900.0) as client:
        for _ in range(1 + repeats):
            t0 = time.perf_counter()
            r = client.get(f"/api/v1/projects/bench/models/year/{endpoint}", params=params)
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"query answered {r.status_code}: {r.text[:300]}")
            body = r.content
    data = json.loads(body)
    if endpoint == "drift":
        n_windows = len(data["starts"])
        n_drift = sum(sum(s == "computed" for s in c["status"]) for c in data["columns"].values())
    else:
        n_windows = len(data)
        n_drift = sum(len(w.get("drift") or {}) for w in data)
    warm = sorted(times[1:])
    return {
        "endpoint": endpoint,
        **({"drift": drift} if endpoint == "windows" else {}),
        "window_seconds": window_seconds,
        "windows": n_windows,
        "drift_results": n_drift,
        "response_bytes": len(body),
        "cold_s": round(times[0], 3),
        "warm_s": [round(x, 3) for x in times[1:]],
        "warm_median_s": round(warm[len(warm) // 2], 3) if warm else None,
    }


# ------------------------------------------------------------------ chart
def chart(sdk_json: Path, server_json: Path, png: Path) -> None:
    """Two panels: caller-side p50/p99 per logging call (log scale), ingest rows/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sdk = json.loads(sdk_json.read_text())
    server = json.loads(server_json.read_text())
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 2]})
    rows = [r for r in sdk["results"] if r.get("workload") == "metrics10" and "p50_us" in r]
    rows.sort(key=lambda r: r["p50_us"])
    labels = [r["label"] for r in rows]
    y = range(len(rows))
    ax1.barh([i + 0.2 for i in y], [r["p99_us"] for r in rows], 0.4, label="p99", color="#d62728")
    ax1.barh([i - 0.2 for i in y], [r["p50_us"] for r in rows], 0.4, label="p50", color="#1f77b4")
    ax1.set_yticks(list(y), labels, fontsize=8)
    ax1.invert_yaxis()
    ax1.set_xscale("log")
    ax1.axvline(50, color="grey", ls="--", lw=1)
    ax1.text(55, -0.55, "50 µs target (p99)", color="grey", fontsize=8, va="bottom")
    ax1.set_xlabel("caller-side time per call, µs (log scale; lower is better)")
    ax1.set_title("Logging 10 metrics per call")
    ax1.legend(loc="upper right", fontsize=8)
    ing = server.get("ingest", [])
    names = [
        f"{r['backend']} {r.get('encoding', 'json')}, {r['batch_rows'] // 1000}k/batch"
        + (f", {r['clients']} clients" if r.get("clients", 1) > 1 else "")
        for r in ing
    ]
    y2 = range(len(ing))
    ax2.barh(list(y2), [r["rows_per_s"] for r in ing], color="#2ca02c")
    for i, r in enumerate(ing):
        ax2.text(r["rows_per_s"], i, f" {r['rows_per_s']:,.0f}", va="center", fontsize=8)
    ax2.set_yticks(list(y2), names, fontsize=8)
    ax2.invert_yaxis()
    ax2.axvline(100_000, color="grey", ls="--", lw=1)
    ax2.text(101_000, -0.6, "100k target\n(SQLite)", color="grey", fontsize=8, va="top")
    ax2.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
    ax2.set_xlim(0, max([r["rows_per_s"] for r in ing] + [100_000]) * 1.25)
    ax2.set_xlabel("prediction rows / s (higher is better)")
    ax2.set_title("Server ingest over HTTP (25 features)")
    fig.suptitle(
        f"driftline live benchmarks, {sdk.get('date_utc', '')[:10]}, "
        f"{sdk.get('machine', {}).get('nproc', '?')} cores",
        fontsize=10,
    )
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    log(f"wrote {png}")


# ------------------------------------------------------------------ tables
def _fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float | int):
        return f"{x:,.{digits}f}" if isinstance(x, float) else f"{x:,}"
    return str(x)


def tables(sdk_json: Path, server_json: Path) -> str:
    """The Markdown tables of ``docs/benchmarks-live.md`` from the two JSON files."""
    sdk = json.loads(sdk_json.read_text())
    server = json.loads(server_json.read_text())
    out = []
    res = [r for r in sdk["results"] if "p50_us" in r]
    out.append(
        "| tool | call | calls timed | p50 µs | p99 µs | p99.9 µs | calls/s (1 / mean) | "
        "driftline-http is x faster | calls/s incl. drain | driftline-http is x faster |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res:
        if not r["workload"].startswith("metrics10"):
            continue
        if r.get("dropped"):  # a loop that lost calls: no end-to-end rate to compare
            lost = sum(r["dropped"].values())
            speedup, delivered = "-", f"- ({lost:,} calls dropped)"
        else:
            speedup = _fmt(r.get("driftline_http_speedup"))
            delivered = f"{_fmt(r.get('delivered_per_s'), 0)} | {_fmt(r.get('delivered_speedup'))}"
        if r["tool"] == "driftline-http":
            speedup = "-"
            delivered = delivered.replace("| 1.0", "| -")
        if "|" not in delivered:
            delivered += " | -"
        out.append(
            f"| {r['tool']} | {r['api']} | {r['calls']:,} | {_fmt(r['p50_us'])} | "
            f"{_fmt(r['p99_us'])} | {_fmt(r['p999_us'])} | "
            f"{_fmt(r.get('per_call_throughput'), 0)} | {speedup} | {delivered} |"
        )
    out.append("")
    out.append(
        "| tool | call | calls timed | p50 µs | p99 µs | p99.9 µs | rows/s (caller) | "
        "rows/s incl. drain |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in res:
        if not r["workload"].startswith("pred"):
            continue
        rows = 1000 if r["workload"] == "pred1k" else 1
        out.append(
            f"| {r['tool']} | {r['api']} | {r['calls']:,} | {_fmt(r['p50_us'])} | "
            f"{_fmt(r['p99_us'])} | {_fmt(r['p999_us'])} | "
            f"{_fmt(r['per_call_throughput'] * rows, 0)} | "
            f"{_fmt(r['delivered_per_s'] * rows, 0)} |"
        )
    out.append("")
    out.append(
        "| database | body | clients | rows per batch | batches | rows/s | p50 ms per batch | "
        "p99 ms | body / JSON KiB |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in server.get("ingest", []):
        lat = r["latency"]
        body = r.get("body_bytes", r.get("body_gzip_bytes", 0))
        kind = {"json": "gzip JSON", "arrow": "Arrow (LZ4)"}[r.get("encoding", "json")]
        out.append(
            f"| {r['backend']} | {kind} | {r.get('clients', 1)} | {r['batch_rows']:,} | "
            f"{r['batches']} | "
            f"{_fmt(r['rows_per_s'], 0)} | {_fmt(lat['p50_ms'])} | {_fmt(lat['p99_ms'])} | "
            f"{body // 1024:,} / {r['body_json_bytes'] // 1024:,} |"
        )
    out.append("")
    out.append(
        "| database | endpoint | window | windows | drift results | cold s | warm s (median) | "
        "response MiB | seeding |"
    )
    out.append("|---|---|---|---:|---:|---:|---:|---:|---|")
    for q in server.get("query", []):
        seed = q["seed"]
        endpoint = q.get("endpoint", "windows")
        if endpoint == "windows":
            endpoint += f" (drift={'true' if q.get('drift', True) else 'false'})"
        out.append(
            f"| {q['backend']} | {endpoint} | {q['window_seconds'] // 3600} h | "
            f"{q['windows']:,} | "
            f"{q['drift_results']:,} | {_fmt(q['cold_s'], 2)} | {_fmt(q['warm_median_s'], 2)} | "
            f"{q['response_bytes'] / 2**20:.1f} | {seed['rows']:,} rows in {seed['seed_s']} s |"
        )
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ driver
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[1000, 10000])
    p.add_argument(
        "--rows",
        type=int,
        default=200_000,
        help="rows posted per backend and batch size, after the warm-up (default 200k)",
    )
    p.add_argument("--warmup", type=int, default=3, help="batches posted before the clock")
    p.add_argument(
        "--encodings",
        nargs="+",
        choices=["json", "arrow"],
        default=["json", "arrow"],
        help="ingest body encodings to time (default: both)",
    )
    p.add_argument(
        "--clients",
        nargs="+",
        type=int,
        default=[1],
        help="concurrent posting clients for the ingest (default 1: one SDK process)",
    )
    p.add_argument(
        "--ab",
        action="store_true",
        help="post gzip JSON and Arrow bodies alternately to one server per backend and "
        "batch size (fair under a drifting load) instead of one encoding per server",
    )
    p.add_argument(
        "--windows-drift",
        action="store_true",
        help="ask /windows with drift=true (per-window drift against the reference)",
    )
    p.add_argument("--query-backends", nargs="*", default=["sqlite"])
    p.add_argument("--query-hours", type=int, default=8760)
    p.add_argument("--query-rows-per-hour", type=int, default=4)
    p.add_argument("--query-repeats", type=int, default=3)
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("DRIFTLINE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    p.add_argument("--skip-ingest", action="store_true")
    p.add_argument(
        "--query-from",
        type=Path,
        help="take the query results from this earlier output (its date is kept with them) "
        "instead of measuring them again",
    )
    p.add_argument("--out", type=Path, default=HERE / "results" / "server.json")
    p.add_argument(
        "--chart",
        nargs=3,
        type=Path,
        metavar=("SDK_JSON", "SERVER_JSON", "PNG"),
        help="only draw the chart (needs matplotlib) and exit",
    )
    p.add_argument(
        "--query-endpoints",
        nargs="+",
        choices=["drift", "windows"],
        default=["drift", "windows"],
        help="query endpoints to time (default: both)",
    )
    p.add_argument(
        "--tables",
        nargs=2,
        type=Path,
        metavar=("SDK_JSON", "SERVER_JSON"),
        help="only print the Markdown tables and exit",
    )
    args = p.parse_args(argv)
    if args.chart:
        chart(*args.chart)
        return 0
    if args.tables:
        print(tables(*args.tables), end="")
        return 0

    result: dict[str, Any] = {**run_header(["benchmarks/server_bench.py", *argv])}
    result["ingest"], result["query"] = [], []
    if "postgresql" in args.backends + list(args.query_backends):
        import sqlalchemy as sa

        engine = sa.create_engine(args.postgres_url)
        with engine.connect() as conn:
            result["postgres_version"] = conn.execute(sa.text("SHOW server_version")).scalar()
        engine.dispose()
    with tempfile.TemporaryDirectory(prefix="driftline-server-bench-") as tmp:
        workdir = Path(tmp)
        server_log = workdir / "server.log"
        if not args.skip_ingest and args.ab:
            for backend, size in itertools.product(args.backends, args.batch_sizes):
                n_batches = max(1, args.rows // size)
                with (
                    backend_url(backend, workdir, args.postgres_url) as db,
                    live_server(db, log_path=server_log) as url,
                ):
                    log(f"ingest {backend} json/arrow alternately, {size} rows/batch x {n_batches}")
                    for r in bench_ingest_ab(url, size, n_batches, warmup=args.warmup, seed=size):
                        r["backend"] = backend
                        log(f"  {r['encoding']}: {r['rows_per_s']:,.0f} rows/s, "
                            f"p50 {r['latency']['p50_ms']:.1f} ms")  # fmt: skip
                        result["ingest"].append(r)
        if not args.skip_ingest and not args.ab:
            for backend in args.backends:
                for size, encoding, clients in itertools.product(
                    args.batch_sizes, args.encodings, args.clients
                ):
                    n_batches = max(1, args.rows // size)
                    with (
                        backend_url(backend, workdir, args.postgres_url) as db,
                        live_server(db, log_path=server_log) as url,
                    ):
                        log(
                            f"ingest {backend} {encoding} {size} rows/batch x {n_batches}, "
                            f"{clients} client(s)"
                        )
                        r = bench_ingest(
                            url, size, n_batches, warmup=args.warmup, seed=size,
                            encoding=encoding, clients=clients,
                        )  # fmt: skip
                    r["backend"] = backend
                    log(
                        f"  {r['rows_per_s']:,.0f} rows/s, p50 {r['latency']['p50_ms']:.1f} ms, "
                        f"p99 {r['latency']['p99_ms']:.1f} ms"
                    )
                    result["ingest"].append(r)
        if args.query_from:
            earlier = json.loads(args.query_from.read_text())
            for q in earlier.get("query", []):
                q.setdefault("measured_utc", earlier.get("date_utc"))
                result["query"].append(q)
        for backend in [] if args.query_from else args.query_backends:
            with backend_url(backend, workdir, args.postgres_url) as db:
                log(f"query {backend}: seeding {args.query_hours} hours")
                seeded = seed_year(
                    db, hours=args.query_hours, rows_per_hour=args.query_rows_per_hour, seed=7
                )
                log(f"  seeded {seeded['rows']} rows in {seeded['seed_s']} s")
                with live_server(db, log_path=server_log) as url:
                    for endpoint, window in itertools.product(args.query_endpoints, (3600, 86400)):
                        q = bench_query(
                            url,
                            hours=args.query_hours,
                            window_seconds=window,
                            repeats=args.query_repeats,
                            endpoint=endpoint,
                            drift=args.windows_drift,
                        )
                        q.update(backend=backend, seed=seeded, columns=N_NUMERIC + N_CATEGORICAL)
                        q["measured_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                        log(
                            f"  {endpoint}: {q['windows']} windows of {window}s: "
                            f"cold {q['cold_s']} s, "
                            f"warm median {q['warm_median_s']} s"
                        )
                        result["query"].append(q)
        if server_log.exists():
            result["server_log_tail"] = server_log.read_text(errors="replace")[-2000:]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
