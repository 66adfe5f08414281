"""How a batch leaves the process: over HTTP, or into the embedded store.

A :class:`Delivery` sends one payload (a JSON-compatible dict that already
carries its ``batch_id``) and returns the server's acknowledgement, or raises

* :class:`RetryableDeliveryError` for a failure worth retrying later (a 5xx or
  429 answer, a connection error, a database that is busy), carrying the
  ``Retry-After`` delay when the server gave one;
* :class:`RejectedDeliveryError` for a payload the server will never accept
  (any other 4xx): the batch is dropped and counted, never retried.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from driftline.errors import TransportError
from driftline.wire import ARROW_CONTENT_TYPE, INGEST_PATHS

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ARROW_CONTENT_TYPE",
    "ARROW_MIN_ROWS",
    "INGEST_PATHS",
    "Ack",
    "Delivery",
    "EmbeddedDelivery",
    "HttpDelivery",
    "RejectedDeliveryError",
    "RetryableDeliveryError",
    "split_payload",
]

GZIP_LEVEL = 5
"""zlib level of request bodies: 5 compresses JSON nearly as well as 9, several times faster."""

ARROW_MIN_ROWS = 256
"""Predictions batches of at least this many rows go as an LZ4-compressed Arrow IPC stream
(when columnar, see :func:`driftline.client._convert.arrow_predictions`); smaller ones as
gzip JSON, whose encoding costs less than Arrow's fixed overhead for a few rows."""


@dataclass(frozen=True, slots=True)
class Ack:
    """What the receiving side acknowledged for one batch.

    ``stop_requested`` (run batches): a stop of the run was requested, for ``stop_reason``.
    """

    batch_id: str
    accepted: int
    duplicate: bool
    stop_requested: bool = False
    stop_reason: str | None = None


def _stop_of(data: Mapping[str, Any]) -> tuple[bool, str | None]:
    """``(stop_requested, stop_reason)`` of an acknowledgement (absent: no stop)."""
    if data.get("stop_requested") is not True:
        return False, None
    reason = data.get("stop_reason")
    return True, str(reason) if reason is not None else ""


class RetryableDeliveryError(TransportError):
    """A failure worth retrying; ``retry_after`` is the server's delay in seconds, if any."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class RejectedDeliveryError(TransportError):
    """The receiver refused the payload for good (a 4xx other than 408 and 429)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class Delivery(Protocol):
    """Sends one payload and returns its :class:`Ack` (see the module docstring)."""

    def send(self, kind: str, payload: Mapping[str, Any]) -> Ack:
        """Deliver ``payload`` of ``kind`` (a key of :data:`INGEST_PATHS`)."""
        ...

    def after_fork(self) -> None:
        """Drop connections inherited from the parent process."""
        ...

    def close(self) -> None:
        """Release connections and handles."""
        ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Example
    -------
    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _json_default(value: Any) -> Any:
    """JSON form of values ``json`` does not know: numpy scalars and arrays, dates."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON of ``payload`` (numpy values and dates converted, ``NaN`` kept)."""
    raw = json.dumps(payload, separators=(",", ":"), allow_nan=True, default=_json_default)
    return raw.encode()


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """Gzip-compressed JSON of ``payload`` (non-finite floats kept as ``NaN``/``Infinity``).

    Example
    -------
    >>> import gzip, numpy as np
    >>> gzip.decompress(encode_body({"a": np.int64(3), "b": float("nan")}))
    b'{"a":3,"b":NaN}'
    """
    return gzip.compress(encode_json(payload), compresslevel=GZIP_LEVEL)


_ROW_FIELDS = {
    "predictions": ("ids", "timestamps", "predictions", "scores", "latency_ms", "errors"),
    "labels": ("ids", "labels", "timestamps"),
    "events": ("events",),
    "run_metrics": ("points",),
    "run_events": ("events",),
}


