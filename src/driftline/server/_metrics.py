"""The series ``/metrics`` exposes, built from ``QueryService.metric_totals()``.

Stable names (do not rename; dashboards depend on them):

``driftline_predictions_total{project,model,version}``  counter
``driftline_labels_total{project,model,version}``        counter (labels joined to predictions)
``driftline_events_total{project,model,name}``           counter
``driftline_column_drift{project,model,version,column,method}``  gauge: the drift statistic of
    the latest window against the reference (higher means more drift); absent when it could
    not be computed (never reported as 0)
``driftline_run_metric{project,run,key}``                gauge: latest value of each metric
    of running runs (at most :data:`MAX_EXPORTED_RUNS` runs)
``driftline_alerts{project,model,severity,state}``       gauge: open alerts (pending, firing,
    acknowledged) by state
``driftline_monitor_value{monitor,project,model}``        gauge: the value of a monitor's latest
    evaluation; absent when it had not enough data (never reported as 0)
``driftline_monitor_firing{monitor,project,model}``       gauge: 1 when the latest evaluation
    fires, 0 when it does not; absent when undecided
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftline.server._prometheus import MetricFamily

if TYPE_CHECKING:
    from driftline.alerts import AlertCount

__all__ = [
    "MAX_EXPORTED_RUNS",
    "alert_families",
    "latest_monitor_results",
    "metric_families",
]

MAX_EXPORTED_RUNS = 50
"""Most running runs whose latest metric values ``/metrics`` exports."""


_DRIFT_LABELS = ("project", "model", "version", "column", "method")


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def metric_families(
    totals: Mapping[str, Any],
    visible: Callable[[str], bool],
    run_metrics: list[dict[str, Any]] | None = None,
) -> list[MetricFamily]:
    """Families from ``metric_totals()`` output, keeping projects for which ``visible`` is true.

    Example
    -------
    >>> fams = metric_families({"predictions": [{"project": "p", "model": "m",
    ...                          "version": "1", "count": 4}]}, lambda p: True)
    >>> fams[0].name, fams[0].samples
    ('driftline_predictions_total', [({'project': 'p', 'model': 'm', 'version': '1'}, 4.0)])
    """
    preds = MetricFamily("driftline_predictions_total", "counter", "Predictions stored.")
    labels = MetricFamily(
        "driftline_labels_total", "counter", "Labels joined to stored predictions."
    )
    events = MetricFamily("driftline_events_total", "counter", "Business events stored.")
    drift = MetricFamily(
        "driftline_column_drift",
        "gauge",
        "Drift statistic of a column in the latest window against the reference "
        "(higher means more drift).",
    )
    runs = MetricFamily(
        "driftline_run_metric", "gauge", "Latest value of a metric of a running training run."
    )
    for fam, key, names in (
        (preds, "predictions", ("project", "model", "version")),
        (labels, "labels", ("project", "model", "version")),
        (events, "events", ("project", "model", "name")),
    ):
        for row in totals.get(key, []):
            if visible(str(row.get("project"))):
                fam.add({n: row.get(n) for n in names}, float(row.get("count") or 0))
    for row in totals.get("drift", []):
        value = _num(row.get("statistic"))
        if value is not None and visible(str(row.get("project"))):
            drift.add({n: row.get(n) for n in _DRIFT_LABELS}, value)
    for row in run_metrics if run_metrics is not None else totals.get("run_metrics", []):
        value = _num(row.get("value"))
        if value is not None and visible(str(row.get("project"))):
            runs.add(
                {"project": row.get("project"), "run": row.get("run"), "key": row.get("key")}, value
            )
    return [preds, labels, events, drift, runs]


def latest_run_metrics(query: Any, visible: Callable[[str], bool]) -> list[dict[str, Any]]:
    """Latest value of every metric of running runs, read through ``query`` (a ``QueryService``)."""
    out: list[dict[str, Any]] = []
    exported = 0
    for project in query.list_projects():
        name = str(project["name"] if isinstance(project, Mapping) else project)
        if not visible(name):
            continue
        for run in query.list_runs(name):
            if run.get("status") != "running" or exported >= MAX_EXPORTED_RUNS:
                continue
            exported += 1
            detail = query.get_run(run["run_id"])
            for metric in detail.get("metrics", []):
                # all points (no downsampling) so that the last one is the latest value
                n = max(int(metric.get("n_points") or 0), 16)
                series = query.run_metric_series(run["run_id"], metric["key"], max_points=n)
                values = series.get("values") or []
                if values:
                    out.append(
                        {
                            "project": name,
                            "run": run["run_id"],
                            "key": metric["key"],
                            "value": values[-1],
                        }
                    )
    return out


_OPEN_STATES = ("pending", "firing", "acknowledged")


def alert_families(
    counts: Sequence[AlertCount],
    monitors: Sequence[Mapping[str, Any]],
    visible: Callable[[str], bool],
) -> list[MetricFamily]:
    """Families of open alerts (``AlertService.alert_counts()``) and latest monitor results.

    ``monitors`` rows hold ``monitor``, ``project``, ``model``, ``value`` and ``firing``.

    Example
    -------
    >>> from driftline.alerts import AlertCount
    >>> fams = alert_families(
    ...     [AlertCount(project="p", model="m", severity="warning", state="firing", count=2)],
    ...     [{"monitor": "d", "project": "p", "model": "m", "value": 0.3, "firing": True}],
    ...     lambda p: True,
    ... )
    >>> [(f.name, f.samples[0][1]) for f in fams]
    [('driftline_alerts', 2.0), ('driftline_monitor_value', 0.3), ('driftline_monitor_firing', 1.0)]
    """
    alerts = MetricFamily(
        "driftline_alerts", "gauge", "Open alerts by project, model, severity and state."
    )
    value = MetricFamily(
        "driftline_monitor_value", "gauge", "Value of the latest evaluation of a monitor."
    )
    firing = MetricFamily(
        "driftline_monitor_firing",
        "gauge",
        "1 when the latest evaluation of a monitor fires, 0 when it does not.",
    )
    for c in counts:
        if str(c.state) in _OPEN_STATES and visible(str(c.project)):
            alerts.add(
                {"project": c.project, "model": c.model, "severity": c.severity, "state": c.state},
                float(c.count or 0),
            )
    for row in monitors:
        if not visible(str(row.get("project"))):
            continue
        labels = {n: row.get(n) for n in ("monitor", "project", "model")}
        number = _num(row.get("value"))
        if number is not None:
            value.add(labels, number)
        if row.get("firing") is not None:
            firing.add(labels, 1.0 if row.get("firing") else 0.0)
    return [alerts, value, firing]


def latest_monitor_results(alerts: Any, visible: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The latest evaluation of every visible monitor, read through ``alerts`` (an ``AlertService``)."""
    out: list[dict[str, Any]] = []
    for monitor in alerts.list_monitors():
        project = str(monitor.project)
        if not visible(project):
            continue
        last = monitor.last_result
        if last is None:
            results = alerts.monitor_results(monitor.name)
            last = results[-1] if results else None
        if last is None:
            continue
        out.append(
            {
                "monitor": monitor.name,
                "project": project,
                "model": monitor.model,
                "value": last.value,
                "firing": last.firing,
            }
        )
    return out
