"""Per-column computation behind :class:`~driftline.analysis.Report` (private).

:func:`compute_raw` is the exact path (raw values on both sides);
:func:`compute_from_profiles` the profile path; :func:`compute_performance`
builds the performance comparison from raw columns or from profiles.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from driftline.analysis._charts import bin_labels, chart_from_counts, chart_from_values
from driftline.analysis._drift import drift_from_values, not_computed
from driftline.analysis._inputs import label_values, numeric_values
from driftline.analysis._parallel import Runner
from driftline.analysis._performance import performance_from_counts, performance_from_tables
from driftline.analysis._profiles import drift_from_profiles, label_counts, quality_from_profiles
from driftline.analysis._quality import column_quality
from driftline.analysis._results import ColumnDrift, ColumnQuality, PerformanceResult

__all__ = [
    "ColumnResults",
    "ProgressCallback",
    "column_values",
    "compute_from_profiles",
    "compute_performance",
    "compute_raw",
    "raw_quality",
]

ProgressCallback = Callable[[str, int, int], None]

_NUMERIC_DTYPES = ("float", "integer")
_STRING_DTYPES = ("string", "categorical")


def _family(dtype: str) -> str:
    if dtype in _NUMERIC_DTYPES:
        return "numbers"
    if dtype in _STRING_DTYPES:
        return "strings"
    return dtype


@dataclass
class ColumnResults:
    """Per-column drift, quality and chart data, and the profiles used (profile path)."""

    drift: list[ColumnDrift]
    quality: dict[str, ColumnQuality]
    charts: list[dict[str, Any]]
    reference_profile: Any = None
    current_profile: Any = None
    notes: list[str] = field(default_factory=list)


def column_values(spec: Any, ref_table: Any, cur_table: Any) -> tuple[str, Any, Any, str | None]:
    """(kind, reference values, current values, problem) for one column."""
    name, kind = spec.name, spec.kind.value
    ref_dtype, cur_dtype = ref_table.dtypes[name], cur_table.dtypes[name]
    if kind in ("numerical", "datetime"):
        if kind == "datetime" and (ref_dtype != "datetime" or cur_dtype != "datetime"):
            other = cur_dtype if ref_dtype == "datetime" else ref_dtype
            return (
                kind,
                None,
                None,
                (f"datetimes in one side and {_family(other)} in the other"),
            )
        kind_used = "numerical"
        ref = numeric_values(ref_table[name], ref_dtype)
        cur = numeric_values(cur_table[name], cur_dtype)
        present = cur.n_rows - cur.n_missing
        if present and cur.n_mismatch == present and ref.finite.size:
            shown = ", ".join(cur.mismatch_examples)
            return (
                kind_used,
                ref,
                cur,
                (
                    f"expected a numeric column like the reference, got strings ({shown}, ...) "
                    "in the current data"
                ),
            )
        ref_present = ref.n_rows - ref.n_missing
        if ref_present and ref.n_mismatch == ref_present and cur.finite.size:
            shown = ", ".join(ref.mismatch_examples)
            return (
                kind_used,
                ref,
                cur,
                (f"expected a numeric column, got strings ({shown}, ...) in the reference"),
            )
        return kind_used, ref, cur, None
    if kind in ("categorical", "boolean"):
        ref_l = label_values(ref_table[name], ref_dtype)
        cur_l = label_values(cur_table[name], cur_dtype)
        fams = {_family(ref_dtype), _family(cur_dtype)}
        if fams == {"numbers", "strings"} and ref_l.n_labels and cur_l.n_labels:
            return (
                kind,
                ref_l,
                cur_l,
                (
                    f"{_family(ref_dtype)} in the reference but {_family(cur_dtype)} in the "
                    "current data"
                ),
            )
        return kind, ref_l, cur_l, None
    return kind, None, None, f"{kind} columns are not checked for drift"


def compute_raw(
    specs: list[Any],
    ref_table: Any,
    cur_table: Any,
    *,
    methods: Any,
    thresholds: Any,
    progress: ProgressCallback,
) -> ColumnResults:
    """Exact drift, quality and charts from the raw values of both sides."""
    drift: list[ColumnDrift] = []
    quality: dict[str, ColumnQuality] = {}
    charts: list[dict[str, Any]] = []
    n = len(specs)
    for i, spec in enumerate(specs):
        progress("drift per column", i, n)
        name, role = spec.name, spec.role.value
        kind, ref, cur, problem = column_values(spec, ref_table, cur_table)
        if problem is not None:
            drift.append(
                not_computed(name, kind, role, "not_computable", f"column {name!r}: {problem}")
            )
        else:
            drift.append(
                replace(
                    drift_from_values(
                        name, kind, role, ref, cur, methods=methods, thresholds=thresholds
                    ),
                    kind=spec.kind.value,  # datetimes are compared as numbers, shown as datetime
                )
            )
        quality[name] = raw_quality(spec, ref_table, cur_table, (kind, ref, cur, problem))
        if problem is None and ref is not None and cur is not None:
            charts.append(chart_from_values(name, ref, cur))
        else:
            charts.append(_no_chart(name, problem or "no chart"))
    progress("drift per column", n, n)
    return ColumnResults(drift, quality, charts)


def raw_quality(
    spec: Any, ref_table: Any, cur_table: Any, values: tuple[Any, ...] | None = None
) -> ColumnQuality:
    """Quality of one column from its raw values."""
    kind, ref, cur, problem = values or column_values(spec, ref_table, cur_table)
    if ref is not None and cur is not None and type(ref) is type(cur):
        return column_quality(spec.name, kind, ref, cur)
    return _basic_quality(spec.name, kind, ref_table, cur_table, problem)


def compute_from_profiles(
    specs: list[Any],
    schema: Any,
    reference: Any,
    current: Any,
    ref_table: Any,
    cur_table: Any,
    *,
    methods: Any,
    thresholds: Any,
    progress: ProgressCallback,
    run: Runner | None = None,
) -> ColumnResults:
    """Drift from profiles (made here from raw tables when needed); quality raw when possible.

    Profiles made here from raw tables skip the distinct-count sketches of
    numerical columns, which the report does not read, and the performance
    counts when both sides are raw (performance then comes from the raw rows).
    With ``run``, each column's profiles and quality are computed in its pool.
    """
    run = run if run is not None else Runner(None)
    raw_q: dict[str, Future[ColumnQuality]] = {}
    if ref_table is not None and cur_table is not None:
        ref_prof, cur_prof, raw_q = _profiles_of_raw_sides(
            specs, ref_table, cur_table, progress, run
        )
    else:
        if ref_table is not None:
            progress("profiling reference", 0, 0)
            ref_prof = _quick_profile(schema, ref_table, None)
        else:
            ref_prof = reference
        if cur_table is not None:
            progress("profiling current", 0, 0)
            cur_prof = _quick_profile(schema, cur_table, ref_prof)
        else:
            cur_prof = current
    results = ColumnResults([], {}, [], ref_prof, cur_prof)
    n = len(specs)
    for i, spec in enumerate(specs):
        progress("drift per column", i, n)
        _add_profile_column(results, spec, raw_q.get(spec.name), methods, thresholds)
    progress("drift per column", n, n)
    return results


def _quick_profile(schema: Any, table: Any, ref: Any) -> Any:
    """The profile of ``table``'s columns of ``schema``, without distinct-count sketches."""
    from driftline.profile import DatasetProfile, ProfileConfig, performance_counts, profile_columns
    from driftline.schema import Schema, Table

    cols = [c for c in schema if c.name in table]
    sub = Table({c.name: table[c.name] for c in cols}, table.dtypes)
    sub_schema = Schema(tuple(cols))
    columns = profile_columns(sub, sub_schema, ref, ProfileConfig(), distinct=False)
    return DatasetProfile(sub_schema, sub.n_rows, columns, performance_counts(sub, sub_schema))


