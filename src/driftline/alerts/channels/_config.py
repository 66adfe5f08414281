"""Configuration of notification channels: email, webhook, Slack, Alertmanager.

These are pydantic models, validated where the routing config is loaded. A
secret (SMTP password, HMAC key) is never stored in the config: the config
names an environment variable (``password_env``, ``secret_env``) and the
channel resolves it through a mapping that is injected (``os.environ`` by
default, see :func:`driftline.alerts.channels.build_channels`).

Templates (email ``subject``, Slack ``title`` and ``text``) are
:class:`string.Template` strings, so a config can never reach into Python
objects. The variables are ``$status`` (``firing`` / ``resolved``),
``$receiver``, ``$count`` (number of alerts), ``$alertname`` (the group's
``alertname``, or the first alert's) and ``$group`` (the group labels as
``k=v, ...``). An unknown ``$name`` is left as is.

Example
-------
>>> r = ReceiverSpec.model_validate({
...     "name": "ml-oncall",
...     "email": [{"to": ["ml@example.com"], "from": "dl@example.com",
...                "smarthost": "smtp.example.com:587", "username": "dl",
...                "password_env": "SMTP_PASSWORD"}],
...     "webhook": [{"url": "https://deploy.example.com/rollback", "secret_env": "HOOK_KEY"}],
... })
>>> r.email[0].host, r.email[0].port, r.email[0].starttls
('smtp.example.com', 587, True)
>>> NetworkPolicy().is_blocked_address("169.254.169.254")
'169.254.0.0/16'
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_BLOCKED_RANGES",
    "AlertmanagerConfig",
    "EmailConfig",
    "NetworkPolicy",
    "ReceiverSpec",
    "SlackConfig",
    "WebhookConfig",
]

#: Address ranges a webhook, Slack or Alertmanager target may not resolve to,
#: unless :attr:`NetworkPolicy.allow` lets them: "this network" and unspecified,
#: loopback, link-local (cloud metadata at 169.254.169.254), private RFC 1918,
#: carrier-grade NAT, multicast, reserved/broadcast; IPv6 unspecified,
#: loopback, unique-local, link-local and multicast.
DEFAULT_BLOCKED_RANGES: tuple[str, ...] = (
    "0.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
)

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Headers a channel sets itself; a config may not override them.
_RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "idempotency-key",
        "x-driftline-signature",
        "x-driftline-timestamp",
        "x-driftline-notification-id",
        "transfer-encoding",
    }
)

Timeout = Annotated[float, Field(gt=0, le=300)]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_env_name(value: str | None, field: str) -> str | None:
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{field}: expected the name of an environment variable, got {value!r}")
    return value


def _check_http_url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field}: expected an http(s) URL with a host, got {value!r}")
    if parts.username or parts.password:
        raise ValueError(
            f"{field}: credentials in the URL are not allowed (use headers_env), got {value!r}"
        )
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ValueError(f"{field}: bad port in {value!r}: {exc}") from exc
    return value


def _check_headers(headers: dict[str, str], field: str) -> dict[str, str]:
    for name in headers:
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{field}: {name!r} is not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{field}: header {name!r} is set by driftline and cannot be changed")
    return headers


class EmailConfig(_Base):
    """Email over SMTP.

    Attributes
    ----------
    to : list of str
        Recipients (at least one).
    from_ : str
        Sender address; the YAML key is ``from``.
    smarthost : str
        ``host:port`` of the SMTP server (port 587 for STARTTLS, 465 for
        implicit TLS, 25 for plain relays).
    starttls : bool, default True
        Upgrade the connection with STARTTLS and refuse to send when the server
        does not offer it. Ignored when ``tls`` is set.
    tls : bool, default False
        Implicit TLS (SMTPS) from the first byte.
    username : str or None
        Login for AUTH (PLAIN or LOGIN, whichever the server offers). Requires
        ``password_env``. Login is refused over an unencrypted connection.
    password_env : str or None
        Name of the environment variable that holds the password.
    ca_file : str or None
        PEM bundle to verify the server's certificate (default: system CAs).
    insecure_skip_verify : bool, default False
        Do not verify the server's certificate (testing only).
    timeout : float, default 10
        Seconds for connecting and for each SMTP command.
    subject : str
        Subject template (see the module docstring for ``$variables``).
    send_resolved : bool, default True
        Also send when the group resolves.
    """

    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    smarthost: str
    starttls: bool = True
    tls: bool = False
    username: str | None = None
    password_env: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    timeout: Timeout = 10.0
    subject: str = "[driftline] $status: $alertname ($count alerts, $group)"
    send_resolved: bool = True

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c in address for c in "\r\n,;"):
                raise ValueError(f"to: expected email addresses, got {address!r}")
        return value

    @field_validator("from_")
    @classmethod
    def _sender(cls, value: str) -> str:
        if "@" not in value or any(c in value for c in "\r\n"):
            raise ValueError(f"from: expected an email address, got {value!r}")
        return value

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"smarthost: expected 'host:port', got {value!r}")
        return value

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        return _check_env_name(value, "password_env")

    @model_validator(mode="after")
    def _auth(self) -> EmailConfig:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("email: username and password_env go together (set both or neither)")
        if self.username is not None and not (self.tls or self.starttls):
            raise ValueError("email: login needs tls or starttls (the password would be in clear)")
        return self

    @property
    def host(self) -> str:
        """The SMTP server's host (brackets of an IPv6 literal removed)."""
        return self.smarthost.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """The SMTP server's port."""
        return int(self.smarthost.rpartition(":")[2])


