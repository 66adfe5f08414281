"""Caller-side cost of logging: driftline's SDK against MLflow and TensorBoard (tensorboardX).

What the user's thread pays per call, timed call by call with
``time.perf_counter_ns`` (p50, p90, p99, p99.9, max, mean) over many calls, and
the calls per second of the whole loop. Workloads:

* ``metrics10``: 10 metric values per call at one step. driftline
  ``run.log(dict)``; MLflow ``log_metric`` x10, ``MlflowClient.log_batch`` (10
  metrics) and ``log_metrics(dict, synchronous=False)`` (its async mode);
  tensorboardX ``SummaryWriter.add_scalar`` x10.
* ``pred1``: driftline ``ModelMonitor.log_predictions`` of one row (a dict of 25
  feature scalars and a prediction).
* ``pred1k``: the same with a 1k-row pandas frame (25 columns) and a numpy
  array of predictions.

The dict of values is built before the clock starts, the same for every tool.
Each tool runs in its own process with its own environment: driftline in the
project's ``.venv``, MLflow in ``benchmarks/.venvs/mlflow``, tensorboardX in
``benchmarks/.venvs/tensorboard`` (see ``requirements-*.txt``). driftline runs
against a real ``driftline serve`` on a loopback port with a fresh SQLite file
(``driftline-http``) and in embedded mode (no URL: the SDK's thread writes to a
SQLite file in process, ``driftline-embedded``). MLflow runs with an sqlite
tracking URI and with a local file store (``file:`` URI), as a user would.
After the timed loop driftline's ``flush()`` is timed apart (``drain_s``: until
the server acknowledged everything) and its counters are checked (nothing
dropped, everything accepted); MLflow's stored history and tensorboardX's event
file are checked the same way.

Example::

    .venv/bin/python benchmarks/sdk_bench.py --out benchmarks/results/sdk.json
    .venv/bin/python benchmarks/sdk_bench.py --calls 20000 --tools driftline-http mlflow-sqlite
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from server_bench import live_server, log, percentiles_us, run_header  # the module next to this

#: Tools in run order; the value is the environment (``project`` or a ``benchmarks/.venvs`` name).
TOOLS = {
    "driftline-http": "project",
    "driftline-embedded": "project",
    "mlflow-sqlite": "mlflow",
    "mlflow-file": "mlflow",
    "tensorboardx": "tensorboard",
}
METRIC_NAMES = (
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",
    "grad_norm",
    "throughput",
    "gpu_mem",
    "epoch",
    "weight_norm",
)
#: Calls not timed at the start of each workload (thread start, first connection, caches).
WARMUP_CALLS = 100
#: Warm-up calls of the 1k-row frame workload (each queues 1,000 rows).
PRED1K_WARMUP_CALLS = 5
#: Seconds a child waits for driftline's background thread to deliver everything.
FLUSH_TIMEOUT_S = 600.0


def metrics_at(i: int) -> dict[str, float]:
    """The 10 metric values logged at step ``i``."""
    x = float(i)
    return {name: x * (k + 1) * 1e-3 + 0.5 for k, name in enumerate(METRIC_NAMES)}


def timed_loop(
    call: Callable[[Any], Any],
    prepare: Callable[[int], Any],
    n: int,
    budget_s: float,
    warmup: int = WARMUP_CALLS,
) -> dict[str, Any]:
    """Warm up, then call ``call(arg)`` ``n`` times (or until ``budget_s``), timing each call.

    ``prepare(i)`` builds the argument of call ``i`` before its clock starts.
    ``with_warmup_s`` is the wall time of warm-up and loop together (what the
    delivered rate divides by, since the warm-up calls are delivered too).
    """
    t_warm = time.perf_counter()
    for i in range(warmup):
        call(prepare(i))
    samples = [0] * n
    clock = time.perf_counter_ns
    done = 0
    t_start = time.perf_counter()
    deadline = t_start + budget_s
    for i in range(n):
        arg = prepare(warmup + i)
        t0 = clock()
        call(arg)
        samples[i] = clock() - t0
        done = i + 1
        if i % 64 == 63 and time.perf_counter() > deadline:
            break
    wall = time.perf_counter() - t_start
    out: dict[str, Any] = {
        "calls": done,
        "warmup_calls": warmup,
        "budget_hit": done < n,
        "loop_wall_s": round(wall, 4),
        "with_warmup_s": round(time.perf_counter() - t_warm, 4),
        "calls_per_s": round(done / wall, 1),
        "sum_call_s": round(sum(samples[:done]) / 1e9, 4),
    }
    out.update({k: round(v, 3) for k, v in percentiles_us(samples[:done]).items()})
    return out


# ------------------------------------------------------------------ driftline
def _feature_rows(n: int, seed: int) -> Any:
    """A pandas frame of ``n`` rows: 20 numeric and 5 categorical features."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"num_{j:02d}": rng.normal(j, 1.0, n) for j in range(20)}
    for j, k in enumerate((3, 10, 50, 200, 1000)):
        cols[f"cat_{j}"] = [f"c{j}_{c}" for c in rng.integers(0, k, n).tolist()]
    return pd.DataFrame(cols)


