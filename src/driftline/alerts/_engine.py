"""Engine: one evaluation pass and one delivery pass, chaining the stages.

The pipeline, each stage around a pure decision that takes ``now`` and
returns a reason:

1. **Due** (:mod:`._due`). The monitors whose ``next_due_at`` has come or that
   ingest marked. Scheduled monitors judge the latest *complete* window (for a
   sliding window, the one ending at the latest ``step`` boundary, see
   :mod:`._windows`); a window decided once is not judged again.
2. **Read series** (:mod:`._series`), for each monitor in a small thread pool
   (:mod:`._fetch`). The store reads of a pass are shared: monitors of one
   model that need the same windows read them once. A monitor that raises is
   recorded as failed (a result with the error as its reason) without touching
   the others; one that takes longer than ``monitor_timeout`` is abandoned for
   this pass. **Catch-up**: after downtime only the latest complete window of
   each monitor moves its alert; the missed windows' results are backfilled
   into its series.
3. **Judge** (:mod:`._judge`): the condition over the series, an evaluation
   with a reason. The p-value checks of the pass are then adjusted together
   (Benjamini-Hochberg at ``fdr_alpha``, :mod:`._fdr`).
4. **Transition** (:mod:`._transition`), one transaction per monitor: the
   result row, the alert's transition (the reason goes to ``alert_events``) and
   the next due time. A ``now`` earlier than an alert's last update changes nothing.
5. **Route** and **outbox** (:mod:`._route`, :mod:`._outbox`): open alerts are
   routed, silences and inhibition applied, and each group whose flush is due
   gets a notification in the outbox.
6. **Deliver** (:mod:`._deliver`): :meth:`AlertEngine.deliver_due` drains the
   outbox through the receivers' channels, with retries.

Example
-------
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> AlertEngine(store).evaluate_due(now=1_800_000_000.0).evaluated
0
>>> store.close()
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftline.alerts import _repo as repo
from driftline.alerts._deliver import deliver_due
from driftline.alerts._due import clock_went_back, judged_already, next_due
from driftline.alerts._duration import checked_now
from driftline.alerts._fdr import control_false_discoveries
from driftline.alerts._fetch import judge_all
from driftline.alerts._model import Alert, Evaluation
from driftline.alerts._outbox import RoutingContext, dispatch
from driftline.alerts._results import DeliveryRun, EvaluationRun, MonitorOutcome
from driftline.alerts._spec import MonitorSpec
from driftline.alerts._transition import fingerprint, transition
from driftline.alerts.channels._retry import RetryPolicy
from driftline.errors import InputError

if TYPE_CHECKING:
    from driftline.alerts.channels import NetworkPolicy
    from driftline.store import QueryService, Store

__all__ = ["DEFAULT_CLAIM_SECONDS", "DEFAULT_MONITOR_TIMEOUT", "AlertEngine", "evaluation_pass"]

log = logging.getLogger("driftline.alerts")

DEFAULT_CLAIM_SECONDS = 60.0
"""How long a worker's claim on an outbox row lasts before another may send it."""
DEFAULT_MONITOR_TIMEOUT = 10.0
"""Seconds one monitor may take in a pass before it is abandoned (and retried later)."""


