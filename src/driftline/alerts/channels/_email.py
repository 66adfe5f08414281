"""Email over SMTP: STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, text and HTML bodies.

One message per notification lists the group's alerts with their reasons and
links. ``Message-ID`` and ``X-Driftline-Notification-Id`` come from the
notification id, so a retried message carries the same identity.

Errors: a 4xx reply, a dropped connection or a timeout is retryable; a 5xx
reply, refused credentials, a certificate that does not verify, a server
without STARTTLS (when required) or an unset password variable is not.

Example
-------
>>> from driftline.alerts import Alert, AlertState, Notification
>>> from driftline.alerts.channels import EmailConfig
>>> cfg = EmailConfig.model_validate({"to": ["ml@example.com"], "from": "dl@example.com",
...                                   "smarthost": "smtp.example.com:587"})
>>> a = Alert("f1", {"alertname": "psi_age"}, AlertState.FIRING, 0.0, 0.0, reason="psi 0.31 > 0.2")
>>> n = Notification("n-1", "ops", "g", {}, "firing", (a,), 0.0)
>>> msg = build_message(cfg, n, n.alerts, now=0.0)
>>> msg["Subject"], msg["Message-ID"]
('[driftline] firing: psi_age (1 alerts, all)', '<driftline.n-1@example.com>')
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from driftline.alerts._model import Alert, Notification
from driftline.alerts.channels._config import EmailConfig
from driftline.alerts.channels._render import (
    alert_reason,
    alert_status,
    alert_title,
    alert_url,
    iso,
    render,
    template_vars,
    visible_alerts,
)
from driftline.errors import DeliveryError

__all__ = ["EmailChannel", "build_message"]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _safe_url(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def _text_body(notification: Notification, alerts: Sequence[Alert], subject: str) -> str:
    lines = [subject, "", f"Receiver: {notification.receiver}"]
    group = ", ".join(f"{k}={v}" for k, v in sorted(notification.group_labels.items()))
    lines += [f"Group: {group or 'all'}", ""]
    for alert in alerts:
        lines.append(f"{alert_status(alert).upper()} {alert_title(alert)}")
        reason = alert_reason(alert)
        if reason:
            lines.append(f"  Reason: {reason}")
        lines.append(f"  Since: {iso(alert.started_at)}")
        if alert.resolved_at is not None:
            lines.append(f"  Resolved: {iso(alert.resolved_at)}")
        url = _safe_url(alert_url(notification, alert))
        if url:
            lines.append(f"  Link: {url}")
        lines.append("")
    if _safe_url(notification.external_url):
        lines.append(f"Open in driftline: {notification.external_url}")
    lines += ["--", f"Notification id: {notification.id}"]
    return "\n".join(lines) + "\n"


def _html_body(notification: Notification, alerts: Sequence[Alert], subject: str) -> str:
    e = html.escape
    rows = []
    for alert in alerts:
        url = _safe_url(alert_url(notification, alert))
        title = e(alert_title(alert))
        if url:
            title = f'<a href="{e(url)}">{title}</a>'
        rows.append(
            f"<tr><td><b>{e(alert_status(alert).upper())}</b></td><td>{title}</td>"
            f"<td>{e(alert_reason(alert))}</td><td>{e(iso(alert.started_at) or '')}</td></tr>"
        )
    link = _safe_url(notification.external_url)
    footer = f'<p><a href="{e(link)}">Open in driftline</a></p>' if link else ""
    return (
        f"<!doctype html><html><body><h2>{e(subject)}</h2>"
        f"<p>Receiver: {e(notification.receiver)}</p>"
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>Status</th><th>Alert</th><th>Reason</th><th>Since</th></tr>"
        + "".join(rows)
        + f"</table>{footer}<p><small>Notification id: {e(notification.id)}</small></p>"
        "</body></html>"
    )


def build_message(
    config: EmailConfig, notification: Notification, alerts: Sequence[Alert], *, now: float
) -> EmailMessage:
    """The email for ``alerts`` of ``notification``: text with an HTML alternative."""
    subject = " ".join(render(config.subject, template_vars(notification, alerts)).split())
    domain = config.from_.rpartition("@")[2].strip(">") or "driftline.invalid"
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = config.from_
    msg["To"] = ", ".join(config.to)
    msg["Date"] = formatdate(now, usegmt=True)
    msg["Message-ID"] = f"<driftline.{_ID_UNSAFE.sub('_', notification.id)}@{domain}>"
    msg["X-Driftline-Notification-Id"] = _ID_UNSAFE.sub("_", notification.id)
    msg.set_content(_text_body(notification, alerts, subject))
    msg.add_alternative(_html_body(notification, alerts, subject), subtype="html")
    return msg


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_file)
    if config.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class EmailChannel:
    """Sends one email per notification through ``config.smarthost``."""

    kind: ClassVar[str] = "email"
    name: str
    config: EmailConfig
    environ: Mapping[str, str] = field(repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def _password(self) -> str | None:
        env = self.config.password_env
        if env is None:
            return None
        value = self.environ.get(env)
        if value is None:
            raise DeliveryError(
                f"email {self.name!r}: password_env {env!r} is not set", retryable=False
            )
        return value

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``, or raise :class:`DeliveryError`."""
        alerts = visible_alerts(notification, send_resolved=self.config.send_resolved)
        if not alerts:
            return
        password = self._password()
        msg = build_message(self.config, notification, alerts, now=self.clock())
        what = f"email {self.name!r} via {self.config.smarthost}"
        try:
            self._deliver(msg, password, what)
        except DeliveryError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{what}: the server's certificate does not verify: {exc.verify_message}",
                retryable=False,
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{what}: login as {self.config.username!r} refused: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}",
                retryable=False,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"{what}: server replied {exc.smtp_code} {_text(exc.smtp_error)}",
                retryable=400 <= exc.smtp_code < 500 or exc.smtp_code < 0,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {rcpt: code for rcpt, (code, _) in exc.recipients.items()}
            raise DeliveryError(
                f"{what}: every recipient was refused: {codes}",
                retryable=all(400 <= c < 500 for c in codes.values()),
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryError(f"{what}: the server disconnected: {exc}", retryable=True) from exc
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"{what}: {exc}", retryable=False) from exc
        except OSError as exc:
            raise DeliveryError(
                f"{what}: connection failed: {type(exc).__name__}: {exc}", retryable=True
            ) from exc

    def _deliver(self, msg: EmailMessage, password: str | None, what: str) -> None:
        cfg = self.config
        smtp: smtplib.SMTP
        if cfg.tls:
            smtp = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout, context=_tls_context(cfg)
            )
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with smtp:
            smtp.ehlo()
            if not cfg.tls and cfg.starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"{what}: the server does not offer STARTTLS (set starttls: false to "
                        "send unencrypted)",
                        retryable=False,
                    )
                smtp.starttls(context=_tls_context(cfg))
                smtp.ehlo()
            if cfg.username is not None and password is not None:
                smtp.login(cfg.username, password)
            refused = smtp.send_message(msg)
        if refused:
            raise DeliveryError(
                f"{what}: sent, but these recipients were refused: {sorted(refused)}",
                retryable=False,
            )
