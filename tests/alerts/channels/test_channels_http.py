"""Webhook and Slack channels against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import random
import socket
import ssl
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from driftline.alerts import Notification
from driftline.alerts.channels import (
    NetworkPolicy,
    ReceiverSpec,
    RetryPolicy,
    SlackChannel,
    SlackConfig,
    WebhookChannel,
    WebhookConfig,
    build_channels,
    verify_signature,
)
from driftline.errors import DeliveryError


class HTTPReceiver(Protocol):
    """The ``receiver`` fixture (see conftest.py)."""

    url: str
    requests: list[Any]
    script: list[tuple[int, dict[str, str], bytes]]


def hook(
    url: str, policy: NetworkPolicy, now: float, env: dict[str, str] | None = None, **cfg: object
) -> WebhookChannel:
    config = WebhookConfig.model_validate({"url": url, **cfg})
    return WebhookChannel("ops/webhook/0", config, policy, env or {}, clock=lambda: now)


def test_signed_webhook_payload_and_headers(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    env = {"HOOK_KEY": "s3cret", "DEPLOY_TOKEN": "Bearer abc"}
    channel = hook(
        receiver.url + "/hooks/driftline?team=ml",
        local_policy,
        now,
        env,
        secret_env="HOOK_KEY",
        headers={"X-Team": "ml"},
        headers_env={"Authorization": "DEPLOY_TOKEN"},
    )
    channel.send(firing_notification)
    [req] = receiver.requests
    assert req.path == "/hooks/driftline?team=ml"
    h = req.headers
    assert h["content-type"] == "application/json"
    assert h["idempotency-key"] == h["x-driftline-notification-id"] == "n-0001"
    assert h["x-team"] == "ml" and h["authorization"] == "Bearer abc"
    assert h["x-driftline-timestamp"] == str(int(now))
    assert verify_signature(
        "s3cret", h["x-driftline-timestamp"], req.body, h["x-driftline-signature"], now=now + 5
    )
    assert not verify_signature(
        "wrong", h["x-driftline-timestamp"], req.body, h["x-driftline-signature"], now=now
    )
    assert not verify_signature(
        "s3cret", h["x-driftline-timestamp"], req.body + b" ", h["x-driftline-signature"], now=now
    )
    body = json.loads(req.body)
    assert body["version"] == "1"
    assert {k: body[k] for k in ("id", "status", "receiver", "truncated_alerts")} == {
        "id": "n-0001",
        "status": "firing",
        "receiver": "ops",
        "truncated_alerts": 0,
    }
    assert body["group_labels"] == {"model": "churn"}
    assert body["common_labels"] == {"model": "churn", "severity": "warning"}
    assert body["external_url"] == "https://driftline.example.com/alerts"
    first = body["alerts"][0]
    assert first["reason"] == "psi 0.31 > 0.2 on feature <age> & income"
    assert first["labels"]["alertname"] == "psi_age"
    assert first["status"] == "firing" and first["starts_at"].endswith("Z")
    assert [a["labels"]["alertname"] for a in body["alerts"]] == ["psi_age", "accuracy_drop"]


def test_request_goes_to_the_checked_address_with_the_original_host(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1])
    config = WebhookConfig(url=f"http://deploy.test:{port}/rollback")
    seen: list[tuple[str, int]] = []

    def resolve(host: str, p: int) -> list[str]:
        seen.append((host, p))
        return ["127.0.0.1"]

    WebhookChannel("d/webhook/0", config, local_policy, {}, resolver=resolve).send(
        firing_notification
    )
    assert seen == [("deploy.test", port)]
    assert receiver.requests[0].headers["host"] == f"deploy.test:{port}"


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (500, {}, True, None),
        (503, {"Retry-After": "7"}, True, 7.0),
        (429, {"Retry-After": "30"}, True, 30.0),
        (400, {}, False, None),
        (404, {}, False, None),
        (302, {"Location": "https://elsewhere.example/"}, False, None),
    ],
)
def test_http_errors_map_to_delivery_errors(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
    status: int,
    headers: dict[str, str],
    retryable: bool,
    retry_after: float | None,
) -> None:
    receiver.script.append((status, headers, b"nope"))
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as info:
        hook(receiver.url + "/h", local_policy, now).send(firing_notification)
    assert info.value.retryable is retryable
    assert info.value.retry_after == retry_after


def test_retry_after_as_http_date(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    receiver.script.append((503, {"Retry-After": formatdate(now + 90, usegmt=True)}, b""))
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url, local_policy, now).send(firing_notification)
    assert info.value.retry_after == 90.0


def test_fails_three_times_then_one_delivery(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    receiver.script.extend([(503, {}, b"busy")] * 3)
    channel = hook(receiver.url, local_policy, now)
    policy, rng, delivered, attempt = RetryPolicy(), random.Random(3), 0, 0
    while True:
        attempt += 1
        try:
            channel.send(firing_notification)
        except DeliveryError as err:
            decision = policy.decide(attempt, error=err, created_at=now, now=now, rng=rng)
            assert decision.retry, decision.reason
            continue
        delivered += 1
        break
    assert (attempt, delivered, len(receiver.requests)) == (4, 1, 4)
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"n-0001"}


def test_connection_refused_and_timeout_are_retryable(
    local_policy: NetworkPolicy, now: float, firing_notification: Notification
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(DeliveryError, match="failed to connect") as info:
        hook(f"http://127.0.0.1:{closed_port}/", local_policy, now).send(firing_notification)
    assert info.value.retryable
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DeliveryError, match=r"timed out after 0\.2s") as info:
            hook(url, local_policy, now, timeout=0.2).send(firing_notification)
    assert info.value.retryable


def test_loopback_is_blocked_without_an_allow(
    receiver: HTTPReceiver, now: float, firing_notification: Notification
) -> None:
    with pytest.raises(DeliveryError, match=r"blocked range 127\.0\.0\.0/8") as info:
        hook(receiver.url, NetworkPolicy(), now).send(firing_notification)
    assert not info.value.retryable
    assert receiver.requests == []


def test_send_resolved_false_filters_resolved_alerts(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    mixed_notification: Notification,
    resolved_notification: Notification,
) -> None:
    channel = hook(receiver.url, local_policy, now, send_resolved=False)
    channel.send(resolved_notification)
    assert receiver.requests == []
    channel.send(mixed_notification)
    [req] = receiver.requests
    assert [a["labels"]["alertname"] for a in json.loads(req.body)["alerts"]] == ["psi_age"]


def test_missing_secret_is_not_retryable(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    with pytest.raises(DeliveryError, match="secret_env 'HOOK_KEY' is not set") as info:
        hook(receiver.url, local_policy, now, secret_env="HOOK_KEY").send(firing_notification)
    assert not info.value.retryable and receiver.requests == []


def test_large_group_is_truncated_to_max_body(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    many = Notification.from_dict(
        {**firing_notification.to_dict(), "alerts": [firing_notification.alerts[0].to_dict()] * 60}
    )
    hook(receiver.url, local_policy, now, max_body=4096).send(many)
    [req] = receiver.requests
    body = json.loads(req.body)
    assert len(req.body) <= 4096
    assert body["truncated_alerts"] == 60 - len(body["alerts"]) > 0


def test_slack_message_is_escaped(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    spec = ReceiverSpec.model_validate(
        {"name": "ops", "slack": [{"url_env": "SLACK_URL", "channel": "#ml-alerts"}]}
    )
    [channel] = build_channels(
        spec, policy=local_policy, environ={"SLACK_URL": receiver.url + "/services/T/B/X"}
    )
    channel.send(firing_notification)
    [req] = receiver.requests
    assert req.path == "/services/T/B/X"
    body = json.loads(req.body)
    assert body["channel"] == "#ml-alerts"
    assert body["text"] == "[firing] psi_age: 2 alerts (model=churn)"
    texts = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert any("psi 0.31 &gt; 0.2 on feature &lt;age&gt; &amp; income" in t for t in texts)
    assert any("accuracy 0.81 &lt; 0.90" in t for t in texts)
    assert not any("<age>" in t for t in texts)
    footer = body["blocks"][-1]["elements"][0]["text"]
    assert footer == "<https://driftline.example.com/alerts|Open in driftline>"


def test_slack_errors(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    receiver.script.append((404, {}, b"no_service"))
    channel = SlackChannel(
        "ops/slack/0", SlackConfig(url=receiver.url + "/x"), local_policy, {}, clock=lambda: now
    )
    with pytest.raises(DeliveryError, match="no_service") as info:
        channel.send(firing_notification)
    assert not info.value.retryable
    unset = SlackChannel("ops/slack/1", SlackConfig(url_env="NOPE"), local_policy, {})
    with pytest.raises(DeliveryError, match="url_env 'NOPE' is not set"):
        unset.send(firing_notification)


def test_https_pins_the_address_and_verifies_the_original_name(
    tls_receiver: HTTPReceiver,
    hooks_cert: tuple[Path, Path],
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    port = int(tls_receiver.url.rsplit(":", 1)[1])
    trust = ssl.create_default_context(cafile=str(hooks_cert[0]))

    def send(host: str) -> None:
        WebhookChannel(
            "d/webhook/0",
            WebhookConfig(url=f"https://{host}:{port}/rollback"),
            local_policy,
            {},
            transport=httpx.HTTPTransport(verify=trust),
            resolver=lambda h, p: ["127.0.0.1"],
            clock=lambda: now,
        ).send(firing_notification)

    send("hooks.test")  # connects to 127.0.0.1, TLS name and Host header stay hooks.test
    [req] = tls_receiver.requests
    assert req.headers["host"] == f"hooks.test:{port}"
    with pytest.raises(
        DeliveryError, match=r"certificate of 'other\.test' does not verify"
    ) as info:
        send("other.test")  # same address, a name the certificate does not cover
    assert not info.value.retryable


def test_non_finite_value_is_sent_as_null(
    receiver: HTTPReceiver,
    local_policy: NetworkPolicy,
    now: float,
    firing_notification: Notification,
) -> None:
    data = firing_notification.to_dict()
    data["alerts"][0]["value"] = float("nan")
    hook(receiver.url, local_policy, now).send(Notification.from_dict(data))
    assert json.loads(receiver.requests[0].body)["alerts"][0]["value"] is None
