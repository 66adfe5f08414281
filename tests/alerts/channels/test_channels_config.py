"""Channel configs validate at the edge; retry delays and decisions are pure and table-tested."""

from __future__ import annotations

import importlib
import random

import pytest
from pydantic import ValidationError

from driftline.alerts.channels import (
    DEFAULT_BLOCKED_RANGES,
    EmailConfig,
    NetworkPolicy,
    ReceiverSpec,
    RetryPolicy,
    SlackConfig,
    WebhookConfig,
    build_channels,
    describe,
    next_attempt_delay,
)
from driftline.errors import DeliveryError, InputError


def test_exports_are_importable_and_complete() -> None:
    module = importlib.import_module("driftline.alerts.channels")
    assert all(hasattr(module, n) for n in module.__all__)
    assert len(set(module.__all__)) == len(module.__all__)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and callable(v)
        and getattr(v, "__module__", "").startswith("driftline")
    }
    assert public <= set(module.__all__)


def test_receiver_from_yaml_shaped_dict() -> None:
    spec = ReceiverSpec.model_validate(
        {
            "name": "ml",
            "email": [
                {
                    "to": ["a@example.com"],
                    "from": "dl@example.com",
                    "smarthost": "smtp.example.com:465",
                    "tls": True,
                    "username": "dl",
                    "password_env": "SMTP_PASSWORD",
                }
            ],
            "webhook": [{"url": "https://h.example/x", "headers_env": {"Authorization": "TOK"}}],
            "slack": [{"url_env": "SLACK_URL", "channel": "#ml"}],
            "alertmanager": [{"url": "http://am.example:9093"}],
        }
    )
    assert (spec.email[0].host, spec.email[0].port, spec.email[0].from_) == (
        "smtp.example.com",
        465,
        "dl@example.com",
    )
    kinds = [c.kind for c in build_channels(spec, policy=NetworkPolicy(), environ={"TOK": "x"})]
    assert kinds == ["email", "webhook", "slack", "alertmanager"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"to": [], "from": "a@b.c", "smarthost": "h:25"}, "to"),
        ({"to": ["nobody"], "from": "a@b.c", "smarthost": "h:25"}, "expected email addresses"),
        ({"to": ["x@y.z"], "from": "a@b.c", "smarthost": "h"}, "expected 'host:port'"),
        ({"to": ["x@y.z"], "from": "a@b.c", "smarthost": "h:25", "username": "u"}, "go together"),
        (
            {
                "to": ["x@y.z"],
                "from": "a@b.c",
                "smarthost": "h:25",
                "starttls": False,
                "username": "u",
                "password_env": "P",
            },
            "in clear",
        ),
        (
            {"to": ["x@y.z"], "from": "a@b.c", "smarthost": "h:25", "password": "hunter2"},
            "password",
        ),
    ],
)
def test_email_config_errors_name_the_field(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        EmailConfig.model_validate(data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"url": "ftp://h.example/x"}, "expected an http"),
        ({"url": "https://user:pw@h.example/x"}, "credentials in the URL"),
        ({"url": "https://h.example/x", "secret_env": "not a name"}, "environment variable"),
        ({"url": "https://h.example/x", "headers": {"X-Driftline-Signature": "x"}}, "set by"),
        ({"url": "https://h.example/x", "headers": {"X-A": "a\r\nB: c"}}, "line break"),
    ],
)
def test_webhook_config_errors(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        WebhookConfig.model_validate(data)


def test_slack_needs_exactly_one_url() -> None:
    with pytest.raises(ValidationError, match="exactly one of url and url_env"):
        SlackConfig.model_validate({})
    with pytest.raises(ValidationError, match="exactly one of url and url_env"):
        SlackConfig.model_validate({"url": "https://hooks.slack.com/x", "url_env": "S"})


def test_network_policy_validates_ranges() -> None:
    with pytest.raises(ValidationError, match="blocked: expected CIDR"):
        NetworkPolicy(blocked=["10.0.0.0/33"])
    with pytest.raises(ValidationError, match="allowed_schemes"):
        NetworkPolicy(allowed_schemes=["gopher"])
    assert "169.254.0.0/16" in DEFAULT_BLOCKED_RANGES


def test_describe_shows_no_secret() -> None:
    spec = ReceiverSpec.model_validate(
        {
            "name": "r",
            "email": [
                {
                    "to": ["a@example.com"],
                    "from": "dl@example.com",
                    "smarthost": "smtp.example.com:587",
                    "username": "dl",
                    "password_env": "SMTP_PASSWORD",
                }
            ],
            "webhook": [{"url": "https://h.example/hook?token=SECRET", "secret_env": "K"}],
            "slack": [{"url": "https://hooks.slack.com/services/T/B/SECRET"}],
            "alertmanager": [{"url": "http://am.example:9093/"}],
        }
    )
    env = {"SMTP_PASSWORD": "hunter2", "K": "SECRET"}
    lines = [describe(c) for c in build_channels(spec, policy=NetworkPolicy(), environ=env)]
    assert lines == [
        "email r/email/0: to a@example.com via smtp.example.com:587 "
        "(STARTTLS, login dl with password $SMTP_PASSWORD (set))",
        "webhook r/webhook/0: POST https://h.example/hook?... signed with $K (set)",
        "slack r/slack/0: incoming webhook at https://hooks.slack.com/...",
        "alertmanager r/alertmanager/0: POST http://am.example:9093/api/v2/alerts",
    ]
    assert not any("SECRET" in line or "hunter2" in line for line in lines)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "draw", "expected"),
    [
        (1, None, 0.5, 5.0),  # ceiling base=10 -> half of it
        (2, None, 0.5, 10.0),  # ceiling 20
        (3, None, 0.999, 39.96),  # ceiling 40
        (10, None, 0.5, 50.0),  # ceiling capped at 100
        (200, None, 1.0, 100.0),  # huge attempt: still the cap, no overflow
        (1, 60.0, 0.5, 60.0),  # Retry-After is a lower bound
        (1, 1000.0, 0.5, 100.0),  # ... itself capped
        (4, 3.0, 0.5, 40.0),  # jitter above Retry-After wins
        (1, 0.0, 0.0, 0.0),
    ],
)
def test_next_attempt_delay_table(
    attempt: int, retry_after: float | None, draw: float, expected: float
) -> None:
    class Fixed:
        def random(self) -> float:
            return draw

    got = next_attempt_delay(attempt, retry_after=retry_after, base=10.0, cap=100.0, rng=Fixed())
    assert got == pytest.approx(expected)


