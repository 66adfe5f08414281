"""Drift benchmark: driftline against Evidently, whylogs, NannyML and a numpy/scipy bound.

For each size, both sides of a synthetic table with known shifts (see
``_drift_data.py``) are generated once and cached as Parquet. Each tool then
runs in its own subprocess, one at a time, with the Python of its own virtual
environment (peers never share driftline's environment), under a per-tool time
bound. The child reports compute time (Parquet reading excluded), peak RSS and
the columns it flagged; this driver scores the flags against the truth and
writes JSON plus a Markdown table.

Example::

    .venv/bin/python benchmarks/drift_bench.py --rows 100000 1000000 5000000 \\
        --tools driftline evidently whylogs nannyml numpy --timeout 900 \\
        --out benchmarks/results/drift.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _drift_data as data  # the module next to this file

#: Run order at each size: cheapest first, so a wall-time budget cuts the slow peers.
ALL_TOOLS = ("driftline", "numpy", "nannyml", "whylogs", "evidently")
#: Tools that run in the project's environment; the others in benchmarks/.venvs/<tool>.
PROJECT_ENV_TOOLS = ("driftline", "numpy")
#: Default per-tool time bound in seconds (one tool, one size).
DEFAULT_TIMEOUT_S = 900.0
#: Default bound on a child's resident memory in GiB; the child is killed above it.
DEFAULT_MAX_MEMORY_GB = 16.0
#: The peers' documented switches for their usage telemetry (no network calls while timed).
NO_TELEMETRY = {
    "NML_DISABLE_USAGE_LOGGING": "1",
    "WHYLOGS_NO_ANALYTICS": "True",
    "DO_NOT_TRACK": "1",
}
#: How often the driver samples the child's resident memory, in seconds.
POLL_S = 0.25


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_info() -> dict[str, Any]:
    """nproc, memory and CPU model of this machine (Linux /proc), plus Python."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_total_gb"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    return info


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MiB (0 if gone)."""
    total = 0.0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024.0
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


def python_for(tool: str, args: argparse.Namespace) -> Path:
    if tool in PROJECT_ENV_TOOLS:
        return Path(args.project_python)
    return Path(args.venvs) / tool / "bin" / "python"


def run_child(
    tool: str,
    ref: Path,
    cur: Path,
    args: argparse.Namespace,
    timeout_s: float,
    budget_left_s: float | None = None,
) -> dict[str, Any]:
    """Run one tool on one size in its own process; never raises for a tool failure."""
    py = python_for(tool, args)
    if not py.exists():
        return {"tool": tool, "status": "not installed", "error": f"no interpreter at {py}"}
    with tempfile.TemporaryDirectory(prefix=f"drift-{tool}-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            str(py),
            str(HERE / "_drift_child.py"),
            "--tool",
            tool,
            "--reference",
            str(ref),
            "--current",
            str(cur),
            "--numeric",
            ",".join(data.NUMERIC_COLUMNS),
            "--categorical",
            ",".join(data.CATEGORICAL_COLUMNS),
            "--out",
            str(out),
        ]
        if tool == "driftline" and args.html_dir:
            cmd += ["--html-dir", str(args.html_dir)]
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore", **NO_TELEMETRY)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=tmp)
        max_seen = 0.0
        killed: str | None = None
        while proc.poll() is None:
            elapsed = time.perf_counter() - t0
            rss = _tree_rss_mb(proc.pid)
            max_seen = max(max_seen, rss)
            if elapsed > timeout_s:
                killed = "timeout"
            elif budget_left_s is not None and elapsed > budget_left_s:
                killed = "budget"
            elif rss > args.max_memory_gb * 1024:
                killed = "memory"
            if killed:
                proc.kill()
                proc.wait()
                break
            time.sleep(POLL_S)
        wall = time.perf_counter() - t0
        if killed == "timeout":
            return {
                "tool": tool,
                "status": "timeout",
                "error": f"did not finish within the {timeout_s:.0f} s bound",
                "wall_s": wall,
                "max_rss_seen_mb": max_seen,
            }
        if killed == "budget":
            return {
                "tool": tool,
                "status": "budget",
                "error": f"stopped after {wall:.0f} s: the run's wall-time budget ran out",
                "wall_s": wall,
                "max_rss_seen_mb": max_seen,
            }
        if killed == "memory":
            return {
                "tool": tool,
                "status": "memory",
                "error": f"killed above the {args.max_memory_gb:g} GiB memory bound",
                "wall_s": wall,
                "max_rss_seen_mb": max_seen,
            }
        if not out.exists():
            return {
                "tool": tool,
                "status": "error",
                "error": f"child exited with {proc.returncode} and wrote no result",
                "wall_s": wall,
            }
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        result["wall_s"] = wall
        result["max_rss_seen_mb"] = max_seen
        return result


def score_flags(result: dict[str, Any]) -> None:
    """Add found / missed / false alarms against the known shifts."""
    if result.get("status") != "ok":
        return
    truth = set(data.SHIFTS)
    flagged = set(result.get("flagged", []))
    assessed = set(result.get("details", {}))
    result["found"] = sorted(flagged & truth)
    result["missed"] = sorted(truth - flagged)
    result["false_alarms"] = sorted(flagged - truth)
    result["not_assessed"] = sorted(set(data.ALL_COLUMNS) - assessed)


def skip_reason(
    tool: str,
    rows: int,
    done: dict[int, dict[str, dict[str, Any]]],
    args: argparse.Namespace,
    elapsed_s: float = 0.0,
) -> str | None:
    """Why ``tool`` is not run at ``rows``, projected linearly from the largest smaller size."""
    if args.no_projection:
        return None
    smaller = sorted(r for r in done if r < rows and tool in done[r])
    if not smaller:
        return None
    prev_rows = smaller[-1]
    prev = done[prev_rows][tool]
    status = prev.get("status")
    if status in ("timeout", "memory", "budget"):
        return f"not run: exceeded the {status} bound at {prev_rows:,} rows"
    if status == "skipped":
        return f"not run: {prev.get('error', 'skipped')} (at a smaller size)"
    if status != "ok":
        return None
    factor = rows / prev_rows
    projected_s = prev["wall_s"] * factor
    if projected_s > args.timeout:
        return (
            f"not run: projected {projected_s:.0f} s (linear from {prev['wall_s']:.0f} s "
            f"at {prev_rows:,} rows) exceeds the {args.timeout:.0f} s bound"
        )
    if args.budget is not None and elapsed_s + projected_s > args.budget:
        return (
            f"not run: projected {projected_s:.0f} s (linear from {prev['wall_s']:.0f} s at "
            f"{prev_rows:,} rows) would end past the run's {args.budget:.0f} s wall-time budget "
            f"({elapsed_s:.0f} s used)"
        )
    projected_gb = prev.get("peak_rss_mb", 0.0) * factor / 1024
    if projected_gb > args.max_memory_gb:
        return (
            f"not run: projected peak {projected_gb:.1f} GiB (linear from "
            f"{prev['peak_rss_mb']:.0f} MiB at {prev_rows:,} rows) exceeds the "
            f"{args.max_memory_gb:g} GiB bound"
        )
    return None


def add_ratios(size_results: dict[str, dict[str, Any]]) -> None:
    """Time and memory of each tool relative to driftline at the same size."""
    dl = size_results.get("driftline", {})
    if dl.get("status") != "ok":
        return
    for r in size_results.values():
        if r.get("status") != "ok":
            continue
        r["time_vs_driftline"] = r["compute_s"] / dl["compute_s"] if dl["compute_s"] else None
        r["peak_vs_driftline"] = r["compute_peak_rss_mb"] / dl["compute_peak_rss_mb"]


def _fmt_s(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def markdown_table(results: dict[str, Any]) -> str:
    """The results as one Markdown table (one row per size and tool)."""
    head = (
        "| rows/side | tool | compute s | x driftline time | peak MiB | x driftline peak "
        "| peak / input | (peak - libs) / input | found | missed | false alarms | note |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n"
    )
    lines = []
    n_truth = len(data.SHIFTS)
    for rows_key, per_tool in results["sizes"].items():
        for tool, r in per_tool.items():
            rows = f"{int(rows_key):,}"
            if r.get("status") != "ok":
                note = str(r.get("error", r.get("status", ""))).splitlines()[0][:160]
                lines.append(f"| {rows} | {tool} | - | - | - | - | - | - | - | - | - | {note} |")
                continue
            ratio = r.get("time_vs_driftline")
            peak_ratio = r.get("peak_vs_driftline")
            peak = r["compute_peak_rss_mb"]
            libs = r.get("import_rss_mb", 0.0)
            note = []
            if r.get("html_s") is not None:
                note.append(f"HTML {r['html_s']:.1f} s (not in compute)")
            if r.get("not_assessed"):
                note.append("not assessed: " + ", ".join(r["not_assessed"]))
            lines.append(
                f"| {rows} | {tool} | {_fmt_s(r['compute_s'])} | "
                f"{'' if ratio is None else f'{ratio:.2f}'} | {peak:,.0f} | "
                f"{'' if peak_ratio is None else f'{peak_ratio:.2f}'} | "
                f"{peak / r['input_mb']:.2f} | {(peak - libs) / r['input_mb']:.2f} | "
                f"{len(r['found'])}/{n_truth} | "
                f"{', '.join(r['missed']) or '-'} | {', '.join(r['false_alarms']) or '-'} | "
                f"{'; '.join(note)} |"
            )
    return head + "\n".join(lines) + "\n"


def write_results(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=False), encoding="utf-8")
    tmp.replace(out)
    out.with_suffix(".md").write_text(markdown_table(results), encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[100_000], help="rows per side")
    p.add_argument("--tools", nargs="+", default=list(ALL_TOOLS), choices=ALL_TOOLS)
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"per-tool, per-size time bound in seconds (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    p.add_argument(
        "--max-memory-gb",
        type=float,
        default=DEFAULT_MAX_MEMORY_GB,
        help=f"kill a tool whose RSS exceeds this (default {DEFAULT_MAX_MEMORY_GB:g} GiB)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="total wall-time budget in seconds: a tool whose projected time would end past it "
        "is not run (default: none)",
    )
    p.add_argument("--out", type=Path, default=HERE / "results" / "drift.json")
    p.add_argument("--data-dir", type=Path, default=HERE / ".data")
    p.add_argument("--venvs", type=Path, default=HERE / ".venvs")
    p.add_argument(
        "--project-python",
        default=sys.executable,
        help="interpreter for driftline and the numpy bound (default: this one)",
    )
    p.add_argument(
        "--html-dir",
        type=Path,
        default=HERE / ".data" / "html",
        help="where driftline's HTML report is written (its rendering is timed separately)",
    )
    p.add_argument(
        "--no-projection",
        action="store_true",
        help="run every tool at every size even when a smaller size projects past a bound",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows_list = sorted(set(args.rows))
    tools = [t for t in ALL_TOOLS if t in args.tools]  # fixed order
    results: dict[str, Any] = {
        "started_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "timeout_s": args.timeout,
        "budget_s": args.budget,
        "max_memory_gb": args.max_memory_gb,
        "data_version": data.DATA_VERSION,
        "truth": data.SHIFTS,
        "columns": list(data.ALL_COLUMNS),
        "timing": "compute_s excludes imports and reading the Parquet files; "
        "driftline's HTML rendering is timed separately (html_s)",
        "sizes": {},
    }
    done: dict[int, dict[str, dict[str, Any]]] = {}
    t_start = time.perf_counter()
    for rows in rows_list:
        log(f"== {rows:,} rows per side")
        ref, cur = data.dataset_paths(rows, args.data_dir)
        if not (ref.exists() and cur.exists()):
            # in a subprocess, so this driver stays small: a child's ru_maxrss starts
            # from its parent's high-water mark at fork/exec
            script = str(HERE / "_drift_data.py")
            cmd = [args.project_python, script, str(rows), str(args.data_dir)]
            subprocess.run(cmd, check=True)
        done[rows] = {}
        results["sizes"][str(rows)] = done[rows]
        for tool in tools:
            reason = skip_reason(tool, rows, done, args, time.perf_counter() - t_start)
            if reason:
                log(f"  {tool}: {reason}")
                done[rows][tool] = {"tool": tool, "status": "skipped", "error": reason}
                write_results(results, args.out)
                continue
            load = os.getloadavg()
            log(f"  {tool}: start (bound {args.timeout:.0f} s, load average {load[0]:.1f})")
            left = None if args.budget is None else args.budget - (time.perf_counter() - t_start)
            r = run_child(tool, ref, cur, args, args.timeout, left)
            r["loadavg_1m_at_start"] = load[0]
            r["loadavg_1m_at_end"] = os.getloadavg()[0]
            score_flags(r)
            done[rows][tool] = r
            if r.get("status") == "ok":
                log(
                    f"  {tool}: compute {r['compute_s']:.2f} s (load {r['load_s']:.1f} s), "
                    f"peak {r['compute_peak_rss_mb']:.0f} MiB for {r['input_mb']:.0f} MiB input; "
                    f"found {len(r['found'])}/{len(data.SHIFTS)}, missed {r['missed']}, "
                    f"false alarms {r['false_alarms']}"
                )
            else:
                log(f"  {tool}: {r.get('status')}: {r.get('error')}")
            add_ratios(done[rows])
            results["finished_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            write_results(results, args.out)
    print()
    print(markdown_table(results))
    log(f"results: {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
