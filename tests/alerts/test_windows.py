"""Sliding and aligned windows in the engine, over real ingested data, with a pinned clock.

A sliding 6h/1h monitor judges the window that ends at the last full hour, is due
every step and backfills missed steps; a tumbling 1d monitor with ``align: 6h``
judges 06:00 to 06:00; windows off the bucket grid are undecided with a reason.
SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import uuid
import warnings
from typing import Any

import numpy as np

from driftline.alerts._service import AlertService
from driftline.alerts._spec import AlertingConfig
from driftline.profile import profile
from driftline.schema import Schema
from driftline.store import IngestService, Store
from driftline.wire import PredictionsBatch, ReferencePayload

HOUR = 3600.0
DAY = 86_400.0
T0 = 1_800_000_000.0 - (1_800_000_000.0 % DAY)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _rows(rng: np.random.Generator, n: int, shift: float) -> dict[str, list[Any]]:
    return {
        "age": rng.normal(40 + shift, 10, n).round(2).tolist(),
        "city": rng.choice(["oslo", "lima", "pune"], n).tolist(),
    }


def ingest_hour(
    store: Store, rng: np.random.Generator, start: float, n: int, shift: float = 0.0
) -> None:
    IngestService(store, clock=lambda: start).ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            ids=[uuid.uuid4().hex for _ in range(n)],
            timestamps=(start + np.sort(rng.uniform(0, HOUR - 1, n))).tolist(),
            features=_rows(rng, n, shift), predictions=rng.integers(0, 2, n).tolist(),
        )
    )  # fmt: skip


def upload_reference(store: Store, rng: np.random.Generator) -> None:
    ref = _rows(rng, 2000, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(ref)
    IngestService(store, clock=lambda: T0).ingest(
        ReferencePayload(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            profile=profile(ref, schema).to_dict(), schema=schema.to_dict(),
        )
    )  # fmt: skip


def service(store: Store, clock: Clock, *monitors: dict[str, Any]) -> AlertService:
    svc = AlertService(store, clock=clock, rng=random.Random(3))
    base = {"project": "shop", "model": "ranker", "schedule": "1m"}
    svc.apply(
        AlertingConfig.model_validate(
            {"monitors": [{**base, **m} for m in monitors], "receivers": [{"name": "team"}],
             "route": {"receiver": "team"}}
        )
    )  # fmt: skip
    return svc


SLIDING = {"kind": "sliding", "size": "6h", "step": "1h"}


def test_a_sliding_monitor_judges_the_window_ending_at_the_last_full_hour(
    store: Store, rng: np.random.Generator
) -> None:
    sizes = {h: (1000 if h == 8 else 100) for h in range(10)}
    for h, n in sizes.items():
        ingest_hour(store, rng, T0 + h * HOUR, n)
    clock = Clock(T0 + 10 * HOUR + 5)
    svc = service(store, clock, {"name": "busy", "signal": {"kind": "volume"}, "window": SLIDING,
                                 "condition": {"kind": "threshold", "op": ">", "value": 1200}})  # fmt: skip

    [outcome] = svc.evaluate_due().outcomes
    assert (outcome.status, outcome.firing, outcome.event) == ("evaluated", True, "fired")
    [r] = svc.monitor_results("busy")
    assert (r.window_start, r.window_end, r.value) == (T0 + 4 * HOUR, T0 + 10 * HOUR, 1500)
    assert "04:00–10:00" in outcome.reason, outcome.reason
    # due again one step later, not one window later
    assert svc.get_monitor("busy").next_due_at == T0 + 11 * HOUR
    clock.t += 120
    assert svc.evaluate_due().outcomes == ()
    clock.t = T0 + 11 * HOUR + 5
    [outcome] = svc.evaluate_due().outcomes
    assert outcome.event == "still_firing"
    assert svc.monitor_results("busy")[-1].window_start == T0 + 5 * HOUR
    assert svc.monitor_results("busy")[-1].value == 1400  # hours 5-9, hour 10 empty
    # down for three steps: the missed windows (each on its own grid) are backfilled
    clock.t = T0 + 14 * HOUR + 5
    [outcome] = svc.evaluate_due().outcomes
    assert outcome.event == "resolved"
    results = svc.monitor_results("busy")
    assert [(r.window_start, r.window_end) for r in results] == [
        (T0 + (h - 6) * HOUR, T0 + h * HOUR) for h in range(10, 15)
    ]
    expected = [sum(n for h, n in sizes.items() if e - 6 <= h < e) for e in range(10, 15)]
    assert [r.value for r in results] == expected == [1500, 1400, 1300, 1200, 1100]
    assert all(r.reason.startswith("backfilled after downtime") for r in results[2:4])


def test_a_sliding_drift_monitor_reads_its_grid_and_an_on_ingest_one_the_running_window(
    store: Store, rng: np.random.Generator
) -> None:
    upload_reference(store, rng)
    for h in range(12):
        ingest_hour(store, rng, T0 + h * HOUR, 1200 if h == 8 else 200, 25.0 if h == 8 else 0.0)
    clock = Clock(T0 + 9 * HOUR + 5)
    drift = {"signal": {"kind": "drift", "column": "age"},
             "window": {"kind": "sliding", "size": "3h", "step": "1h"},
             "condition": {"kind": "threshold", "op": ">", "value": 0.1}}  # fmt: skip
    svc = service(store, clock, {"name": "age", **drift},
                  {"name": "age-live", **drift, "schedule": "on_ingest"})  # fmt: skip
    run = {o.monitor: o for o in svc.evaluate_due().outcomes}
    assert run["age"].firing is True and run["age-live"].firing is True
    [r] = svc.monitor_results("age")
    assert (r.window_start, r.window_end) == (T0 + 6 * HOUR, T0 + 9 * HOUR)
    [live] = svc.monitor_results("age-live")  # the running window, ending at the next step
    assert (live.window_start, live.window_end) == (T0 + 7 * HOUR, T0 + 10 * HOUR)
    clock.t = T0 + 12 * HOUR + 5  # [09:00, 12:00) is back to normal
    run = {o.monitor: o for o in svc.evaluate_due().outcomes}
    assert run["age"].event == "resolved", run["age"].reason
    assert svc.monitor_results("age")[-1].window_end == T0 + 12 * HOUR


def test_a_daily_monitor_aligned_at_6h_judges_06_00_to_06_00(
    store: Store, rng: np.random.Generator
) -> None:
    for h, n in {5: 7, 6: 11, 20: 13, 29: 17, 30: 19}.items():
        ingest_hour(store, rng, T0 + h * HOUR, n)
    clock = Clock(T0 + 30 * HOUR + 5)
    svc = service(store, clock, {"name": "daily", "signal": {"kind": "volume"},
                                 "window": {"size": "1d", "align": "6h"},
                                 "condition": {"kind": "threshold", "op": "<", "value": 50}})  # fmt: skip
    [outcome] = svc.evaluate_due().outcomes
    assert outcome.firing is True and "06:00" in outcome.reason, outcome.reason
    [r] = svc.monitor_results("daily")
    assert (r.window_start, r.window_end, r.value) == (T0 + 6 * HOUR, T0 + 30 * HOUR, 41)
    assert svc.get_monitor("daily").next_due_at == T0 + 54 * HOUR


def test_windows_off_the_bucket_grid_are_undecided_with_a_reason(
    store: Store, rng: np.random.Generator
) -> None:
    ingest_hour(store, rng, T0, 100)
    clock = Clock(T0 + 2 * HOUR + 5)
    vol = {"signal": {"kind": "volume"}, "condition": {"kind": "threshold", "value": 1}}
    svc = service(
        store, clock,
        {"name": "quarter", **vol, "window": {"kind": "sliding", "size": "1h", "step": "15m"}},
        {"name": "half", **vol, "window": {"size": "1h", "align": "30m"}},
    )  # fmt: skip
    run = {o.monitor: o for o in svc.evaluate_due().outcomes}
    assert run["quarter"].firing is None and run["half"].firing is None
    assert run["quarter"].reason.startswith("window.step 15m: expected a multiple")
    assert run["half"].reason.startswith("window.align 30m: expected a multiple")
