"""Exception handlers: every error answer is JSON that names the field or object.

=============================  ======  =====================================
exception                      status  ``error``
=============================  ======  =====================================
request validation (pydantic)  422     ``invalid_payload`` (``fields`` lists paths)
:class:`InputError`            422     ``invalid_input``
:class:`NotFoundError`         404     ``not_found``
:class:`PermissionDeniedError` 403     ``forbidden``
:class:`AuthError`             401     ``unauthorized``
:class:`StoreError`            503     ``store_unavailable`` (``Retry-After: 1``)
HTTP errors (404 route, 405)   as is   ``http_error``
=============================  ======  =====================================
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftline.errors import (
    AuthError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)
from driftline.server._middleware import error_body

__all__ = ["field_path", "install_error_handlers"]

_log = logging.getLogger("driftline.server")


def field_path(loc: Sequence[Any]) -> str:
    """Dotted path of a pydantic error location, without the leading ``body``.

    Example
    -------
    >>> field_path(("body", "points", 3, "value"))
    'points.3.value'
    >>> field_path(("body",))
    '(body)'
    """
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if not parts:
            return f"({where})"
    return ".".join(parts)


def _validation_fields(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors[:50]:
        loc = list(err.get("loc", ()))
        # pydantic puts the union member or the validator name in the path; drop it
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "list[")))]
        msg = str(err.get("msg", ""))
        path = field_path(loc)
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append({"path": path, "loc": loc, "message": msg, "type": err.get("type", "")})
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of the table in the module docstring on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _validation_fields(exc.errors())
        summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
        return JSONResponse(
            status_code=422, content=error_body("invalid_payload", summary, fields=fields)
        )

    @app.exception_handler(PermissionDeniedError)
    async def _forbidden(request: Request, exc: PermissionDeniedError) -> JSONResponse:
        return JSONResponse(status_code=403, content=error_body("forbidden", str(exc)))

    @app.exception_handler(AuthError)
    async def _unauthorized(request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(
            status_code=401,
            content=error_body("unauthorized", str(exc)),
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content=error_body("not_found", str(exc)))

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content=error_body("invalid_input", str(exc)))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        _log.warning("store error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=503,
            content=error_body("store_unavailable", f"the database failed: {exc}"),
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content=error_body("http_error", str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )
