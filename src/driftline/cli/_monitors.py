"""``driftline monitors validate|apply|list``: check a monitors file, load it, list monitors.

Each action is a sub-subcommand: a function ``(args) -> int`` registered in
:func:`add_arguments` with ``set_defaults(_monitors_run=...)``.
"""

from __future__ import annotations

import argparse
import sys

from driftline.cli._app_common import EXIT_OK, EXIT_USAGE

NAME = "monitors"
HELP = "Validate, apply and list monitors (declared in YAML)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``monitors`` actions to ``parser``."""
    sub = parser.add_subparsers(dest="monitors_command", metavar="ACTION")
    p = sub.add_parser(
        "validate",
        help="check a monitors/alerting YAML file; print each problem as FILE:LINE:COL",
        description="Check a monitors/alerting YAML file without applying it. Exit 0 when "
        "valid, 2 when not (each problem printed as FILE:LINE:COL: field: message).",
    )
    p.add_argument("file", metavar="FILE", help="the YAML file (monitors, route, receivers...)")
    p.add_argument("--quiet", action="store_true", help="print problems only, no summary")
    p.set_defaults(_monitors_run=run_validate)
    from driftline.cli._alerting import add_monitor_actions

    add_monitor_actions(sub)  # apply, list


def run_validate(args: argparse.Namespace) -> int:
    """Run ``driftline monitors validate FILE``."""
    from driftline.alerts import check_config

    config, problems = check_config(args.file)
    for problem in problems:
        print(problem, file=sys.stdout)
    if config is None:
        if not args.quiet:
            n = len(problems)
            print(f"{args.file}: {n} problem{'s' if n != 1 else ''}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        routes = "a route" if config.route is not None else "no route"
        print(
            f"{args.file}: OK ({len(config.monitors)} monitors, {len(config.receivers)} "
            f"receivers, {routes}, {len(config.inhibit_rules)} inhibit rules, "
            f"{len(config.silences)} silences)"
        )
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``driftline monitors ACTION``."""
    action = getattr(args, "_monitors_run", None)
    if action is None:
        print("driftline monitors: expected an action: validate, apply or list", file=sys.stderr)
        return EXIT_USAGE
    return int(action(args))