class AlertEngine:
    """Runs the passes: evaluate the due monitors, and deliver the due notifications.

    Parameters
    ----------
    store : Store
    query : QueryService, optional
        Reads the window series (default: a new one on ``store``).
    clock : callable, default time.time
        Epoch seconds; every decision takes ``now`` from it unless given one.
    environ : mapping, optional
        Where channel secrets (``*_env``) are looked up (default ``os.environ``).
    policy : NetworkPolicy, optional
        Where webhook, Slack and Alertmanager requests may go (default: the
        channels' default, which blocks private and loopback ranges).
    transport : httpx.BaseTransport, optional
        HTTP transport for the channels.
    external_url : str, optional
        The dashboard's URL, linked from notifications.
    retry : RetryPolicy, optional
        When a failed notification is tried again, and when given up.
    owner : str, optional
        This process's identity in outbox claims (default: random).
    claim_seconds : float, default :data:`DEFAULT_CLAIM_SECONDS`
    monitor_timeout : float, default :data:`DEFAULT_MONITOR_TIMEOUT`
        Seconds one monitor may spend fetching and evaluating in a pass.
    fdr_alpha : float, default 0.05
        False discovery rate controlled (Benjamini-Hochberg) across the
        p-value checks of one pass.
    rng : random.Random, optional
        Jitter of retry delays (seed it in tests).
    """

    def __init__(
        self,
        store: Store,
        *,
        query: QueryService | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        policy: NetworkPolicy | None = None,
        transport: Any = None,
        external_url: str | None = None,
        retry: RetryPolicy | None = None,
        owner: str | None = None,
        claim_seconds: float = DEFAULT_CLAIM_SECONDS,
        monitor_timeout: float = DEFAULT_MONITOR_TIMEOUT,
        fdr_alpha: float = 0.05,
        rng: random.Random | None = None,
    ) -> None:
        if query is None:
            from driftline.store import QueryService

            query = QueryService(store)
        if not claim_seconds > 0:
            raise InputError(f"claim_seconds: expected a positive number, got {claim_seconds!r}")
        if not monitor_timeout > 0:
            raise InputError(
                f"monitor_timeout: expected a positive number, got {monitor_timeout!r}"
            )
        self.store = store
        self.query = query
        self.clock = clock
        self.environ = environ
        self.policy = policy
        self.transport = transport
        self.external_url = external_url
        self.retry = retry or RetryPolicy()
        self.owner = owner or f"outbox-{uuid.uuid4().hex[:12]}"
        self.claim_seconds = float(claim_seconds)
        self.monitor_timeout = float(monitor_timeout)
        self.fdr_alpha = float(fdr_alpha)
        self.rng = rng or random.Random()

    def evaluate_due(self, now: float | None = None) -> EvaluationRun:
        """Evaluate the monitors that are due or that ingest marked, and update alerts.

        See the module docstring for the pass (catch-up policy, time budget,
        false discovery control, silences, grouping, outbox).
        """
        return evaluation_pass(self, checked_now(self.clock, now))

    def channels_for(self, receiver: str) -> list[Any] | None:
        """The channels of a receiver of the stored config (``None``: no such receiver)."""
        from driftline.alerts.channels import NetworkPolicy, ReceiverSpec
        from driftline.alerts.channels._channel import build_channels

        with self.store.read() as conn:
            stored = repo.get_config(conn) or {}
        for r in stored.get("receivers") or []:
            if r.get("name") == receiver:
                spec = ReceiverSpec.model_validate(r)
                return list(
                    build_channels(spec, policy=self.policy or NetworkPolicy(),
                                   environ=self.environ, transport=self.transport,
                                   clock=self.clock)
                )  # fmt: skip
        return None

    def deliver_due(self, now: float | None = None, *, limit: int = 100) -> DeliveryRun:
        """Claim due notifications of the outbox and send them (see :mod:`._deliver`)."""
        if limit < 1:
            raise InputError(f"limit: expected a positive integer, got {limit!r}")
        return deliver_due(
            self.store, owner=self.owner, now=checked_now(self.clock, now), limit=limit,
            claim_seconds=self.claim_seconds, channels_for=self.channels_for,
            retry=self.retry, rng=self.rng,
        )  # fmt: skip


# --- transition and record --------------------------------------------------------------------


def _record(
    engine: AlertEngine,
    row: dict[str, Any],
    spec: MonitorSpec,
    ev: Evaluation,
    now: float,
    context: RoutingContext,
    backfill: Sequence[Evaluation] = (),
) -> str | None:
    """Store one result (after any backfilled ones), move its alert, set the next due time.

    Returns the alert's event. Backfilled results go to the series only.
    """
    with engine.store.begin() as conn:
        for old in backfill:
            repo.insert_result(conn, row["id"], old)
        repo.insert_result(conn, row["id"], ev)
        prev_row = repo.get_alert(conn, fingerprint(ev.labels))
        prev = Alert.from_dict(prev_row) if prev_row is not None else None
        tr = transition(prev, ev, for_seconds=spec.for_seconds, now=now,
                        annotations=dict(spec.annotations))  # fmt: skip
        if tr.alert is not None and tr.event not in ("no_change", "insufficient_data"):
            alert_id = repo.save_alert(conn, tr.alert, monitor_id=row["id"], monitor=spec.name)
            if tr.changed:
                repo.add_alert_event(
                    conn, alert_id, at=now, event=tr.event,
                    from_state=prev.state.value if prev is not None and prev.state.is_open
                    else None,
                    to_state=tr.alert.state.value, reason=tr.reason, value=ev.value,
                )  # fmt: skip
            if tr.event == "fired":
                context.open.append(tr.alert)  # later monitors of the pass see it
                muted = context.muted(tr.alert.labels, now)
                if muted is not None:
                    repo.add_alert_event(conn, alert_id, at=now, event="muted",
                                         from_state=None, to_state=tr.alert.state.value,
                                         reason=muted, value=ev.value)  # fmt: skip
        decided = ev.window_end if ev.firing is not None else None
        repo.set_monitor_schedule(
            conn, row["id"], evaluated_at=now, window_end=decided,
            next_due_at=next_due(spec, now, decided),
        )  # fmt: skip
    log.info("monitor %s: %s (%s)", spec.name, tr.reason, tr.event)
    return tr.event


