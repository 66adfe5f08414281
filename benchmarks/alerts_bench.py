"""Alerting benchmark: alert latency end to end, and evaluation time of 1,000 monitors.

1. **Latency** (``latency``): a real ``driftline serve`` process (SQLite, scheduler on,
   1 s ticks) with one ``on_ingest`` drift monitor per model and a route with
   ``group_wait: 0s``; a local HTTP receiver. For each of ``--repeats`` models the SDK
   (``ModelMonitor``, ``flush_interval=0.05``) sends a reference, then drifted
   predictions; the clock starts when ``log_predictions`` is called and stops when
   the receiver gets the webhook for that model. The predictions carry the current
   time: an ``on_ingest`` monitor judges the running window.
2. **Evaluation** (``evaluation``): a store seeded through ``IngestService`` with a
   year of hourly windows (8,760 buckets, ``--rows-per-hour`` rows, 10 numeric
   columns, latency, errors, a reference), 1,000 monitors over it (drift, quality,
   volume, error rate and latency signals; threshold, change and anomaly
   conditions), then timed: the first ``evaluate_due`` pass (every monitor due),
   a pass right after (nothing due), and a steady-state pass one hour later after
   one more hour of data was ingested (every monitor due again).

Run from the repository root::

    .venv/bin/python benchmarks/alerts_bench.py --out benchmarks/results/alerts.json
    .venv/bin/python benchmarks/alerts_bench.py --only evaluation \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/driftline_alerts_bench
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from server_bench import run_header

HOUR = 3600
N_COLUMNS = 10


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, int(np.ceil(q * len(ordered))) - 1))]


# ------------------------------------------------------------------ 1. latency
class Receiver:
    """An HTTP receiver that records the arrival time of each webhook, by model."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.perf_counter()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.cond:
                    for alert in body.get("alerts", []):
                        receiver.arrivals.setdefault(alert["labels"]["model"], at)
                    receiver.cond.notify_all()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, model: str, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: model in self.arrivals, timeout)
            return self.arrivals.get(model)


def _latency_config(hook: str, models: Sequence[str]) -> str:
    monitors = "".join(
        f"""  - name: {m}-drift
    project: bench
    model: {m}
    signal: {{kind: drift, column: a}}
    condition: {{kind: threshold, op: ">", value: 0.2}}
    schedule: on_ingest
"""
        for m in models
    )
    return f"""route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook:
      - url: {hook}
monitors:
{monitors}"""


