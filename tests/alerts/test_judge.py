"""evaluate(): every condition kind and every "cannot decide" case, table-driven, pinned ``now``."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.alerts import MonitorSpec
from driftline.alerts.decisions import (
    Point,
    Series,
    alert_labels,
    combine_expression,
    evaluate,
    evaluate_expression,
)
from driftline.errors import InputError

H = 3600.0
T = 1795600800.0  # 2026-11-25 10:00 UTC
NOW = T + H + 60  # one minute after the 10:00-11:00 window closed


def spec(**over: Any) -> MonitorSpec:
    data: dict[str, Any] = {
        "name": "m1",
        "project": "loans",
        "model": "scorer",
        "signal": {"kind": "drift", "column": "income"},
        "condition": {"kind": "threshold", "op": ">", "value": 0.1},
    }
    data.update(over)
    return MonitorSpec.model_validate(data)


def hourly(values: list[float | None], *, end: float = T + H, n: int = 1000) -> Series:
    """Hourly points, the last one ending at ``end``."""
    k = len(values)
    return Series.of(
        Point(end - (k - i) * H, end - (k - i - 1) * H, v, n=n) for i, v in enumerate(values)
    )


THRESHOLD = [
    pytest.param(">", 0.1, 0.31, True, "0.31 > 0.1", id="gt-fires"),
    pytest.param(">", 0.1, 0.05, False, "0.05, not > 0.1", id="gt-holds"),
    pytest.param(">", 0.1, 0.1, False, "0.1, not > 0.1", id="gt-boundary"),
    pytest.param(">=", 0.1, 0.1, True, "0.1 >= 0.1", id="ge-boundary"),
    pytest.param("<", 10.0, 3.0, True, "3 < 10", id="lt-fires"),
    pytest.param("<=", 10.0, 10.5, False, "10.5, not <= 10", id="le-holds"),
]


@pytest.mark.parametrize(("op", "bound", "value", "firing", "text"), THRESHOLD)
def test_threshold(op: str, bound: float, value: float, firing: bool, text: str) -> None:
    s = spec(condition={"kind": "threshold", "op": op, "value": bound})
    ev = evaluate(s, hourly([value], n=5000), NOW)
    assert ev.firing is firing and ev.value == value and ev.threshold == bound
    assert ev.reason == (
        f"drift of 'income' (jensen_shannon) {text} in window 2026-11-25 10:00–11:00 (n=5000)"
    )
    assert (ev.window_start, ev.window_end, ev.n, ev.at) == (T, T + H, 5000, NOW)


def test_labels_and_p_value_are_carried() -> None:
    s = spec(version="v2", severity="critical", labels={"team": "risk"})
    pts = Series.of([Point(T, T + H, 0.2, n=500, p_value=0.003)])
    ev = evaluate(s, pts, NOW)
    assert ev.p_value == 0.003
    assert (
        dict(ev.labels)
        == alert_labels(s)
        == {
            "alertname": "m1",
            "project": "loans",
            "model": "scorer",
            "version": "v2",
            "severity": "critical",
            "team": "risk",
        }
    )


UNKNOWN = [
    pytest.param(
        {},
        Series.of([Point(T + H, T + 2 * H, 0.5, n=1000)]),
        "no complete window",
        id="only-incomplete-window",
    ),
    pytest.param({}, Series(), "no complete window", id="empty-series"),
    pytest.param(
        {},
        hourly([0.5], end=T - H),
        "no data since 2026-11-25 09:00",
        id="stale-latest-window",
    ),
    pytest.param({}, hourly([None]), "could not be computed in window", id="value-missing"),
    pytest.param(
        {},
        hourly([0.5], n=40),
        "only 40 predictions in window 2026-11-25 10:00–11:00, need 100",
        id="min-samples",
    ),
    pytest.param(
        {
            "signal": {"kind": "performance", "metric": "accuracy"},
            "condition": {"kind": "threshold", "op": "<", "value": 0.8},
        },
        hourly([0.5], n=40),
        "only 40 labelled predictions in window 2026-11-25 10:00–11:00, need 100",
        id="min-labelled-samples",
    ),
    pytest.param(
        {
            "signal": {"kind": "performance", "metric": "accuracy"},
            "condition": {"kind": "threshold", "op": "<", "value": 0.8},
        },
        Series.of([Point(T, T + H, 0.5, n=400, coverage=0.32)]),
        "label coverage 32% in window 2026-11-25 10:00–11:00 is below 50% (labels may still arrive)",
        id="label-coverage",
    ),
    pytest.param(
        {"condition": {"kind": "change", "relative": 0.5}, "baseline": "previous"},
        hourly([0.5]),
        "no previous window with data",
        id="change-no-previous",
    ),
    pytest.param(
        {"condition": {"kind": "change", "relative": 0.5}, "baseline": "reference"},
        hourly([0.5]),
        "no reference value",
        id="change-no-reference",
    ),
    pytest.param(
        {
            "condition": {"kind": "change", "relative": 0.5},
            "baseline": {"kind": "rolling", "windows": 6},
        },
        hourly([0.1, 0.1, 0.5]),
        "only 2 earlier windows with data before the one in window 2026-11-25 10:00–11:00, "
        "need 3 of 6",
        id="rolling-too-short",
    ),
    pytest.param(
        {"condition": {"kind": "anomaly"}},
        hourly([0.1] * 7 + [0.9]),
        "only 7 earlier windows in the last 7d before the one in window 2026-11-25 10:00–11:00, "
        "need 8",
        id="anomaly-history-too-short",
    ),
]


@pytest.mark.parametrize(("over", "series", "text"), UNKNOWN)
def test_cannot_decide_says_why(over: dict[str, Any], series: Series, text: str) -> None:
    ev = evaluate(spec(**over), series, NOW)
    assert ev.firing is None and ev.threshold is None
    assert text in ev.reason


@pytest.mark.parametrize(
    ("over", "point", "firing"),
    [
        pytest.param(
            {"estimated": True},
            Point(T, T + H, 0.5, n=400, coverage=0.1),
            True,
            id="estimated-ignores-coverage",
        ),
        pytest.param({}, Point(T, T + H, 0.5, n=400, coverage=0.6), True, id="coverage-enough"),
        pytest.param({}, Point(T, T + H, 0.9, n=400, coverage=None), False, id="coverage-unknown"),
    ],
)
def test_performance_with_enough_labels_is_judged(
    over: dict[str, Any], point: Point, firing: bool
) -> None:
    s = spec(
        signal={"kind": "performance", "metric": "accuracy", **over},
        condition={"kind": "threshold", "op": "<", "value": 0.8},
    )
    assert evaluate(s, Series.of([point]), NOW).firing is firing


def test_picks_the_last_complete_window() -> None:
    pts = Series.of(
        [
            Point(T - H, T, 0.5, n=500),
            Point(T, T + H, 0.05, n=500),
            Point(T + H, T + 2 * H, 0.9, n=500),
        ]
    )
    ev = evaluate(spec(), pts, NOW)
    assert (ev.window_start, ev.value, ev.firing) == (T, 0.05, False)
    assert evaluate(spec(), pts, T + 2 * H).value == 0.9  # at its end a window is complete


CHANGE = [
    pytest.param(
        "previous",
        {"relative": 0.3},
        [1000, 1500],
        None,
        True,
        "volume 1500 is 50% above the previous window (1000): exceeds the limit of 30%",
        id="previous-up",
    ),
    pytest.param(
        "previous",
        {"relative": 0.3, "direction": "up"},
        [1000, 500],
        None,
        False,
        "volume 500 is 50% below the previous window (1000): within the limit of 30% up",
        id="previous-down-not-watched",
    ),
    pytest.param(
        "previous",
        {"relative": 0.3, "direction": "down"},
        [1000, 500],
        None,
        True,
        "exceeds the limit of 30% down",
        id="previous-down",
    ),
    pytest.param(
        {"kind": "rolling", "windows": 3},
        {"relative": 0.5},
        [900, 1000, 1100, 1400],
        None,
        False,
        "volume 1400 is 40% above the mean of the 3 windows before (1000)",
        id="rolling-within",
    ),
    pytest.param(
        {"kind": "rolling", "windows": 3},
        {"relative": 0.5},
        [5000, 900, 1000, 1100, 1600],
        None,
        True,
        "60% above the mean of the 3 windows before (1000)",
        id="rolling-uses-last-k",
    ),
    pytest.param(
        "reference",
        {"relative": 0.1, "direction": "down"},
        [720],
        [800.0],
        True,
        "volume 720 is 10% below the reference (800): exceeds",
        id="reference-down",
    ),
    pytest.param(
        "reference",
        {"relative": 1.0, "absolute": 50},
        [60],
        [20.0],
        False,
        "200% above the reference (20): within the limit of 100% and 50 absolute",
        id="relative-and-absolute-both-needed",
    ),
    pytest.param(
        "reference",
        {"relative": 1.0},
        [5],
        [0.0],
        True,
        "volume 5 is infinitely above the reference (0)",
        id="zero-baseline",
    ),
]


@pytest.mark.parametrize(("baseline", "cond", "values", "ref", "firing", "text"), CHANGE)
def test_change(
    baseline: Any,
    cond: dict[str, Any],
    values: list[float],
    ref: list[float] | None,
    firing: bool,
    text: str,
) -> None:
    s = spec(signal={"kind": "volume"}, baseline=baseline, condition={"kind": "change", **cond})
    base = Series.of([Point(0, 1, v, n=10) for v in ref]) if ref is not None else None
    ev = evaluate(s, hourly(values), NOW, baseline=base)
    assert ev.firing is firing
    assert text in ev.reason
    assert ev.threshold is not None


def test_change_skips_earlier_windows_with_too_few_samples() -> None:
    s = spec(baseline="previous", condition={"kind": "change", "relative": 0.5})
    pts = Series.of(
        [
            Point(T - 2 * H, T - H, 0.1, n=500),
            Point(T - H, T, 0.4, n=3),
            Point(T, T + H, 0.2, n=500),
        ]
    )
    ev = evaluate(s, pts, NOW)
    assert ev.firing is True and "previous window (0.1)" in ev.reason


def _daily(end: float, hours: int, last: float) -> Series:
    """Hourly points up to ``end``: 500 (+0..2) by day (08-20 UTC), 50 (+0..2) by night."""
    pts = []
    for i in range(hours):
        start = end - (hours - i) * H
        hour = int((start % 86400) // 3600)
        v = (500.0 if 8 <= hour < 20 else 50.0) + (i % 3)
        pts.append(Point(start, start + H, v, n=1000))
    pts[-1] = Point(pts[-1].start, pts[-1].end, last, n=1000)
    return Series.of(pts)


ANOMALY = [
    pytest.param(
        {},
        [100, 102, 98, 101, 99, 100, 103, 97, 100, 250],
        True,
        "above its median 100",
        id="spike",
    ),
    pytest.param({}, [100, 102, 98, 101, 99, 100, 103, 97, 100, 104], False, "< z=4", id="normal"),
    pytest.param(
        {"direction": "up"},
        [100, 102, 98, 101, 99, 100, 103, 97, 100, 10],
        False,
        "below",
        id="drop-not-watched",
    ),
    pytest.param(
        {"direction": "down"},
        [100, 102, 98, 101, 99, 100, 103, 97, 100, 10],
        True,
        "below",
        id="drop",
    ),
    pytest.param(
        {"z": 10}, [100, 102, 98, 101, 99, 100, 103, 97, 100, 114], False, "< z=10", id="custom-z"
    ),
    pytest.param(
        {},
        [5, 5, 5, 5, 5, 5, 5, 5, 5, 5.01],
        False,
        "over 9 earlier windows",
        id="flat-history-floor",
    ),
    pytest.param(
        {}, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], True, "infinitely many robust z", id="flat-zero-history"
    ),
]


@pytest.mark.parametrize(("cond", "values", "firing", "text"), ANOMALY)
def test_anomaly_against_trailing_history(
    cond: dict[str, Any], values: list[float], firing: bool, text: str
) -> None:
    s = spec(signal={"kind": "volume"}, condition={"kind": "anomaly", **cond})
    ev = evaluate(s, hourly([float(v) for v in values]), NOW)
    assert ev.firing is firing, ev.reason
    assert text in ev.reason


@pytest.mark.parametrize(
    ("signal", "last", "firing"),
    [
        # a low-volume model: 54 in an hour against a median of 40 is Poisson noise (z 2.2)
        pytest.param({"kind": "volume"}, 54.0, False, id="count-within-poisson-noise"),
        pytest.param({"kind": "volume"}, 10.0, True, id="count-drop"),
        pytest.param({"kind": "volume"}, 80.0, True, id="count-doubled"),
        # not a count: the history's own MAD (1.48 * 2) decides, and 54 is far out
        pytest.param({"kind": "latency", "quantile": 0.99}, 54.0, True, id="not-a-count"),
    ],
)
def test_anomaly_of_a_count_is_judged_against_its_poisson_noise(
    signal: dict[str, Any], last: float, firing: bool
) -> None:
    values = [40, 38, 42, 44, 40, 36, 41, 39, 40, last]
    s = spec(signal=signal, condition={"kind": "anomaly"})
    ev = evaluate(s, hourly([float(v) for v in values]), NOW)
    assert ev.firing is firing, ev.reason
    assert ("Poisson noise 6.32" in ev.reason) is (signal["kind"] == "volume")


@pytest.mark.parametrize(
    ("last", "seasonal", "firing"),
    [
        pytest.param(51.0, True, False, id="seasonal-night-normal"),
        pytest.param(500.0, False, False, id="no-seasonality-misses-day-level-at-night"),
        pytest.param(500.0, True, True, id="seasonal-day-level-at-night"),
    ],
)
def test_anomaly_with_seasonality(last: float, seasonal: bool, firing: bool) -> None:
    end = T - 7 * H  # the judged window is 02:00-03:00, a night hour
    series = _daily(end, 24 * 10, last=last)
    cond: dict[str, Any] = {"kind": "anomaly", "history": "10d"}
    if seasonal:
        cond["seasonality"] = "1d"
    s = spec(
        signal={"kind": "volume"}, condition={**cond, "history": "2d"} if not seasonal else cond
    )
    ev = evaluate(s, series, end + 60)
    assert ev.firing is firing, ev.reason
    if seasonal:
        assert "at the same phase of 1d" in ev.reason and "over 9 earlier windows" in ev.reason


def test_sliding_windows_and_alignment() -> None:
    s = spec(window={"kind": "sliding", "size": "1h", "step": "15m"})
    pts = Series.of(Point(T + i * 900 - H, T + i * 900, 0.2, n=500) for i in range(5))
    ev = evaluate(s, pts, T + 4 * 900 + 10)
    assert ev.window_end == T + 3600 and ev.firing is True
    stale = evaluate(s, pts, T + 6 * 900 + 10)
    assert stale.firing is None and "no data since" in stale.reason


def test_training_monitors_have_no_staleness_check() -> None:
    s = spec(
        model=None,
        signal={"kind": "training", "metric": "loss"},
        condition={"kind": "threshold", "op": ">", "value": 2},
    )
    ev = evaluate(s, Series.of([Point(T, T + 60, 3.0, n=1)]), T + 30 * 86400)
    assert ev.firing is True and "training 'loss' 3 > 2" in ev.reason


EXPR = {
    "signal": {
        "kind": "expression",
        "expr": "clicks / views",
        "inputs": {
            "clicks": {"kind": "business_rate", "event": "click"},
            "views": {"kind": "volume"},
        },
    },
    "condition": {"kind": "threshold", "op": "<", "value": 0.02},
}


def test_expression_monitor() -> None:
    s = spec(**EXPR)
    clicks = Series.of([Point(T - H, T, 30.0, n=1500), Point(T, T + H, 10.0, n=1000)])
    views = Series.of([Point(T - H, T, 1500.0, n=1500), Point(T, T + H, 1000.0, n=1000)])
    ev = evaluate_expression(s, {"clicks": clicks, "views": views}, NOW)
    assert ev.firing is True and ev.value == pytest.approx(0.01) and ev.n == 1000
    combined = combine_expression(s, {"clicks": clicks, "views": Series.of(views.points[:1])})
    assert [p.value for p in combined.points] == [pytest.approx(0.02), None]
    zero = combine_expression(
        s, {"clicks": clicks, "views": Series.of([Point(T, T + H, 0.0, n=5)])}
    )
    assert zero.last() == Point(T, T + H, None, n=5)


def test_expression_needs_its_inputs() -> None:
    with pytest.raises(InputError, match=r"inputs: missing series for \['views'\]"):
        combine_expression(spec(**EXPR), {"clicks": Series()})
    with pytest.raises(InputError, match="expected an expression monitor"):
        combine_expression(spec(), {})


@pytest.mark.parametrize(
    ("schedule", "kind", "now_offset", "expected"),
    [
        ("on_ingest", "error_rate", 600.0, True),  # the running window is judged at once
        ("5m", "error_rate", 600.0, None),  # a scheduled monitor waits for the window to end
        ("on_ingest", "volume", 600.0, None),  # volume: a partial window understates it
        ("on_ingest", "error_rate", 3700.0, True),  # next hour, still empty: the complete one
    ],
    ids=["on-ingest-running", "scheduled-waits", "volume-waits", "next-hour-judges-complete"],
)
def test_on_ingest_monitors_judge_the_running_window(
    schedule: str, kind: str, now_offset: float, expected: bool | None
) -> None:
    t = 1_795_600_800.0
    spec = MonitorSpec.model_validate(
        {
            "name": "live", "project": "p", "model": "m", "schedule": schedule,
            "signal": {"kind": kind}, "min_samples": 10,
            "condition": {"kind": "threshold", "op": ">", "value": 0.05},
        }
    )  # fmt: skip
    value = 0.3 if kind == "error_rate" else 300.0
    series = Series.of([Point(t, t + 3600, value, n=300)])
    ev = evaluate(spec, series, now=t + now_offset)
    assert ev.firing is expected, ev.reason
    if expected:
        assert ev.window_start == t and ev.window_end == t + 3600
