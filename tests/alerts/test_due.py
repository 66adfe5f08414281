"""The due stage as table-driven pure decisions with a pinned ``now``."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.alerts import MonitorSpec
from driftline.alerts._due import clock_went_back, judged_already, next_due

T = 1_795_600_800.0  # 2026-11-25 10:00 UTC, an hour boundary
H = 3600.0


def spec(**kw: Any) -> MonitorSpec:
    return MonitorSpec.model_validate(
        {"name": "v", "project": "p", "model": "m", "signal": {"kind": "volume"},
         "condition": {"kind": "threshold", "op": "<", "value": 1}, **kw}
    )  # fmt: skip


def row(last_evaluated_at: float | None = None, last_window_end: float | None = None,
        dirty: bool = False) -> dict[str, Any]:  # fmt: skip
    return {"last_evaluated_at": last_evaluated_at, "last_window_end": last_window_end,
            "dirty": dirty}  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "now", "expected"),
    [
        (row(), T, None),
        (row(last_evaluated_at=T), T, None),
        (row(last_evaluated_at=T), T - 1, "clock went backwards"),
    ],
)
def test_clock_went_back(stored: dict[str, Any], now: float, expected: str | None) -> None:
    why = clock_went_back(stored, now)
    assert why == expected if expected is None else why is not None and why.startswith(expected)


@pytest.mark.parametrize(
    ("stored", "now", "judged"),
    [
        (row(), T + 10, False),  # never judged
        (row(last_window_end=T), T + 10, True),  # the window ending at T was decided
        (row(last_window_end=T, dirty=True), T + 10, False),  # ingest marked it: judge again
        (row(last_window_end=T), T + H + 10, False),  # the next window is complete
        (row(last_window_end=T - H), T + 10, False),
    ],
)
def test_judged_already(stored: dict[str, Any], now: float, judged: bool) -> None:
    why = judged_already(stored, spec(), now)
    assert (why is not None) == judged
    if judged:
        assert why == f"window ending {T:.0f} was judged already; next window not complete"


@pytest.mark.parametrize(
    ("kw", "now", "decided", "expected"),
    [
        ({}, T + 10, None, T + 60),  # the default schedule: every minute
        ({"schedule": "5m"}, T + 10, None, T + 300),
        ({"schedule": "5m"}, T + 10, T, T + H),  # not before the next window is complete
        ({"schedule": "on_ingest"}, T + 10, None, T + H),
        (
            {"window": {"size": "1h", "kind": "sliding", "step": "15m"}, "schedule": "on_ingest"},
            T + 10,
            None,
            T + 900,
        ),
    ],
)
def test_next_due(kw: dict[str, Any], now: float, decided: float | None, expected: float) -> None:
    assert next_due(spec(**kw), now, decided) == expected