def split_payload(kind: str, payload: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Two halves of a batch with more than one row, with derived batch ids; else ``None``.

    The derived ids (``<id>.0`` and ``<id>.1``) are the same on every retry, so the
    halves stay idempotent.

    Example
    -------
    >>> a, b = split_payload("labels", {"batch_id": "x", "ids": ["1", "2", "3"],
    ...                                 "labels": [0, 1, 1], "timestamps": None})
    >>> a["batch_id"], a["ids"], b["labels"]
    ('x.0', ['1'], [1, 1])
    """
    fields = _ROW_FIELDS.get(kind)
    if fields is None:
        return None
    n = len(payload.get(fields[0]) or [])
    if n < 2:
        return None
    mid = n // 2
    halves: list[dict[str, Any]] = []
    for part, (lo, hi) in enumerate(((0, mid), (mid, n))):
        half = dict(payload)
        half["batch_id"] = f"{payload['batch_id']}.{part}"
        for f in fields:
            if payload.get(f) is not None:
                half[f] = payload[f][lo:hi]
        if kind == "predictions":
            half["features"] = {k: v[lo:hi] for k, v in payload.get("features", {}).items()}
        halves.append(half)
    return halves


class HttpDelivery:
    """Posts gzip-compressed JSON to a driftline server with ``httpx``.

    Parameters
    ----------
    url
        Base URL of the server, e.g. ``"http://127.0.0.1:8765"``.
    token
        API token sent as ``Authorization: Bearer <token>``; ``None`` sends none.
    transport
        An ``httpx`` transport (``httpx.MockTransport``, ``httpx.ASGITransport``...)
        for tests; default: a real network connection.
    timeout
        Seconds for connecting, and for each read and write (default 10.0).
    max_body_bytes
        Largest JSON body sent in one request (default 16 MiB, half the server's
        default limit); larger batches are split.
    arrow
        Send predictions batches of :data:`ARROW_MIN_ROWS` rows or more as an
        Arrow IPC stream (LZ4-compressed buffers) to ``.../predictions/arrow``
        when their columns allow it (default ``True``); a server without that
        endpoint (404, 405 or 415) gets gzip JSON from then on.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_body_bytes: int = 16 * 2**20,
        arrow: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.arrow = arrow
        self._token = token
        self._transport = transport
        self._timeout = timeout
        self._client: httpx.Client | None = None
        # httpx is imported here, in the thread that builds the delivery, not at
        # ``import driftline`` (it costs ~100 ms) nor later in the sender thread.
        import httpx

        self._httpx = httpx

    def _http(self) -> httpx.Client:
        if self._client is None:
            httpx = self._httpx
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            self._client = httpx.Client(
                base_url=self.url,
                headers=headers,
                transport=self._transport,
                timeout=self._timeout,
            )
        return self._client

    def send(self, kind: str, payload: Mapping[str, Any]) -> Ack:
        """POST ``payload`` to the endpoint of ``kind``; see the module docstring.

        A batch larger than ``max_body_bytes`` of JSON, or answered 413, is split in
        halves (recursively) that are sent one after the other.
        """
        if kind == "predictions" and self.arrow:
            ack = self._send_arrow(payload)
            if ack is not None:
                return ack
        raw = encode_json(payload)
        if len(raw) > self.max_body_bytes:
            halves = split_payload(kind, payload)
            if halves is not None:
                return self._send_parts(kind, payload, halves)
        try:
            return self._post(kind, gzip.compress(raw, compresslevel=GZIP_LEVEL))
        except RejectedDeliveryError as exc:
            halves = split_payload(kind, payload) if exc.status == 413 else None
            if halves is None:
                raise
            return self._send_parts(kind, payload, halves)

    def _send_arrow(self, payload: Mapping[str, Any]) -> Ack | None:
        """Post a predictions batch as Arrow; ``None``: send it as JSON instead."""
        from driftline.client._convert import arrow_predictions

        if len(payload.get("ids") or ()) < ARROW_MIN_ROWS:
            return None
        body = arrow_predictions(payload)
        if body is None:
            return None
        if len(body) > self.max_body_bytes:
            halves = split_payload("predictions", payload)
            return None if halves is None else self._send_parts("predictions", payload, halves)
        params = {k: str(payload[k]) for k in ("project", "model", "version", "batch_id")}
        headers = {"Content-Type": ARROW_CONTENT_TYPE, "Content-Encoding": "identity"}
        try:
            return self._post("predictions", body, path="/arrow", params=params, headers=headers)
        except RejectedDeliveryError as exc:
            if exc.status in (404, 405, 415):  # a server without the Arrow endpoint
                self.arrow = False
                return None
            halves = split_payload("predictions", payload) if exc.status == 413 else None
            if halves is None:
                raise
            return self._send_parts("predictions", payload, halves)

    def _send_parts(
        self, kind: str, payload: Mapping[str, Any], parts: list[dict[str, Any]]
    ) -> Ack:
        acks = [self.send(kind, part) for part in parts]
        stops = [a for a in acks if a.stop_requested]
        return Ack(
            str(payload["batch_id"]),
            sum(a.accepted for a in acks),
            all(a.duplicate for a in acks),
            bool(stops),
            stops[0].stop_reason if stops else None,
        )

    def _post(
        self,
        kind: str,
        body: bytes,
        *,
        path: str = "",
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Ack:
        httpx = self._httpx
        url = INGEST_PATHS[kind] + path
        try:
            resp = self._http().post(url, content=body, params=params, headers=headers)
        except httpx.TransportError as exc:  # connect, read, write, pool errors
            raise RetryableDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        status = resp.status_code
        if status == 200:
            try:
                data = resp.json()
                return Ack(
                    str(data["batch_id"]),
                    int(data["accepted"]),
                    bool(data["duplicate"]),
                    *_stop_of(data),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise RetryableDeliveryError(
                    f"server answered 200 without an acknowledgement: {resp.text[:200]!r}"
                ) from exc
        message = f"HTTP {status} from {url}: {resp.text[:300]}"
        if status >= 500 or status in (408, 429):
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise RetryableDeliveryError(message, retry_after=retry_after, status=status)
        raise RejectedDeliveryError(message, status=status)

    def after_fork(self) -> None:
        """Forget the parent's connection pool (sockets are not shared across a fork)."""
        self._client = None

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None


class EmbeddedDelivery:
    """Writes payloads into the embedded store with the server's ``IngestService``.

    The store is opened lazily, in the thread that sends (the SDK's background
    thread), from ``database_url`` (default: the settings' SQLite file).

    Parameters
    ----------
    database_url
        SQLAlchemy URL of the store; ``None`` uses :func:`driftline.config.load_settings`.
    store_factory
        Callable returning an open store, for tests; overrides ``database_url``.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        store_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._database_url = database_url
        self._store_factory = store_factory
        self._store: Any = None
        self._service: Any = None

    def _ingest(self) -> Any:
        if self._service is None:
            from driftline.store import IngestService, Store

            if self._store_factory is not None:
                self._store = self._store_factory()
            else:
                self._store = Store.open(self._database_url)
            self._service = IngestService(self._store)
        return self._service

    def send(self, kind: str, payload: Mapping[str, Any]) -> Ack:
        """Validate ``payload`` with its wire model and ingest it in this process."""
        import pydantic

        from driftline import wire
        from driftline.errors import InputError, StoreError

        model = _PAYLOAD_MODELS[kind]
        try:
            obj = getattr(wire, model).model_validate(dict(payload))
        except pydantic.ValidationError as exc:
            raise RejectedDeliveryError(f"invalid {kind} payload: {exc}", status=422) from exc
        try:
            ack = self._ingest().ingest(obj)
        except InputError as exc:
            raise RejectedDeliveryError(f"{kind} payload refused: {exc}", status=422) from exc
        except StoreError as exc:  # the database failed: worth retrying
            raise RetryableDeliveryError(f"store error: {exc}") from exc
        except Exception as exc:  # anything else would fail again: drop, do not loop
            raise RejectedDeliveryError(
                f"{kind} payload could not be stored: {type(exc).__name__}: {exc}", status=500
            ) from exc
        return Ack(
            str(ack.batch_id),
            int(ack.accepted),
            bool(ack.duplicate),
            *_stop_of({"stop_requested": ack.stop_requested, "stop_reason": ack.stop_reason}),
        )

    def after_fork(self) -> None:
        """Forget the parent's connections; the child reopens the store on first send."""
        self._store = None
        self._service = None

    def close(self) -> None:
        """Close the store if this delivery opened it."""
        if self._store is not None and self._store_factory is None:
            self._store.close()
        self._store = None
        self._service = None


_PAYLOAD_MODELS: dict[str, str] = {
    "predictions": "PredictionsBatch",
    "labels": "LabelsBatch",
    "events": "EventsBatch",
    "reference": "ReferencePayload",
    "run_create": "RunCreate",
    "run_metrics": "RunMetricsBatch",
    "run_update": "RunUpdate",
    "run_events": "RunEventsBatch",
}
