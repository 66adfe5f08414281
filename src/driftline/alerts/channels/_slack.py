"""Slack incoming webhooks: a plain-text summary plus Block Kit sections.

Slack reads ``&``, ``<`` and ``>`` as control characters in message text, so
every piece of alert text is escaped (``&amp;``, ``&lt;``, ``&gt;``) before it
is put in the message; links are written as ``<url|text>``.

Example
-------
>>> slack_escape("p < 0.05 & psi > 0.2")
'p &lt; 0.05 &amp; psi &gt; 0.2'
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from driftline.alerts._model import Alert, Notification
from driftline.alerts.channels._config import NetworkPolicy, SlackConfig
from driftline.alerts.channels._guard import Resolver, system_resolver
from driftline.alerts.channels._http import post
from driftline.alerts.channels._render import (
    alert_reason,
    alert_status,
    alert_title,
    alert_url,
    render,
    template_vars,
    visible_alerts,
)
from driftline.alerts.channels._webhook import USER_AGENT
from driftline.errors import DeliveryError

__all__ = ["SlackChannel", "slack_escape", "slack_payload"]

#: Slack shows at most 50 blocks; the rest of the alerts are summarised in one line.
MAX_ALERT_BLOCKS = 40
#: Slack truncates a section's text at 3000 characters.
MAX_SECTION = 2900


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack's message formatting requires."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str | None, text: str) -> str:
    if not url:
        return text
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{text}>"


def _alert_line(notification: Notification, alert: Alert) -> str:
    status = alert_status(alert).upper()
    title = _link(alert_url(notification, alert), slack_escape(alert_title(alert)))
    reason = slack_escape(alert_reason(alert))
    line = f"*{status}* {title}" + (f"\n{reason}" if reason else "")
    return line[:MAX_SECTION]


def slack_payload(
    notification: Notification, alerts: Sequence[Alert], config: SlackConfig
) -> dict[str, Any]:
    """The incoming-webhook JSON body (``text`` for notifications, ``blocks`` for the message)."""
    variables = template_vars(notification, alerts)
    title = slack_escape(render(config.title, variables))
    text = slack_escape(render(config.text, variables)) if config.text else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"[:MAX_SECTION]}}
    ]
    if text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION]}})
    for alert in alerts[:MAX_ALERT_BLOCKS]:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _alert_line(notification, alert)},
            }
        )
    more = len(alerts) - MAX_ALERT_BLOCKS
    footer = f"{more} more alerts not shown. " if more > 0 else ""
    if notification.external_url:
        footer += _link(notification.external_url, "Open in driftline")
    if footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    payload: dict[str, Any] = {"text": title, "blocks": blocks}
    if config.channel:
        payload["channel"] = config.channel
    if config.username:
        payload["username"] = config.username
    return payload


@dataclass(frozen=True, slots=True)
class SlackChannel:
    """POSTs a Slack message to an incoming webhook."""

    kind: ClassVar[str] = "slack"
    name: str
    config: SlackConfig
    policy: NetworkPolicy
    environ: Mapping[str, str] = field(repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    resolver: Resolver = field(default=system_resolver, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def url(self) -> str:
        """The webhook URL (from ``url`` or the ``url_env`` variable)."""
        if self.config.url is not None:
            return self.config.url
        env = self.config.url_env or ""
        value = self.environ.get(env)
        if not value:
            raise DeliveryError(
                f"slack {self.name!r}: url_env {env!r} is not set or empty", retryable=False
            )
        return value

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``, or raise :class:`DeliveryError`."""
        alerts = visible_alerts(notification, send_resolved=self.config.send_resolved)
        if not alerts:
            return
        body = json.dumps(slack_payload(notification, alerts, self.config)).encode()
        post(
            self.url(),
            what=f"slack {self.name!r}",
            content=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            timeout=self.config.timeout,
            policy=self.policy,
            resolver=self.resolver,
            transport=self.transport,
            now=self.clock(),
        )
