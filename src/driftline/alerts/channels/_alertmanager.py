"""Forward alerts to an existing Prometheus Alertmanager (``POST /api/v2/alerts``).

Alertmanager does its own grouping, silencing and routing, so every alert of
the notification is sent as is: its labels (names made valid for
Alertmanager: characters outside ``[A-Za-z0-9_]`` become ``_``), its
annotations plus ``reason``, ``startsAt``, and ``generatorURL`` (the alert's
``url`` annotation or the dashboard link). A resolved alert gets
``endsAt`` = its resolution time; a firing one gets ``endsAt`` = now +
``firing_ttl``, so it resolves by itself if driftline stops sending.

Example
-------
>>> am_label_name("model.version")
'model_version'
>>> am_label_name("1st")
'_1st'
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from driftline.alerts._model import Alert, AlertState, Notification
from driftline.alerts.channels._config import AlertmanagerConfig, NetworkPolicy
from driftline.alerts.channels._guard import Resolver, system_resolver
from driftline.alerts.channels._http import post
from driftline.alerts.channels._render import alert_reason, alert_url, iso
from driftline.alerts.channels._webhook import USER_AGENT, env_headers

__all__ = ["AlertmanagerChannel", "alertmanager_alerts", "am_label_name"]

_INVALID = re.compile(r"[^A-Za-z0-9_]")


def am_label_name(name: str) -> str:
    """``name`` as a valid Alertmanager label name (``[A-Za-z_][A-Za-z0-9_]*``)."""
    out = _INVALID.sub("_", name) or "_"
    return "_" + out if out[0].isdigit() else out


def _am_alert(
    notification: Notification, alert: Alert, *, now: float, ttl: float
) -> dict[str, Any]:
    labels = {am_label_name(k): v for k, v in sorted(alert.labels.items())}
    if not labels:
        labels = {"alertname": alert.fingerprint}
    annotations = {am_label_name(k): v for k, v in sorted(alert.annotations.items())}
    reason = alert_reason(alert)
    if reason:
        annotations.setdefault("reason", reason)
    if alert.value is not None:
        annotations.setdefault("value", f"{alert.value:g}")
    if alert.state is AlertState.RESOLVED:
        ends = max(alert.resolved_at or now, alert.started_at)
    else:
        ends = now + ttl
    out: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": iso(alert.started_at),
        "endsAt": iso(ends),
    }
    url = alert_url(notification, alert)
    if url:
        out["generatorURL"] = url
    return out


def alertmanager_alerts(
    notification: Notification, alerts: Sequence[Alert], *, now: float, firing_ttl: float
) -> list[dict[str, Any]]:
    """The ``postableAlerts`` body for ``alerts`` at ``now``."""
    return [_am_alert(notification, a, now=now, ttl=firing_ttl) for a in alerts]


@dataclass(frozen=True, slots=True)
class AlertmanagerChannel:
    """POSTs the notification's alerts to ``<url>/api/v2/alerts``."""

    kind: ClassVar[str] = "alertmanager"
    name: str
    config: AlertmanagerConfig
    policy: NetworkPolicy
    environ: Mapping[str, str] = field(repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    resolver: Resolver = field(default=system_resolver, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @property
    def endpoint(self) -> str:
        """``<url>/api/v2/alerts``."""
        return self.config.url.rstrip("/") + "/api/v2/alerts"

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``, or raise :class:`~driftline.errors.DeliveryError`."""
        if not notification.alerts:
            return
        what = f"alertmanager {self.name!r}"
        now = self.clock()
        body = alertmanager_alerts(
            notification, notification.alerts, now=now, firing_ttl=self.config.firing_ttl
        )
        headers = {
            **env_headers(self.config.headers_env, self.environ, what),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        post(
            self.config.url,
            path_url=self.endpoint,
            what=what,
            content=json.dumps(body).encode(),
            headers=headers,
            timeout=self.config.timeout,
            policy=self.policy,
            resolver=self.resolver,
            transport=self.transport,
            now=now,
        )