def test_next_attempt_delay_jitter_is_full_and_seeded() -> None:
    rng = random.Random(7)
    delays = [
        next_attempt_delay(3, retry_after=None, base=10.0, cap=100.0, rng=rng) for _ in range(500)
    ]
    assert 0.0 <= min(delays) < 2.0 and 38.0 < max(delays) <= 40.0
    again = random.Random(7)
    assert delays[0] == next_attempt_delay(3, retry_after=None, base=10.0, cap=100.0, rng=again)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"attempt": 0}, "attempt: expected an integer >= 1"),
        ({"attempt": 1, "base": 0.0}, "base"),
        ({"attempt": 1, "base": 10.0, "cap": 5.0}, "cap"),
    ],
)
def test_next_attempt_delay_rejects_bad_input(kwargs: dict[str, float], fragment: str) -> None:
    attempt = int(kwargs.pop("attempt"))
    with pytest.raises(InputError, match=fragment):
        next_attempt_delay(attempt, retry_after=None, rng=random.Random(0), **kwargs)


@pytest.mark.parametrize(
    ("attempt", "error", "created_at", "retry", "reason_start"),
    [
        (1, DeliveryError("HTTP 503", retryable=True), 0.0, True, "retry 2 in"),
        (1, DeliveryError("HTTP 400", retryable=False), 0.0, False, "not retryable: HTTP 400"),
        (5, DeliveryError("HTTP 503", retryable=True), 0.0, False, "giving up after 5 attempts"),
        (1, DeliveryError("timeout", retryable=True), -3590.0, False, "giving up: next attempt"),
    ],
)
def test_retry_policy_decisions(
    attempt: int, error: DeliveryError, created_at: float, retry: bool, reason_start: str
) -> None:
    class Fixed:
        def random(self) -> float:
            return 0.5

    policy = RetryPolicy(max_attempts=5, max_age=3600.0, base=30.0, cap=600.0)
    decision = policy.decide(attempt, error=error, created_at=created_at, now=10.0, rng=Fixed())
    assert decision.retry is retry
    assert decision.reason.startswith(reason_start), decision.reason
    assert (decision.not_before == 25.0) if retry else decision.not_before is None


def test_retry_policy_honours_retry_after_and_says_so() -> None:
    policy = RetryPolicy()
    err = DeliveryError("HTTP 429", retryable=True, retry_after=120.0)
    decision = policy.decide(1, error=err, created_at=0.0, now=0.0, rng=random.Random(0))
    assert decision.not_before == 120.0
    assert "receiver asked 120s" in decision.reason
    with pytest.raises(InputError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