class WebhookConfig(_Base):
    """A generic JSON webhook, optionally HMAC-signed.

    Attributes
    ----------
    url : str
        Where to POST (http or https). Checked against the network policy.
    secret_env : str or None
        Environment variable holding the HMAC-SHA256 key; when set, requests
        carry ``X-Driftline-Timestamp`` and ``X-Driftline-Signature``.
    headers : dict of str to str
        Extra headers (not secrets; those go in ``headers_env``).
    headers_env : dict of str to str
        Header name to the environment variable holding its value, e.g.
        ``{"Authorization": "DEPLOY_TOKEN"}`` (the variable holds ``Bearer ...``).
    timeout : float, default 10
        Seconds for the whole request.
    max_body : int, default 1048576
        Largest JSON body in bytes; alerts beyond it are left out and counted
        in ``truncated_alerts``.
    send_resolved : bool, default True
        Also send resolved alerts (set False for action hooks such as a rollback).
    """

    url: str
    secret_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    headers_env: dict[str, str] = Field(default_factory=dict)
    timeout: Timeout = 10.0
    max_body: int = Field(default=1 << 20, ge=1024)
    send_resolved: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value, "url")

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str | None) -> str | None:
        return _check_env_name(value, "secret_env")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, v in value.items():
            if "\r" in v or "\n" in v:
                raise ValueError(f"headers: value of {name!r} contains a line break")
        return _check_headers(value, "headers")

    @field_validator("headers_env")
    @classmethod
    def _headers_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name, env in value.items():
            _check_env_name(env, f"headers_env[{name!r}]")
        return _check_headers(value, "headers_env")


class SlackConfig(_Base):
    """A Slack incoming webhook.

    Attributes
    ----------
    url : str
        The incoming-webhook URL (``https://hooks.slack.com/services/...``).
        It is a secret: set ``url_env`` instead to keep it out of the config.
    url_env : str or None
        Environment variable that holds the URL (exactly one of ``url`` and
        ``url_env``).
    channel : str or None
        Override the webhook's default channel (legacy webhooks only).
    username : str or None
        Override the poster's name (legacy webhooks only).
    title, text : str
        Templates (see the module docstring for ``$variables``).
    timeout : float, default 10
    send_resolved : bool, default True
    """

    url: str | None = None
    url_env: str | None = None
    channel: str | None = None
    username: str | None = None
    title: str = "[$status] $alertname: $count alerts ($group)"
    text: str = ""
    timeout: Timeout = 10.0
    send_resolved: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value, "url")

    @field_validator("url_env")
    @classmethod
    def _url_env(cls, value: str | None) -> str | None:
        return _check_env_name(value, "url_env")

    @model_validator(mode="after")
    def _one_url(self) -> SlackConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("slack: set exactly one of url and url_env")
        return self


