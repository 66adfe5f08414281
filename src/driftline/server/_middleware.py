"""ASGI middleware in front of the API: authentication, body size limit, gzip bodies.

Both run before FastAPI parses anything, so an unauthenticated client cannot
make the server read (or decompress) a large body, and a gzip bomb is stopped
after ``max_body_bytes`` of output.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AuthMiddleware",
    "BodyMiddleware",
    "csrf_token",
    "error_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DECOMPRESS_CHUNK = 64 * 1024
SESSION_COOKIE = "driftline_session"
"""Name of the dashboard's HttpOnly session cookie; it holds the user's API token."""
CSRF_HEADER = "x-csrf-token"
"""Header carrying :func:`csrf_token` on state-changing requests made from pages."""


def csrf_token(token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of ``b"driftline-csrf"`` keyed by its API token.

    Example
    -------
    >>> len(csrf_token("dl_abc")), csrf_token("dl_abc") == csrf_token("dl_abd")
    (64, False)
    """
    return hmac.new(token.encode("utf-8"), b"driftline-csrf", hashlib.sha256).hexdigest()


def _cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` in the request, if any."""
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value.strip().strip('"')
    return None


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error answer: ``{"error": code, "message": ..., ...}``.

    Example
    -------
    >>> error_body("too_large", "body: expected at most 10 bytes, got 11")["error"]
    'too_large'
    """
    return {"error": code, "message": message, **extra}


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[Any] | None = None
) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class BodyMiddleware:
    """Bounds request bodies and undoes ``Content-Encoding: gzip``.

    Parameters
    ----------
    app
        The wrapped ASGI app.
    max_body_bytes
        Most bytes of a body, both as sent and after decompression; more gives 413.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_json(send, 413, _too_large(limit, f"Content-Length {length}"))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, _too_large(limit, f"more than {limit} bytes"))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        encoding = (_header(scope, b"content-encoding") or "identity").strip().lower()
        if encoding == "gzip":
            try:
                body = await run_in_threadpool(_gunzip, body, limit)
            except _TooLarge:
                await _send_json(
                    send, 413, _too_large(limit, f"more than {limit} bytes after decompression")
                )
                return
            except (zlib.error, EOFError) as exc:
                await _send_json(
                    send,
                    400,
                    error_body(
                        "bad_encoding",
                        f"body: expected gzip data (Content-Encoding: gzip), got bytes that do not decompress ({exc})",
                    ),
                )
                return
        elif encoding not in ("identity", ""):
            await _send_json(
                send,
                415,
                error_body(
                    "unsupported_encoding",
                    f"Content-Encoding: expected 'gzip' or 'identity', got {encoding!r}",
                ),
            )
            return
        headers = [
            (k, v)
            for k, v in scope.get("headers", [])
            if k.lower() not in (b"content-encoding", b"content-length")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        scope = dict(scope)
        scope["headers"] = headers
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class _TooLarge(Exception):
    pass


def _too_large(limit: int, got: str) -> dict[str, Any]:
    return error_body(
        "payload_too_large", f"body: expected at most {limit} bytes, got {got}", limit=limit
    )


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data`` (several members allowed) without producing more than ``limit`` bytes."""
    out: list[bytes] = []
    produced = 0
    while data:
        d = zlib.decompressobj(wbits=31)
        buf = data
        while buf:
            chunk = d.decompress(buf, _DECOMPRESS_CHUNK)
            produced += len(chunk)
            if produced > limit:
                raise _TooLarge
            out.append(chunk)
            buf = d.unconsumed_tail
            if d.eof:
                break
        while not d.eof:
            chunk = d.decompress(b"", _DECOMPRESS_CHUNK)
            if not chunk:
                break
            produced += len(chunk)
            if produced > limit:
                raise _TooLarge
            out.append(chunk)
        if not d.eof:
            raise EOFError("truncated gzip stream")
        data = d.unused_data
    return b"".join(out)


class AuthMiddleware:
    """Authenticates ``/api/`` and ``/metrics`` requests with a bearer token.

    On success the :class:`~driftline.store.TokenInfo` is put in
    ``scope["state"]["driftline_token"]`` for the routes to authorise per project; a
    missing or unknown token gives 401 before the body is read. With
    ``required`` false nothing is checked and ``token`` is ``None``.

    The dashboard's session cookie (:data:`SESSION_COOKIE`, holding a token)
    is accepted instead of the header; a state-changing request authenticated
    by the cookie must also send :data:`CSRF_HEADER` with :func:`csrf_token`
    of that token, or gets 403. On other paths (the pages) a valid cookie
    signs the user in and nothing is refused here.
    """

    def __init__(self, app: ASGIApp, verify: Callable[[str], Any], required: bool) -> None:
        self.app = app
        self.verify = verify
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["driftline_token"] = None
        state["driftline_csrf"] = None
        path = scope.get("path", "")
        if not self.required:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        cookie = None if header else _cookie(scope, SESSION_COOKIE)
        if not path.startswith("/api/") and path != "/metrics":
            # dashboard pages: a valid session cookie signs the user in; pages redirect otherwise
            if cookie:
                info = await run_in_threadpool(self.verify, cookie)
                if info is not None:
                    state["driftline_token"] = info
                    state["driftline_csrf"] = csrf_token(cookie)
            await self.app(scope, receive, send)
            return
        if cookie:
            info = await run_in_threadpool(self.verify, cookie)
            if info is None:
                await _unauthorized(
                    send, f"{SESSION_COOKIE}: the session token is unknown or revoked"
                )
                return
            if scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
                sent = _header(scope, CSRF_HEADER.encode()) or ""
                if not hmac.compare_digest(sent.encode(), csrf_token(cookie).encode()):
                    await _send_json(
                        send,
                        403,
                        error_body(
                            "csrf",
                            f"{CSRF_HEADER}: expected the page's CSRF token with a request "
                            "authenticated by the session cookie, got "
                            + ("a wrong token" if sent else "none"),
                        ),
                    )
                    return
            state["driftline_token"] = info
            state["driftline_csrf"] = csrf_token(cookie)
            await self.app(scope, receive, send)
            return
        if not header or header[:7].lower() != "bearer " or not header[7:].strip():
            await _unauthorized(
                send, "Authorization: expected 'Bearer <token>', got no bearer token"
            )
            return
        info = await run_in_threadpool(self.verify, header[7:].strip())
        if info is None:
            await _unauthorized(send, "Authorization: the token is unknown or revoked")
            return
        state["driftline_token"] = info
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, message: str) -> None:
    await _send_json(
        send, 401, error_body("unauthorized", message), [(b"www-authenticate", b"Bearer")]
    )
