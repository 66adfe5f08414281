"""``driftline demo``: the bundled loan example, reported end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from driftline.cli._app_common import EXIT_OK
from driftline.cli._progress import Progress

NAME = "demo"
HELP = "Generate the bundled loan example, report on it and write report.html / report.json."

#: Rows per period of the full demo and of ``--smoke``.
DEMO_ROWS = 20_000
SMOKE_ROWS = 2_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` arguments to ``parser``."""
    parser.add_argument(
        "--out", metavar="DIR", default="driftline-demo", help="output folder (./driftline-demo)"
    )
    parser.add_argument("--smoke", action="store_true", help="a quick run with less data (CI)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulator (0)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    """Run ``driftline demo``."""
    from driftline.analysis import Report
    from driftline.cli._io import read_table
    from driftline.examples import write_loans

    progress = Progress(enabled=not args.quiet)
    rows = SMOKE_ROWS if args.smoke else DEMO_ROWS
    out = Path(args.out)
    progress(f"simulating {rows} + {rows} loan applications into {out}")
    ref_path, cur_path = write_loans(out, rows, rows, seed=args.seed)
    reference = read_table(ref_path, what="REF")
    current = read_table(cur_path, what="CUR")
    report = Report(
        reference,
        current,
        target="default",
        prediction="prediction",
        scores=["score"],
        progress=progress,
    )
    report.compute()
    json_path = out / "report.json"
    html_path = out / "report.html"
    report.to_json(json_path)
    progress("rendering report.html")
    report.save_html(html_path)
    dd = report.dataset_drift
    drifted = [d.column for d in report.drift if d.status == "drift"]
    progress(f"dataset: {'DRIFT' if dd.drifted else 'no drift'}; drifted: {', '.join(drifted)}")
    print(html_path.resolve())
    return EXIT_OK
