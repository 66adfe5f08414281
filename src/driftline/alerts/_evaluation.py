"""One evaluation pass: due monitors -> results -> alert transitions -> groups -> outbox.

The stages, each around a pure decision that takes ``now`` and returns a reason:

1. **Due.** A monitor is due when its ``next_due_at`` has come, or when ingest
   marked it (``on_ingest`` monitors, see :meth:`AlertService.mark_ingest`).
   Scheduled monitors judge the latest *complete* window (for a sliding window,
   the one ending at the latest ``step`` boundary: a new one every step, see
   :mod:`driftline.alerts._windows`); a window decided once is not judged
   again (an undecided one, e.g. labels not in yet, is retried on the schedule). Monitors marked by ingest are judged at once, even when their
   window was judged before: new rows may change the verdict.
2. **Catch-up.** After downtime only the latest complete window of each monitor
   moves its alert: missed windows are not replayed through the life cycle, so
   one pass after a restart settles every alert. Their results are backfilled
   into the monitor's series (at most :data:`BACKFILL_WINDOWS` per monitor).
3. **Fetch and evaluate** in a small thread pool. The store reads of a pass
   are shared: monitors of one model that need the same windows (every drift
   monitor of its columns, say) read them once (:class:`PassQuery`). A monitor that raises is
   recorded as failed (a result with the error as its reason) without touching
   the others; one that takes longer than ``monitor_timeout`` is abandoned for
   this pass, so a slow monitor delays the others by at most that bound.
4. **False discoveries.** The p-value checks of the pass are adjusted together
   (Benjamini-Hochberg at ``fdr_alpha``).
5. **Record and transition**, one transaction per monitor: the result row, the
   alert's transition (the reason goes to ``alert_events``) and the next due
   time. A ``now`` earlier than an alert's last update changes nothing.
6. **Dispatch.** Open alerts are routed, silences and inhibition applied, and
   each group whose flush is due gets a notification in the outbox, in the same
   transaction as the group's new state, so a flush is enqueued exactly once.

Example
-------
>>> from driftline.alerts._service import AlertService
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> AlertService(store).evaluate_due(now=1_800_000_000.0).evaluated
0
>>> store.close()
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftline.alerts import _repo as repo
from driftline.alerts._evaluate import _COUNTS, alert_labels, evaluate, evaluate_expression
from driftline.alerts._model import Alert, AlertState, Evaluation
from driftline.alerts._results import EvaluationRun, MonitorOutcome
from driftline.alerts._routing import (
    FlushDecision,
    GroupState,
    RouteMatch,
    after_flush,
    build_notification,
    flush_decision,
    inhibited,
    match_routes,
    new_group,
    silencing,
)
from driftline.alerts._signals import reference_series, signal_series, unsupported
from driftline.alerts._spec import ChangeCondition, InhibitRule, MonitorSpec, RouteSpec
from driftline.alerts._state import fingerprint, transition
from driftline.alerts._windows import grid_align, grid_problem, latest_window_end
from driftline.errors import NotFoundError

if TYPE_CHECKING:
    from driftline.alerts._service import AlertService

__all__ = [
    "BACKFILL_WINDOWS",
    "HISTORY_WINDOWS",
    "PassQuery",
    "evaluate_due",
    "judge",
    "route_preview",
]

log = logging.getLogger("driftline.alerts")

HISTORY_WINDOWS = 2
"""Windows fetched before the judged one for threshold conditions (change and
anomaly conditions fetch the history they need)."""
MAX_HISTORY_WINDOWS = 24 * 35
"""Most windows fetched for one monitor (a 4-week hourly anomaly history fits)."""
MAX_WORKERS = 4
"""Threads that fetch and evaluate monitors in parallel."""
BACKFILL_WINDOWS = 24
"""Most missed windows of one monitor whose results are backfilled after downtime."""


def _history_windows(spec: MonitorSpec, width: float) -> int:
    cond = spec.condition
    if isinstance(cond, ChangeCondition):
        need = spec.baseline.windows if spec.baseline.kind == "rolling" else 1
    elif cond.kind == "anomaly":
        need = math.ceil(cond.history / width)
    else:
        need = HISTORY_WINDOWS
    return int(min(MAX_HISTORY_WINDOWS, need + 1))


class PassQuery:
    """The store reads of one evaluation pass, each made once and shared.

    Wraps a :class:`~driftline.store.QueryService`: ``window_series`` and
    ``drift_series`` calls with the same arguments (the drift monitors of every
    column of a model, the quality monitors of its columns...) read the store
    once; concurrent callers of the same read wait for the first. Everything
    else is passed through. Lives for one pass, so nothing goes stale.

    Example
    -------
    >>> class Counting:
    ...     calls = 0
    ...     def window_series(self, *args, **kw):
    ...         Counting.calls += 1
    ...         return ["w"]
    >>> q = PassQuery(Counting())
    >>> q.window_series("p", "m", drift=False) == q.window_series("p", "m", drift=False)
    True
    >>> Counting.calls
    1
    """

    def __init__(self, query: Any) -> None:
        self._query = query
        self._memo: dict[Any, cf.Future[Any]] = {}
        self._lock = threading.Lock()

    def _read(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        key = (name, args, tuple(sorted(kw.items())))
        with self._lock:
            future = self._memo.get(key)
            first = future is None
            if future is None:
                future = self._memo[key] = cf.Future()
        if first:
            try:
                future.set_result(getattr(self._query, name)(*args, **kw))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def window_series(self, *args: Any, **kw: Any) -> Any:
        """``QueryService.window_series``, read once per pass and arguments."""
        return self._read("window_series", args, kw)

    def drift_series(self, *args: Any, **kw: Any) -> Any:
        """``QueryService.drift_series``, read once per pass and arguments."""
        return self._read("drift_series", args, kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._query, name)


def judge(
    service: AlertService,
    spec: MonitorSpec,
    now: float,
    *,
    judged_until: float | None = None,
    query: Any = None,
) -> tuple[Evaluation, list[Evaluation]]:
    """Fetch the monitor's series and evaluate it at ``now`` (no writes).

    Returns the evaluation of the latest complete window and, when
    ``judged_until`` (the end of the last window judged) leaves windows out,
    the evaluations of those missed windows (at most :data:`BACKFILL_WINDOWS`,
    newest kept), for the result series only. ``query`` (default the service's)
    reads the store, e.g. a :class:`PassQuery` shared by the monitors of a pass.

    Windows end on ``align + k * step`` (:func:`latest_window_end`); each judged
    window is read from the grid of ``size``-wide windows that has a window ending
    there (:func:`grid_align`), whose earlier windows are its history. A window
    whose ``step`` or ``align`` is not a multiple of the store's bucket width is
    undecided, with the reason.
    """
    query = service.query if query is None else query
    window = spec.window
    width, step = float(window.size), window.step_seconds
    why = unsupported(spec.signal)
    if why is None and spec.signal.kind != "training":
        why = grid_problem(window, float(query.bucket_seconds))
    if why is not None:
        return Evaluation(spec.name, now, None, None, None, None, None, why,
                          labels=alert_labels(spec)), []  # fmt: skip
    latest = latest_window_end(window, now)
    missed = 0
    if judged_until is not None:
        missed = int(min(BACKFILL_WINDOWS, max(0, round((latest - judged_until) / step) - 1)))
    start = latest - _history_windows(spec, width) * width - missed * step
    kw: dict[str, Any] = dict(project=spec.project, model=spec.model or "", version=spec.version,
                              start=start, end=now, window_seconds=int(width))  # fmt: skip
    # A sliding window's grid is the one with a window ending at the judged end (the
    # running window's end for monitors that judge it, see evaluate()).
    running = spec.schedule == "on_ingest" and spec.signal.kind not in _COUNTS
    grids: dict[float, Any] = {}

    def at(t: float, end: float) -> Evaluation:
        align = grid_align(window, end)
        if align not in grids:
            grids[align] = _fetch(query, spec, {**kw, "align": align})
        return grids[align](t)

    try:
        current = at(now, latest + step if running else latest)
        backfill = []
        for k in range(missed, 0, -1):
            t = latest - k * step
            ev = at(t, t)
            backfill.append(
                dataclasses.replace(ev, reason=f"backfilled after downtime: {ev.reason}")
            )
    except NotFoundError as exc:
        return Evaluation(spec.name, now, None, None, None, None, None,
                          f"{spec.signal.describe()}: no data yet ({exc})",
                          labels=alert_labels(spec)), []  # fmt: skip
    return current, backfill


def _fetch(query: Any, spec: MonitorSpec, kw: dict[str, Any]) -> Any:
    """Read the monitor's series once; returns ``at(t)``, its evaluation at ``t``."""
    if spec.signal.kind == "expression":
        inputs = {
            name: signal_series(query, inner, **kw) for name, inner in spec.signal.inputs.items()
        }

        def at_expression(t: float) -> Evaluation:
            return evaluate_expression(spec, inputs, t)

        return at_expression
    series = signal_series(query, spec.signal, **kw)
    baseline = None
    if isinstance(spec.condition, ChangeCondition) and spec.baseline.kind == "reference":
        baseline = reference_series(query, spec)

    def at_signal(t: float) -> Evaluation:
        return evaluate(spec, series, t, baseline=baseline)

    return at_signal


def _next_due(spec: MonitorSpec, now: float, decided_end: float | None) -> float:
    step = spec.window.step_seconds  # a sliding monitor judges a new window every step
    if spec.schedule == "on_ingest":
        nxt = latest_window_end(spec.window, now) + step
    else:
        every = float(spec.schedule)
        nxt = math.floor(now / every) * every + every
    if decided_end is not None:
        nxt = max(nxt, decided_end + step)  # the next window is not complete before then
    return float(nxt)


def _control_fdr(evaluations: list[Evaluation], alpha: float) -> list[Evaluation]:
    try:
        from driftline.alerts._fdr import control_false_discoveries
    except ImportError:  # pragma: no cover - the FDR stage ships with the pure core
        return evaluations
    out: list[Evaluation] = list(control_false_discoveries(evaluations, alpha))
    return out


Judged = tuple[Evaluation | None, list[Evaluation], str | None, float]
"""(evaluation, backfilled evaluations, error, seconds) of one monitor in one pass."""


def _run_pool(
    service: AlertService, plans: list[tuple[dict[str, Any], MonitorSpec]], now: float
) -> dict[int, Judged]:
    """Evaluate the planned monitors in threads, by monitor id."""
    results: dict[int, Judged] = {}
    if not plans:
        return results
    url = service.store.engine.url
    memory = service.store.dialect == "sqlite" and url.database in (None, "", ":memory:")
    pool = cf.ThreadPoolExecutor(max_workers=1 if memory else min(MAX_WORKERS, len(plans)))
    started: dict[int, float] = {}
    shared = PassQuery(service.query)

    def work(row: dict[str, Any], spec: MonitorSpec) -> tuple[Evaluation, list[Evaluation]]:
        started[row["id"]] = time.monotonic()
        until = None if row["dirty"] else row["last_window_end"]
        return judge(service, spec, now, judged_until=until, query=shared)

    futures = {pool.submit(work, row, spec): row["id"] for row, spec in plans}
    pending = set(futures)
    budget = service.monitor_timeout
    try:
        while pending:
            done, pending = cf.wait(pending, timeout=0.05, return_when=cf.FIRST_COMPLETED)
            for f in done:
                mid = futures[f]
                took = time.monotonic() - started.get(mid, time.monotonic())
                exc = f.exception()
                if exc is None:
                    ev, backfill = f.result()
                    results[mid] = (ev, backfill, None, took)
                else:
                    log.warning("monitor %s failed", mid, exc_info=exc)
                    results[mid] = (None, [], f"{type(exc).__name__}: {exc}", took)
            clock = time.monotonic()
            for f in list(pending):
                mid = futures[f]
                if mid in started and clock - started[mid] > budget:
                    pending.discard(f)
                    results[mid] = (None, [], f"took longer than monitor_timeout ({budget:g}s); "
                                    "abandoned for this pass", clock - started[mid])  # fmt: skip
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _record(
    service: AlertService,
    row: dict[str, Any],
    spec: MonitorSpec,
    ev: Evaluation,
    now: float,
    context: dict[str, Any],
    backfill: Sequence[Evaluation] = (),
) -> str | None:
    """Store one result (after any backfilled ones), move its alert, set the next due time.

    Returns the alert's event. Backfilled results go to the series only.
    """
    event = None
    with service.store.begin() as conn:
        for old in backfill:
            repo.insert_result(conn, row["id"], old)
        repo.insert_result(conn, row["id"], ev)
        fp = fingerprint(ev.labels)
        prev_row = repo.get_alert(conn, fp)
        prev = Alert.from_dict(prev_row) if prev_row is not None else None
        tr = transition(prev, ev, for_seconds=spec.for_seconds, now=now,
                        annotations=dict(spec.annotations))  # fmt: skip
        event = tr.event
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
                context["open"].append(tr.alert)  # later monitors of the pass see it
                muted = _muted(tr.alert.labels, context, now)
                if muted is not None:
                    repo.add_alert_event(conn, alert_id, at=now, event="muted",
                                         from_state=None, to_state=tr.alert.state.value,
                                         reason=muted, value=ev.value)  # fmt: skip
        decided = ev.window_end if ev.firing is not None else None
        repo.set_monitor_schedule(
            conn, row["id"], evaluated_at=now, window_end=decided,
            next_due_at=_next_due(spec, now, decided),
        )  # fmt: skip
    log.info("monitor %s: %s (%s)", spec.name, tr.reason, tr.event)
    return event


def _fail(service: AlertService, row: dict[str, Any], spec: MonitorSpec | None,
          error: str, now: float) -> None:  # fmt: skip
    ev = Evaluation(row["name"], now, None, None, None, None, None, f"evaluation failed: {error}")
    with service.store.begin() as conn:
        repo.insert_result(conn, row["id"], ev)
        nxt = _next_due(spec, now, None) if spec is not None else now + 60.0
        repo.set_monitor_schedule(conn, row["id"], evaluated_at=now, window_end=None,
                                  next_due_at=nxt)  # fmt: skip


def evaluate_due(service: AlertService, now: float) -> EvaluationRun:
    """Run one pass at ``now`` (see the module docstring); the service's ``evaluate_due``."""
    with service.store.read() as conn:
        due = repo.due_monitors(conn, now)
    outcomes: list[MonitorOutcome] = []
    plans: list[tuple[dict[str, Any], MonitorSpec]] = []
    for row in due:
        try:
            spec = MonitorSpec.model_validate(row["spec"])
        except ValueError as exc:
            _fail(service, row, None, f"stored spec does not validate: {exc}", now)
            outcomes.append(MonitorOutcome(row["name"], "failed", None, str(exc)))
            continue
        last = row["last_evaluated_at"]
        if last is not None and now < last:
            why = f"clock went backwards: now {now:.3f} is before the last evaluation {last:.3f}"
            outcomes.append(MonitorOutcome(spec.name, "skipped", None, why))
            continue
        latest_end = latest_window_end(spec.window, now)
        done_end = row["last_window_end"]
        if not row["dirty"] and done_end is not None and latest_end <= done_end:
            with service.store.begin() as conn:
                repo.set_monitor_schedule(conn, row["id"], evaluated_at=None, window_end=None,
                                          next_due_at=_next_due(spec, now, done_end))  # fmt: skip
            why = f"window ending {done_end:.0f} was judged already; next window not complete"
            outcomes.append(MonitorOutcome(spec.name, "skipped", None, why))
            continue
        plans.append((row, spec))
    results = _run_pool(service, plans, now)
    evaluations = [r[0] for r in results.values() if r[0] is not None]
    adjusted = {e.monitor: e for e in _control_fdr(evaluations, service.fdr_alpha)}
    context = _dispatch_context(service, now)
    for row, spec in plans:
        ev, backfill, error, took = results.get(row["id"], (None, [], "not evaluated", 0.0))
        if ev is None:
            try:
                _fail(service, row, spec, error or "unknown error", now)
            except Exception:
                log.exception("monitor %s: could not record its failure", spec.name)
            outcomes.append(MonitorOutcome(spec.name, "failed", None, error or "", seconds=took))
            continue
        ev = adjusted.get(ev.monitor, ev)
        try:
            event = _record(service, row, spec, ev, now, context, backfill)
        except Exception as exc:  # isolate: one monitor's write must not stop the pass
            log.exception("monitor %s: could not record its result", spec.name)
            outcomes.append(MonitorOutcome(spec.name, "failed", ev.firing, str(exc), seconds=took))
            continue
        outcomes.append(MonitorOutcome(spec.name, "evaluated", ev.firing, ev.reason, event, took))
    sent = dispatch(service, now)
    return EvaluationRun(at=now, outcomes=tuple(outcomes), notifications=sent)


# --- dispatch: routing, silences, inhibition, groups, outbox ------------------------------


def _dispatch_context(service: AlertService, now: float) -> dict[str, Any]:
    with service.store.read() as conn:
        stored = repo.get_config(conn) or {}
        silences = repo.list_silences(conn, active_at=now)
        open_rows = repo.open_alerts(conn)
        monitors = {r["name"]: r["spec"].get("route") for r in repo.list_monitors(conn)}
        groups = repo.list_groups(conn)
    route = RouteSpec.model_validate(stored["route"]) if stored.get("route") else None
    rules = [InhibitRule.model_validate(r) for r in stored.get("inhibit_rules") or []]
    return {
        "route": route, "rules": rules, "silences": silences, "monitor_routes": monitors,
        "open": [Alert.from_dict(r) for r in open_rows], "open_rows": open_rows,
        "groups": groups,
    }  # fmt: skip


def _muted(labels: Mapping[str, str], context: Mapping[str, Any], now: float) -> str | None:
    s = silencing(labels, context["silences"], now)
    if s is not None:
        by = f" by {s.created_by}" if s.created_by else ""
        note = f": {s.comment}" if s.comment else ""
        return f"silenced by {s.id}{by} until {s.ends_at:.0f}{note}"
    return inhibited(labels, context["open"], context["rules"])


def _routes(
    labels: Mapping[str, str], monitor: str, context: Mapping[str, Any]
) -> list[RouteMatch]:
    route: RouteSpec | None = context["route"]
    own = context["monitor_routes"].get(monitor)
    if route is None:
        if own is None:
            return []
        route = RouteSpec(receiver=own)
    return match_routes(labels, route, receiver=own)


def dispatch(service: AlertService, now: float) -> int:
    """Flush the due groups into the outbox; returns how many notifications were enqueued."""
    ctx = _dispatch_context(service, now)
    stored = {(g["group_key"], g["receiver"]): g for g in ctx["groups"]}
    told = {
        fp.rsplit(":", 1)[0]
        for g in ctx["groups"]
        for fp in g["state"].get("group", {}).get("last_notified", ())
    }
    with service.store.read() as conn:
        rows = {r["fingerprint"]: r for r in ctx["open_rows"]}
        for r in repo.alerts_by_fingerprint(conn, sorted(told - set(rows))):
            rows[r["fingerprint"]] = r
    members: dict[tuple[str, str], tuple[RouteMatch, dict[str, str], list[Alert]]] = {}
    for r in rows.values():
        alert = Alert.from_dict(r)
        if _muted(alert.labels, ctx, now) is not None:
            continue
        for match in _routes(alert.labels, r["monitor"], ctx):
            key, _ = _group_of(match, alert.labels)
            slot = members.setdefault((key, match.receiver), (match, dict(alert.labels), []))
            slot[2].append(alert)
    sent = 0
    for gk in sorted(set(members) | set(stored)):
        row = stored.get(gk)
        if gk in members:
            match, labels, alerts = members[gk]
        elif row is not None:
            match = RouteMatch(**{**row["state"]["route"],
                                  "group_by": tuple(row["state"]["route"]["group_by"]),
                                  "matchers": tuple(row["state"]["route"]["matchers"])})  # fmt: skip
            labels, alerts = {}, []
        else:  # pragma: no cover - the union only holds keys of either
            continue
        if row is not None:
            if now < float(row["next_flush_at"] or 0.0):
                continue
            group = GroupState.from_dict(row["state"]["group"])
        elif any(a.state in (AlertState.FIRING, AlertState.ACKNOWLEDGED) for a in alerts):
            group = new_group(match, labels, now)
        else:
            continue  # only pending alerts: the group does not exist yet
        decision = flush_decision(group, alerts, match, now)
        sent += _flush(service, group, decision, alerts, match, now)
    return sent


def _group_of(match: RouteMatch, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    from driftline.alerts._routing import group_key

    return group_key(match, labels)


def _flush(
    service: AlertService,
    group: GroupState,
    decision: FlushDecision,
    alerts: list[Alert],
    match: RouteMatch,
    now: float,
) -> int:
    new = after_flush(group, decision, alerts, now)
    state = {"group": new.to_dict(), "route": dataclasses.asdict(match),
             "last_decision": decision.reason, "decided_at": now}  # fmt: skip
    enqueued = 0
    with service.store.begin() as conn:
        if decision.notify:
            note = build_notification(group, alerts, now, external_url=service.external_url)
            enqueued = int(repo.enqueue_notification(conn, note))
        if decision.drop_group:
            repo.delete_group(conn, group.key, group.receiver)
        else:
            repo.save_group(conn, group.key, group.receiver, state=state,
                            next_flush_at=new.next_flush_at, now=now)  # fmt: skip
    if decision.notify:
        log.info("group %s -> %s: %s", group.key, group.receiver, decision.reason)
    return enqueued


def route_preview(service: AlertService, labels: dict[str, str], now: float) -> dict[str, Any]:
    """Where an alert with ``labels`` would go now (the service's ``test_route``)."""
    ctx = _dispatch_context(service, now)
    monitor = labels.get("alertname", "")
    matches = _routes(labels, monitor, ctx)
    s = silencing(labels, ctx["silences"], now)
    return {
        "labels": labels,
        "fingerprint": fingerprint(labels),
        "routes": [
            {**dataclasses.asdict(m), "group_key": _group_of(m, labels)[0]} for m in matches
        ],
        "receivers": sorted({m.receiver for m in matches}),
        "silenced_by": None if s is None else s.to_dict(),
        "inhibited": inhibited(labels, ctx["open"], ctx["rules"]),
        "reason": "no routing config and no monitor route: nothing would be sent"
        if not matches else f"routed to {', '.join(sorted({m.receiver for m in matches}))}",
    }  # fmt: skip
