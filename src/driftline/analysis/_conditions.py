"""Conditions over a report's results, and the test suite that runs them.

A condition is a named check of one result of a :class:`~driftline.analysis.Report`
(drift, quality or performance); a suite runs a list of them and passes when every
check passes. Build conditions with the factories below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftline.analysis._results import json_number
from driftline.errors import InputError

if TYPE_CHECKING:
    from driftline.analysis._report import Report

__all__ = [
    "CheckResult",
    "Condition",
    "SuiteResult",
    "TestSuite",
    "column_not_drifted",
    "max_drift_share",
    "max_metric_drop",
    "max_missing_rate",
    "min_metric",
    "no_dataset_drift",
    "no_new_categories",
]


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one condition.

    Attributes
    ----------
    name : str
        The condition, e.g. ``"max_drift_share(0.3)"``.
    passed : bool
    value : Any
        What was measured (``None`` when it could not be).
    expected : str
        What the condition asks for, e.g. ``"≤ 0.3"``.
    reason : str
        One line saying why it passed or failed.
    """

    name: str
    passed: bool
    value: Any
    expected: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "name": self.name,
            "passed": self.passed,
            "value": _json_value(self.value),
            "expected": self.expected,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SuiteResult:
    """All checks of a suite; ``passed`` when every check passed."""

    passed: bool
    checks: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "passed": self.passed,
            "n_checks": len(self.checks),
            "n_failed": len(self.failed),
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class Condition:
    """A named check of a report: ``condition(report) -> CheckResult``."""

    name: str
    check: Callable[[Report], CheckResult]

    def __call__(self, report: Report) -> CheckResult:
        """Evaluate the condition on ``report``."""
        return self.check(report)


def _fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise InputError(f"{name}: expected a number in [0, 1], got {value!r}")
    return float(value)


