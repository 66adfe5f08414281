"""The email channel against a real aiosmtpd server: STARTTLS, implicit TLS, AUTH PLAIN/LOGIN."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from driftline.alerts import Notification
from driftline.alerts.channels import EmailChannel, EmailConfig
from driftline.errors import DeliveryError

PASSWORD = "correct horse"


@dataclass
class Mailbox:
    """What the test server received."""

    port: int
    messages: list[tuple[str, list[str], EmailMessage, bool]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    reply: str = "250 OK"


class Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.box.reply.startswith("250"):
            return self.box.reply
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.box.messages.append(
            (str(envelope.mail_from), list(envelope.rcpt_tos), msg, encrypted(server))
        )
        return "250 OK"


def encrypted(server: SMTP) -> bool:
    """Whether the connection the message came over is TLS (STARTTLS or implicit)."""
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(tls_cert: tuple[Path, Path]) -> Iterator[Callable[..., Mailbox]]:
    """Start a real SMTP server on 127.0.0.1: ``smtp_server(starttls=True, implicit=False, ...)``."""
    controllers: list[Controller] = []
    cert, key = tls_cert

    def start(*, starttls: bool = True, implicit: bool = False, **smtp_kwargs: Any) -> Mailbox:
        box = Mailbox(port=free_port())

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            assert isinstance(data, LoginPassword)
            login, password = data.login.decode(), data.password.decode()
            box.logins.append((mechanism, login))
            return AuthResult(success=(login, password) == ("dl", PASSWORD), handled=False)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        kwargs: dict[str, Any] = {"authenticator": authenticator, **smtp_kwargs}
        if implicit:
            kwargs.update(ssl_context=context, auth_require_tls=False)
        elif starttls:
            kwargs.update(tls_context=context, require_starttls=True)
        controller = Controller(Handler(box), hostname="127.0.0.1", port=box.port, **kwargs)
        controller.start()
        controllers.append(controller)
        return box

    yield start
    for controller in controllers:
        controller.stop()


def channel(
    box: Mailbox, cert: Path | None, env: dict[str, str] | None = None, **cfg: Any
) -> EmailChannel:
    data: dict[str, Any] = {
        "to": ["ml-oncall@example.com", "lead@example.com"],
        "from": "driftline@example.com",
        "smarthost": f"127.0.0.1:{box.port}",
        "username": "dl",
        "password_env": "SMTP_PASSWORD",
        "timeout": 5,
        **cfg,
    }
    if cert is not None:
        data.setdefault("ca_file", str(cert))
    config = EmailConfig.model_validate(data)
    environ = {"SMTP_PASSWORD": PASSWORD} if env is None else env
    return EmailChannel("ops/email/0", config, environ, clock=lambda: 1_790_000_000.0)


def test_starttls_auth_plain_delivers_the_grouped_message(
    smtp_server: Callable[..., Mailbox],
    tls_cert: tuple[Path, Path],
    firing_notification: Notification,
) -> None:
    box = smtp_server()
    channel(box, tls_cert[0]).send(firing_notification)
    [(sender, rcpts, msg, over_tls)] = box.messages
    assert over_tls
    assert box.logins == [("PLAIN", "dl")]
    assert sender == "driftline@example.com"
    assert rcpts == ["ml-oncall@example.com", "lead@example.com"]
    assert msg["Subject"] == "[driftline] firing: psi_age (2 alerts, model=churn)"
    assert msg["X-Driftline-Notification-Id"] == "n-0001"
    assert msg["Message-ID"] == "<driftline.n-0001@example.com>"
    assert msg["Date"].datetime.timestamp() == 1_790_000_000.0
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    for reason in (
        "psi 0.31 > 0.2 on feature <age> & income",
        "accuracy 0.81 < 0.90 over 500 labels",
    ):
        assert reason in plain
    assert "psi 0.31 &gt; 0.2 on feature &lt;age&gt; &amp; income" in markup
    assert "<age>" not in markup
    assert 'href="https://driftline.example.com/alerts"' in markup
    assert "https://driftline.example.com/alerts" in plain


def test_auth_login_when_the_server_offers_only_login(
    smtp_server: Callable[..., Mailbox],
    tls_cert: tuple[Path, Path],
    mixed_notification: Notification,
) -> None:
    box = smtp_server(auth_exclude_mechanism=["PLAIN"])
    channel(box, tls_cert[0]).send(mixed_notification)
    assert box.logins == [("LOGIN", "dl")]
    [(_, _, msg, _)] = box.messages
    body = msg.get_body(("plain",))
    assert body is not None
    assert "RESOLVED latency_p99" in body.get_content()


def test_implicit_tls(
    smtp_server: Callable[..., Mailbox],
    tls_cert: tuple[Path, Path],
    firing_notification: Notification,
) -> None:
    box = smtp_server(implicit=True)
    channel(box, tls_cert[0], tls=True, starttls=False).send(firing_notification)
    assert len(box.messages) == 1 and box.messages[0][3]
    assert box.logins == [("PLAIN", "dl")]


def test_wrong_password_is_not_retryable(
    smtp_server: Callable[..., Mailbox],
    tls_cert: tuple[Path, Path],
    firing_notification: Notification,
) -> None:
    box = smtp_server()
    with pytest.raises(DeliveryError, match="login as 'dl' refused: 535") as info:
        channel(box, tls_cert[0], env={"SMTP_PASSWORD": "nope"}).send(firing_notification)
    assert not info.value.retryable and box.messages == []


def test_untrusted_certificate_is_not_retryable(
    smtp_server: Callable[..., Mailbox], firing_notification: Notification
) -> None:
    box = smtp_server()
    with pytest.raises(DeliveryError, match="certificate does not verify") as info:
        channel(box, None).send(firing_notification)
    assert not info.value.retryable


def test_server_without_starttls_is_refused_when_required(
    smtp_server: Callable[..., Mailbox], firing_notification: Notification
) -> None:
    box = smtp_server(starttls=False)
    with pytest.raises(DeliveryError, match="does not offer STARTTLS") as info:
        channel(box, None).send(firing_notification)
    assert not info.value.retryable
    # an explicit plain relay (no login) still works
    channel(box, None, username=None, password_env=None, starttls=False).send(firing_notification)
    assert len(box.messages) == 1 and not box.messages[0][3]


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("451 4.3.0 Try again later", True), ("554 5.7.1 Message rejected", False)],
)
def test_smtp_replies_map_to_retryable(
    smtp_server: Callable[..., Mailbox],
    tls_cert: tuple[Path, Path],
    firing_notification: Notification,
    reply: str,
    retryable: bool,
) -> None:
    box = smtp_server()
    box.reply = reply
    with pytest.raises(DeliveryError, match=f"server replied {reply[:3]}") as info:
        channel(box, tls_cert[0]).send(firing_notification)
    assert info.value.retryable is retryable


def test_connection_refused_is_retryable_and_missing_password_is_not(
    firing_notification: Notification,
) -> None:
    nowhere = Mailbox(port=free_port())
    with pytest.raises(DeliveryError, match="connection failed") as info:
        channel(nowhere, None).send(firing_notification)
    assert info.value.retryable
    with pytest.raises(DeliveryError, match="password_env 'SMTP_PASSWORD' is not set") as info:
        channel(nowhere, None, env={}).send(firing_notification)
    assert not info.value.retryable
