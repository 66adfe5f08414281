"""Deliver stage: drain the outbox (claim, send through the channels, record, retry).

A notification is written to the ``notifications`` table in the transaction
that decided it, so a crash can only delay it. A worker claims due rows (one
transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sends each through its
receiver's channels outside any transaction, and records the outcome only if
it still holds the claim:

- every channel delivered: ``delivered`` (never sent again);
- a retryable failure: back to ``pending`` at the time :class:`RetryPolicy`
  chose (exponential backoff with jitter, ``Retry-After`` honoured); channels
  that already delivered are not sent to again;
- a permanent failure or attempts exhausted: ``failed``, with the reason.

A pass stops sending once half the claim time has gone by and hands the rows
it did not reach back, so a slow receiver cannot make claims expire mid-pass.

A worker that dies between sending and recording leaves the row ``sending``;
when its claim expires another worker claims and sends it again: at most one
duplicate, which receivers can drop by the notification id (sent as the
``Idempotency-Key`` header).

Example
-------
>>> from driftline.alerts._model import Notification
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> with store.begin() as conn:
...     enqueue(conn, Notification("n1", "null", "g", {}, "firing", (), created_at=0.0))
True
>>> run = deliver_due(store, owner="w", now=1.0, limit=10, claim_seconds=60.0,
...                   channels_for=lambda receiver: [], retry=RetryPolicy(),
...                   rng=random.Random(0))
>>> run.delivered
1
>>> store.close()
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from driftline.alerts import _repo as repo
from driftline.alerts._model import Notification
from driftline.alerts._results import DeliveryRun
from driftline.alerts.channels._retry import RetryPolicy
from driftline.errors import DeliveryError, DriftlineError
from driftline.store import Store

__all__ = ["RetryPolicy", "deliver_due", "enqueue"]

log = logging.getLogger("driftline.alerts.outbox")

enqueue = repo.enqueue_notification


def deliver_due(
    store: Store,
    *,
    owner: str,
    now: float,
    limit: int,
    claim_seconds: float,
    channels_for: Callable[[str], Sequence[Any] | None],
    retry: RetryPolicy,
    rng: random.Random,
) -> DeliveryRun:
    """Claim up to ``limit`` due notifications and try to deliver each once.

    Parameters
    ----------
    store : Store
    owner : str
        The claimer's identity (one per process or scheduler).
    now : float
        Epoch seconds, for claims, attempts and the next retry.
    limit : int
        Most notifications claimed in this pass.
    claim_seconds : float
        How long a claim lasts; a row whose claimer died is sent again after it.
    channels_for : callable
        ``receiver name -> channels`` (``None``: no such receiver, a permanent failure).
    retry : RetryPolicy
        When to try again and when to give up.
    rng : random.Random
        Jitter of the backoff.

    Returns
    -------
    DeliveryRun
    """
    with store.begin() as conn:
        rows = repo.claim_notifications(
            conn, owner, now=now, claim_seconds=claim_seconds, limit=limit
        )
    delivered = retrying = failed = 0
    began = time.monotonic()
    for i, row in enumerate(rows):
        if time.monotonic() - began > claim_seconds / 2:
            # Sending the rest could outlive their claims and let another worker send
            # them too: hand them back for the next pass.
            rest = [r["id"] for r in rows[i:]]
            with store.begin() as conn:
                repo.release_claims(conn, rest, owner, now=now)
            log.warning("outbox: %d notifications handed back, the pass took too long", len(rest))
            rows = rows[:i]
            break
        status = _deliver_one(store, row, owner=owner, now=now, channels_for=channels_for,
                              retry=retry, rng=rng)  # fmt: skip
        delivered += status == "delivered"
        retrying += status == "pending"
        failed += status == "failed"
    return DeliveryRun(
        at=now, claimed=len(rows), delivered=delivered, retrying=retrying, failed=failed
    )


def _deliver_one(
    store: Store,
    row: dict[str, Any],
    *,
    owner: str,
    now: float,
    channels_for: Callable[[str], Sequence[Any] | None],
    retry: RetryPolicy,
    rng: random.Random,
) -> str:
    nid = row["id"]
    with store.read() as conn:
        done = {a["channel"] for a in repo.notification_attempts(conn, nid) if a["ok"]}
    attempts: list[dict[str, Any]] = []
    error: DeliveryError | None = None
    try:
        notification = Notification.from_dict(row["payload"])
        channels = channels_for(row["receiver"])
        if channels is None:
            raise DeliveryError(
                f"receiver: no receiver named {row['receiver']!r} in the routing config",
                retryable=False,
            )
    except DeliveryError as exc:
        error, channels = exc, []
    except (DriftlineError, ValueError, KeyError, TypeError) as exc:
        error = DeliveryError(f"cannot build the notification: {exc}", retryable=False)
        channels = []
    for channel in channels:
        if channel.name in done:
            continue
        try:
            channel.send(notification)
        except DeliveryError as exc:
            attempts.append(dict(channel=channel.name, ok=False, error=str(exc),
                                 retryable=exc.retryable))  # fmt: skip
            if error is None or (error.retryable and not exc.retryable):
                error = exc
            continue
        except Exception as exc:  # a channel bug must not kill the worker
            log.exception("channel %s raised while sending %s", channel.name, nid)
            wrapped = DeliveryError(f"{channel.name}: {type(exc).__name__}: {exc}", retryable=True)
            attempts.append(dict(channel=channel.name, ok=False, error=str(wrapped),
                                 retryable=True))  # fmt: skip
            error = error or wrapped
            continue
        attempts.append(dict(channel=channel.name, ok=True, error=None, retryable=None))
    if error is not None and not attempts:
        attempts.append(dict(channel=row["receiver"], ok=False, error=str(error),
                             retryable=error.retryable))  # fmt: skip
    if error is None:
        status, next_at, reason = "delivered", None, None
    else:
        decision = retry.decide(
            int(row["attempts"]), error=error, created_at=float(row["created_at"]), now=now, rng=rng
        )
        status = "pending" if decision.retry else "failed"
        next_at, reason = decision.not_before, decision.reason
    with store.begin() as conn:
        for a in attempts:
            repo.record_attempt(conn, nid, at=now, **a)
        kept = repo.finish_notification(
            conn, nid, owner, status=status, now=now, next_attempt_at=next_at, error=reason
        )
    if not kept:
        log.warning("notification %s: claim lost before its outcome was recorded", nid)
        return "lost"
    log.info("notification %s to %s: %s%s", nid, row["receiver"], status,
             f" ({reason})" if reason else "")  # fmt: skip
    return status