def _columns(columns: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        return (columns,)
    return tuple(columns)


def no_dataset_drift() -> Condition:
    """Pass when the dataset-level drift verdict is "no drift".

    Examples
    --------
    >>> no_dataset_drift().name
    'no_dataset_drift()'
    """
    name = "no_dataset_drift()"

    def check(report: Report) -> CheckResult:
        dd = report.dataset_drift
        return CheckResult(name, not dd.drifted, dd.share_drifted, "no dataset drift", dd.reason)

    return Condition(name, check)


def max_drift_share(share: float) -> Condition:
    """Pass when at most ``share`` of the feature columns drifted (``share`` in [0, 1]).

    Examples
    --------
    >>> max_drift_share(0.3).name
    'max_drift_share(0.3)'
    """
    limit = _fraction("share", share)
    name = f"max_drift_share({limit:g})"

    def check(report: Report) -> CheckResult:
        dd = report.dataset_drift
        value = dd.share_drifted
        if value is None:
            return CheckResult(name, False, None, f"≤ {limit:g}", f"not computable: {dd.reason}")
        ok = value <= limit
        verb = "≤" if ok else ">"
        reason = f"{dd.n_drifted} of {dd.n_columns} columns drifted: {value:.3g} {verb} {limit:g}"
        return CheckResult(name, ok, value, f"≤ {limit:g}", reason)

    return Condition(name, check)


def column_not_drifted(column: str) -> Condition:
    """Pass when ``column`` was checked and did not drift.

    A column whose drift could not be computed fails the check (its reason says why).

    Examples
    --------
    >>> column_not_drifted("age").name
    "column_not_drifted('age')"
    """
    if not isinstance(column, str):
        raise InputError(f"column: expected a column name, got {column!r}")
    name = f"column_not_drifted({column!r})"

    def check(report: Report) -> CheckResult:
        found = [d for d in report.drift if d.column == column]
        if not found:
            return CheckResult(name, False, None, "no drift", f"column {column!r} not in report")
        d = found[0]
        return CheckResult(name, d.status == "no_drift", d.status, "no_drift", d.reason)

    return Condition(name, check)


def max_missing_rate(rate: float, columns: str | Sequence[str] | None = None) -> Condition:
    """Pass when the current missing rate of each column (or of ``columns``) is at most ``rate``.

    Examples
    --------
    >>> max_missing_rate(0.05, columns=["age"]).name
    "max_missing_rate(0.05, columns=['age'])"
    """
    limit = _fraction("rate", rate)
    cols = _columns(columns)
    name = f"max_missing_rate({limit:g}" + (f", columns={list(cols)!r})" if cols else ")")

    def check(report: Report) -> CheckResult:
        quality = report.quality.columns
        wanted = cols if cols is not None else tuple(quality)
        absent = [c for c in wanted if c not in quality]
        if absent:
            return CheckResult(
                name, False, None, f"≤ {limit:g}", f"columns not in report: {absent}"
            )
        rates = {c: quality[c].missing_rate_current for c in wanted}
        bad = {c: r for c, r in rates.items() if r is not None and r > limit}
        worst = max((r for r in rates.values() if r is not None), default=None)
        if bad:
            shown = ", ".join(f"{c!r} {r:.3g}" for c, r in sorted(bad.items(), key=lambda t: -t[1]))
            return CheckResult(
                name, False, worst, f"≤ {limit:g}", f"missing rate > {limit:g}: {shown}"
            )
        return CheckResult(
            name, True, worst, f"≤ {limit:g}", f"all {len(wanted)} columns ≤ {limit:g}"
        )

    return Condition(name, check)


def no_new_categories(columns: str | Sequence[str] | None = None) -> Condition:
    """Pass when no categorical column (or none of ``columns``) has categories unseen in the reference.

    Examples
    --------
    >>> no_new_categories().name
    'no_new_categories()'
    """
    cols = _columns(columns)
    name = "no_new_categories(" + (f"columns={list(cols)!r})" if cols else ")")

    def check(report: Report) -> CheckResult:
        quality = report.quality.columns
        wanted = cols if cols is not None else tuple(quality)
        absent = [c for c in wanted if c not in quality]
        if absent:
            return CheckResult(name, False, None, "none", f"columns not in report: {absent}")
        new = {c: quality[c].new_categories for c in wanted if quality[c].new_categories}
        if new:
            parts = []
            for c, cats in new.items():
                top = sorted(cats.items(), key=lambda t: -t[1])[:3]
                parts.append(f"{c!r}: " + ", ".join(f"{k!r} ({v})" for k, v in top))
            return CheckResult(name, False, new, "none", "new categories in " + "; ".join(parts))
        return CheckResult(name, True, {}, "none", f"no new categories in {len(wanted)} columns")

    return Condition(name, check)


def _metric_values(report: Report, metric: str) -> tuple[float | None, float | None, str]:
    perf = report.performance
    if perf.status != "computed":
        return None, None, f"performance not computable: {perf.reason}"
    if metric not in perf.current and metric not in perf.reference:
        known = sorted(set(perf.current) | set(perf.reference))
        return None, None, f"metric {metric!r} not in report (known: {', '.join(known)})"
    return perf.reference.get(metric), perf.current.get(metric), ""


def min_metric(metric: str, value: float) -> Condition:
    """Pass when ``metric`` on the current data is at least ``value`` (for higher-is-better metrics).

    Examples
    --------
    >>> min_metric("accuracy", 0.8).name
    "min_metric('accuracy', 0.8)"
    """
    floor = float(value)
    name = f"min_metric({metric!r}, {floor:g})"

    def check(report: Report) -> CheckResult:
        _, cur, why = _metric_values(report, metric)
        if cur is None:
            return CheckResult(name, False, None, f"≥ {floor:g}", why or f"{metric} undefined")
        ok = cur >= floor
        verb = "≥" if ok else "<"
        return CheckResult(name, ok, cur, f"≥ {floor:g}", f"{metric} {cur:.4g} {verb} {floor:g}")

    return Condition(name, check)


def max_metric_drop(metric: str, drop: float) -> Condition:
    """Pass when ``metric`` fell by at most ``drop`` from the reference to the current data.

    For a higher-is-better metric a drop is ``reference - current``.

    Examples
    --------
    >>> max_metric_drop("f1_macro", 0.05).name
    "max_metric_drop('f1_macro', 0.05)"
    """
    limit = float(drop)
    if limit < 0:
        raise InputError(f"drop: expected a non-negative number, got {drop!r}")
    name = f"max_metric_drop({metric!r}, {limit:g})"

    def check(report: Report) -> CheckResult:
        ref, cur, why = _metric_values(report, metric)
        if ref is None or cur is None:
            return CheckResult(name, False, None, f"drop ≤ {limit:g}", why or f"{metric} undefined")
        fell = ref - cur
        ok = fell <= limit + 1e-12
        verb = "≤" if ok else ">"
        reason = f"{metric} {ref:.4g} → {cur:.4g}: drop {fell:.4g} {verb} {limit:g}"
        return CheckResult(name, ok, fell, f"drop ≤ {limit:g}", reason)

    return Condition(name, check)


class TestSuite:
    """Run conditions over a report: pass when all of them pass.

    Parameters
    ----------
    report : Report
        The report whose results the conditions check.
    conditions : sequence of Condition
        Built with the factories of this module, e.g. ``max_drift_share(0.3)``.

    Examples
    --------
    >>> from driftline.analysis import Report
    >>> import numpy as np
    >>> ref = {"x": np.arange(200.0)}
    >>> suite = TestSuite(Report(ref, ref), [no_dataset_drift(), max_drift_share(0.5)])
    >>> suite.result.passed, len(suite.result.checks)
    (True, 2)
    """

    __test__ = False  # not a pytest test class

    def __init__(self, report: Report, conditions: Sequence[Condition]) -> None:
        conds = list(conditions)
        for i, cond in enumerate(conds):
            if not isinstance(cond, Condition):
                raise InputError(
                    f"conditions[{i}]: expected a Condition "
                    f"(e.g. max_drift_share(0.3)), got {type(cond).__name__}"
                )
        self.report = report
        self.conditions = conds
        self._result: SuiteResult | None = None

    @property
    def result(self) -> SuiteResult:
        """The suite's result (computed once)."""
        if self._result is None:
            checks = [cond(self.report) for cond in self.conditions]
            self._result = SuiteResult(all(c.passed for c in checks), checks)
        return self._result

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return self.result.passed

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON with the suite's result under ``"tests"``."""
        out = self.report.to_dict()
        out["tests"] = self.result.to_dict()
        return out

    def html(self) -> str:
        """The report's HTML with the suite's checks at the top."""
        return self.report._render_html(self.result)

    def save_html(self, path: str | Path) -> None:
        """Write :meth:`html` to ``path``."""
        Path(path).write_text(self.html(), encoding="utf-8")
