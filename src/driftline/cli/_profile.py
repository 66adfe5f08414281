"""``driftline profile DATA --out profile.json``: write a data set's profile as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from driftline.cli._app_common import EXIT_OK, add_column_arguments
from driftline.cli._io import read_table
from driftline.cli._progress import Progress

NAME = "profile"
HELP = "Summarise a data file as a mergeable profile (JSON)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``profile`` arguments to ``parser``."""
    parser.add_argument("data", metavar="DATA", help="data file (.csv or .parquet)")
    parser.add_argument("--out", metavar="PATH", required=True, help="where to write the JSON")
    add_column_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    """Run ``driftline profile``."""
    from driftline.analysis import build_schema, profile_frame

    progress = Progress(enabled=not args.quiet)
    progress(f"reading {args.data}")
    frame = read_table(args.data, what="DATA")
    notes: list[str] = []
    schema = build_schema(
        frame,
        target=args.target,
        prediction=args.prediction,
        scores=args.score or None,
        categorical=args.categorical or None,
        numerical=args.numerical or None,
        notes=notes,
    )
    for note in notes:
        progress(f"note: {note}")
    progress("profiling")
    prof = profile_frame(frame, schema)
    Path(args.out).write_text(json.dumps(prof.to_dict()), encoding="utf-8")
    progress(f"wrote {args.out}")
    return EXIT_OK
