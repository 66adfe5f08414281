"""Run one tool's drift detection on one reference/current pair, in its own process.

Started by ``drift_bench.py`` with the Python of the tool's own virtual
environment, so it imports nothing from the benchmark or from driftline except
when the tool *is* driftline. It prints progress to stderr and writes one JSON
object to ``--out``:

- ``load_s``: reading both Parquet files into pandas (not part of the compute time);
- ``compute_s``: the tool's own work, from the frames in memory to its result
  as Python objects (imports and Parquet reading excluded);
- ``html_s``: driftline only, rendering the standalone HTML report (measured
  separately, not in ``compute_s``);
- ``peak_rss_mb``: ``getrusage(RUSAGE_SELF).ru_maxrss`` at the end (whole process);
- ``compute_peak_rss_mb``: the same high-water mark, reset (``/proc/self/clear_refs``)
  once the frames are loaded, so it is the peak while the frames are held and the
  tool computes;
- ``import_rss_mb``: the RSS after the imports, before any data (interpreter + libraries);
- ``input_mb``: ``DataFrame.memory_usage(deep=True)`` of both frames;
- ``flagged``: the columns the tool says drifted, under its default settings;
- ``details``: per column, the tool's method, statistic and threshold.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

#: PSI at or above this flags a column in the numpy/scipy lower bound
#: (the usual "moderate change" cut-off of the PSI rule of thumb).
NUMPY_PSI_THRESHOLD = 0.1
#: Quantile bins per numeric column in the numpy/scipy lower bound.
NUMPY_BINS = 10
#: Floor on a bin's share in the PSI, so empty bins give a finite value.
NUMPY_PSI_EPS = 1e-4


def _log(msg: str) -> None:
    print(f"    [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _vm_hwm_mb() -> float | None:
    """VmHWM of this process (Linux), a cross-check of ru_maxrss."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the process's RSS high-water mark (Linux); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _release_arrow_memory() -> None:
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - best effort only
        pass


# --------------------------------------------------------------------------- tools


