"""The generic webhook: a versioned JSON payload, HMAC-SHA256 signed.

Each request is a ``POST`` with ``Content-Type: application/json`` and

- ``Idempotency-Key`` and ``X-Driftline-Notification-Id``: the notification id,
  the same on every retry, so a receiver can drop duplicates;
- when ``secret_env`` is set, ``X-Driftline-Timestamp`` (epoch seconds) and
  ``X-Driftline-Signature: sha256=<hex>``, the HMAC-SHA256 with the secret of
  ``<timestamp>.<body>``. Receivers check it with :func:`verify_signature`.

The body (``"version": "1"``)::

    {"version": "1", "id": "...", "status": "firing", "receiver": "ops",
     "group_key": "...", "group_labels": {...}, "common_labels": {...},
     "common_annotations": {...}, "external_url": "https://...",
     "truncated_alerts": 0,
     "alerts": [{"status": "firing", "fingerprint": "...", "labels": {...},
                 "annotations": {...}, "state": "firing", "reason": "...",
                 "value": 0.31, "starts_at": "2026-01-01T00:00:00Z",
                 "fired_at": "...", "acknowledged_at": null, "acknowledged_by": null,
                 "resolved_at": null, "url": "https://..."}]}

Example
-------
>>> sig = sign("s3cret", "1700000000", b'{"version": "1"}')
>>> sig.startswith("sha256=")
True
>>> verify_signature("s3cret", "1700000000", b'{"version": "1"}', sig, now=1700000100.0)
True
>>> verify_signature("s3cret", "1700000000", b'{"version": "1"}', sig, now=1700009999.0)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from driftline._version import __version__
from driftline.alerts._model import Alert, Notification
from driftline.alerts.channels._config import NetworkPolicy, WebhookConfig
from driftline.alerts.channels._guard import Resolver, system_resolver
from driftline.alerts.channels._http import post
from driftline.alerts.channels._render import (
    alert_reason,
    alert_status,
    alert_url,
    common,
    iso,
    visible_alerts,
)
from driftline.errors import DeliveryError

__all__ = [
    "PAYLOAD_VERSION",
    "WebhookChannel",
    "env_headers",
    "sign",
    "verify_signature",
    "webhook_payload",
]

#: Version of the webhook body; bumped on any incompatible change.
PAYLOAD_VERSION = "1"
USER_AGENT = f"driftline/{__version__}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 keyed by ``secret`` over ``timestamp + '.' + body``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: float,
    tolerance: float = 300.0,
) -> bool:
    """Whether a webhook request is authentic and fresh (for receivers).

    Parameters
    ----------
    secret : str
        The shared key (the value of the sender's ``secret_env``).
    timestamp : str
        The ``X-Driftline-Timestamp`` header.
    body : bytes
        The raw request body, exactly as received (before any JSON parsing).
    header : str
        The ``X-Driftline-Signature`` header (``sha256=<hex>``).
    now : float
        The receiver's clock, epoch seconds.
    tolerance : float, default 300
        Largest accepted distance between ``timestamp`` and ``now``, in seconds
        (limits replays; keep the notification id to drop exact duplicates).

    Returns
    -------
    bool
        ``True`` when the signature matches (constant-time comparison) and the
        timestamp is within ``tolerance`` of ``now``.

    Example
    -------
    >>> verify_signature("k", "10", b"{}", sign("k", "10", b"{}"), now=10.0)
    True
    >>> verify_signature("k", "10", b"{}", sign("other", "10", b"{}"), now=10.0)
    False
    """
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if not math.isfinite(sent) or abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())


def _alert_dict(notification: Notification, alert: Alert) -> dict[str, Any]:
    return {
        "status": alert_status(alert),
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": alert.state.value,
        "reason": alert_reason(alert),
        "value": alert.value if alert.value is not None and math.isfinite(alert.value) else None,
        "starts_at": iso(alert.started_at),
        "fired_at": iso(alert.fired_at),
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": iso(alert.resolved_at),
        "url": alert_url(notification, alert),
    }


def webhook_payload(
    notification: Notification, alerts: Sequence[Alert], *, truncated: int = 0
) -> dict[str, Any]:
    """The JSON body for ``alerts`` of ``notification`` (see the module docstring)."""
    return {
        "version": PAYLOAD_VERSION,
        "id": notification.id,
        "status": notification.status,
        "receiver": notification.receiver,
        "group_key": notification.group_key,
        "group_labels": dict(notification.group_labels),
        "common_labels": common([dict(a.labels) for a in alerts]),
        "common_annotations": common([dict(a.annotations) for a in alerts]),
        "external_url": notification.external_url,
        "truncated_alerts": truncated,
        "alerts": [_alert_dict(notification, a) for a in alerts],
    }


def encode_payload(notification: Notification, alerts: Sequence[Alert], *, max_body: int) -> bytes:
    """The body as bytes, leaving out trailing alerts until it fits ``max_body``."""
    keep = len(alerts)
    while True:
        body = json.dumps(
            webhook_payload(notification, alerts[:keep], truncated=len(alerts) - keep),
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        if len(body) <= max_body:
            return body
        if keep == 0:
            raise DeliveryError(
                f"webhook: the payload without alerts is {len(body)} bytes, over max_body "
                f"({max_body})",
                retryable=False,
            )
        keep = min(keep - 1, int(keep * max_body / len(body)))


def env_headers(
    headers_env: Mapping[str, str], environ: Mapping[str, str], what: str
) -> dict[str, str]:
    """Header values read from the environment variables ``headers_env`` names.

    Raises
    ------
    DeliveryError
        Not retryable, when a variable is unset (the message names it, never a value).
    """
    out: dict[str, str] = {}
    for name, env in headers_env.items():
        value = environ.get(env)
        if value is None:
            raise DeliveryError(
                f"{what}: header {name!r}: environment variable {env!r} is not set",
                retryable=False,
            )
        out[name] = value
    return out


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    """POSTs the JSON payload to ``config.url`` (see the module docstring)."""

    kind: ClassVar[str] = "webhook"
    name: str
    config: WebhookConfig
    policy: NetworkPolicy
    environ: Mapping[str, str] = field(repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    resolver: Resolver = field(default=system_resolver, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``, or raise :class:`DeliveryError`."""
        alerts = visible_alerts(notification, send_resolved=self.config.send_resolved)
        if not alerts:
            return
        what = f"webhook {self.name!r}"
        body = encode_payload(notification, alerts, max_body=self.config.max_body)
        now = self.clock()
        headers = {
            **self.config.headers,
            **env_headers(self.config.headers_env, self.environ, what),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": notification.id,
            "X-Driftline-Notification-Id": notification.id,
        }
        if self.config.secret_env is not None:
            secret = self.environ.get(self.config.secret_env)
            if not secret:
                raise DeliveryError(
                    f"{what}: secret_env {self.config.secret_env!r} is not set or empty",
                    retryable=False,
                )
            timestamp = str(int(now))
            headers["X-Driftline-Timestamp"] = timestamp
            headers["X-Driftline-Signature"] = sign(secret, timestamp, body)
        post(
            self.config.url,
            what=what,
            content=body,
            headers=headers,
            timeout=self.config.timeout,
            policy=self.policy,
            resolver=self.resolver,
            transport=self.transport,
            now=now,
        )