class AlertmanagerConfig(_Base):
    """An existing Prometheus Alertmanager (API v2), which then groups and routes.

    Attributes
    ----------
    url : str
        Base URL of the Alertmanager, e.g. ``http://alertmanager:9093``;
        alerts are POSTed to ``<url>/api/v2/alerts``.
    headers_env : dict of str to str
        Header name to the environment variable holding its value (e.g. an
        ``Authorization`` header for a proxy in front of it).
    firing_ttl : float, default 18000
        ``endsAt`` sent with a firing alert, in seconds after the send: keep it
        above the route's ``repeat_interval`` so Alertmanager does not resolve
        the alert between two notifications, and know that it resolves after
        that long if driftline stops sending.
    timeout : float, default 10
    """

    url: str
    headers_env: dict[str, str] = Field(default_factory=dict)
    firing_ttl: float = Field(default=18000.0, gt=0)
    timeout: Timeout = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value, "url")

    @field_validator("headers_env")
    @classmethod
    def _headers_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name, env in value.items():
            _check_env_name(env, f"headers_env[{name!r}]")
        return _check_headers(value, "headers_env")


class ReceiverSpec(_Base):
    """A named receiver: the channels one routing decision sends to.

    Attributes
    ----------
    name : str
    email, webhook, slack, alertmanager : lists of the channel configs
        A receiver with no channel is valid: it drops what it gets (a "null"
        receiver, useful for routes that only silence).
    """

    name: str = Field(min_length=1, max_length=200)
    email: list[EmailConfig] = Field(default_factory=list)
    webhook: list[WebhookConfig] = Field(default_factory=list)
    slack: list[SlackConfig] = Field(default_factory=list)
    alertmanager: list[AlertmanagerConfig] = Field(default_factory=list)


class NetworkPolicy(_Base):
    """Where webhook, Slack and Alertmanager requests may go.

    Attributes
    ----------
    allowed_schemes : list of str, default ['http', 'https']
    blocked : list of str, default :data:`DEFAULT_BLOCKED_RANGES`
        CIDR ranges a target may not resolve to.
    allow : list of str, default []
        CIDR ranges (``10.1.2.0/24``, ``127.0.0.1/32``) or host names
        (``deploy.internal``) that are allowed even inside a blocked range.

    Example
    -------
    >>> p = NetworkPolicy(allow=["10.1.0.0/16", "deploy.internal"])
    >>> p.is_blocked_address("10.1.2.3") is None, p.is_blocked_address("10.2.0.1")
    (True, '10.0.0.0/8')
    >>> p.is_allowed_host("Deploy.Internal")
    True
    """

    allowed_schemes: list[str] = Field(default_factory=lambda: ["http", "https"])
    blocked: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKED_RANGES))
    allow: list[str] = Field(default_factory=list)

    @field_validator("allowed_schemes")
    @classmethod
    def _schemes(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if s.lower() not in ("http", "https")]
        if bad:
            raise ValueError(f"allowed_schemes: expected a subset of ['http', 'https'], got {bad}")
        return [s.lower() for s in value]

    @field_validator("blocked")
    @classmethod
    def _blocked(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"blocked: expected CIDR ranges, got {cidr!r}") from exc
        return value

    @field_validator("allow")
    @classmethod
    def _allow(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not entry or (any(c in entry for c in " /\\") and not _is_network(entry)):
                raise ValueError(f"allow: expected CIDR ranges or host names, got {entry!r}")
        return value

    def _networks(self, entries: list[str]) -> list[Any]:
        return [ipaddress.ip_network(e, strict=False) for e in entries if _is_network(e)]

    def is_allowed_host(self, host: str) -> bool:
        """Whether ``host`` is named in :attr:`allow` (case-insensitive)."""
        names = {e.lower().rstrip(".") for e in self.allow if not _is_network(e)}
        return host.lower().rstrip(".") in names

    def is_blocked_address(self, address: str) -> str | None:
        """The blocked range ``address`` falls in, or ``None`` when it may be used.

        An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is judged as its IPv4
        address. A range in :attr:`allow` overrides every blocked range.
        """
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip.version == n.version and ip in n for n in self._networks(self.allow)):
            return None
        for cidr in self.blocked:
            net = ipaddress.ip_network(cidr, strict=False)
            if ip.version == net.version and ip in net:
                return cidr
        return None


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True
