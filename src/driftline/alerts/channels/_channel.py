"""The :class:`Channel` protocol, :func:`build_channels` and :func:`describe`.

Example
-------
>>> from driftline.alerts.channels import NetworkPolicy, ReceiverSpec
>>> spec = ReceiverSpec.model_validate({"name": "deploy", "webhook": [
...     {"url": "https://deploy.example.com/rollback?token=abc", "secret_env": "HOOK_KEY"}]})
>>> [ch] = build_channels(spec, policy=NetworkPolicy(), environ={})
>>> ch.kind, ch.name
('webhook', 'deploy/webhook/0')
>>> describe(ch)
'webhook deploy/webhook/0: POST https://deploy.example.com/rollback?... signed with $HOOK_KEY (not set)'
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from driftline.alerts._model import Notification
from driftline.alerts.channels._alertmanager import AlertmanagerChannel
from driftline.alerts.channels._config import NetworkPolicy, ReceiverSpec
from driftline.alerts.channels._email import EmailChannel
from driftline.alerts.channels._guard import Resolver, system_resolver
from driftline.alerts.channels._slack import SlackChannel
from driftline.alerts.channels._webhook import WebhookChannel

__all__ = ["Channel", "build_channels", "describe"]


@runtime_checkable
class Channel(Protocol):
    """Delivers notifications of one receiver to one destination.

    ``send`` returns when the notification was delivered (or when there was
    nothing to send, e.g. only resolved alerts with ``send_resolved: false``)
    and raises :class:`~driftline.errors.DeliveryError` otherwise, with
    ``retryable`` and ``retry_after`` for the outbox worker.
    """

    @property
    def kind(self) -> str:
        """``'email'``, ``'webhook'``, ``'slack'`` or ``'alertmanager'``."""
        ...

    @property
    def name(self) -> str:
        """``<receiver>/<kind>/<index>``, unique within the routing config."""
        ...

    def send(self, notification: Notification) -> None:
        """Deliver ``notification`` or raise ``DeliveryError``."""
        ...


def build_channels(
    receiver: ReceiverSpec,
    *,
    policy: NetworkPolicy,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    resolver: Resolver = system_resolver,
) -> list[Channel]:
    """The channels of ``receiver``, in config order (email, webhook, slack, alertmanager).

    Parameters
    ----------
    receiver : ReceiverSpec
    policy : NetworkPolicy
        Applies to webhook, Slack and Alertmanager targets (not to SMTP, whose
        server the operator configures).
    environ : mapping, optional
        Where ``*_env`` secrets are looked up at send time (default
        ``os.environ``; the mapping is read, never copied into the config).
    transport : httpx.BaseTransport, optional
        HTTP transport (default: a new ``httpx.HTTPTransport`` per request).
    clock : callable, default time.time
        Epoch seconds, for signatures, dates and ``endsAt``.
    resolver : callable, default system_resolver
        ``(host, port) -> addresses``; the address checked is the one used.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    r = receiver.name
    out: list[Channel] = []
    for i, email in enumerate(receiver.email):
        out.append(EmailChannel(f"{r}/email/{i}", email, environ=env, clock=clock))
    for i, hook in enumerate(receiver.webhook):
        out.append(
            WebhookChannel(
                f"{r}/webhook/{i}", hook, policy, env, transport, resolver=resolver, clock=clock
            )
        )
    for i, slack in enumerate(receiver.slack):
        out.append(
            SlackChannel(
                f"{r}/slack/{i}", slack, policy, env, transport, resolver=resolver, clock=clock
            )
        )
    for i, am in enumerate(receiver.alertmanager):
        out.append(
            AlertmanagerChannel(
                f"{r}/alertmanager/{i}", am, policy, env, transport, resolver=resolver, clock=clock
            )
        )
    return out


def _public_url(url: str) -> str:
    """``scheme://host[:port]/path``, with any query replaced by ``?...`` (tokens hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    query = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def _env_state(environ: Mapping[str, str], name: str) -> str:
    return f"${name} ({'set' if environ.get(name) else 'not set'})"


def describe(channel: Channel) -> str:
    """Where ``channel`` would deliver, in one line, without any secret.

    Secrets show as the name of their environment variable and whether it is set.
    """
    head = f"{channel.kind} {channel.name}"
    if isinstance(channel, EmailChannel):
        cfg = channel.config
        security = "implicit TLS" if cfg.tls else "STARTTLS" if cfg.starttls else "no TLS"
        login = (
            f", login {cfg.username} with password {_env_state(channel.environ, cfg.password_env)}"
            if cfg.username and cfg.password_env
            else ""
        )
        return f"{head}: to {', '.join(cfg.to)} via {cfg.smarthost} ({security}{login})"
    if isinstance(channel, WebhookChannel):
        hook = channel.config
        signed = (
            f" signed with {_env_state(channel.environ, hook.secret_env)}"
            if hook.secret_env
            else " unsigned"
        )
        extra = "".join(
            f", header {k} from {_env_state(channel.environ, v)}"
            for k, v in hook.headers_env.items()
        )
        return f"{head}: POST {_public_url(hook.url)}{signed}{extra}"
    if isinstance(channel, SlackChannel):
        slack = channel.config
        if slack.url_env:
            where = f"incoming webhook from {_env_state(channel.environ, slack.url_env)}"
        else:
            parts = urlsplit(slack.url or "")
            where = f"incoming webhook at {parts.scheme}://{parts.hostname}/..."
        to = f" to {slack.channel}" if slack.channel else ""
        return f"{head}: {where}{to}"
    if isinstance(channel, AlertmanagerChannel):
        return f"{head}: POST {_public_url(channel.endpoint)}"
    return head
