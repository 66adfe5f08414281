"""Check an HTTP target against the network policy, and pin the checked address.

Before a webhook, Slack or Alertmanager request, the URL's scheme must be
allowed and every address its host resolves to must lie outside the blocked
ranges (unless the policy allows the host or the range). A refusal is a
non-retryable :class:`~driftline.errors.DeliveryError` naming the host, the
address and the range.

DNS rebinding: the request is then sent to the address that was checked, not
to a second lookup. :func:`pinned_request` puts that address in the URL and
keeps the original host in the ``Host`` header and, for HTTPS, as the TLS
server name (SNI) that the certificate is verified against. Redirects are not
followed (a redirect could lead anywhere) and proxy settings from the
environment are not used.

Example
-------
>>> from driftline.alerts.channels import NetworkPolicy
>>> t = check_target("http://hooks.example/x", policy=NetworkPolicy(),
...                  resolver=lambda host, port: ["93.184.216.34"])
>>> t.address, t.port
('93.184.216.34', 80)
>>> check_target("http://10.0.0.1/", policy=NetworkPolicy(), resolver=lambda h, p: [h])
Traceback (most recent call last):
...
driftline.errors.DeliveryError: target 'http://10.0.0.1/': host '10.0.0.1' resolves to 10.0.0.1, which is in the blocked range 10.0.0.0/8 (allow it in the network policy's 'allow' list if intended)
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from driftline.alerts.channels._config import NetworkPolicy
from driftline.errors import DeliveryError

__all__ = ["Resolver", "Target", "check_target", "pinned_request", "system_resolver"]

#: ``resolver(host, port)`` returns the host's IP addresses as strings.
Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with :func:`socket.getaddrinfo` (addresses in its order, no repeats).

    Raises
    ------
    OSError
        When the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in out:
            out.append(address)
    return out


@dataclass(frozen=True, slots=True)
class Target:
    """A checked HTTP target.

    Attributes
    ----------
    url : str
        The URL as configured.
    scheme, host : str
        From the URL (host lower-cased, IPv6 without brackets).
    port : int
        Explicit or the scheme's default.
    address : str
        The checked IP address that the request is sent to.
    """

    url: str
    scheme: str
    host: str
    port: int
    address: str


def check_target(url: str, *, policy: NetworkPolicy, resolver: Resolver) -> Target:
    """Check ``url`` against ``policy`` and return the address to connect to.

    Raises
    ------
    DeliveryError
        Not retryable for a scheme that is not allowed or a blocked address;
        retryable when the host does not resolve (DNS may recover).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in policy.allowed_schemes:
        raise DeliveryError(
            f"target {url!r}: scheme {scheme!r} is not allowed "
            f"(network policy allows {policy.allowed_schemes})",
            retryable=False,
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise DeliveryError(f"target {url!r}: the URL has no host", retryable=False)
    port = parts.port or (443 if scheme == "https" else 80)
    addresses: Sequence[str] = [host] if _is_ip(host) else _resolve(url, host, port, resolver)
    if not policy.is_allowed_host(host):
        for address in addresses:
            blocked = policy.is_blocked_address(address)
            if blocked is not None:
                raise DeliveryError(
                    f"target {url!r}: host {host!r} resolves to {address}, which is in the "
                    f"blocked range {blocked} (allow it in the network policy's 'allow' list "
                    "if intended)",
                    retryable=False,
                )
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(url: str, host: str, port: int, resolver: Resolver) -> Sequence[str]:
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise DeliveryError(
            f"target {url!r}: host {host!r} does not resolve: {exc}", retryable=True
        ) from exc
    if not addresses:
        raise DeliveryError(f"target {url!r}: host {host!r} resolved to no address", retryable=True)
    return addresses


def pinned_request(
    target: Target,
    *,
    method: str,
    path_url: str | None = None,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    transport: httpx.BaseTransport | None,
) -> httpx.Response:
    """Send one request to ``target.address``, keeping ``target.host`` for Host and SNI.

    ``path_url`` replaces the URL when given (a URL on the same host, e.g.
    ``<base>/api/v2/alerts``). Transport errors propagate as ``httpx`` errors;
    see :func:`driftline.alerts.channels._http.post` for their translation.
    """
    url = httpx.URL(path_url or target.url)
    pinned = url.copy_with(host=target.address)
    default_port = 443 if target.scheme == "https" else 80
    host_header = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != default_port:
        host_header = f"{host_header}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with httpx.Client(
        transport=transport, trust_env=False, follow_redirects=False, timeout=timeout
    ) as client:
        request = client.build_request(
            method,
            pinned,
            content=content,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
        return client.send(request)