def run_numpy(
    ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> dict[str, Any]:
    """Lower bound: one histogram + PSI pass per column, nothing else.

    Numeric: 10 reference-quantile bins plus a missing bin, counted with
    ``searchsorted`` + ``bincount``. Categorical: pandas ``value_counts`` (a hash
    table; ``np.unique`` on strings would sort). Flag: PSI >= 0.1.
    """
    import numpy as np

    def psi(p: np.ndarray, q: np.ndarray) -> float:
        p = np.maximum(p / p.sum(), NUMPY_PSI_EPS)
        q = np.maximum(q / q.sum(), NUMPY_PSI_EPS)
        return float(np.sum((q - p) * np.log(q / p)))

    details: dict[str, Any] = {}
    for col in numeric:
        a = ref[col].to_numpy(dtype=np.float64, na_value=np.nan)
        b = cur[col].to_numpy(dtype=np.float64, na_value=np.nan)
        a_ok = a[~np.isnan(a)]
        inner = np.unique(np.quantile(a_ok, np.linspace(0.0, 1.0, NUMPY_BINS + 1)[1:-1]))
        nb = inner.size + 2  # + one bin for the missing values (the last one)
        ia = np.where(np.isnan(a), nb - 1, np.searchsorted(inner, a, side="right"))
        ib = np.where(np.isnan(b), nb - 1, np.searchsorted(inner, b, side="right"))
        ca = np.bincount(ia, minlength=nb)
        cb = np.bincount(ib, minlength=nb)
        details[col] = {"method": "psi", "statistic": psi(ca, cb)}
    for col in categorical:
        va = ref[col].value_counts(dropna=False)
        vb = cur[col].value_counts(dropna=False)
        idx = va.index.union(vb.index)
        ca = va.reindex(idx, fill_value=0).to_numpy(dtype=np.float64)
        cb = vb.reindex(idx, fill_value=0).to_numpy(dtype=np.float64)
        details[col] = {"method": "psi", "statistic": psi(ca, cb)}
    for d in details.values():
        d["threshold"] = NUMPY_PSI_THRESHOLD
        d["drift"] = d["statistic"] >= NUMPY_PSI_THRESHOLD
    return details


def run_evidently(
    ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> dict[str, Any]:
    """Evidently's DataDriftPreset with its defaults (column types inferred)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    result = snapshot.dict()
    details: dict[str, Any] = {}
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        method = str(config["method"])
        value = float(metric["value"])
        threshold = float(config["threshold"])
        # Evidently: a p-value test flags below its threshold, a distance at or above it
        drift = value < threshold if "p_value" in method else value >= threshold
        details[str(config["column"])] = {
            "method": method,
            "statistic": value,
            "threshold": threshold,
            "drift": drift,
        }
    return details


def run_whylogs(
    ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> dict[str, Any]:
    """whylogs: profile both frames, then its default drift scores (KS / chi-square)."""
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    ref_view = why.log(pandas=ref).view()
    cur_view = why.log(pandas=cur).view()
    scores = calculate_drift_scores(
        target_view=cur_view, reference_view=ref_view, with_thresholds=True
    )
    details: dict[str, Any] = {}
    for col, s in scores.items():
        if not s:
            continue
        details[str(col)] = {
            "method": s.get("algorithm"),
            "statistic": s.get("statistic"),
            "p_value": s.get("pvalue"),
            "category": s.get("drift_category"),
            # whylogs' categories: DRIFT (p < 0.05), POSSIBLE_DRIFT (0.05-0.15), NO_DRIFT
            "drift": s.get("drift_category") == "DRIFT",
        }
    return details


def run_nannyml(
    ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> dict[str, Any]:
    """NannyML's UnivariateDriftCalculator, defaults (JS distance, 10 chunks, 3-sd thresholds)."""
    import nannyml as nml

    columns = list(ref.columns)
    calc = nml.UnivariateDriftCalculator(column_names=columns)
    calc.fit(ref)
    frame = calc.calculate(cur).filter(period="analysis").to_df()
    details: dict[str, Any] = {}
    for col in columns:
        methods = [m for (c, m, k) in frame.columns if c == col and k == "alert"]
        for method in methods:
            alerts = frame[(col, method, "alert")].fillna(False).astype(bool)
            values = frame[(col, method, "value")]
            details[col] = {
                "method": method,
                "statistic": float(values.max()),
                "threshold": _first_float(frame[(col, method, "upper_threshold")]),
                "alerting_chunks": int(alerts.sum()),
                "chunks": len(alerts),
                # a column is flagged when any analysis chunk alerts
                "drift": bool(alerts.any()),
            }
    return details


def _first_float(series: pd.Series) -> float | None:
    for v in series:
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            return float(v)
    return None


def _import_driftline_report() -> Any:
    try:
        from driftline import Report
    except ImportError:
        try:
            from driftline.analysis import Report
        except ImportError:  # until the package re-exports it
            from driftline.analysis._report import Report
    return Report


def run_driftline(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """driftline's full Report (drift + quality + performance), then ``to_dict()``."""
    report_cls = _import_driftline_report()
    report = report_cls(ref, cur, target="target", scores=["score"])
    full = report.to_dict()
    extra["dataset_drift"] = _jsonable(getattr(report, "dataset_drift", None))
    extra["report_sections"] = sorted(full) if isinstance(full, dict) else None
    extra["_report"] = report
    return _driftline_details(report)


def _driftline_details(report: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    drift = report.drift
    items = drift.items() if hasattr(drift, "items") else ((d.column, d) for d in drift)
    for col, res in items:
        d = res.to_dict() if hasattr(res, "to_dict") else dict(res)
        if hasattr(res, "drifted"):
            flag = bool(res.drifted)
        elif "status" in d:
            flag = d["status"] == "drift"
        else:
            flag = bool(d.get("drift", d.get("drifted")))
        details[str(col)] = {
            "method": d.get("method"),
            "statistic": d.get("statistic"),
            "threshold": d.get("threshold"),
            "status": d.get("status"),
            "computed_on": d.get("computed_on"),
            "role": d.get("role"),
            "drift": flag,
        }
    return details


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _render_html(report: Any, path: Path, out: dict[str, Any]) -> None:
    """Render driftline's HTML report to ``path``; time it apart from the compute."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _log("driftline: rendering HTML (timed separately)")
    t0 = time.perf_counter()
    try:
        render = getattr(report, "html", None) or getattr(report, "to_html", None)
        html = render() if callable(render) else None
        if isinstance(html, str):
            path.write_text(html, encoding="utf-8")
        else:
            report.save_html(path)
    except Exception as exc:  # a rendering failure does not void the compute figures
        out["html_error"] = f"{type(exc).__name__}: {exc}"
        _log(f"driftline: HTML failed: {out['html_error']}")
        return
    out["html_s"] = time.perf_counter() - t0
    out["html_peak_rss_mb"] = _rss_mb()
    out["html_bytes"] = path.stat().st_size


TOOLS: dict[str, Callable[..., dict[str, Any]]] = {
    "numpy": run_numpy,
    "evidently": run_evidently,
    "whylogs": run_whylogs,
    "nannyml": run_nannyml,
    "driftline": run_driftline,
}
VERSION_OF = {
    "numpy": "numpy",
    "evidently": "evidently",
    "whylogs": "whylogs",
    "nannyml": "nannyml",
    "driftline": "driftline",
}


def _version(tool: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(VERSION_OF[tool])
    except PackageNotFoundError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True, choices=sorted(TOOLS))
    parser.add_argument("--reference", required=True, type=Path)
    parser.add_argument("--current", required=True, type=Path)
    parser.add_argument("--numeric", required=True, help="comma-separated numeric columns")
    parser.add_argument("--categorical", required=True, help="comma-separated categorical columns")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--html-dir", type=Path, default=None, help="where driftline's HTML goes")
    args = parser.parse_args()
    numeric = args.numeric.split(",")
    categorical = args.categorical.split(",")
    out: dict[str, Any] = {"tool": args.tool, "version": _version(args.tool)}
    try:
        t0 = time.perf_counter()
        _log(f"{args.tool}: importing")
        if args.tool == "driftline":
            _import_driftline_report()
        else:
            __import__(args.tool)
        out["import_s"] = time.perf_counter() - t0
        out["import_rss_mb"] = _rss_mb()  # interpreter + libraries, before any data
        _log(f"{args.tool}: reading Parquet")
        t0 = time.perf_counter()
        ref = pd.read_parquet(args.reference)
        cur = pd.read_parquet(args.current)
        out["load_s"] = time.perf_counter() - t0
        out["rows"] = [len(ref), len(cur)]
        out["input_mb"] = (
            float(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum()) / 2**20
        )
        out["load_peak_rss_mb"] = _rss_mb()
        _release_arrow_memory()
        gc.collect()
        out["peak_reset"] = _reset_peak()
        out["rss_before_compute_mb"] = _rss_mb()
        _log(f"{args.tool}: computing ({len(ref):,} + {len(cur):,} rows)")
        extra: dict[str, Any] = {}
        t0 = time.perf_counter()
        if args.tool == "driftline":
            details = run_driftline(ref, cur, numeric, categorical, extra)
        else:
            details = TOOLS[args.tool](ref, cur, numeric, categorical)
        out["compute_s"] = time.perf_counter() - t0
        out["compute_peak_rss_mb"] = _rss_mb()
        out["compute_vm_hwm_mb"] = _vm_hwm_mb()
        report = extra.pop("_report", None)
        if report is not None and args.html_dir is not None:
            _render_html(report, args.html_dir / f"driftline-{len(ref)}.html", out)
        out.update(extra)
        out["details"] = details
        out["flagged"] = sorted(c for c, d in details.items() if d.get("drift"))
        out["status"] = "ok"
    except Exception as exc:  # the driver records the failure instead of dying
        import traceback

        out["status"] = "error"
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc()[-4000:]
        _log(f"{args.tool}: FAILED {out['error']}")
    out["peak_rss_mb"] = max(out.get("load_peak_rss_mb", 0.0), _rss_mb())
    args.out.write_text(json.dumps(out, default=_jsonable, indent=1), encoding="utf-8")
    return 0 if out["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
