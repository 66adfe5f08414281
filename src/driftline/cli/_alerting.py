"""What ``driftline monitors apply|list`` and ``driftline alerts list|ack|resolve|silence`` do.

They act on a server over HTTP when a URL is given (``--url`` or
``DRIFTLINE_URL``, with ``--token`` or ``DRIFTLINE_TOKEN``), else directly on
the embedded store (``--database-url`` or ``DRIFTLINE_DATABASE_URL``) through
:class:`driftline.alerts.AlertService`. Both give the same answers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from driftline.cli._app_common import EXIT_OK
from driftline.errors import AuthError, ConfigError, InputError, NotFoundError, TransportError

__all__ = [
    "AlertingTarget",
    "add_alert_actions",
    "add_monitor_actions",
    "add_target_arguments",
    "format_alerts",
    "format_monitors",
    "open_target",
    "parse_duration",
]

API = "/api/v1"
HTTP_TIMEOUT_S = 30.0
"""How long one CLI request to a server may take."""
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``90``, ``30s``, ``15m``, ``2h``, ``1d``.

    Example
    -------
    >>> parse_duration("2h"), parse_duration("90")
    (7200.0, 90.0)
    """
    raw = text.strip().lower()
    unit = _UNITS.get(raw[-1:])
    number = raw[:-1] if unit is not None else raw
    try:
        value = float(number) * (unit or 1.0)
    except ValueError:
        raise InputError(
            f"duration: expected a number with s, m, h, d or w, got {text!r}"
        ) from None
    if not value > 0:
        raise InputError(f"duration: expected a positive duration, got {text!r}")
    return value


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--url``, ``--token`` and ``--database-url`` to ``parser``."""
    parser.add_argument(
        "--url", default=None, help="driftline server to act on (default: DRIFTLINE_URL)"
    )
    parser.add_argument("--token", default=None, help="bearer token (default: DRIFTLINE_TOKEN)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="act on this database directly when no server URL is set "
        "(default: DRIFTLINE_DATABASE_URL)",
    )


def _error_of(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}: {resp.text[:500]}"
    if isinstance(body, Mapping) and "message" in body:
        return str(body["message"])
    return f"HTTP {resp.status_code}: {body}"


class AlertingTarget:
    """Alerting operations against a server (``http``) or the embedded store (``service``).

    Parameters
    ----------
    http : httpx.Client, optional
        A client whose ``base_url`` is the server.
    service : AlertService, optional
        The embedded service (used when ``http`` is ``None``).
    close : callable, optional
        Called by :meth:`close`.

    Example
    -------
    >>> from driftline.store import Store
    >>> target = open_target(None, None, "sqlite://")
    >>> target.monitors()
    []
    >>> target.close()
    """

    def __init__(
        self, *, http: Any = None, service: Any = None, close: Callable[[], None] | None = None
    ) -> None:
        self.http = http
        self.service = service
        self._close = close

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            resp = self.http.request(method, API + path, **kw)
        except httpx.HTTPError as exc:
            raise TransportError(
                f"{self.http.base_url}: the server did not answer ({exc})"
            ) from exc
        if resp.status_code in (401, 403):
            raise AuthError(_error_of(resp))
        if resp.status_code == 404:
            raise NotFoundError(_error_of(resp))
        if resp.status_code == 422 and resp.json().get("error") == "invalid_config":
            raise ConfigError(_error_of(resp))
        if 400 <= resp.status_code < 500:
            raise InputError(_error_of(resp))
        if resp.status_code >= 500:
            raise TransportError(f"{self.http.base_url}: {_error_of(resp)}")
        return resp.json() if resp.status_code != 204 else None

    def apply(self, path: str | Path, *, prune: bool = False) -> dict[str, Any]:
        """Apply the configuration file at ``path``; what was created, updated, deleted."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from exc
        if self.http is not None:
            ctype = "application/json" if path.suffix == ".json" else "application/yaml"
            try:
                out: dict[str, Any] = self._call(
                    "PUT",
                    "/monitors",
                    params={"prune": "true"} if prune else None,
                    content=text.encode("utf-8"),
                    headers={"Content-Type": ctype},
                )
            except ConfigError as exc:  # the server names the body; name the file instead
                raise ConfigError(str(exc).replace("<body>:", f"{path}:")) from exc
            return out
        from driftline.alerts import load_config

        config = load_config(path, text=text)
        return dict(self.service.apply(config, prune=prune, source="file").to_dict())

    def monitors(self, project: str | None = None, model: str | None = None) -> list[Any]:
        """Monitors, optionally of one project or model."""
        if self.http is not None:
            params = {k: v for k, v in (("project", project), ("model", model)) if v}
            return list(self._call("GET", "/monitors", params=params))
        from driftline.server.context import jsonable

        return list(jsonable(self.service.list_monitors(project=project, model=model)))

    def alerts(
        self, project: str | None = None, model: str | None = None, state: str | None = None
    ) -> list[Any]:
        """Alerts, newest first."""
        if self.http is not None:
            pairs = (("project", project), ("model", model), ("state", state))
            return list(self._call("GET", "/alerts", params={k: v for k, v in pairs if v}))
        from driftline.server.context import jsonable

        return list(jsonable(self.service.list_alerts(project=project, model=model, state=state)))

    def act(self, fingerprint: str, action: str, by: str) -> Any:
        """``acknowledge`` or ``resolve`` an alert."""
        if self.http is not None:
            return self._call("POST", f"/alerts/{fingerprint}/{action}", json={"by": by})
        from driftline.server.context import jsonable

        return jsonable(getattr(self.service, action)(fingerprint, by=by))

    def silence(self, matchers: Sequence[str], duration_s: float, *, comment: str, by: str) -> Any:
        """Create a silence from now for ``duration_s`` seconds."""
        if self.http is not None:
            body = {
                "matchers": list(matchers),
                "duration_s": duration_s,
                "comment": comment,
                "created_by": by,
            }
            return self._call("POST", "/silences", json=body)
        from driftline.server.context import jsonable

        now = time.time()
        return jsonable(
            self.service.create_silence(
                list(matchers), now + duration_s, starts_at=now, created_by=by, comment=comment
            )
        )

    def test_route(self, labels: Mapping[str, str]) -> Any:
        """Where an alert with ``labels`` would go under the stored config; sends nothing."""
        if self.http is not None:
            return self._call("POST", "/alerts/test-route", json={"labels": dict(labels)})
        from driftline.server.context import jsonable

        return jsonable(self.service.test_route(dict(labels)))

    def close(self) -> None:
        """Close the HTTP client or the store."""
        if self._close is not None:
            self._close()
            self._close = None