def bench_latency(repeats: int, workdir: Path) -> dict[str, Any]:
    from driftline.client import ModelMonitor
    from driftline.config import load_settings

    receiver = Receiver()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DRIFTLINE_DATA_DIR": str(workdir / "data")}
    env["DRIFTLINE_ALERT_ALLOW"] = "127.0.0.1/32"
    env.pop("DRIFTLINE_DATABASE_URL", None)
    logfile = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "driftline", "serve", "--port", str(port),
         "--database-url", f"sqlite:///{workdir / 'latency.db'}", "--log-level", "warning"],
        stdout=logfile, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    samples: list[float] = []
    missed = 0
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("driftline serve did not start")
            time.sleep(0.1)
        models = [f"m{i}" for i in range(repeats)]
        resp = httpx.put(
            f"{url}/api/v1/monitors",
            content=_latency_config(receiver.url, models),
            headers={"Content-Type": "application/yaml"},
            timeout=30,
        )
        resp.raise_for_status()
        rng = np.random.default_rng(0)
        settings = load_settings({"DRIFTLINE_DATA_DIR": str(workdir / "sdk")})
        for model in models:
            now = time.time()
            if now % HOUR > HOUR - 15:  # keep the rows of one model in one hourly window
                time.sleep(HOUR - now % HOUR + 0.5)
            reference = pd.DataFrame({"a": rng.normal(0, 1, 500)})
            monitor = ModelMonitor(
                "bench", model, "v1", reference=reference, url=url, settings=settings,
                flush_interval=0.05,
            )  # fmt: skip
            try:
                monitor.flush(timeout=30)
                drifted = pd.DataFrame({"a": rng.normal(3, 1, 300)})
                # a random pause, so the ingest falls at a random phase of the 1 s tick
                time.sleep(float(rng.uniform(0.5, 1.5)))
                t0 = time.perf_counter()
                monitor.log_predictions(drifted, rng.integers(0, 2, 300))  # stamped now
                got = receiver.wait(model, 30.0)
            finally:
                monitor.close()
            if got is None:
                missed += 1
                log(f"latency: {model}: no notification within 30 s")
                continue
            samples.append(got - t0)
            log(f"latency: {model}: {samples[-1] * 1000:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(20)
        logfile.close()
        receiver.server.shutdown()
    return {
        "repeats": repeats,
        "missed": missed,
        "p50_s": round(_pct(samples, 0.5), 3) if samples else None,
        "p95_s": round(_pct(samples, 0.95), 3) if samples else None,
        "max_s": round(max(samples), 3) if samples else None,
        "mean_s": round(statistics.fmean(samples), 3) if samples else None,
        "samples_s": [round(s, 3) for s in samples],
        "setup": "driftline serve (SQLite, scheduler tick 1 s), SDK flush_interval 0.05 s, "
        "on_ingest drift monitor, group_wait 0s, webhook to 127.0.0.1",
    }


# ------------------------------------------------------------------ 2. evaluation
def _hour_batch(
    rng: np.random.Generator, hours: Sequence[int], rows: int, t0: float, tag: str
) -> Any:
    from driftline.wire import PredictionsBatch

    n = len(hours) * rows
    stamps = np.repeat(np.asarray(hours, dtype=float) * HOUR + t0, rows) + np.tile(
        np.linspace(0, HOUR - 1, rows), len(hours)
    )
    shift = np.repeat((np.asarray(hours) % 24) / 24.0, rows)
    return PredictionsBatch(
        batch_id=f"{tag}-{hours[0]}",
        project="bench",
        model="m",
        version="v1",
        ids=[f"{tag}-{hours[0]}-{i}" for i in range(n)],
        timestamps=stamps.tolist(),
        features={
            f"f{j}": (rng.normal(0, 1, n) + shift * (j % 3)).tolist() for j in range(N_COLUMNS)
        },
        predictions=rng.integers(0, 2, n).tolist(),
        latency_ms=rng.gamma(2.0, 10.0, n).tolist(),
        errors=[None if x > 0.01 else "timeout" for x in rng.random(n)],
    )


def _monitors(n: int) -> list[Any]:
    from driftline.alerts._spec import MonitorSpec

    signals: list[dict[str, Any]] = []
    for j in range(N_COLUMNS):
        signals.append({"kind": "drift", "column": f"f{j}"})
        for measure in ("missing_rate", "mean", "std", "max"):
            signals.append({"kind": "quality", "column": f"f{j}", "measure": measure})
    signals += [{"kind": "volume"}, {"kind": "error_rate"}, {"kind": "latency"}]
    conditions: list[dict[str, Any]] = [
        {"kind": "threshold", "op": ">", "value": 0.5},
        {"kind": "change", "relative": 0.5},
        {"kind": "anomaly", "z": 4, "history": "7d", "seasonality": "1d"},
    ]
    out = []
    for i in range(n):
        condition = conditions[i % len(conditions)]
        spec: dict[str, Any] = {
            "name": f"mon-{i:04d}",
            "project": "bench",
            "model": "m",
            "signal": signals[i % len(signals)],
            "condition": condition,
            "min_samples": 1,
        }
        if condition["kind"] == "change":
            spec["baseline"] = "previous"
        out.append(MonitorSpec.model_validate(spec))
    return out


def bench_evaluation(
    database_url: str, *, monitors: int, hours: int, rows_per_hour: int, hours_per_batch: int
) -> dict[str, Any]:
    from driftline.alerts._service import AlertService
    from driftline.profile import profile
    from driftline.schema import Schema
    from driftline.store import IngestService, Store
    from driftline.wire import ReferencePayload

    rng = np.random.default_rng(0)
    now0 = time.time()
    t0 = (now0 // HOUR) * HOUR - hours * HOUR  # the year ends at the current hour
    with Store.open(database_url) as store:
        ingest = IngestService(store)
        ref = pd.DataFrame({f"f{j}": rng.normal(0, 1, 5000) for j in range(N_COLUMNS)})
        schema = Schema.infer(ref)
        ingest.ingest(
            ReferencePayload(
                batch_id="ref", project="bench", model="m", version="v1",
                profile=profile(ref, schema).to_dict(), schema=schema.to_dict(),
            )
        )  # fmt: skip
        start = time.perf_counter()
        for first in range(0, hours, hours_per_batch):
            chunk = list(range(first, min(hours, first + hours_per_batch)))
            ingest.ingest(_hour_batch(rng, chunk, rows_per_hour, t0, "y"))
        seed_s = time.perf_counter() - start
        log(f"evaluation: seeded {hours} hours in {seed_s:.1f} s")
        clock = [t0 + hours * HOUR + 60.0]
        service = AlertService(store, clock=lambda: clock[0])
        specs = _monitors(monitors)
        start = time.perf_counter()
        for spec in specs:
            service.upsert_monitor(spec)
        create_s = time.perf_counter() - start

        def timed_pass() -> dict[str, Any]:
            start = time.perf_counter()
            run = service.evaluate_due(clock[0])
            wall = time.perf_counter() - start
            statuses: dict[str, int] = {}
            firing = 0
            for o in run.outcomes:
                statuses[o.status] = statuses.get(o.status, 0) + 1
                firing += bool(o.firing)
            return {"wall_s": round(wall, 3), "outcomes": statuses, "firing": firing}

        first = timed_pass()
        log(f"evaluation: first pass {first}")
        clock[0] += 1.0
        idle = timed_pass()
        log(f"evaluation: nothing due {idle}")
        ingest.ingest(_hour_batch(rng, [hours], rows_per_hour, t0, "next"))
        clock[0] = t0 + (hours + 1) * HOUR + 60.0
        steady = timed_pass()
        log(f"evaluation: steady state {steady}")
        backend = store.engine.dialect.name
    return {
        "backend": backend,
        "monitors": monitors,
        "hours": hours,
        "rows_per_hour": rows_per_hour,
        "columns": N_COLUMNS,
        "seed_s": round(seed_s, 1),
        "create_monitors_s": round(create_s, 2),
        "first_pass": first,
        "nothing_due_pass": idle,
        "steady_state_pass": steady,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--only", choices=["latency", "evaluation"], default=None)
    parser.add_argument("--repeats", type=int, default=20, help="latency repetitions")
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=365 * 24)
    parser.add_argument("--rows-per-hour", type=int, default=20)
    parser.add_argument("--hours-per-batch", type=int, default=240)
    parser.add_argument("--database-url", default=None, help="evaluation store (default: SQLite)")
    args = parser.parse_args(argv)
    out: dict[str, Any] = run_header(sys.argv if argv is None else ["alerts_bench.py", *argv])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.only in (None, "latency"):
            out["latency"] = bench_latency(args.repeats, workdir)
            log(f"latency: {out['latency']['p50_s']} s p50, {out['latency']['p95_s']} s p95")
        if args.only in (None, "evaluation"):
            url = args.database_url or f"sqlite:///{workdir / 'eval.db'}"
            out["evaluation"] = bench_evaluation(
                url,
                monitors=args.monitors,
                hours=args.hours,
                rows_per_hour=args.rows_per_hour,
                hours_per_batch=args.hours_per_batch,
            )
    text = json.dumps(out, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
