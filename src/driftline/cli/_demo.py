"""``driftline demo``: the whole of driftline, live, in about a minute.

It starts the server (API and dashboard) on 127.0.0.1 with an embedded SQLite
database in a fresh temporary data directory, then, through the SDK and over
HTTP like any client:

1. trains a real scikit-learn model (logistic regression on the breast-cancer
   dataset that ships with scikit-learn) and uploads its reference profile;
2. replays 30 days of production traffic ending now, with a drift from day 16,
   biopsy results (labels) arriving hours to days late, and clicks and
   referrals (business events);
3. records two training runs of a NumPy MLP, one of which hits a corrupt batch
   that the guard recovers from by restoring the last good checkpoint;
4. evaluates the default monitors at simulated times, so their alerts fire with
   a history;
5. stores an offline report of the last week (the Reports page);

and prints ``driftline demo: open http://127.0.0.1:PORT/`` on a line of its own.
It keeps serving, with the alert scheduler running, until Ctrl-C. ``--smoke``
runs the same with less traffic, checks through the API that every part
arrived, prints a summary and exits. ``--report-only`` writes the offline
report of the bundled loan example instead (no server).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from driftline.cli._app_common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from driftline.cli._progress import Progress

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "demo"
HELP = (
    "Serve the dashboard with 30 days of simulated monitoring data (a real model, drift, alerts)."
)

DEFAULT_PORT = 8000
#: Predictions per simulated hour (busier by day, quieter at night).
DEMO_ROWS_PER_HOUR = 100
SMOKE_ROWS_PER_HOUR = 100
#: Days of production traffic simulated (the drift starts half-way).
DEMO_DAYS = 30
SMOKE_DAYS = 10
#: Epochs of each demo training run (``--smoke``: fewer).
DEMO_EPOCHS = 20
SMOKE_EPOCHS = 10
#: Rows per period of the offline loan report (``--report-only``) and of its ``--smoke``.
REPORT_ROWS = 20_000
SMOKE_REPORT_ROWS = 2_000
#: The embedded database's file name in the data directory.
DB_FILE = "driftline.db"
#: Seconds to wait for the server to start.
STARTUP_TIMEOUT = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` arguments to ``parser``."""
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}, with --smoke a free one; "
        "0 picks a free one)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="data directory (default: a fresh temporary directory)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="less traffic; check that everything arrived, print a summary and exit (CI)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help=f"days of production traffic, the drift starting half-way "
        f"(default {DEMO_DAYS}; --smoke {SMOKE_DAYS})",
    )
    parser.add_argument(
        "--rows-per-hour",
        type=int,
        default=None,
        help=f"mean predictions per simulated hour (default {DEMO_ROWS_PER_HOUR})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulator (0)")
    parser.add_argument(
        "--auth", action="store_true", help="require a token (printed) on every API request"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="no server: write the offline report of the bundled loan example to --out",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="driftline-demo",
        help="output folder of --report-only (./driftline-demo)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``driftline demo``."""
    progress = Progress(enabled=not args.quiet)
    if args.report_only:
        return _report_only(args, progress)
    port = args.port if args.port is not None else 0 if args.smoke else DEFAULT_PORT
    if not 0 <= port <= 65535:
        print(f"driftline demo: error: --port: expected 0 to 65535, got {port}", file=sys.stderr)
        return EXIT_USAGE
    days = args.days if args.days is not None else SMOKE_DAYS if args.smoke else DEMO_DAYS
    rows = args.rows_per_hour
    if rows is None:
        rows = SMOKE_ROWS_PER_HOUR if args.smoke else DEMO_ROWS_PER_HOUR
    for flag, value in (("--days", days), ("--rows-per-hour", rows)):
        if value < 1:
            print(
                f"driftline demo: error: {flag}: expected 1 or more, got {value}", file=sys.stderr
            )
            return EXIT_USAGE
    if args.data_dir is not None and (Path(args.data_dir).expanduser() / DB_FILE).exists():
        print(
            f"driftline demo: error: --data-dir {args.data_dir}: already holds a driftline "
            f"database ({DB_FILE}); give a new directory, or serve this one with "
            f"DRIFTLINE_DATA_DIR={args.data_dir} driftline serve",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        sock = _bind(port)
    except OSError as exc:
        print(
            f"driftline demo: error: --port {port}: cannot listen on 127.0.0.1:{port} "
            f"({exc.strerror or exc}); is another server running? Pick another port with "
            "--port N, or --port 0 for a free one",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return _serve(args, sock, days, rows, progress)
    finally:
        sock.close()
        gc.collect()  # free the app's sketches now, not during interpreter shutdown


def _serve(
    args: argparse.Namespace, sock: socket.socket, days: int, rows: int, progress: Progress
) -> int:
    """Serve the demo on ``sock``: fill it, then check (``--smoke``) or wait for Ctrl-C."""
    from driftline.cli._demo_live import LiveDemo

    if args.data_dir is not None:
        data_dir = Path(args.data_dir).expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="driftline-demo-"))
    demo = LiveDemo(data_dir, auth=args.auth, progress=progress)
    server = _Server(demo.app, sock)
    try:
        server.start()
        port = int(sock.getsockname()[1])
        url = f"http://127.0.0.1:{port}"
        progress(f"serving on {url}, data in {data_dir}")
        demo.populate(
            url,
            days=days,
            rows_per_hour=rows,
            epochs=SMOKE_EPOCHS if args.smoke else DEMO_EPOCHS,
            seed=args.seed,
        )
        print(f"driftline demo: open {url}/", flush=True)
        if demo.token is not None:
            print(f"driftline demo: token {demo.token}", flush=True)
        if args.smoke:
            checks = demo.verify(url)
            for line in checks.lines():
                print(line, flush=True)
            if not checks.ok:
                print("driftline demo: error: some checks failed (see above)", file=sys.stderr)
                return EXIT_FAILED
            return EXIT_OK
        demo.start_scheduler()  # from now on the monitors run live
        print("driftline demo: serving until Ctrl-C", flush=True)
        try:
            with _interrupt_on_sigterm():
                server.wait()
        except KeyboardInterrupt:
            print("driftline demo: stopped", flush=True)
        return EXIT_OK
    finally:
        server.stop()
        demo.close()
        if args.smoke and args.data_dir is None:  # a smoke run keeps nothing behind
            shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (a service manager, ``kill``) like Ctrl-C: a clean shutdown."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        before = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class _Server:
    """uvicorn serving the app on an already bound socket, in a thread."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        import uvicorn

        self.sock = sock
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="driftline-demo", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                from driftline.errors import DriftlineError

                raise DriftlineError("the demo server did not start (see the messages above)")
            time.sleep(0.02)

    def wait(self) -> None:
        # sleep, not join: a KeyboardInterrupt inside Thread.join leaves the thread's
        # state broken (a later join returns at once while the server still runs)
        while self.thread.is_alive():
            time.sleep(0.2)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(10.0)
        with contextlib.suppress(OSError):
            self.sock.close()


def _bind(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` (0: a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _report_only(args: argparse.Namespace, progress: Progress) -> int:
    """The offline report of the bundled loan example, written to ``--out``."""
    from driftline.analysis import Report
    from driftline.cli._io import read_table
    from driftline.examples import write_loans

    rows = SMOKE_REPORT_ROWS if args.smoke else REPORT_ROWS
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