def open_target(
    url: str | None,
    token: str | None,
    database_url: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    transport: Any = None,
) -> AlertingTarget:
    """The server at ``url`` (or ``DRIFTLINE_URL``), else the store at ``database_url``."""
    from driftline.config import load_settings

    settings = load_settings(environ) if url is None or token is None else None
    url = url or (settings.server_url if settings else None)
    token = token or (settings.token if settings else None)
    if url:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--url: expected an http:// or https:// URL, got {url!r}")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=HTTP_TIMEOUT_S, transport=transport
        )
        return AlertingTarget(http=http, close=http.close)
    from driftline.alerts import AlertService
    from driftline.store import Store

    store = Store.open(database_url)
    return AlertingTarget(service=AlertService(store), close=store.close)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_monitors(monitors: Sequence[Mapping[str, Any]], out: TextIO | None = None) -> None:
    """One tab-separated line per monitor: name, project, model, signal, severity, state.

    Example
    -------
    >>> format_monitors([{"name": "v", "project": "p", "model": "m", "signal": "volume",
    ...                   "severity": "warning", "state": "ok"}])  # doctest: +NORMALIZE_WHITESPACE
    v	p	m	volume	warning	ok
    """
    keys = ("name", "project", "model", "signal", "severity", "state")
    for m in monitors:
        print("\t".join(_fmt(m.get(k)) for k in keys), file=out or sys.stdout)


