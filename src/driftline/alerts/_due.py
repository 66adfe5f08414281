"""Due stage: which monitors are judged at ``now``, and when each is due next.

A monitor is due when its ``next_due_at`` has come, or when ingest marked it
(``on_ingest`` monitors, see ``AlertService.mark_ingest``); the store query
that finds them is ``_repo.due_monitors``. Of those, :func:`clock_went_back`
and :func:`judged_already` say which are left out of the pass and why: a
clock that went backwards, or a
scheduled monitor whose latest complete window was judged already (a window
decided once is not judged again; an undecided one is retried on the
schedule). Monitors marked by ingest are judged at once, even when their window
was judged before: new rows may change the verdict.

Example
-------
>>> from driftline.alerts._spec import MonitorSpec
>>> spec = MonitorSpec(name="v", project="p", model="m", signal={"kind": "volume"},
...                    condition={"kind": "threshold", "op": "<", "value": 1})
>>> row = {"last_evaluated_at": 7200.0, "last_window_end": 7200.0, "dirty": False}
>>> judged_already(row, spec, now=7300.0)
'window ending 7200 was judged already; next window not complete'
>>> next_due(spec, now=7300.0, decided_end=7200.0)
10800.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from driftline.alerts._spec import MonitorSpec
from driftline.alerts._windows import latest_window_end

__all__ = ["clock_went_back", "judged_already", "next_due"]


def clock_went_back(row: Mapping[str, Any], now: float) -> str | None:
    """Why a due monitor is not judged at ``now`` that is before its last evaluation, or None.

    ``row`` is the monitor's stored schedule (``last_evaluated_at``).
    """
    last = row["last_evaluated_at"]
    if last is not None and now < last:
        return f"clock went backwards: now {now:.3f} is before the last evaluation {last:.3f}"
    return None


def judged_already(row: Mapping[str, Any], spec: MonitorSpec, now: float) -> str | None:
    """Why a due monitor whose latest complete window was decided is not judged again, or None.

    ``row`` is the monitor's stored schedule: ``last_window_end`` (end of the
    last window decided) and ``dirty`` (marked by ingest: judged anyway).
    """
    done_end = row["last_window_end"]
    if (
        not row["dirty"]
        and done_end is not None
        and latest_window_end(spec.window, now) <= done_end
    ):
        return f"window ending {done_end:.0f} was judged already; next window not complete"
    return None


def next_due(spec: MonitorSpec, now: float, decided_end: float | None) -> float:
    """When the monitor is due again after a pass at ``now``.

    Scheduled monitors are due at the next multiple of their schedule;
    ``on_ingest`` monitors when their next window step completes. Never before
    the window after ``decided_end`` (the last window decided) is complete.
    """
    step = spec.window.step_seconds  # a sliding monitor judges a new window every step
    if spec.schedule == "on_ingest":
        nxt = latest_window_end(spec.window, now) + step
    else:
        every = float(spec.schedule)
        nxt = math.floor(now / every) * every + every
    if decided_end is not None:
        nxt = max(nxt, decided_end + step)  # the next window is not complete before then
    return float(nxt)
