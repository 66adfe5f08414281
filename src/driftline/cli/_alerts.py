"""``driftline alerts test-route``: where an alert would go, without sending anything.

Each action is a sub-subcommand: a function ``(args) -> int`` registered in
:func:`add_arguments` with ``set_defaults(_alerts_run=...)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from driftline.cli._app_common import EXIT_OK, EXIT_USAGE

NAME = "alerts"
HELP = "Work with alerts: list, acknowledge, resolve, silence; test where one would be routed."


def label(text: str) -> tuple[str, str]:
    """Parse ``name=value`` for argparse.

    Examples
    --------
    >>> label("team=risk")
    ('team', 'risk')
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``alerts`` actions to ``parser``."""
    sub = parser.add_subparsers(dest="alerts_command", metavar="ACTION")
    p = sub.add_parser(
        "test-route",
        help="show the route, receiver, group and timings an alert would get (sends nothing)",
        description="Show where an alert with the given labels would be routed by the config "
        "in FILE: route path, receiver, group key, group_by values, timings, and whether a "
        "silence or an inhibition rule in the file would mute it. Nothing is sent.",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="the alerting YAML file (or --url: ask a server about its stored config)",
    )
    p.add_argument("--url", default=None, help="a driftline server to ask instead of FILE")
    p.add_argument("--token", default=None, help="bearer token (default: DRIFTLINE_TOKEN)")
    p.add_argument(
        "--label",
        metavar="NAME=VALUE",
        type=label,
        action="append",
        default=[],
        help="a label of the alert (repeat)",
    )
    p.add_argument("--severity", choices=("info", "warning", "critical"), help="severity label")
    p.add_argument(
        "--monitor",
        metavar="NAME",
        help="start from the labels of this monitor in FILE (and its own route, if set)",
    )
    p.add_argument(
        "--at",
        metavar="EPOCH",
        type=float,
        help="time (epoch seconds) to check silences at (default: now)",
    )
    p.set_defaults(_alerts_run=run_test_route)
    from driftline.cli._alerting import add_alert_actions

    add_alert_actions(sub)  # list, ack, resolve, silence


def run_test_route(args: argparse.Namespace, *, stream: TextIO | None = None) -> int:
    """Run ``driftline alerts test-route``."""
    from driftline.alerts import Matcher, format_duration, format_time, load_config
    from driftline.alerts.decisions import alert_labels, group_key, match_routes, silencing

    out = stream if stream is not None else sys.stdout
    if args.config is None:
        from driftline.cli._alerting import run_remote_test_route

        return run_remote_test_route(args, out)
    config = load_config(args.config)
    if config.route is None:
        print(f"driftline alerts: {args.config} has no route", file=sys.stderr)
        return EXIT_USAGE
    labels: dict[str, str] = {}
    receiver = None
    if args.monitor:
        try:
            spec = config.monitor(args.monitor)
        except LookupError:
            names = ", ".join(m.name for m in config.monitors) or "none"
            print(
                f"driftline alerts: --monitor: no monitor {args.monitor!r} in {args.config} "
                f"(monitors: {names})",
                file=sys.stderr,
            )
            return EXIT_USAGE
        labels.update(alert_labels(spec))
        receiver = spec.route
    labels.update(dict(args.label))
    if args.severity:
        labels["severity"] = args.severity
    now = args.at if args.at is not None else time.time()
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) or "(none)"
    print(f"labels: {shown}", file=out)
    silence = silencing(labels, config.runtime_silences(), now)
    for match in match_routes(labels, config.route, receiver=receiver):
        key, values = group_key(match, labels)
        where = f" (matchers: {', '.join(match.matchers)})" if match.matchers else ""
        print(f"route {match.route_id}{where}", file=out)
        print(f"  receiver: {match.receiver}", file=out)
        for line in _channel_lines(config, match.receiver):
            print(f"    {line}", file=out)
        print(f"  group_by: {', '.join(match.group_by)}", file=out)
        vals = ", ".join(f'{k}="{v}"' for k, v in values.items()) or "(none)"
        print(f"  group: {key}  [{vals}]", file=out)
        print(
            f"  timings: group_wait {format_duration(match.group_wait)}, group_interval "
            f"{format_duration(match.group_interval)}, repeat_interval "
            f"{format_duration(match.repeat_interval)}",
            file=out,
        )
    if silence is not None:
        why = f" ({silence.comment})" if silence.comment else ""
        print(
            f"silenced: yes, by silence {silence.id} until {format_time(silence.ends_at)}{why}",
            file=out,
        )
    else:
        print("silenced: no", file=out)
    targets = [
        i
        for i, rule in enumerate(config.inhibit_rules)
        if all(Matcher.parse(m).matches(labels) for m in rule.target_matchers)
    ]
    if targets:
        print(
            f"inhibition: would be muted while a matching source alert fires (rules {targets})",
            file=out,
        )
    print("nothing was sent", file=out)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``driftline alerts ACTION``."""
    action = getattr(args, "_alerts_run", None)
    if action is None:
        print("driftline alerts: expected an action, e.g. test-route", file=sys.stderr)
        return EXIT_USAGE
    return int(action(args))


def _channel_lines(config: Any, receiver: str) -> list[str]:
    """Where each channel of ``receiver`` would deliver, without secrets."""
    from driftline.alerts.channels import NetworkPolicy, build_channels, describe

    spec = next((r for r in config.receivers if r.name == receiver), None)
    if spec is None:
        return ["(no such receiver in the file)"]
    channels = build_channels(spec, policy=NetworkPolicy())
    return [describe(c) for c in channels] or ["(no channels: alerts to it go nowhere)"]
