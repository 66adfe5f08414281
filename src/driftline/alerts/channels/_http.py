"""One HTTP POST to a checked target, with errors mapped to :class:`DeliveryError`.

2xx is delivered. 429 and 5xx are retryable, with ``retry_after`` from a
``Retry-After`` header (seconds or an HTTP date); connection errors and
timeouts are retryable; a redirect (not followed), a certificate that does not
verify and any other 4xx are not.

Example
-------
>>> retry_after_seconds("120", now=0.0)
120.0
>>> retry_after_seconds("Thu, 01 Jan 1970 00:01:00 GMT", now=0.0)
60.0
>>> retry_after_seconds("soon", now=0.0) is None
True
"""

from __future__ import annotations

import email.utils
import math
import ssl

import httpx

from driftline.alerts.channels._config import NetworkPolicy
from driftline.alerts.channels._guard import Resolver, check_target, pinned_request
from driftline.errors import DeliveryError

__all__ = ["post", "retry_after_seconds"]

_EXCERPT = 200


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for, or ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _cert_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error behind a transport error, if that is what it was."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def post(
    url: str,
    *,
    what: str,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    policy: NetworkPolicy,
    resolver: Resolver,
    transport: httpx.BaseTransport | None,
    now: float,
    path_url: str | None = None,
) -> httpx.Response:
    """POST ``content`` to ``url`` (checked against ``policy``); return the 2xx response.

    ``what`` names the channel in error messages (``"webhook 'ops'"``).

    Raises
    ------
    DeliveryError
        See the module docstring for which errors are retryable.
    """
    target = check_target(url, policy=policy, resolver=resolver)
    shown = path_url or url
    try:
        response = pinned_request(
            target,
            method="POST",
            path_url=path_url,
            content=content,
            headers=headers,
            timeout=timeout,
            transport=transport,
        )
    except httpx.TimeoutException as exc:
        raise DeliveryError(
            f"{what}: POST {shown} timed out after {timeout:g}s ({type(exc).__name__})",
            retryable=True,
        ) from exc
    except httpx.TransportError as exc:
        bad_cert = _cert_error(exc)
        if bad_cert is not None:
            raise DeliveryError(
                f"{what}: POST {shown}: the certificate of {target.host!r} does not verify: "
                f"{bad_cert.verify_message}",
                retryable=False,
            ) from exc
        raise DeliveryError(
            f"{what}: POST {shown} failed to connect to {target.address}:{target.port}: {exc}",
            retryable=True,
        ) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    body = response.text[:_EXCERPT].replace("\n", " ")
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=now)
        raise DeliveryError(
            f"{what}: POST {shown} returned HTTP {status}: {body!r}",
            retryable=True,
            retry_after=retry_after,
        )
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        raise DeliveryError(
            f"{what}: POST {shown} returned a redirect (HTTP {status} to {location!r}), "
            "which is not followed; configure the final URL",
            retryable=False,
        )
    raise DeliveryError(f"{what}: POST {shown} returned HTTP {status}: {body!r}", retryable=False)
