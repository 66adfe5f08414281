"""The scheduler: one leader, chosen by a lease in the database, evaluates and delivers.

Every server process may run a :class:`Scheduler`; each tick it tries to take
or renew the lease row ``alerts`` in ``scheduler_leases`` with one atomic
upsert (insert, or take over when the lease expired, or extend it when it is
already the owner). Only the owner evaluates the due monitors
(:meth:`AlertService.evaluate_due`) and drains the outbox
(:meth:`AlertService.deliver_due`). A leader that cannot renew, or whose pass
outlived the lease, stops acting until it holds the lease again; the fencing
token grows at each change of owner.

Time is monotonic per scheduler: a tick's ``now`` is never earlier than the
previous tick's, so a clock that jumps back cannot make a window be judged
again; a clock that jumps forward judges only the latest complete window (the
catch-up policy of the service).

Example
-------
>>> from driftline.alerts._service import AlertService
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> service = AlertService(store)
>>> a = Scheduler(service, owner="a")
>>> b = Scheduler(service, owner="b")
>>> a.tick(now=100.0).leader, b.tick(now=101.0).leader
(True, False)
>>> b.tick(now=200.0).reason  # a's lease (15 s) expired long ago
'lease acquired (fencing token 2)'
>>> store.close()
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from driftline.alerts import _repo as repo
from driftline.alerts._results import TickResult
from driftline.alerts._service import AlertService
from driftline.errors import InputError

__all__ = ["LEASE_NAME", "Scheduler"]

LEASE_NAME = "alerts"
"""Name of the scheduler's row in ``scheduler_leases``."""

log = logging.getLogger("driftline.alerts.scheduler")


def default_owner() -> str:
    """``host:pid:random``: unique per scheduler instance."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Runs :class:`AlertService` passes on a timer while holding the leader lease.

    Parameters
    ----------
    service : AlertService
    owner : str, optional
        This instance's identity in the lease (default ``host:pid:random``).
    clock : callable, default time.time
        Epoch seconds; made monotonic per scheduler.
    tick_seconds : float, default 1.0
        Seconds between ticks of the background thread.
    lease_seconds : float, default 15.0
        How long a lease lasts without renewal; another instance takes over
        at most this long after the leader died. Must exceed ``tick_seconds``.
    deliver : bool, default True
        Drain the outbox too (``False``: evaluate only, e.g. when a separate
        worker delivers).
    """

    def __init__(
        self,
        service: AlertService,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        tick_seconds: float = 1.0,
        lease_seconds: float = 15.0,
        deliver: bool = True,
    ) -> None:
        if not (tick_seconds > 0 and math.isfinite(tick_seconds)):
            raise InputError(f"tick_seconds: expected a positive number, got {tick_seconds!r}")
        if not lease_seconds > tick_seconds:
            raise InputError(
                f"lease_seconds: expected more than tick_seconds ({tick_seconds}), "
                f"got {lease_seconds!r}"
            )
        self.service = service
        self.owner = owner or default_owner()
        self.clock = clock
        self.tick_seconds = float(tick_seconds)
        self.lease_seconds = float(lease_seconds)
        self.deliver = deliver
        self._last_now = -math.inf
        self._token: int | None = None
        self._expires_at = -math.inf
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_tick: TickResult | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this scheduler held the lease at its last tick and the lease has not run out."""
        return self._token is not None and self._now(None, advance=False) < self._expires_at

    def _now(self, now: float | None, *, advance: bool = True) -> float:
        t = self.clock() if now is None else float(now)
        t = max(t, self._last_now)
        if advance:
            self._last_now = t
        return t

    def _lease(self, now: float) -> tuple[bool, str]:
        with self.service.store.begin() as conn:
            row = repo.acquire_lease(
                conn, LEASE_NAME, self.owner, now=now, lease_seconds=self.lease_seconds
            )
        if row["owner"] != self.owner:
            was = self._token is not None
            self._token, self._expires_at = None, -math.inf
            lost = "lease lost: " if was else ""
            return False, (
                f"{lost}held by {row['owner']} until {row['expires_at']:.3f} "
                f"(fencing token {row['fencing_token']})"
            )
        token = int(row["fencing_token"])
        verb = "renewed" if token == self._token else "acquired"
        self._token, self._expires_at = token, float(row["expires_at"])
        return True, f"lease {verb} (fencing token {token})"

    def tick(self, now: float | None = None) -> TickResult:
        """Take or renew the lease, then (as leader) evaluate due monitors and deliver.

        Parameters
        ----------
        now : float, optional
            Epoch seconds (default: the clock); never earlier than the last tick's.
        """
        with self._lock:
            t = self._now(now)
            leader, reason = self._lease(t)
            if not leader:
                result = TickResult(at=t, leader=False, reason=reason)
                self.last_tick = result
                return result
            evaluation = self.service.evaluate_due(t)
            delivery = None
            if self.deliver:
                # The pass may have outlived the lease: renew before acting again.
                t2 = self._now(None if now is None else t)
                still, why = self._lease(t2)
                if not still:
                    result = TickResult(t, False, why, evaluation=evaluation)
                    self.last_tick = result
                    return result
                delivery = self.service.deliver_due(t2)
            result = TickResult(
                at=t, leader=True, reason=reason, evaluation=evaluation,
                delivery=delivery, fencing_token=self._token,
            )  # fmt: skip
            self.last_tick = result
            return result

    def wake(self) -> None:
        """Run the next tick now instead of after ``tick_seconds`` (called after an ingest).

        Cheap and safe from any thread; a no-op when the thread is not running.
        """
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.tick()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("scheduler %s: tick failed", self.owner)
            self._wake.wait(self.tick_seconds)

    def start(self) -> None:
        """Tick in a daemon thread every ``tick_seconds`` until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"driftline-scheduler-{self.owner}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout`` seconds) and give the lease up."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            if self._token is not None:
                try:
                    with self.service.store.begin() as conn:
                        repo.release_lease(conn, LEASE_NAME, self.owner, now=self._now(None))
                except Exception:  # best effort: the lease expires anyway
                    log.exception("scheduler %s: could not release the lease", self.owner)
                self._token, self._expires_at = None, -math.inf