def _profiles_of_raw_sides(
    specs: list[Any],
    ref_table: Any,
    cur_table: Any,
    progress: ProgressCallback,
    run: Runner,
) -> tuple[Any, Any, dict[str, Future[ColumnQuality]]]:
    """Both profiles (no performance counts) and each column's raw quality, per column in ``run``.

    Only the analysed columns are profiled: the profiles of the others would go unread.
    """
    from driftline.profile import DatasetProfile, ProfileConfig, column_profile
    from driftline.schema import Schema

    cfg = ProfileConfig()

    # per column: reference profile, current profile on its bins, raw quality
    def both_profiles(spec: Any) -> tuple[Any, Any]:
        rp = column_profile(ref_table[spec.name], spec.kind, None, cfg, False)
        if spec.name not in cur_table:
            return rp, None
        return rp, column_profile(cur_table[spec.name], spec.kind, rp, cfg, False)

    progress("profiling reference", 0, 0)
    futures = [(spec, run.submit(both_profiles, spec)) for spec in specs]
    progress("profiling current", 0, 0)
    raw_q = {s.name: run.submit(raw_quality, s, ref_table, cur_table) for s in specs}
    done = [(spec, f.result()) for spec, f in futures]
    ref_schema = Schema(tuple(spec for spec, _ in done))
    cur_schema = Schema(tuple(spec for spec, (_, cp) in done if cp is not None))
    ref_prof = DatasetProfile(
        ref_schema, ref_table.n_rows, {s.name: rp for s, (rp, _) in done}, None
    )
    cur_prof = DatasetProfile(
        cur_schema,
        cur_table.n_rows,
        {s.name: cp for s, (_, cp) in done if cp is not None},
        None,
    )
    return ref_prof, cur_prof, raw_q


