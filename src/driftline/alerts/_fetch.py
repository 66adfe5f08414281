"""Fetch: read each due monitor's series and judge it, in a few threads, sharing reads.

For each monitor of a pass, :func:`judge` reads the windows it needs at
``now`` (the judged one and the history its condition looks back on; after
downtime also the missed windows, whose results are backfilled, at most
:data:`BACKFILL_WINDOWS`) through the read-series stage (:mod:`._series`) and
judges them (:mod:`._judge`). :func:`judge_all` runs that in a small thread
pool: the store reads of a pass are shared (:class:`PassQuery`: monitors of
one model that need the same windows read them once), a monitor that raises
gets its error as the outcome, and one that runs past the time budget is
abandoned for this pass, so a slow monitor delays the others by at most that.

Example
-------
>>> from driftline.alerts._spec import MonitorSpec
>>> from driftline.store import QueryService, Store
>>> store = Store.open("sqlite://")
>>> spec = MonitorSpec(name="v", project="p", model="m", signal={"kind": "volume"},
...                    condition={"kind": "threshold", "op": "<", "value": 1})
>>> ev, backfill = judge(QueryService(store), spec, now=1_800_000_000.0)
>>> ev.firing is None, backfill
(True, [])
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

from driftline.alerts._judge import _COUNTS, alert_labels, evaluate, evaluate_expression
from driftline.alerts._model import Evaluation
from driftline.alerts._series import reference_series, signal_series, unsupported
from driftline.alerts._spec import ChangeCondition, MonitorSpec
from driftline.alerts._windows import grid_align, grid_problem, latest_window_end
from driftline.errors import NotFoundError

if TYPE_CHECKING:
    from driftline.store import Store

__all__ = ["BACKFILL_WINDOWS", "HISTORY_WINDOWS", "Judged", "PassQuery", "judge", "judge_all"]

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
    query: Any,
    spec: MonitorSpec,
    now: float,
    *,
    judged_until: float | None = None,
) -> tuple[Evaluation, list[Evaluation]]:
    """Fetch the monitor's series and evaluate it at ``now`` (no writes).

    Returns the evaluation of the latest complete window and, when
    ``judged_until`` (the end of the last window judged) leaves windows out,
    the evaluations of those missed windows (at most :data:`BACKFILL_WINDOWS`,
    newest kept), for the result series only. ``query`` reads the store: a
    ``QueryService``, or a :class:`PassQuery` shared by the monitors of a pass.

    Windows end on ``align + k * step`` (:func:`latest_window_end`); each judged
    window is read from the grid of ``size``-wide windows that has a window ending
    there (:func:`grid_align`), whose earlier windows are its history. A window
    whose ``step`` or ``align`` is not a multiple of the store's bucket width is
    undecided, with the reason.
    """
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


Judged = tuple[Evaluation | None, list[Evaluation], str | None, float]
"""(evaluation, backfilled evaluations, error, seconds) of one monitor in one pass."""


def judge_all(
    store: Store,
    query: Any,
    plans: Sequence[tuple[Mapping[str, Any], MonitorSpec]],
    now: float,
    *,
    timeout: float,
) -> dict[int, Judged]:
    """Read and judge the planned ``(monitor row, spec)`` in threads, by monitor id.

    A monitor that raises gets its error; one that runs past ``timeout``
    seconds is abandoned for this pass. An in-memory SQLite store (one
    connection) is read by one thread.
    """
    if not plans:
        return {}
    url = store.engine.url
    memory = store.dialect == "sqlite" and url.database in (None, "", ":memory:")
    pool = cf.ThreadPoolExecutor(max_workers=1 if memory else min(MAX_WORKERS, len(plans)))
    started: dict[int, float] = {}
    shared = PassQuery(query)

    def work(row: Mapping[str, Any], spec: MonitorSpec) -> tuple[Evaluation, list[Evaluation]]:
        started[row["id"]] = time.monotonic()
        until = None if row["dirty"] else row["last_window_end"]
        return judge(shared, spec, now, judged_until=until)

    futures = {pool.submit(work, row, spec): row["id"] for row, spec in plans}
    try:
        return _collect(futures, started, timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _collect(
    futures: Mapping[cf.Future[tuple[Evaluation, list[Evaluation]]], int],
    started: Mapping[int, float],
    budget: float,
) -> dict[int, Judged]:
    """Wait for the monitors' futures; abandon those that run past ``budget`` seconds."""
    results: dict[int, Judged] = {}
    pending = set(futures)
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
    return results
