"""Notification channels: email (SMTP), webhook (JSON, HMAC-signed), Slack, Alertmanager.

A receiver (:class:`ReceiverSpec`) names the channels a routed notification
goes to; :func:`build_channels` turns it into :class:`Channel` objects whose
``send(notification)`` either returns (delivered) or raises
:class:`~driftline.errors.DeliveryError` with ``retryable`` and
``retry_after`` for the outbox worker, which retries with
:class:`RetryPolicy`. HTTP targets are checked against a
:class:`NetworkPolicy` (blocked address ranges) before any request.

Example
-------
>>> build_channels(ReceiverSpec(name="null"), policy=NetworkPolicy(), environ={})
[]
"""

from __future__ import annotations

from driftline.alerts.channels._alertmanager import AlertmanagerChannel
from driftline.alerts.channels._channel import Channel, build_channels, describe
from driftline.alerts.channels._config import (
    DEFAULT_BLOCKED_RANGES,
    AlertmanagerConfig,
    EmailConfig,
    NetworkPolicy,
    ReceiverSpec,
    SlackConfig,
    WebhookConfig,
)
from driftline.alerts.channels._email import EmailChannel
from driftline.alerts.channels._guard import Resolver, Target, check_target, system_resolver
from driftline.alerts.channels._retry import (
    RetryDecision,
    RetryPolicy,
    UniformSource,
    next_attempt_delay,
)
from driftline.alerts.channels._slack import SlackChannel, slack_escape
from driftline.alerts.channels._webhook import (
    PAYLOAD_VERSION,
    WebhookChannel,
    sign,
    verify_signature,
    webhook_payload,
)

__all__ = [
    "DEFAULT_BLOCKED_RANGES",
    "PAYLOAD_VERSION",
    "AlertmanagerChannel",
    "AlertmanagerConfig",
    "Channel",
    "EmailChannel",
    "EmailConfig",
    "NetworkPolicy",
    "ReceiverSpec",
    "Resolver",
    "RetryDecision",
    "RetryPolicy",
    "SlackChannel",
    "SlackConfig",
    "Target",
    "UniformSource",
    "WebhookChannel",
    "WebhookConfig",
    "build_channels",
    "check_target",
    "describe",
    "next_attempt_delay",
    "sign",
    "slack_escape",
    "system_resolver",
    "verify_signature",
    "webhook_payload",
]
