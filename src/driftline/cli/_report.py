"""``driftline report REF CUR``: drift, quality and performance of CUR against REF."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from driftline.cli._app_common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_column_arguments,
    fraction,
)
from driftline.cli._io import read_table
from driftline.cli._progress import Progress

if TYPE_CHECKING:
    from driftline.analysis import Report, SuiteResult

NAME = "report"
HELP = "Compare a current data file with a reference: drift, data quality, performance."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` arguments to ``parser``."""
    parser.add_argument("reference", metavar="REF", help="reference data (.csv or .parquet)")
    parser.add_argument("current", metavar="CUR", help="current data (.csv or .parquet)")
    add_column_arguments(parser)
    parser.add_argument("--method", metavar="M", help="drift method for every column (e.g. psi)")
    parser.add_argument("--html", metavar="PATH", help="write the HTML report here")
    parser.add_argument("--json", metavar="PATH", help="write the JSON report here")
    parser.add_argument(
        "--fail-on-drift", action="store_true", help="exit 1 when the dataset drifted"
    )
    parser.add_argument(
        "--max-drift-share",
        metavar="X",
        type=fraction,
        help="exit 1 when more than this share (0..1) of the columns drifted",
    )
    parser.add_argument(
        "--publish",
        metavar="NAME",
        help="store the report under NAME for the dashboard's Reports page: on the server of "
        "--url (or DRIFTLINE_URL), else in the local data directory; needs --project",
    )
    parser.add_argument("--project", metavar="P", help="the project a published report belongs to")
    parser.add_argument(
        "--url", metavar="URL", help="server to publish to (default: DRIFTLINE_URL)"
    )
    parser.add_argument("--token", metavar="T", help="API token (default: DRIFTLINE_TOKEN)")
    parser.add_argument("--quiet", action="store_true", help="no progress and no summary")


def publish(report: Report, args: argparse.Namespace, *, stream: TextIO | None = None) -> int:
    """Store ``report`` for the Reports page (a server's, or the local data directory's).

    Returns an exit code: :data:`EXIT_USAGE` when it could not be stored (the
    message says why), else :data:`EXIT_OK`.
    """
    import time

    from driftline.config import load_settings

    out = stream if stream is not None else sys.stdout
    if not args.project:
        print("driftline report: --publish needs --project", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    url = args.url or settings.server_url
    html, doc = report.html(), report.to_dict()
    if url:
        import httpx

        token = args.token or settings.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"project": args.project, "name": args.publish, "html": html, "report": doc}
        try:
            resp = httpx.post(
                f"{url.rstrip('/')}/api/v1/reports", json=body, headers=headers, timeout=60
            )
        except httpx.HTTPError as exc:
            print(f"driftline report: --publish: cannot reach {url}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if resp.status_code != 201:
            print(
                f"driftline report: --publish: the server answered {resp.status_code}: "
                f"{resp.text[:500]}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        meta = resp.json()
        where = f"{url.rstrip('/')}/reports/{meta['id']}"
    else:
        from driftline.ui import ReportStore

        reports = ReportStore(settings.data_dir / "reports")
        meta = reports.save(args.project, args.publish, html, doc, created_at=time.time(),
                            created_by="driftline report")  # fmt: skip
        where = str(reports.root / meta["id"] / "report.html")
    print(f"published: {args.publish} ({meta['id']}) at {where}", file=out)
    return EXIT_OK


def print_summary(
    report: Report, suite: SuiteResult | None, *, stream: TextIO | None = None
) -> None:
    """Print a short summary of ``report`` (verdict, drifted columns, checks) to stdout."""
    out = stream if stream is not None else sys.stdout
    dd = report.dataset_drift
    verdict = "DRIFT" if dd.drifted else "no drift"
    print(f"dataset: {verdict} ({dd.reason})", file=out)
    drifted = [d for d in report.drift if d.status == "drift"]
    if drifted:
        print(f"drifted columns ({len(drifted)}):", file=out)
        for d in sorted(drifted, key=lambda x: -x.severity):
            print(f"  {d.column} [{d.role}]: {d.reason}", file=out)
    print(f"quality issues: {report.quality.n_issues}", file=out)
    if suite is not None:
        for c in suite.checks:
            mark = "PASS" if c.passed else "FAIL"
            print(f"{mark} {c.name}: {c.reason}", file=out)


def run(args: argparse.Namespace) -> int:
    """Run ``driftline report``."""
    from driftline.analysis import Report, max_drift_share, no_dataset_drift

    progress = Progress(enabled=not args.quiet)
    progress(f"reading {args.reference}")
    reference = read_table(args.reference, what="REF")
    progress(f"reading {args.current}")
    current = read_table(args.current, what="CUR")
    report = Report(
        reference,
        current,
        target=args.target,
        prediction=args.prediction,
        scores=args.score or None,
        categorical=args.categorical or None,
        numerical=args.numerical or None,
        methods=args.method,
        progress=progress,
    )
    conditions = []
    if args.fail_on_drift:
        conditions.append(no_dataset_drift())
    if args.max_drift_share is not None:
        conditions.append(max_drift_share(args.max_drift_share))
    suite = report.check(conditions) if conditions else None
    report.compute()
    for note in report.notes:
        progress(f"note: {note}")
    if args.json:
        progress(f"writing {args.json}")
        report.to_json(args.json)
    if args.html:
        progress(f"rendering {args.html}")
        report.save_html(args.html)
    if not args.quiet:
        print_summary(report, suite)
    if args.publish:
        code = publish(report, args)
        if code != EXIT_OK:
            return code
    if suite is not None and not suite.passed:
        return EXIT_FAILED
    return EXIT_OK
