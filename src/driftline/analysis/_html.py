"""Rendering a report as one self-contained HTML page (private).

Jinja2 with autoescape renders the tables (column names with markup show as
text); plotly's JavaScript is inlined from the installed package (no CDN, so
the page opens offline); per-column chart data travels as one JSON blob in a
``<script type="application/json">`` element, escaped so that no ``</script>``
or ``<!--`` can end it early, and each chart is drawn only when its row is
opened.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from driftline._version import __version__

if TYPE_CHECKING:
    from driftline.analysis._conditions import SuiteResult
    from driftline.analysis._report import Report
    from driftline.analysis._results import ColumnDrift, ColumnQuality, PerformanceResult

__all__ = ["PERFORMANCE_CARDS", "SUMMARY_BARS", "json_for_script", "render_report"]

#: Metrics shown as summary cards (current value and change), when present.
PERFORMANCE_CARDS: tuple[str, ...] = (
    "accuracy",
    "f1_macro",
    "roc_auc",
    "root_mean_squared_error",
    "mean_absolute_error",
    "r2",
)

#: Columns in the summary bar chart (the most severe first); the table lists them all.
SUMMARY_BARS = 60

_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def json_for_script(data: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` (and the JavaScript line separators) are written as
    ``\\uXXXX`` escapes, which JSON reads back as the same characters.

    Examples
    --------
    >>> json_for_script({"name": "</script><b>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for char, escape in _SCRIPT_ESCAPES.items():
        text = text.replace(char, escape)
    return text


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("driftline.analysis", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    # An inline script ends at the first "</script"; plotly's bundle has none, but be sure.
    return js.replace("</script", "<\\/script")


def _num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}" for k in value)[:200] or "—"
    return str(value)[:200]


_STATUS_ORDER = {"drift": 0, "no_drift": 1, "insufficient_data": 2, "not_computable": 3}


def render_report(report: Report, suite: SuiteResult | None, charts: list[dict[str, Any]]) -> str:
    """Render ``report`` (with ``suite``'s checks at the top, when given) as HTML."""
    drift = report.drift
    order = sorted(
        range(len(drift)),
        key=lambda i: (_STATUS_ORDER[drift[i].status], -drift[i].severity),
    )
    quality = report.quality
    perf = report.performance
    perf_rows, perf_cards = _performance_context(perf)
    data: dict[str, Any] = {
        "columns": charts,
        "bars": _summary_bars(drift, order),
        "confusion": _confusion(perf),
    }
    template = _environment().get_template("report.html.jinja")
    return template.render(
        title=report.title,
        version=__version__,
        generated_at=None,
        summary={
            "n_rows_reference": report._n_ref,
            "n_rows_current": report._n_cur,
            "n_columns": len(drift),
            "n_quality_issues": quality.n_issues,
            "perf_cards": perf_cards,
        },
        dataset_drift=report.dataset_drift,
        suite=_suite_context(suite),
        drift=[_drift_row(i, drift[i]) for i in order],
        quality=quality,
        quality_rows=[
            _quality_row(q) for q in sorted(quality.columns.values(), key=lambda q: -len(q.issues))
        ],
        performance=perf,
        performance_rows=perf_rows,
        plotly_js=Markup(_plotly_js()),
        data_json=Markup(json_for_script(data)),
    )


def _drift_row(i: int, d: ColumnDrift) -> dict[str, Any]:
    """One row of the drift table; ``i`` is the column's index in the report."""
    return {
        "idx": i,
        "column": d.column,
        "role": d.role,
        "kind": d.kind,
        "method": d.method,
        "statistic_text": _num(d.statistic),
        "threshold_text": _num(d.threshold),
        "p_text": _num(d.p_value) if d.output == "p_value" else "—",
        "adj_p_text": _num(d.adjusted_p_value) if d.output == "p_value" else "—",
        "status": d.status,
        "computed_on": d.computed_on,
        "reason": d.reason,
    }


def _summary_bars(drift: list[ColumnDrift], order: list[int]) -> dict[str, list[Any]]:
    """The summary bar chart: the first :data:`SUMMARY_BARS` computed columns in ``order``."""
    bar_items = [drift[i] for i in order if drift[i].status in ("drift", "no_drift")]
    bar_items = bar_items[:SUMMARY_BARS]
    return {
        "names": [d.column for d in bar_items],
        "scores": [round(min(d.severity, 1e6), 4) for d in bar_items],
        "drifted": [d.status == "drift" for d in bar_items],
        "labels": [d.reason for d in bar_items],
    }


def _quality_row(q: ColumnQuality) -> dict[str, Any]:
    """One row of the data quality table."""
    nan_inf = f"{q.nan_current if q.nan_current is not None else '—'} / " + (
        f"{q.inf_current}" if q.inf_current is not None else "—"
    )
    return {
        "column": q.column,
        "kind": q.kind,
        "missing_text": f"{_num(q.missing_rate_reference, 3)} → {_num(q.missing_rate_current, 3)}",
        "type_mismatch_current": q.type_mismatch_current,
        "nan_inf_text": nan_inf,
        "range_text": "—" if q.out_of_range is None else str(q.out_of_range),
        "new_text": ", ".join(f"{k} ({v})" for k, v in list(q.new_categories.items())[:10]) or "—",
        "missing_cats_text": ", ".join(
            f"{k} ({v})" for k, v in list(q.missing_categories.items())[:10]
        )
        or "—",
        "issues": list(q.issues),
        "notes": list(q.notes),
    }


def _performance_context(
    perf: PerformanceResult,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The performance table rows and the summary cards of :data:`PERFORMANCE_CARDS`."""
    perf_rows = [
        {
            "name": name,
            "ref": _num(perf.reference.get(name)),
            "cur": _num(perf.current.get(name)),
            "delta": _num(perf.delta.get(name)),
        }
        for name in dict.fromkeys([*perf.reference, *perf.current])
    ]
    perf_cards = []
    for name in PERFORMANCE_CARDS:
        cur = perf.current.get(name)
        if cur is not None:
            delta = perf.delta.get(name)
            change = (
                f" ({'+' if (delta or 0) >= 0 else ''}{_num(delta, 3)})"
                if delta is not None
                else ""
            )
            perf_cards.append(
                {"value": _num(cur, 3) + change, "label": f"{name} (current, change)"}
            )
    return perf_rows, perf_cards


def _suite_context(suite: SuiteResult | None) -> dict[str, Any] | None:
    """The checks of ``suite`` for the top of the page, or ``None``."""
    if suite is None:
        return None
    return {
        "passed": suite.passed,
        "n_checks": len(suite.checks),
        "n_passed": sum(c.passed for c in suite.checks),
        "checks": [
            {
                "name": c.name,
                "passed": c.passed,
                "value_text": _value_text(c.value),
                "expected": c.expected,
                "reason": c.reason,
            }
            for c in suite.checks
        ],
    }


def _confusion(perf: PerformanceResult) -> dict[str, Any] | None:
    """The two confusion matrices for the chart, when both sides have one."""
    if perf.confusion_reference is None or perf.confusion_current is None:
        return None
    return {
        "labels": [str(x) for x in perf.labels],
        "reference": perf.confusion_reference,
        "current": perf.confusion_current,
    }
