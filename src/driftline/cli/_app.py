"""The ``driftline`` command: an argparse parser with one module per subcommand.

To add a subcommand, write a module with ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``, and list it in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from driftline._version import __version__
from driftline.cli._app_common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from driftline.errors import DriftlineError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "SUBCOMMANDS", "build_parser", "main"]


#: Modules that implement a subcommand, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "driftline.cli._report",
    "driftline.cli._profile",
    "driftline.cli._demo",
    "driftline.cli._serve",
    "driftline.cli._token",
    "driftline.cli._db",
    "driftline.cli._monitors",
    "driftline.cli._alerts",
)


def _modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in SUBCOMMANDS]


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``driftline`` command with every subcommand.

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["profile", "data.csv", "--out", "p.json"]).command
    'profile'
    """
    parser = argparse.ArgumentParser(
        prog="driftline",
        description="Monitoring for machine-learning models: drift, data quality, performance.",
    )
    parser.add_argument("--version", action="version", version=f"driftline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules():
        sp = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``driftline`` command and return its exit status.

    0: success; 1: a check failed; 2: usage error or bad input (the message goes to
    stderr, without a traceback).

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    driftline ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help / --version
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args._run(args))
    except DriftlineError as exc:
        print(f"driftline {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("driftline: interrupted", file=sys.stderr)
        return 130
