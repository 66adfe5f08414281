"""Bar chart of the drift benchmark: compute time per tool per size, log scale.

Needs matplotlib, which the peers' environments have (the project's does not)::

    benchmarks/.venvs/nannyml/bin/python benchmarks/drift_chart.py \\
        benchmarks/results/drift.json docs/img/drift-bench.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ORDER = ("driftline", "numpy", "nannyml", "whylogs", "evidently")
COLORS = {
    "driftline": "#1f77b4",
    "numpy": "#7f7f7f",
    "nannyml": "#2ca02c",
    "whylogs": "#ff7f0e",
    "evidently": "#d62728",
}
LABELS = {"numpy": "numpy/scipy bound (PSI)"}


def draw(results: dict[str, Any], out: Path) -> None:
    """Write the chart of ``results`` (drift_bench.py's JSON) to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    sizes = list(results["sizes"])
    tools = [t for t in ORDER if any(t in results["sizes"][s] for s in sizes)]
    bound = float(results.get("timeout_s", 900))
    width = 0.8 / max(len(tools), 1)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=120)
    for i, tool in enumerate(tools):
        for j, size in enumerate(sizes):
            r = results["sizes"][size].get(tool)
            if r is None:
                continue
            x = j + (i - (len(tools) - 1) / 2) * width
            if r.get("status") == "ok":
                v = float(r["compute_s"])
                ax.bar(x, v, width, color=COLORS[tool])
                ax.text(x, v * 1.08, f"{v:.3g}", ha="center", va="bottom", fontsize=7)
            else:
                status = r.get("status")
                label = {
                    "timeout": "> bound",
                    "budget": "stopped",
                    "memory": "> memory",
                    "error": "failed",
                }.get(str(status), "not run")
                ax.bar(x, bound, width, facecolor="none", edgecolor=COLORS[tool], hatch="//")
                ax.text(x, bound * 1.08, label, ha="center", va="bottom", fontsize=7, rotation=90)
    handles = [Patch(color=COLORS[t], label=LABELS.get(t, t)) for t in tools]
    ax.set_yscale("log")
    ax.set_xticks(range(len(sizes)), [f"{int(s):,} rows/side" for s in sizes])
    ax.set_ylabel("compute time, s (log scale; Parquet reading excluded)")
    machine = results.get("machine", {})
    ax.set_title(
        f"Drift between two tables, 27 columns — {machine.get('nproc', '?')} cores, "
        f"{results.get('started_utc', '')[:10]}",
        fontsize=10,
    )
    ax.legend(handles=handles, fontsize=8, ncols=len(tools), loc="upper left")
    ax.set_ylim(top=bound * 8)
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="drift.json written by drift_bench.py")
    p.add_argument("out", type=Path, help="PNG to write")
    args = p.parse_args()
    draw(json.loads(args.results.read_text(encoding="utf-8")), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
