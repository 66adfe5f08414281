"""Judge stage: a monitor's condition over its window series at ``now``, with a reason.

:func:`evaluate` judges the last *complete* window (``end <= now``), or, for an
``on_ingest`` monitor, the running window that holds ``now`` (so an alert follows
the ingest that caused it within a scheduler tick; volume, which a partial
window understates, still waits for the window to complete). It first
checks that there is data (the value could be computed, the window has at
least ``min_samples`` samples, label coverage reaches ``min_label_coverage``),
and only then applies the condition. When it cannot decide it says so with
``firing=None`` and a reason; it never reports "no data" as "all is well".

Example
-------
>>> from driftline.alerts._model import Point, Series
>>> from driftline.alerts._spec import MonitorSpec
>>> spec = MonitorSpec.model_validate({
...     "name": "income-drift", "project": "loans", "model": "scorer",
...     "signal": {"kind": "drift", "column": "income"},
...     "condition": {"kind": "threshold", "op": ">", "value": 0.1}})
>>> t = 1795600800.0  # 2026-11-25 10:00 UTC
>>> ev = evaluate(spec, Series.of([Point(t, t + 3600, 0.31, n=5000)]), now=t + 3700)
>>> ev.firing, ev.reason
(True, "drift of 'income' (jensen_shannon) 0.31 > 0.1 in window 2026-11-25 10:00–11:00 (n=5000)")
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from statistics import fmean, median

from driftline.alerts._duration import format_duration, format_window
from driftline.alerts._expression import compute_expression, parse_expression
from driftline.alerts._model import Evaluation, Point, Series
from driftline.alerts._signals_spec import ExpressionSignal
from driftline.alerts._spec import (
    ANOMALY_MIN_HISTORY,
    AnomalyCondition,
    ChangeCondition,
    MonitorSpec,
    ThresholdCondition,
)
from driftline.errors import InputError

__all__ = [
    "COUNT_SIGNALS",
    "MAD_SCALE",
    "alert_labels",
    "combine_expression",
    "evaluate",
    "evaluate_expression",
]

#: Factor that turns a median absolute deviation into a standard deviation for normal data.
MAD_SCALE = 1.4826
#: Smallest spread an anomaly check uses, as a share of ``|median|``, so a flat
#: history does not turn a tiny wobble into an infinite z.
MIN_SPREAD_SHARE = 0.01

#: Signals that count a window's rows: an anomaly check's spread is at least the square
#: root of the median count (Poisson noise), so the ordinary variation of a low-volume model
#: (54 predictions in an hour whose last nine had a median of 40, MAD 2) is no anomaly.
COUNT_SIGNALS = frozenset({"volume"})

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_NOT = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def alert_labels(spec: MonitorSpec) -> dict[str, str]:
    """The identity labels of the monitor's alert.

    ``alertname`` (the monitor's name), ``project``, ``model`` and ``version``
    when set, ``severity``, then the monitor's own ``labels``.

    Examples
    --------
    >>> spec = MonitorSpec.model_validate({"name": "vol", "project": "p", "model": "m",
    ...     "signal": {"kind": "volume"}, "condition": {"kind": "threshold", "value": 1},
    ...     "labels": {"team": "risk"}})
    >>> alert_labels(spec)
    {'alertname': 'vol', 'project': 'p', 'model': 'm', 'severity': 'warning', 'team': 'risk'}
    """
    out = {"alertname": spec.name, "project": spec.project}
    if spec.model is not None:
        out["model"] = spec.model
    if spec.version is not None:
        out["version"] = spec.version
    out["severity"] = spec.severity
    out.update(spec.labels)
    return out


def _num(x: float) -> str:
    return f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


_COUNTS = frozenset({"volume"})
"""Signals whose value grows with the window's length: judged on complete windows only."""


def evaluate(
    spec: MonitorSpec, series: Series, now: float, *, baseline: Series | None = None
) -> Evaluation:
    """Judge the last complete window of ``series`` at ``now`` against ``spec``.

    Parameters
    ----------
    spec : MonitorSpec
        The monitor.
    series : Series
        The signal's windows, oldest first, including the history that
        ``change`` (previous / rolling) and ``anomaly`` conditions look back on.
    now : float
        The evaluation time, epoch seconds. Windows that end after ``now`` are
        not complete and are ignored, except by ``on_ingest`` monitors of signals
        other than volume, which judge the running window too (with the same
        ``min_samples`` gate).
    baseline : Series, optional
        For ``baseline: reference``: the reference's value(s) of the signal (their
        mean is used). For ``previous``/``rolling`` and ``anomaly``: a separate
        history to use instead of ``series``.

    Returns
    -------
    Evaluation
        ``firing`` is ``True``/``False`` when the condition could be judged, and
        ``None`` (with a reason) when there is no complete window, the latest
        complete window is older than one window step (no data since), the value
        is missing, ``n < min_samples``, label coverage is below
        ``min_label_coverage``, or the baseline/history is too short.
    """
    labels = alert_labels(spec)
    desc = spec.signal.describe()
    point = _judged_point(spec, series, now)
    if point is None:
        reason = f"{desc}: no complete window at {format_window(now, now)[:16]} yet"
        return _undecided(spec, now, None, reason, labels)
    where = f"in window {format_window(point.start, point.end)}"
    why = _not_decidable(spec, point, now, desc, where)
    if why is not None:
        return _undecided(spec, now, point, why, labels)
    value = float(point.value if point.value is not None else math.nan)
    cond = spec.condition
    history = baseline if baseline is not None and spec.baseline.kind != "reference" else series
    if isinstance(cond, ThresholdCondition):
        firing = _OPS[cond.op](value, cond.value)
        shown = cond.op if firing else f"not {cond.op}"
        sep = " " if firing else ", "
        reason = f"{desc} {_num(value)}{sep}{shown} {_num(cond.value)} {where} (n={point.n})"
        return _judged(spec, now, point, cond.value, firing, reason, labels)
    if isinstance(cond, ChangeCondition):
        return _change(spec, cond, point, history, baseline, now, labels, desc, where)
    return _anomaly(spec, cond, point, history, now, labels, desc, where)


def _judged_point(spec: MonitorSpec, series: Series, now: float) -> Point | None:
    """The window judged at ``now``: the latest complete one (or running, see evaluate)."""
    running = spec.schedule == "on_ingest" and spec.signal.kind not in _COUNTS
    done = [p for p in series.points if p.end <= now or (running and p.start <= now)]
    if not done:
        return None
    return max(done, key=lambda p: (p.end, p.start))


def _not_decidable(
    spec: MonitorSpec, point: Point, now: float, desc: str, where: str
) -> str | None:
    """Why ``point`` cannot be judged (stale, no value, too few samples or labels), or None."""
    step = spec.window.step_seconds
    if spec.signal.kind != "training":
        align = spec.window.align
        expected_end = align + math.floor((now - align) / step) * step
        if point.end <= expected_end - step:
            return (
                f"{desc}: no data since {format_window(point.end, point.end)[:16]} "
                f"(latest window {format_window(point.start, point.end)}, "
                f"expected one ending at {format_window(expected_end, expected_end)[:16]})"
            )
    if point.value is None or not math.isfinite(point.value):
        return f"{desc} could not be computed {where} (n={point.n})"
    noun = spec.signal.sample_noun
    if point.n < spec.min_samples:
        return f"only {point.n} {noun} {where}, need {spec.min_samples}"
    cover = spec.min_label_coverage
    if (
        spec.signal.needs_labels
        and cover is not None
        and point.coverage is not None
        and point.coverage < cover
    ):
        return (
            f"label coverage {_pct(point.coverage)} {where} is below {_pct(cover)} "
            f"(labels may still arrive)"
        )
    return None


def _undecided(
    spec: MonitorSpec, now: float, point: Point | None, reason: str, labels: Mapping[str, str]
) -> Evaluation:
    return Evaluation(
        monitor=spec.name,
        at=now,
        window_start=point.start if point else None,
        window_end=point.end if point else None,
        value=point.value if point else None,
        threshold=None,
        firing=None,
        reason=reason,
        p_value=point.p_value if point else None,
        n=point.n if point else 0,
        labels=labels,
    )


def _judged(
    spec: MonitorSpec,
    now: float,
    point: Point,
    threshold: float | None,
    firing: bool,
    reason: str,
    labels: Mapping[str, str],
) -> Evaluation:
    return Evaluation(
        monitor=spec.name,
        at=now,
        window_start=point.start,
        window_end=point.end,
        value=point.value,
        threshold=threshold,
        firing=firing,
        reason=reason,
        p_value=point.p_value,
        n=point.n,
        labels=labels,
    )


def _earlier(points: Series, point: Point, min_samples: int) -> list[Point]:
    return [
        p
        for p in points.points
        if p.end <= point.start
        and p.value is not None
        and math.isfinite(p.value)
        and p.n >= min_samples
    ]


def _change(
    spec: MonitorSpec,
    cond: ChangeCondition,
    point: Point,
    history: Series,
    baseline: Series | None,
    now: float,
    labels: Mapping[str, str],
    desc: str,
    where: str,
) -> Evaluation:
    kind = spec.baseline.kind
    unknown_base: str | None = None
    if kind == "reference":
        ref = [p.value for p in (baseline.points if baseline else ()) if p.value is not None]
        base = fmean(ref) if ref else None
        what = "the reference"
        if base is None:
            unknown_base = f"{desc}: no reference value to compare with {where}"
    elif kind == "previous":
        before = _earlier(history, point, spec.min_samples)
        base = before[-1].value if before else None
        what = "the previous window"
        if base is None:
            unknown_base = f"{desc}: no previous window with data before the one {where}"
    else:
        before = _earlier(history, point, spec.min_samples)[-spec.baseline.windows :]
        need = max(1, math.ceil(spec.baseline.windows / 2))
        base = fmean([p.value for p in before if p.value is not None]) if before else None
        what = f"the mean of the {len(before)} windows before"
        if len(before) < need:
            unknown_base = (
                f"{desc}: only {len(before)} earlier windows with data before the one {where}, "
                f"need {need} of {spec.baseline.windows} for a rolling baseline"
            )
    if unknown_base is not None or base is None:
        return _undecided(spec, now, point, unknown_base or "", labels)
    value = float(point.value if point.value is not None else math.nan)
    delta = value - base
    rel = math.inf if base == 0 and delta != 0 else (0.0 if base == 0 else delta / abs(base))
    sign = {"up": 1.0, "down": -1.0}.get(cond.direction)
    moved = abs(delta) if sign is None else sign * delta
    moved_rel = abs(rel) if sign is None else sign * rel
    firing = (cond.relative is None or moved_rel >= cond.relative) and (
        cond.absolute is None or moved >= cond.absolute
    )
    # The bound the value had to cross, in the direction it moved (or the one watched).
    up = (sign or (1.0 if delta >= 0 else -1.0)) > 0
    steps = [abs(base) * cond.relative] if cond.relative is not None else []
    steps += [cond.absolute] if cond.absolute is not None else []
    threshold = base + max(steps) if up else base - max(steps)
    dirword = "above" if delta >= 0 else "below"
    change = f"{_pct(abs(rel))}" if math.isfinite(rel) else "infinitely"
    limit = " and ".join(
        ([f"{_pct(cond.relative)}"] if cond.relative is not None else [])
        + ([f"{_num(cond.absolute)} absolute"] if cond.absolute is not None else [])
    )
    watch = {"up": " up", "down": " down"}.get(cond.direction, "")
    verdict = "exceeds" if firing else "within"
    reason = (
        f"{desc} {_num(value)} is {change} {dirword} {what} ({_num(base)}): {verdict} the "
        f"limit of {limit}{watch} {where} (n={point.n})"
    )
    return _judged(spec, now, point, threshold, firing, reason, labels)


def _anomaly(
    spec: MonitorSpec,
    cond: AnomalyCondition,
    point: Point,
    history: Series,
    now: float,
    labels: Mapping[str, str],
    desc: str,
    where: str,
) -> Evaluation:
    earlier = [
        p
        for p in _earlier(history, point, spec.min_samples)
        if p.start >= point.start - cond.history
    ]
    season = cond.seasonality
    if season:
        tol = 1e-6 * max(1.0, season)
        earlier = [
            p
            for p in earlier
            if min((point.start - p.start) % season, season - (point.start - p.start) % season)
            <= tol
        ]
    phase = f" at the same phase of {format_duration(season)}" if season else ""
    if len(earlier) < ANOMALY_MIN_HISTORY:
        why = (
            f"{desc}: only {len(earlier)} earlier windows{phase} in the last "
            f"{format_duration(cond.history)} before the one {where}, need {ANOMALY_MIN_HISTORY}"
        )
        return _undecided(spec, now, point, why, labels)
    values = [p.value for p in earlier if p.value is not None]
    centre = median(values)
    mad = median([abs(v - centre) for v in values])
    spread = max(MAD_SCALE * mad, MIN_SPREAD_SHARE * abs(centre))
    floor = ""
    if spec.signal.kind in COUNT_SIGNALS and math.sqrt(abs(centre)) > spread:
        # a count varies by about its square root (Poisson) whatever a short history's MAD says
        spread = math.sqrt(abs(centre))
        floor = f", spread at least the count's Poisson noise {_num(spread)}"
    value = float(point.value if point.value is not None else math.nan)
    if spread == 0:
        z = 0.0 if value == centre else math.copysign(math.inf, value - centre)
    else:
        z = (value - centre) / spread
    if cond.direction == "up":
        firing, threshold = z >= cond.z, centre + cond.z * spread
    elif cond.direction == "down":
        firing, threshold = -z >= cond.z, centre - cond.z * spread
    else:
        firing = abs(z) >= cond.z
        threshold = centre + math.copysign(cond.z * spread, z if z else 1.0)
    side = "above" if z >= 0 else "below"
    zs = f"{abs(z):.3g}" if math.isfinite(z) else "infinitely many"
    verdict = ">=" if firing else "<"
    reason = (
        f"{desc} {_num(value)} is {zs} robust z {side} its median {_num(centre)} over "
        f"{len(values)} earlier windows{phase}{floor} ({verdict} z={cond.z:g}) {where} "
        f"(n={point.n})"
    )
    return _judged(spec, now, point, threshold, firing, reason, labels)


def combine_expression(spec: MonitorSpec, inputs: Mapping[str, Series]) -> Series:
    """The series of an ``expression`` monitor, computed window by window from its inputs.

    Windows are matched on ``(start, end)``; a window missing from any input, or
    where an input has no value, has no value. Each window's ``n`` is the
    smallest ``n`` of its inputs.

    Raises
    ------
    InputError
        When ``spec`` is not an expression monitor or an input series is missing.

    Examples
    --------
    >>> spec = MonitorSpec.model_validate({"name": "ctr", "project": "p", "model": "m",
    ...     "signal": {"kind": "expression", "expr": "c / v",
    ...                "inputs": {"c": {"kind": "business_rate", "event": "click"},
    ...                           "v": {"kind": "volume"}}},
    ...     "condition": {"kind": "threshold", "op": "<", "value": 0.01}})
    >>> s = combine_expression(spec, {"c": Series.of([Point(0, 60, 5.0, n=500)]),
    ...                               "v": Series.of([Point(0, 60, 500.0, n=500)])})
    >>> s.last()
    Point(start=0, end=60, value=0.01, n=500, coverage=None, p_value=None)
    """
    signal = spec.signal
    if not isinstance(signal, ExpressionSignal):
        raise InputError(f"spec: expected an expression monitor, got a {signal.kind} monitor")
    missing = sorted(set(signal.inputs) - set(inputs))
    if missing:
        raise InputError(f"inputs: missing series for {missing} (expression {signal.expr!r})")
    tree = parse_expression(signal.expr)
    by_window: dict[tuple[float, float], dict[str, Point]] = {}
    for name in signal.inputs:
        for p in inputs[name].points:
            by_window.setdefault((p.start, p.end), {})[name] = p
    out = []
    for (start, end), pts in by_window.items():
        n = min((p.n for p in pts.values()), default=0)
        if len(pts) < len(signal.inputs) or any(p.value is None for p in pts.values()):
            out.append(Point(start, end, None, n=n if len(pts) == len(signal.inputs) else 0))
            continue
        values = {k: float(p.value) for k, p in pts.items() if p.value is not None}
        out.append(Point(start, end, compute_expression(tree, values), n=n))
    return Series.of(out)


def evaluate_expression(spec: MonitorSpec, inputs: Mapping[str, Series], now: float) -> Evaluation:
    """:func:`evaluate` an ``expression`` monitor over its named input series.

    Examples
    --------
    >>> spec = MonitorSpec.model_validate({"name": "gap", "project": "p", "model": "m",
    ...     "signal": {"kind": "expression", "expr": "abs(a - b)",
    ...                "inputs": {"a": {"kind": "error_rate"}, "b": {"kind": "error_rate"}}},
    ...     "window": {"size": "1m"}, "min_samples": 0,
    ...     "condition": {"kind": "threshold", "op": ">", "value": 0.1}})
    >>> ev = evaluate_expression(spec, {"a": Series.of([Point(0, 60, 0.3)]),
    ...                                 "b": Series.of([Point(0, 60, 0.1)])}, now=60)
    >>> ev.firing, round(ev.value, 2)
    (True, 0.2)
    """
    return evaluate(spec, combine_expression(spec, inputs), now)