def _fail(engine: AlertEngine, row: dict[str, Any], spec: MonitorSpec | None,
          error: str, now: float) -> None:  # fmt: skip
    ev = Evaluation(row["name"], now, None, None, None, None, None, f"evaluation failed: {error}")
    with engine.store.begin() as conn:
        repo.insert_result(conn, row["id"], ev)
        nxt = next_due(spec, now, None) if spec is not None else now + 60.0
        repo.set_monitor_schedule(conn, row["id"], evaluated_at=now, window_end=None,
                                  next_due_at=nxt)  # fmt: skip


# --- the pass ---------------------------------------------------------------------------------


def _plan(
    engine: AlertEngine, now: float, outcomes: list[MonitorOutcome]
) -> list[tuple[dict[str, Any], MonitorSpec]]:
    """The due monitors to judge at ``now``; the others get an outcome saying why not."""
    with engine.store.read() as conn:
        due = repo.due_monitors(conn, now)
    plans: list[tuple[dict[str, Any], MonitorSpec]] = []
    for row in due:
        try:
            spec = MonitorSpec.model_validate(row["spec"])
        except ValueError as exc:
            _fail(engine, row, None, f"stored spec does not validate: {exc}", now)
            outcomes.append(MonitorOutcome(row["name"], "failed", None, str(exc)))
            continue
        why = clock_went_back(row, now)
        if why is None:
            why = judged_already(row, spec, now)
            if why is not None:
                with engine.store.begin() as conn:
                    nxt = next_due(spec, now, row["last_window_end"])
                    repo.set_monitor_schedule(conn, row["id"], evaluated_at=None,
                                              window_end=None, next_due_at=nxt)  # fmt: skip
        if why is not None:
            outcomes.append(MonitorOutcome(spec.name, "skipped", None, why))
            continue
        plans.append((row, spec))
    return plans


def evaluation_pass(engine: AlertEngine, now: float) -> EvaluationRun:
    """Run one pass at ``now`` (see the module docstring); ``AlertEngine.evaluate_due``."""
    outcomes: list[MonitorOutcome] = []
    plans = _plan(engine, now, outcomes)
    results = judge_all(engine.store, engine.query, plans, now, timeout=engine.monitor_timeout)
    evaluations = [r[0] for r in results.values() if r[0] is not None]
    adjusted = {e.monitor: e for e in control_false_discoveries(evaluations, engine.fdr_alpha)}
    context = RoutingContext.read(engine.store, now)
    for row, spec in plans:
        ev, backfill, error, took = results.get(row["id"], (None, [], "not evaluated", 0.0))
        if ev is None:
            try:
                _fail(engine, row, spec, error or "unknown error", now)
            except Exception:
                log.exception("monitor %s: could not record its failure", spec.name)
            outcomes.append(MonitorOutcome(spec.name, "failed", None, error or "", seconds=took))
            continue
        ev = adjusted.get(ev.monitor, ev)
        try:
            event = _record(engine, row, spec, ev, now, context, backfill)
        except Exception as exc:  # isolate: one monitor's write must not stop the pass
            log.exception("monitor %s: could not record its result", spec.name)
            outcomes.append(MonitorOutcome(spec.name, "failed", ev.firing, str(exc), seconds=took))
            continue
        outcomes.append(MonitorOutcome(spec.name, "evaluated", ev.firing, ev.reason, event, took))
    sent = dispatch(engine.store, now, external_url=engine.external_url)
    return EvaluationRun(at=now, outcomes=tuple(outcomes), notifications=sent)