def child_driftline(args: argparse.Namespace) -> list[dict[str, Any]]:
    import numpy as np

    from driftline.client import ModelMonitor, init
    from driftline.config import load_settings

    settings = load_settings({"DRIFTLINE_DATA_DIR": str(args.workdir)})
    url = args.url or None
    results = []
    # max_queue: enough for every call of the longest loop, so that no call is dropped as
    # queue_full (a dropped call costs less than a queued one); --max-queue 0: SDK default
    opts: dict[str, Any] = {}
    if args.max_queue:
        opts["max_queue"] = args.max_queue

    def finish(res: dict[str, Any], obj: Any, expected: int, close: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        ok = obj.flush(timeout=FLUSH_TIMEOUT_S)
        res["drain_s"] = round(time.perf_counter() - t0, 3)
        st = obj.stats()
        close()
        res.update(
            flushed=ok,
            accepted=st.accepted,
            expected=expected,
            dropped=st.dropped,
            batches_sent=st.batches_sent,
        )
        total = res["with_warmup_s"] + res["drain_s"]
        res["delivered_per_s"] = round((res["calls"] + res["warmup_calls"]) / total, 1)
        if not ok or st.dropped or st.accepted < expected:
            res["error"] = f"not all delivered: accepted {st.accepted} of {expected}, {st.dropped}"

    # metrics10 -------------------------------------------------------
    run = init("bench", name="sdk-bench", url=url, settings=settings, **opts)
    res = timed_loop(run.log, metrics_at, args.calls, args.budget_s)
    res.update(workload="metrics10", api="run.log(10 metrics)")
    finish(res, run, (res["calls"] + res["warmup_calls"]) * 10, run.finish)
    res["max_queue"] = opts.get("max_queue", "default")
    results.append(res)
    log(f"  run.log: p50 {res['p50_us']} us, p99 {res['p99_us']} us, drain {res['drain_s']} s")

    if args.max_queue and url:
        # the same loop with the SDK's default queue bound: what a tight loop loses
        run = init("bench", name="sdk-bench-defaults", url=url, settings=settings)
        res = timed_loop(run.log, metrics_at, args.calls, args.budget_s)
        res.update(workload="metrics10-defaults", api="run.log(10 metrics), default max_queue")
        finish(res, run, (res["calls"] + res["warmup_calls"]) * 10, run.finish)
        res.pop("error", None)  # drops are what this row shows
        res["max_queue"] = "default"
        results.append(res)
        log(f"  run.log defaults: p99 {res['p99_us']} us, dropped {res['dropped']}")

    # pred1 -------------------------------------------------------------
    frame = _feature_rows(1000, 1)
    records = frame.to_dict("records")
    preds = np.random.default_rng(2).integers(0, 2, 1000)
    mon = ModelMonitor("bench", "sdk", "v1", url=url, settings=settings, **opts)
    n1 = args.pred1_calls

    def one(i: int) -> tuple[dict[str, Any], int]:
        return records[i % 1000], int(preds[i % 1000])

    res = timed_loop(lambda a: mon.log_predictions(a[0], a[1]), one, n1, args.budget_s)
    res.update(workload="pred1", api="ModelMonitor.log_predictions(1 row, 25 features)")
    finish(res, mon, res["calls"] + res["warmup_calls"], mon.close)
    results.append(res)
    log(f"  pred1: p50 {res['p50_us']} us, p99 {res['p99_us']} us, drain {res['drain_s']} s")

    # pred1k ------------------------------------------------------------
    frames = [_feature_rows(1000, 10 + k) for k in range(4)]
    mon = ModelMonitor("bench", "sdk1k", "v1", url=url, settings=settings, **opts)
    res = timed_loop(
        lambda a: mon.log_predictions(a, preds),
        lambda i: frames[i % 4],
        args.pred1k_calls,
        args.budget_s,
        warmup=PRED1K_WARMUP_CALLS,
    )
    res.update(workload="pred1k", api="ModelMonitor.log_predictions(1k-row frame, 25 features)")
    finish(res, mon, (res["calls"] + res["warmup_calls"]) * 1000, mon.close)
    results.append(res)
    log(f"  pred1k: p50 {res['p50_us']} us, p99 {res['p99_us']} us, drain {res['drain_s']} s")
    return results


# ------------------------------------------------------------------ MLflow
def child_mlflow(args: argparse.Namespace, store: str) -> list[dict[str, Any]]:
    import logging

    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    if store == "sqlite":
        uri = f"sqlite:///{args.workdir / 'mlflow.db'}"
    else:
        uri = (args.workdir / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
    client = MlflowClient()
    results = []

    def check(res: dict[str, Any], run_id: str) -> None:
        n = len(client.get_metric_history(run_id, "loss"))
        res["stored_points_loss"] = n
        res.setdefault("delivered_per_s", res["calls_per_s"])  # a synchronous call is delivered
        if n != res["calls"] + WARMUP_CALLS:
            res["error"] = f"stored {n} 'loss' points, expected {res['calls'] + WARMUP_CALLS}"

    with mlflow.start_run() as run:
        step = [0]

        def per_metric(m: dict[str, float]) -> None:
            s = step[0]
            for k, v in m.items():
                mlflow.log_metric(k, v, step=s)
            step[0] = s + 1

        res = timed_loop(per_metric, metrics_at, args.peer_calls, args.budget_s)
        res.update(workload="metrics10", api="mlflow.log_metric x10")
        check(res, run.info.run_id)
        results.append(res)
        log(f"  log_metric x10: p50 {res['p50_us']} us ({res['calls']} calls)")

    with mlflow.start_run() as run:
        run_id = run.info.run_id
        step = [0]

        def batch(m: dict[str, float]) -> None:
            ts, s = int(time.time() * 1000), step[0]
            client.log_batch(run_id, metrics=[Metric(k, v, ts, s) for k, v in m.items()])
            step[0] = s + 1

        res = timed_loop(batch, metrics_at, args.peer_calls, args.budget_s)
        res.update(workload="metrics10", api="MlflowClient.log_batch(10 metrics)")
        check(res, run_id)
        results.append(res)
        log(f"  log_batch: p50 {res['p50_us']} us ({res['calls']} calls)")

    with mlflow.start_run() as run:
        step = [0]

        def log_async(m: dict[str, float]) -> None:
            mlflow.log_metrics(m, step=step[0], synchronous=False)
            step[0] += 1

        res = timed_loop(log_async, metrics_at, args.peer_calls, args.budget_s)
        t0 = time.perf_counter()
        mlflow.flush_async_logging()
        res["drain_s"] = round(time.perf_counter() - t0, 3)
        res["delivered_per_s"] = round(
            (res["calls"] + res["warmup_calls"]) / (res["with_warmup_s"] + res["drain_s"]), 1
        )
        res.update(workload="metrics10", api="mlflow.log_metrics(10, synchronous=False)")
        check(res, run.info.run_id)
        results.append(res)
        log(f"  log_metrics async: p50 {res['p50_us']} us, drain {res['drain_s']} s")
    for r in results:
        r["mlflow_version"] = mlflow.__version__
        r["tracking_uri"] = (
            "sqlite:///<tmp>/mlflow.db" if store == "sqlite" else "file:///<tmp>/mlruns"
        )
    return results


# ------------------------------------------------------------------ tensorboardX
def child_tensorboard(args: argparse.Namespace) -> list[dict[str, Any]]:
    import tensorboardX
    from tensorboardX import SummaryWriter

    logdir = args.workdir / "tb"
    writer = SummaryWriter(str(logdir))
    step = [0]

    def add(m: dict[str, float]) -> None:
        s = step[0]
        for k, v in m.items():
            writer.add_scalar(k, v, s)
        step[0] = s + 1

    res = timed_loop(add, metrics_at, args.peer_tb_calls, args.budget_s)
    t0 = time.perf_counter()
    writer.flush()
    writer.close()
    res["drain_s"] = round(time.perf_counter() - t0, 3)
    res["delivered_per_s"] = round(
        (res["calls"] + res["warmup_calls"]) / (res["with_warmup_s"] + res["drain_s"]), 1
    )
    res["event_file_bytes"] = sum(p.stat().st_size for p in logdir.rglob("*") if p.is_file())
    res.update(
        workload="metrics10",
        api="tensorboardX SummaryWriter.add_scalar x10",
        tensorboardx_version=tensorboardX.__version__,
    )
    log(f"  add_scalar x10: p50 {res['p50_us']} us, p99 {res['p99_us']} us")
    return [res]


def run_child(args: argparse.Namespace) -> int:
    args.workdir = Path(args.workdir)
    if args.child.startswith("driftline"):
        results = child_driftline(args)
    elif args.child.startswith("mlflow"):
        results = child_mlflow(args, args.child.split("-", 1)[1])
    else:
        results = child_tensorboard(args)
    # the floor: the same loop around a call that does nothing
    floor = timed_loop(lambda a: None, lambda i: i, 100_000, args.budget_s)
    for r in results:
        r["empty_call_p50_us"], r["empty_call_p99_us"] = floor["p50_us"], floor["p99_us"]
    print(json.dumps(results))
    return 0


# ------------------------------------------------------------------ driver
def child_command(args: argparse.Namespace, tool: str, workdir: Path, url: str) -> list[str]:
    env = TOOLS[tool]
    python = args.project_python if env == "project" else str(args.venvs / env / "bin" / "python")
    cmd = [python, str(Path(__file__).resolve()), "--child", tool, "--workdir", str(workdir)]
    cmd += ["--calls", str(args.calls), "--pred1-calls", str(args.pred1_calls)]
    cmd += ["--pred1k-calls", str(args.pred1k_calls), "--peer-calls", str(args.peer_calls)]
    cmd += ["--peer-tb-calls", str(args.peer_tb_calls), "--budget-s", str(args.budget_s)]
    if args.max_queue:
        cmd += ["--max-queue", str(args.max_queue)]
    if url:
        cmd += ["--url", url]
    return cmd


def run_tool(args: argparse.Namespace, tool: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix=f"driftline-sdk-bench-{tool}-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
        env["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"  # the sync calls stay sync
        if tool == "mlflow-file":  # MLflow 3.x refuses its file store unless asked for it
            env["MLFLOW_ALLOW_FILE_STORE"] = "true"
        if tool == "driftline-http":
            db = f"sqlite:///{workdir / 'server.db'}"
            with live_server(db, project_python=args.project_python) as url:
                proc = subprocess.run(
                    child_command(args, tool, workdir, url),
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=args.timeout,
                )
        else:
            proc = subprocess.run(
                child_command(args, tool, workdir, ""),
                capture_output=True,
                text=True,
                env=env,
                timeout=args.timeout,
            )
        sys.stderr.write(proc.stderr[-3000:])
        if proc.returncode != 0:
            return [{"tool": tool, "error": f"exit {proc.returncode}: {proc.stderr[-1500:]}"}]
        results: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in results:
        r["tool"] = tool
        r["label"] = f"{tool}: {r['api']}"
    return results


def add_ratios(results: list[dict[str, Any]]) -> None:
    """Per result: per-call throughput (1 / mean call time) and driftline-http's multiple of it.

    ``driftline_http_speedup`` divides driftline-http's per-call throughput of
    the same workload by this result's; ``delivered_speedup`` does the same with
    the end-to-end rate (warm-up, loop and drain, until everything was stored).
    """
    for r in results:
        if r.get("mean_us"):
            r["per_call_throughput"] = round(1e6 / r["mean_us"], 1)
    ref = {
        r["workload"]: r
        for r in results
        if r.get("tool") == "driftline-http" and "per_call_throughput" in r
    }
    for r in results:
        base = ref.get(r.get("workload", ""))
        if base and r.get("per_call_throughput"):
            r["driftline_http_speedup"] = round(
                base["per_call_throughput"] / r["per_call_throughput"], 1
            )
        if base and r.get("delivered_per_s") and base.get("delivered_per_s"):
            r["delivered_speedup"] = round(base["delivered_per_s"] / r["delivered_per_s"], 1)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    p.add_argument("--calls", type=int, default=100_000, help="driftline run.log calls")
    p.add_argument("--pred1-calls", type=int, default=20_000)
    p.add_argument("--pred1k-calls", type=int, default=200)
    p.add_argument("--peer-calls", type=int, default=2_000, help="MLflow calls per workload")
    p.add_argument("--peer-tb-calls", type=int, default=100_000, help="tensorboardX calls")
    p.add_argument(
        "--budget-s", type=float, default=30.0, help="a timed loop stops after this many seconds"
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=-1,
        help="driftline SDK max_queue (default: calls + warm-up + 1024, so nothing is "
        "dropped; 0: the SDK's default of 10,000)",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="per tool, seconds")
    p.add_argument("--venvs", type=Path, default=HERE / ".venvs")
    p.add_argument("--project-python", default=sys.executable)
    p.add_argument("--out", type=Path, default=HERE / "results" / "sdk.json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return run_child(args)
    if args.max_queue < 0:
        args.max_queue = max(args.calls, args.pred1_calls) + WARMUP_CALLS + 1024

    out: dict[str, Any] = run_header(["benchmarks/sdk_bench.py", *argv])
    out["gc_enabled"] = gc.isenabled()
    results: list[dict[str, Any]] = []
    for tool in args.tools:
        log(f"{tool}")
        results.extend(run_tool(args, tool))
    add_ratios(results)
    out["results"] = results
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
