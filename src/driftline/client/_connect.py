"""Choose where an SDK object sends: a server (``url=`` / ``DRIFTLINE_URL``) or the embedded store."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from driftline.client._delivery import Delivery, EmbeddedDelivery, HttpDelivery
from driftline.client._pipeline import Encoder, Pipeline
from driftline.client._spool import FileSpool, MemorySpool, Spool
from driftline.config import Settings, load_settings
from driftline.errors import InputError

if TYPE_CHECKING:
    import httpx  # imported by HttpDelivery, when a monitor or run sends over HTTP

__all__ = ["connect"]

_log = logging.getLogger("driftline.client")

SPOOL_MAX_BYTES = 64 * 2**20
"""Bound of the on-disk spool of one server URL (64 MiB); beyond it batches are dropped."""


def connect(
    encoders: Mapping[str, Encoder],
    *,
    url: str | None,
    token: str | None,
    transport: httpx.BaseTransport | None = None,
    settings: Settings | None = None,
    store_factory: Callable[[], Any] | None = None,
    spool: Spool | None = None,
    **pipeline_options: Any,
) -> Pipeline:
    """Build the :class:`Pipeline` of one SDK object.

    With ``url`` (or ``DRIFTLINE_URL``) batches go over HTTP and failed ones are
    spooled under ``<data dir>/spool/<hash of the URL>``; without, they go to the
    embedded store (``store_factory`` or the settings' database) in process.

    Raises
    ------
    InputError
        When ``url`` is not an ``http://`` or ``https://`` URL.
    """
    if settings is None:
        settings = load_settings()
    url = url if url is not None else settings.server_url
    token = token if token is not None else settings.token
    delivery: Delivery
    if url:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"url: expected an http:// or https:// URL, got {url!r}")
        delivery = HttpDelivery(url, token=token, transport=transport)
        if spool is None:
            digest = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
            try:
                spool = FileSpool(settings.data_dir / "spool" / digest, max_bytes=SPOOL_MAX_BYTES)
            except OSError as exc:
                _log.warning("driftline: no spool directory (%s); spooling in memory", exc)
                spool = MemorySpool()
    else:
        delivery = EmbeddedDelivery(settings.database_url, store_factory=store_factory)
        if spool is None:
            spool = MemorySpool()
    return Pipeline(delivery, encoders, spool=spool, **pipeline_options)