def format_alerts(alerts: Sequence[Mapping[str, Any]], out: TextIO | None = None) -> None:
    """One tab-separated line per alert: fingerprint, state, alertname, project, model, value."""
    for a in alerts:
        labels = a.get("labels") or {}
        fields = (
            a.get("fingerprint"),
            a.get("state"),
            labels.get("alertname"),
            labels.get("project"),
            labels.get("model"),
            labels.get("severity"),
            a.get("value"),
        )
        print("\t".join(_fmt(f) for f in fields), file=out or sys.stdout)


def _print_json(data: Any, out: TextIO | None = None) -> None:
    import json

    print(json.dumps(data, indent=2, sort_keys=True), file=out or sys.stdout)


def _target(args: argparse.Namespace) -> AlertingTarget:
    return open_target(args.url, args.token, args.database_url)


def run_apply(args: argparse.Namespace) -> int:
    """``driftline monitors apply FILE``: print what was created, updated and deleted."""
    target = _target(args)
    try:
        result = target.apply(args.file, prune=args.prune)
    finally:
        target.close()
    for key in ("created", "updated", "unchanged", "deleted"):
        names = result.get(key) or []
        if names:
            print(f"{key}: {', '.join(names)}")
    counts = ", ".join(f"{len(result.get(k) or [])} {k}" for k in ("created", "updated", "deleted"))
    print(f"{args.file}: applied ({counts})", file=sys.stderr)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """``driftline monitors list``: one line per monitor (or ``--json``)."""
    target = _target(args)
    try:
        monitors = target.monitors(args.project, args.model)
    finally:
        target.close()
    if args.json:
        _print_json(monitors)
        return EXIT_OK
    rows = []
    for m in monitors:
        spec = m.get("spec") or {}
        last = m.get("last_result") or {}
        firing = last.get("firing")
        rows.append(
            {
                "name": m.get("name"),
                "project": m.get("project"),
                "model": m.get("model"),
                "signal": (spec.get("signal") or {}).get("kind"),
                "severity": spec.get("severity"),
                "state": "firing" if firing else ("ok" if firing is False else "unknown"),
            }
        )
    format_monitors(rows)
    return EXIT_OK


def run_alerts_list(args: argparse.Namespace) -> int:
    """``driftline alerts list``: one line per alert (or ``--json``)."""
    target = _target(args)
    try:
        alerts = target.alerts(args.project, args.model, args.state)
    finally:
        target.close()
    if args.json:
        _print_json(alerts)
    else:
        format_alerts(alerts)
    return EXIT_OK


def run_alerts_act(args: argparse.Namespace) -> int:
    """``driftline alerts ack|resolve FINGERPRINT``."""
    import getpass

    action = "acknowledge" if args.alerts_command == "ack" else "resolve"
    by = args.by or getpass.getuser()
    target = _target(args)
    try:
        alert = target.act(args.fingerprint, action, by)
    finally:
        target.close()
    print(f"{args.fingerprint}: {alert.get('state')} (by {by})")
    return EXIT_OK


def run_alerts_silence(args: argparse.Namespace) -> int:
    """``driftline alerts silence MATCHER...``: print the new silence's id."""
    import getpass

    target = _target(args)
    try:
        silence = target.silence(
            args.matchers,
            parse_duration(args.duration),
            comment=args.comment,
            by=args.by or getpass.getuser(),
        )
    finally:
        target.close()
    print(silence["id"])
    print(
        f"silence {silence['id']}: {', '.join(silence['matchers'])} until {silence['ends_at']:.0f}",
        file=sys.stderr,
    )
    return EXIT_OK


def add_monitor_actions(sub: Any) -> None:
    """Add ``apply`` and ``list`` to the ``monitors`` actions ``sub``."""
    p = sub.add_parser(
        "apply",
        help="load a monitors/alerting YAML file into a server (--url) or the local store",
        description="Create or update the monitors of FILE (and set its route, receivers, "
        "inhibit rules and silences) on the server at --url / DRIFTLINE_URL, or in the "
        "database of --database-url / DRIFTLINE_DATABASE_URL when no URL is set.",
    )
    p.add_argument("file", metavar="FILE", help="the YAML file")
    p.add_argument(
        "--prune", action="store_true", help="delete monitors (of this source) FILE does not name"
    )
    add_target_arguments(p)
    p.set_defaults(_monitors_run=run_apply)
    p = sub.add_parser("list", help="list monitors with their latest state")
    p.add_argument("--project", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--json", action="store_true", help="print the full JSON")
    add_target_arguments(p)
    p.set_defaults(_monitors_run=run_list)


def add_alert_actions(sub: Any) -> None:
    """Add ``list``, ``ack``, ``resolve`` and ``silence`` to the ``alerts`` actions ``sub``."""
    p = sub.add_parser("list", help="list alerts, newest first")
    p.add_argument("--project", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--state", choices=["pending", "firing", "acknowledged", "resolved"])
    p.add_argument("--json", action="store_true", help="print the full JSON")
    add_target_arguments(p)
    p.set_defaults(_alerts_run=run_alerts_list)
    for name, what in (("ack", "acknowledge (repeats stop)"), ("resolve", "resolve by hand")):
        p = sub.add_parser(name, help=f"{what} an alert")
        p.add_argument("fingerprint", metavar="FINGERPRINT", help="from 'driftline alerts list'")
        p.add_argument("--by", default=None, help="who (default: the login name)")
        add_target_arguments(p)
        p.set_defaults(_alerts_run=run_alerts_act)
    p = sub.add_parser("silence", help="mute alerts matching every MATCHER for a while")
    p.add_argument(
        "matchers", metavar="MATCHER", nargs="+", help='e.g. project=shop severity=~"warn.*"'
    )
    p.add_argument("--duration", default="2h", help="how long (30m, 2h, 1d; default 2h)")
    p.add_argument("--comment", default="", help="why")
    p.add_argument("--by", default=None, help="who (default: the login name)")
    add_target_arguments(p)
    p.set_defaults(_alerts_run=run_alerts_silence)


def run_remote_test_route(args: argparse.Namespace, out: TextIO) -> int:
    """``driftline alerts test-route --url URL``: ask the server, print its answer."""
    from driftline.alerts import format_duration
    from driftline.cli._app_common import EXIT_USAGE
    from driftline.config import load_settings

    url = args.url or load_settings().server_url
    if not url:
        print("driftline alerts: test-route needs --config FILE or --url URL", file=sys.stderr)
        return EXIT_USAGE
    target = open_target(url, args.token, None)
    try:
        labels: dict[str, str] = {}
        if args.monitor:
            monitor = target.http.get(f"{API}/monitors/{args.monitor}")
            if monitor.status_code != 200:
                raise NotFoundError(_error_of(monitor))
            spec = monitor.json()["spec"]
            labels.update(spec.get("labels") or {})
            labels.update(
                alertname=spec["name"], project=spec["project"], severity=spec["severity"]
            )
            if spec.get("model"):
                labels["model"] = spec["model"]
        labels.update(dict(args.label))
        if args.severity:
            labels["severity"] = args.severity
        answer = target.test_route(labels)
    finally:
        target.close()
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) or "(none)"
    print(f"labels: {shown}", file=out)
    for route in answer.get("routes", []):
        print(f"route {route.get('route_id')}", file=out)
        print(f"  receiver: {route.get('receiver')}", file=out)
        print(f"  group: {route.get('group_key')}", file=out)
        timings = ", ".join(
            f"{k} {format_duration(route[k])}"
            for k in ("group_wait", "group_interval", "repeat_interval")
            if isinstance(route.get(k), (int, float))
        )
        print(f"  timings: {timings}", file=out)
    silence = answer.get("silenced_by")
    print(f"silenced: {'yes, by silence ' + silence['id'] if silence else 'no'}", file=out)
    if answer.get("inhibited"):
        print(f"inhibition: {answer['inhibited']}", file=out)
    print(answer.get("reason", ""), file=out)
    print("nothing was sent", file=out)
    return EXIT_OK