def _add_profile_column(
    results: ColumnResults,
    spec: Any,
    raw_q: Future[ColumnQuality] | None,
    methods: Any,
    thresholds: Any,
) -> None:
    """Append one column's drift, quality (raw when ``raw_q``) and chart from the profiles."""
    name, role, kind = spec.name, spec.role.value, spec.kind.value
    rp = results.reference_profile.columns.get(name)
    cp = results.current_profile.columns.get(name)
    if rp is None or cp is None:
        side = "reference" if rp is None else "current"
        results.drift.append(
            not_computed(
                name,
                kind,
                role,
                "not_computable",
                f"the {side} profile has no column {name!r}",
            )
        )
        results.charts.append(_no_chart(name, "no profile"))
        return
    results.drift.append(
        drift_from_profiles(name, kind, role, rp, cp, methods=methods, thresholds=thresholds)
    )
    if raw_q is not None:
        results.quality[name] = raw_q.result()
    else:
        results.quality[name] = quality_from_profiles(name, kind, rp, cp)
    results.charts.append(_chart_from_profiles(name, rp, cp))


def compute_performance(
    schema: Any, ref_table: Any, cur_table: Any, ref_prof: Any, cur_prof: Any
) -> PerformanceResult:
    """Performance from the raw target/prediction/score columns, or from the profiles."""
    target, prediction = schema.target, schema.prediction
    if target is None or prediction is None:
        missing = [r for r, c in (("target", target), ("prediction", prediction)) if c is None]
        return PerformanceResult(
            task=None,
            status="not_computable",
            reason=f"performance needs a {' and a '.join(missing)} column "
            f"(pass {', '.join(m + '=...' for m in missing)})",
        )
    task = "regression" if target.kind.value == "numerical" else "classification"
    if ref_table is not None and cur_table is not None:
        if target.name not in cur_table or prediction.name not in cur_table:
            return PerformanceResult(
                task=task,
                status="not_computable",
                reason="the current data lacks the target or the prediction column",
            )
        scores = schema.scores
        sides = []
        for table in (ref_table, cur_table):
            side = {"y_true": table[target.name], "y_pred": table[prediction.name]}
            present = [sc.name for sc in scores if sc.name in table]
            if present and len(present) == len(scores):
                cols = [np.asarray(table[n], dtype=np.float64) for n in present]
                side["score"] = cols[0] if len(cols) == 1 else np.column_stack(cols)
            sides.append(side)
        return performance_from_tables(task, sides[0], sides[1])
    ref_perf = getattr(ref_prof, "performance", None)
    cur_perf = getattr(cur_prof, "performance", None)
    if ref_perf is None and cur_perf is None:
        return PerformanceResult(
            task=task, status="not_computable", reason="the profiles hold no performance counts"
        )
    return performance_from_counts(task, ref_perf, cur_perf)


def _no_chart(name: str, note: str) -> dict[str, Any]:
    return {"title": name, "labels": [], "note": note}


def _basic_quality(
    name: str, kind: str, ref_table: Any, cur_table: Any, problem: str | None
) -> ColumnQuality:
    import pandas as pd

    ref_miss = int(np.asarray(pd.isna(ref_table[name])).sum())
    cur_miss = int(np.asarray(pd.isna(cur_table[name])).sum())
    return ColumnQuality(
        column=name,
        kind=kind,
        n_reference=ref_table.n_rows,
        n_current=cur_table.n_rows,
        missing_reference=ref_miss,
        missing_current=cur_miss,
        issues=(problem,) if problem and "not checked" not in problem else (),
        notes=(problem,) if problem and "not checked" in problem else (),
    )


def _chart_from_profiles(name: str, ref: Any, cur: Any) -> dict[str, Any]:
    try:
        if getattr(ref, "kind", None) == "numerical" and getattr(cur, "kind", None) == "numerical":
            ref_edges, ref_counts = ref.histogram
            cur_edges, cur_counts = cur.histogram
            if not np.array_equal(ref_edges, cur_edges):
                return _no_chart(name, "the profiles are binned differently")
            return chart_from_counts(name, bin_labels(ref_edges), ref_counts, cur_counts)
        if hasattr(ref, "counts") and hasattr(cur, "counts"):
            rm, cm = label_counts(ref), label_counts(cur)
            cats = sorted(set(rm) | set(cm), key=lambda k: (-rm.get(k, 0), k))
            return chart_from_counts(
                name,
                cats,
                np.array([rm.get(k, 0) for k in cats]),
                np.array([cm.get(k, 0) for k in cats]),
                categories=True,
            )
    except Exception as exc:  # a chart must never break the report
        return _no_chart(name, f"no chart: {exc}")
    return _no_chart(name, "no distribution for this kind of column")
