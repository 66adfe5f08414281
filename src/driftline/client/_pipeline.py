"""The SDK's engine: a bounded queue drained by one background thread.

User calls validate cheaply and :meth:`Pipeline.enqueue` a record; nothing
else happens on the caller's thread. The daemon thread wakes every
``flush_interval`` seconds (or sooner when a batch is full or a flush is
asked), groups consecutive records of the same kind and target into batches,
gives each batch a fresh ``batch_id`` (kept across retries, so the server
stores it once), and hands it to a :class:`~driftline.client._delivery.Delivery`.

* A rejected batch (4xx) is dropped and counted, never retried.
* A failed batch (5xx, 429, connection error) goes to the spool; the thread
  waits ``Retry-After`` when the server gave one, otherwise an exponential
  backoff with jitter (``backoff_base * 2**(failures-1)``, capped at
  ``backoff_max``, times a random factor in [0.5, 1)), then replays the spool
  oldest first. While the spool is not empty new batches queue behind it.
* A full queue or a full spool drops records and counts them by reason.

Nothing here raises into user code: failures are counted in :meth:`Pipeline.stats`
and logged once per kind on the ``driftline.client`` logger.

Fork safety: in a child process (``os.fork``) every pipeline gets a fresh queue,
counters and thread. At interpreter exit every open pipeline is flushed for at
most :data:`ATEXIT_TIMEOUT` seconds in total, or until a delivery fails when
the spool is a file; what is still queued then is written to the spool.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import uuid
import weakref
from collections import Counter, deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from driftline.client._delivery import (
    Ack,
    Delivery,
    RejectedDeliveryError,
    RetryableDeliveryError,
)
from driftline.client._spool import MemorySpool, Spool, SpooledBatch

__all__ = ["ATEXIT_TIMEOUT", "ClientStats", "Encoder", "Pipeline"]

_log = logging.getLogger("driftline.client")

ATEXIT_TIMEOUT = 5.0
"""Most seconds spent flushing all pipelines when the interpreter exits."""

Encoder = Callable[[Hashable, list[Any]], dict[str, Any]]
"""Builds one payload (without ``batch_id``) from the items of consecutive records."""


@dataclass(frozen=True, slots=True)
class ClientStats:
    """Counters of one SDK object since it started (or since a fork).

    ``enqueued`` counts accepted calls (records); ``delivered`` the records the
    receiver acknowledged; ``accepted`` the rows, points or events it stored;
    ``dropped`` maps a reason (``queue_full``, ``rejected``, ``spool_full``,
    ``invalid``, ``closed``, ``unencodable``, ``server_error``) to the number of
    records lost; ``pending`` counts records queued or spooled, not yet settled.
    """

    enqueued: int
    delivered: int
    accepted: int
    batches_sent: int
    duplicates: int
    retries: int
    spooled: int
    pending: int
    dropped: dict[str, int] = field(default_factory=dict)


class _OnceLogger:
    """Logs the first error of each kind, then only counts."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def error(self, kind: str, message: str, *args: Any) -> None:
        if kind not in self.seen:
            self.seen.add(kind)
            _log.warning(
                "driftline: " + message + " (further %s errors are not logged)", *args, kind
            )


_LIVE: weakref.WeakSet[Pipeline] = weakref.WeakSet()
_HOOKS_INSTALLED = False
_HOOKS_LOCK = threading.Lock()


def _install_hooks() -> None:
    global _HOOKS_INSTALLED
    with _HOOKS_LOCK:
        if _HOOKS_INSTALLED:
            return
        _HOOKS_INSTALLED = True
        atexit.register(_flush_all_at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_reset_all_after_fork)


def _flush_all_at_exit() -> None:
    deadline = time.monotonic() + ATEXIT_TIMEOUT
    for pipe in list(_LIVE):
        pipe.close(timeout=max(0.0, deadline - time.monotonic()), until_unreachable=True)


def _reset_all_after_fork() -> None:
    for pipe in list(_LIVE):
        pipe._after_fork_child()


