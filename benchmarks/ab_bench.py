"""Before/after: the same benchmarks on two revisions of driftline, alternating, on one machine.

A refactor must not make the report, the server's ingest or the SDK slower. Timings on a
shared machine drift by 10 % or more within minutes, so one run of each side says little:
this script runs the old and the new revision in turns (ABBA order within each round, so
neither side always goes first), each with its own benchmark scripts and its own source tree
(``PYTHONPATH``), in the same interpreter and virtual environment, and reports the median of
each figure and the ratio new/old with the load average beside each run.

What it measures (each a subset of a benchmark of ``docs/benchmarks.md``):

- ``report``: ``drift_bench.py --tools driftline``: ``Report`` compute and HTML time.
- ``ingest``: ``server_bench.py`` on SQLite, Arrow bodies of 10,000 rows: rows stored per second.
- ``sdk``: ``sdk_bench.py --tools driftline-http driftline-embedded``: per-call cost
  (mean, p50, p99) of ``run.log`` and ``log_predictions``.

Example::

    .venv/bin/python benchmarks/ab_bench.py --old 2c53ffa --rounds 3 \\
        --out benchmarks/results/ab-architecture.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _worktree(rev: str) -> Path:
    """A checkout of ``rev`` beside the repository (made once, reused)."""
    path = Path(tempfile.gettempdir()) / f"driftline-ab-{rev}"
    if not (path / "src" / "driftline").exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
            check=True,
            capture_output=True,
        )
    return path


def _run(tree: Path, args: list[str], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        cmd = [sys.executable, *[a.replace("{tree}", str(tree)) for a in args], "--out", str(out)]
        subprocess.run(cmd, check=True, env=env, cwd=tree, timeout=timeout, capture_output=True)
        data: dict[str, Any] = json.loads(out.read_text())
        return data


def _report(tree: Path, rows: int, data_dir: Path) -> dict[str, float]:
    data = _run(
        tree,
        [
            "{tree}/benchmarks/drift_bench.py",
            "--rows",
            str(rows),
            "--tools",
            "driftline",
            "--data-dir",
            str(data_dir),
        ],
        timeout=900,
    )
    res = data["sizes"][str(rows)]["driftline"]
    return {"report_compute_s": res["compute_s"], "report_html_s": res["html_s"]}


def _ingest(tree: Path, rows: int) -> dict[str, float]:
    data = _run(
        tree,
        [
            "{tree}/benchmarks/server_bench.py",
            "--backends",
            "sqlite",
            "--batch-sizes",
            "10000",
            "--encodings",
            "arrow",
            "--rows",
            str(rows),
            "--query-backends",
        ],
        timeout=900,
    )
    return {"ingest_rows_per_s": data["ingest"][0]["rows_per_s"]}


def _sdk(tree: Path, calls: int, extra: list[str]) -> dict[str, float]:
    data = _run(
        tree,
        [
            "{tree}/benchmarks/sdk_bench.py",
            "--tools",
            "driftline-http",
            "driftline-embedded",
            "--calls",
            str(calls),
            *extra,
        ],
        timeout=900,
    )
    out = {}
    for r in data["results"]:
        key = f"sdk {r['tool']} {r['workload']}"
        out[f"{key} mean_us"] = r["mean_us"]
        out[f"{key} p50_us"] = r["p50_us"]
        out[f"{key} p99_us"] = r["p99_us"]
    return out


HIGHER_IS_BETTER = ("rows_per_s",)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", required=True, help="git revision to compare against")
    p.add_argument("--new", default=None, help="git revision (default: this working tree)")
    p.add_argument("--rounds", type=int, default=3, help="ABBA rounds (each runs both sides twice)")
    p.add_argument("--what", nargs="+", default=["report", "ingest", "sdk"])
    p.add_argument("--report-rows", type=int, default=1_000_000)
    p.add_argument("--ingest-rows", type=int, default=200_000)
    p.add_argument("--sdk-calls", type=int, default=100_000)
    p.add_argument(
        "--sdk-args",
        default="",
        help="more options for sdk_bench.py, one string (e.g. '--pred1k-calls 1000')",
    )
    p.add_argument("--data-dir", type=Path, default=HERE / ".data")
    p.add_argument("--out", type=Path, default=HERE / "results" / "ab.json")
    args = p.parse_args()

    trees = {"old": _worktree(args.old), "new": _worktree(args.new) if args.new else REPO}
    jobs: dict[str, Callable[[Path], dict[str, float]]] = {
        "report": lambda t: _report(t, args.report_rows, args.data_dir),
        "ingest": lambda t: _ingest(t, args.ingest_rows),
        "sdk": lambda t: _sdk(t, args.sdk_calls, args.sdk_args.split()),
    }
    runs: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        for what in args.what:
            for side in (
                ("old", "new", "new", "old") if rnd % 2 == 0 else ("new", "old", "old", "new")
            ):
                load = os.getloadavg()
                t0 = time.perf_counter()
                figures = jobs[what](trees[side])
                runs.append(
                    {"round": rnd, "what": what, "side": side, "loadavg": load, "figures": figures}
                )
                print(
                    f"round {rnd} {what:6} {side}: load {load[0]:.2f}, "
                    f"{time.perf_counter() - t0:.0f} s, "
                    + ", ".join(f"{k}={v:.4g}" for k, v in list(figures.items())[:3]),
                    flush=True,
                )
    summary: dict[str, dict[str, float]] = {}
    for name in sorted({k for r in runs for k in r["figures"]}):
        med = {
            side: statistics.median(
                r["figures"][name] for r in runs if r["side"] == side and name in r["figures"]
            )
            for side in ("old", "new")
        }
        ratio = med["new"] / med["old"] if med["old"] else float("nan")
        better = ratio if name.endswith(HIGHER_IS_BETTER) else (1 / ratio if ratio else ratio)
        summary[name] = {
            "old": med["old"],
            "new": med["new"],
            "new_over_old": ratio,
            "speed": better,
        }
    result = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "old": args.old,
        "new": args.new
        or subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform()},
        "runs": runs,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print("\n| figure | old (median) | new (median) | new/old | speed (>1 faster) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, s in summary.items():
        print(
            f"| {name} | {s['old']:.4g} | {s['new']:.4g} | {s['new_over_old']:.3f} | "
            f"{s['speed']:.3f} |"
        )


if __name__ == "__main__":
    main()
