"""``driftline serve``: run the HTTP API (ingest, query, admin, ``/metrics``) and the dashboard.

The app is :func:`driftline.ui.create_dashboard_app` (the API of
:func:`driftline.server.create_app` with the pages on top), served by uvicorn.

It binds to 127.0.0.1 by default. Listening on any other interface needs
``--auth`` (every request then carries a bearer token); without it the
command refuses with exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from driftline.cli._app_common import EXIT_OK, EXIT_USAGE

__all__ = ["HELP", "NAME", "add_arguments", "is_loopback", "run"]

NAME = "serve"
HELP = "Run the driftline server (HTTP API, /metrics) on 127.0.0.1:8765."
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine.

    Example
    -------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.4")
    (False, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``driftline serve`` to ``parser``."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="interface to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default 8765)")
    parser.add_argument(
        "--auth",
        action="store_true",
        help="require a bearer token on every API request (needed to bind beyond localhost)",
    )
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL (default: DRIFTLINE_DATABASE_URL)"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="largest request body, compressed and decompressed (default 32 MiB)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not evaluate monitors or send notifications in this process "
        "(another process runs the scheduler)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the server until interrupted; 2 when asked to listen beyond localhost without auth."""
    if not is_loopback(args.host) and not args.auth:
        print(
            f"driftline serve: error: --host {args.host!r} listens beyond this machine; "
            "add --auth (and create a token with 'driftline token create') or bind to 127.0.0.1",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print(
            f"driftline serve: error: --port: expected 0 to 65535, got {args.port}", file=sys.stderr
        )
        return EXIT_USAGE
    import uvicorn

    from driftline.config import load_settings
    from driftline.server import DEFAULT_MAX_BODY_BYTES
    from driftline.store import RetentionPolicy, Store, TokenService
    from driftline.ui import create_dashboard_app

    store = Store.open(args.database_url)
    if args.auth and not TokenService(store).list():
        print(
            "driftline serve: warning: --auth is on but no token exists; create one with "
            "'driftline token create --name admin --project \"*\" --role admin'",
            file=sys.stderr,
        )
    app = create_dashboard_app(  # the API with the dashboard on top
        store,
        auth_required=args.auth,
        max_body_bytes=args.max_body_bytes or DEFAULT_MAX_BODY_BYTES,
        scheduler=not getattr(args, "no_scheduler", False),
        settings=load_settings(),  # DRIFTLINE_ALERT_ALLOW for the alert channels
        retention=RetentionPolicy.from_settings(load_settings()),  # DRIFTLINE_*_RETENTION_*
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        store.close()
    return EXIT_OK
