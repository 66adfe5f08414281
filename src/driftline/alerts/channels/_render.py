"""What every channel says about a notification: status, titles, reasons, links, times.

Example
-------
>>> from driftline.alerts import Alert, AlertState, Notification
>>> a = Alert("f1", {"alertname": "psi_age", "model": "churn"}, AlertState.FIRING,
...           started_at=0.0, updated_at=0.0, reason="psi 0.31 > 0.2")
>>> n = Notification("n1", "ops", "g", {"model": "churn"}, "firing", (a,), 0.0)
>>> render("$status: $alertname ($count alerts, $group)", template_vars(n, n.alerts))
'firing: psi_age (1 alerts, model=churn)'
>>> iso(0.0)
'1970-01-01T00:00:00Z'
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from driftline.alerts._model import Alert, AlertState, Notification

__all__ = [
    "alert_reason",
    "alert_status",
    "alert_title",
    "alert_url",
    "common",
    "iso",
    "render",
    "template_vars",
    "visible_alerts",
]


def iso(ts: float | None) -> str | None:
    """RFC 3339 UTC time (``...Z``) of epoch seconds, or ``None``."""
    if ts is None:
        return None
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    text = text.replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def alert_status(alert: Alert) -> str:
    """``'resolved'`` for a resolved alert, else ``'firing'`` (acknowledged stays firing)."""
    return "resolved" if alert.state is AlertState.RESOLVED else "firing"


def visible_alerts(notification: Notification, *, send_resolved: bool) -> tuple[Alert, ...]:
    """The alerts a channel sends: all, or only the firing ones when ``send_resolved`` is off."""
    if send_resolved:
        return notification.alerts
    return tuple(a for a in notification.alerts if alert_status(a) == "firing")


def alert_title(alert: Alert) -> str:
    """``alertname`` followed by the other labels, e.g. ``psi_age {model=churn}``."""
    name = alert.labels.get("alertname", alert.fingerprint)
    rest = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    return f"{name} {{{rest}}}" if rest else name


def alert_reason(alert: Alert) -> str:
    """The alert's reason, else its ``reason`` or ``summary`` annotation, else ``''``."""
    return alert.reason or alert.annotations.get("reason") or alert.annotations.get("summary", "")


def alert_url(notification: Notification, alert: Alert) -> str | None:
    """The alert's ``url`` annotation, else the notification's dashboard link."""
    return alert.annotations.get("url") or notification.external_url


def common(mappings: Sequence[dict[str, str]]) -> dict[str, str]:
    """The key/value pairs that every mapping shares (empty for no mappings)."""
    if not mappings:
        return {}
    first = mappings[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in mappings[1:])}


def template_vars(notification: Notification, alerts: Sequence[Alert]) -> dict[str, Any]:
    """The ``$variables`` of subject/title/text templates."""
    names = [a.labels.get("alertname", "") for a in alerts]
    alertname = notification.group_labels.get("alertname") or (names[0] if names else "")
    group = ", ".join(f"{k}={v}" for k, v in sorted(notification.group_labels.items()))
    return {
        "status": notification.status,
        "receiver": notification.receiver,
        "count": len(alerts),
        "alertname": alertname,
        "group": group or "all",
    }


def render(template: str, variables: dict[str, Any]) -> str:
    """Fill a :class:`string.Template`; unknown ``$names`` stay as written."""
    return string.Template(template).safe_substitute(variables)