class Pipeline:
    """Bounded queue + background sender; see the module docstring.

    Parameters
    ----------
    delivery
        Where batches go (:class:`~driftline.client._delivery.HttpDelivery` or
        :class:`~driftline.client._delivery.EmbeddedDelivery`).
    encoders
        For each record kind, the function that turns items into a payload.
    spool
        Where failed batches wait (default: a 16 MiB :class:`MemorySpool`).
    max_queue
        Most records waiting in memory (default 10 000); more are dropped as ``queue_full``.
    max_batch_weight
        Most rows (or points) per batch (default 10 000).
    flush_interval
        Seconds between sends when the queue is not full (default 0.5).
    backoff_base, backoff_max
        First retry delay and its cap, in seconds (defaults 0.5 and 60).
    max_retry_after
        Cap on a server's ``Retry-After``, in seconds (default 300).
    max_server_errors
        Attempts after which a batch that keeps getting HTTP 500 is dropped as
        ``server_error`` (default 8), so a batch that crashes the server cannot block
        the ones behind it. 502, 503, 504, 429 and connection errors retry forever.
    rng
        Source of the backoff jitter (default: a fresh ``random.Random()``).

    Example
    -------
    >>> from driftline.client._delivery import Ack
    >>> class Printer:
    ...     def send(self, kind, payload):
    ...         print(kind, payload["n"]); return Ack(payload["batch_id"], payload["n"], False)
    ...     def after_fork(self): pass
    ...     def close(self): pass
    >>> p = Pipeline(Printer(), {"demo": lambda key, items: {"n": sum(items)}})
    >>> p.enqueue("demo", None, 2) and p.enqueue("demo", None, 3)
    True
    >>> p.flush(timeout=5.0)
    demo 5
    True
    >>> p.close()
    """

    def __init__(
        self,
        delivery: Delivery,
        encoders: Mapping[str, Encoder],
        *,
        spool: Spool | None = None,
        max_queue: int = 10_000,
        max_batch_weight: int = 10_000,
        flush_interval: float = 0.5,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        max_server_errors: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self.delivery = delivery
        self.encoders = dict(encoders)
        self.spool: Spool = spool if spool is not None else MemorySpool()
        self.max_queue = max_queue
        self.max_batch_weight = max_batch_weight
        self.flush_interval = flush_interval
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_server_errors = max_server_errors
        self._rng = rng if rng is not None else random.Random()
        self._periodic: list[list[Any]] = []  # [interval, next_due, fn]
        self._ack_listeners: list[Callable[[str, Mapping[str, Any], Ack], None]] = []
        self._init_state()
        _install_hooks()
        _LIVE.add(self)

    def _init_state(self) -> None:
        self._q: deque[tuple[str, Hashable, Any, int]] = deque()
        self._lock = threading.Lock()
        self._settled_cond = threading.Condition(threading.Lock())
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._closed = False
        self._enqueued = 0
        self._settled = 0
        self._delivered = 0
        self._accepted = 0
        self._batches = 0
        self._duplicates = 0
        self._retries = 0
        self._failures = 0
        self._next_attempt = 0.0
        self._server_errors: tuple[str, int] = ("", 0)
        self._dropped: Counter[str] = Counter()
        self._once = _OnceLogger()

    # ------------------------------------------------------------------ caller side
    def enqueue(self, kind: str, key: Hashable, item: Any, weight: int = 1) -> bool:
        """Queue one record; ``False`` (and a ``queue_full`` count) when the queue is full."""
        with self._lock:
            if self._closed:
                self._dropped["closed"] += 1
                return False
            if len(self._q) >= self.max_queue:
                self._dropped["queue_full"] += 1
                return False
            self._q.append((kind, key, item, weight))
            self._enqueued += 1
            n = len(self._q)
        if self._thread is None:
            self._start()
        if n >= 1024:
            self._wake.set()
        return True

    def count_drop(self, reason: str, message: str, n: int = 1) -> None:
        """Count ``n`` records lost for ``reason`` and log the first one of that reason."""
        with self._lock:
            self._dropped[reason] += n
        self._once.error(reason, "%s", message)

    def add_periodic(
        self, interval: float, fn: Callable[[], None], *, at_once: bool = True
    ) -> None:
        """Run ``fn`` on the background thread every ``interval`` seconds.

        The first run is at once when ``at_once`` is true, after ``interval`` otherwise.
        """
        first = 0.0 if at_once else time.monotonic() + interval
        self._periodic.append([interval, first, fn])
        if self._thread is None:
            self._start()
        if at_once:
            self._wake.set()

    def add_ack_listener(self, fn: Callable[[str, Mapping[str, Any], Ack], None]) -> None:
        """Call ``fn(kind, payload, ack)`` on the background thread for each acknowledged batch.

        This is how a run learns from the server's answers (a stop request); ``fn``
        must be quick, and what it raises is logged once and otherwise ignored.
        """
        self._ack_listeners.append(fn)

    def stats(self) -> ClientStats:
        """A snapshot of the counters (see :class:`ClientStats`)."""
        with self._lock:
            return ClientStats(
                enqueued=self._enqueued,
                delivered=self._delivered,
                accepted=self._accepted,
                batches_sent=self._batches,
                duplicates=self._duplicates,
                retries=self._retries,
                spooled=len(self.spool),
                pending=self._enqueued - self._settled,
                dropped=dict(self._dropped),
            )

    def flush(self, timeout: float | None = 10.0, *, until_unreachable: bool = False) -> bool:
        """Wait until every record queued before this call was acknowledged or dropped.

        Returns ``True`` when that happened within ``timeout`` seconds, ``False``
        otherwise (the records stay queued or spooled and are sent later). With
        ``until_unreachable``, also stop waiting as soon as a delivery attempt made
        during the wait failed while the spool keeps batches on disk (used by
        ``finish``/``close`` and at interpreter exit: the next process replays them).
        """
        with self._lock:
            target = self._enqueued
            retries_before = self._retries
        if self._thread is None and target > self._settled:
            self._start()
        self._wake.set()
        persistent = until_unreachable and getattr(self.spool, "persistent", False)

        def done() -> bool:
            return self._settled >= target or (persistent and self._retries > retries_before)

        with self._settled_cond:
            self._settled_cond.wait_for(done, timeout)
            return self._settled >= target

    def close(self, timeout: float | None = 5.0, *, until_unreachable: bool = False) -> None:
        """Flush for at most ``timeout`` seconds, then stop the thread.

        Records still queued are written to the spool (kept on disk by a
        :class:`~driftline.client._spool.FileSpool`, lost with a memory spool).
        ``until_unreachable`` is passed to :meth:`flush`.
        """
        if self._closed:
            return
        self.flush(timeout, until_unreachable=until_unreachable)
        with self._lock:
            self._closed = True
        self._closing = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0 if timeout is None else min(1.0, max(0.1, timeout)))
        if thread is None or not thread.is_alive():
            self.delivery.close()
        _LIVE.discard(self)

    # ------------------------------------------------------------------ background side
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="driftline-sender", daemon=True)
        self._thread.start()

    def _after_fork_child(self) -> None:
        self._init_state()
        self.delivery.after_fork()
        self.spool.after_fork()
        if self._periodic:
            self._start()

    def _settle(self, n: int) -> None:
        if n:
            with self._settled_cond:
                self._settled += n
                self._settled_cond.notify_all()

    def _run(self) -> None:
        while True:
            now = time.monotonic()
            wait = self.flush_interval
            for task in self._periodic:
                wait = min(wait, max(0.0, task[1] - now))
            if self._failures and len(self.spool):
                wait = min(wait, max(0.0, self._next_attempt - now))
            if not self._closing:
                self._wake.wait(wait)
                self._wake.clear()
            try:
                self._run_periodic()
                self._step(final=self._closing)
            except Exception as exc:  # a bug must not kill the sender silently
                self._once.error("internal", "sender thread error: %r", exc)
            if self._closing:
                return

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for task in self._periodic:
            if now >= task[1] and not self._closing:
                task[1] = now + task[0]
                try:
                    task[2]()
                except Exception as exc:
                    self._once.error("periodic", "periodic task failed: %r", exc)

    def _take_batch(self) -> tuple[str, Hashable, list[Any], int] | None:
        with self._lock:
            if not self._q:
                return None
            kind, key, item, weight = self._q.popleft()
            items, total = [item], weight
            while self._q:
                k2, key2, item2, w2 = self._q[0]
                if k2 != kind or key2 != key or total + w2 > self.max_batch_weight:
                    break
                self._q.popleft()
                items.append(item2)
                total += w2
        return kind, key, items, len(items)

    def _step(self, *, final: bool = False) -> None:
        # 1. replay the spool, oldest first, once the backoff expired
        while len(self.spool) and time.monotonic() >= self._next_attempt:
            batch = self.spool.peek()
            if batch is None:
                break
            if self._attempt(batch.kind, batch.payload, batch.local) == "retry":
                break
            self.spool.pop(batch)
            self._settle(batch.local)
        # 2. send (or spool) what is queued
        while True:
            taken = self._take_batch()
            if taken is None:
                return
            kind, key, items, n = taken
            try:
                payload = self.encoders[kind](key, items)
            except Exception as exc:
                self.count_drop("unencodable", f"could not build a {kind} batch: {exc!r}", n)
                self._settle(n)
                continue
            payload["batch_id"] = uuid.uuid4().hex
            if (
                not len(self.spool)
                and time.monotonic() >= self._next_attempt
                and not (final and self._failures)
            ) and self._attempt(kind, payload, n) != "retry":
                self._settle(n)
                continue
            self._to_spool(SpooledBatch(kind, payload, local=n))

    def _to_spool(self, batch: SpooledBatch) -> None:
        try:
            stored = self.spool.put(batch)
        except OSError as exc:
            self._once.error("spool_io", "cannot write the spool: %s", exc)
            stored = False
        if not stored:
            self.count_drop("spool_full", "spool is full; dropping batches", batch.local)
            self._settle(batch.local)

    def _attempt(self, kind: str, payload: dict[str, Any], n: int) -> str:
        try:
            ack = self.delivery.send(kind, payload)
        except RejectedDeliveryError as exc:
            self.count_drop("rejected", f"{kind} batch rejected: {exc}", n)
            self._failures = 0
            return "rejected"
        except RetryableDeliveryError as exc:
            if exc.status == 500:
                # a 500 may come from this very batch (a poison batch): give up after a while
                # so that it cannot block everything queued behind it
                key = str(payload.get("batch_id"))
                count = 1 + (self._server_errors[1] if self._server_errors[0] == key else 0)
                self._server_errors = (key, count)
                if count >= self.max_server_errors:
                    self.count_drop(
                        "server_error", f"{kind} batch failed {count} times with HTTP 500: {exc}", n
                    )
                    self._failures = 0
                    self._next_attempt = 0.0
                    return "rejected"
            self._failures += 1
            with self._lock:
                self._retries += 1
            with self._settled_cond:
                self._settled_cond.notify_all()
            if exc.retry_after is not None:
                delay = min(exc.retry_after, self.max_retry_after)
            else:
                delay = min(self.backoff_max, self.backoff_base * 2 ** (self._failures - 1))
                delay *= 0.5 + 0.5 * self._rng.random()
            self._next_attempt = time.monotonic() + delay
            self._once.error(
                "unreachable",
                "cannot deliver (%s); retrying in %.2fs, spooling meanwhile",
                exc,
                delay,
            )
            return "retry"
        except Exception as exc:  # a bug in a delivery: drop, do not loop on it
            self.count_drop("unencodable", f"{kind} batch could not be sent: {exc!r}", n)
            return "rejected"
        self._failures = 0
        self._next_attempt = 0.0
        with self._lock:
            self._batches += 1
            self._delivered += n
            self._accepted += ack.accepted
            self._duplicates += int(ack.duplicate)
        for listener in self._ack_listeners:
            try:
                listener(kind, payload, ack)
            except Exception as exc:
                self._once.error("ack_listener", "acknowledgement listener failed: %r", exc)
        return "ok"
