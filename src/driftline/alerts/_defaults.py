"""Sensible monitors for a new model, made from its reference columns.

Example
-------
>>> specs = default_monitors("loans", "scorer", {"income": "numerical", "region": "categorical"},
...                          has_labels=True, task="classification")
>>> [s.name for s in specs]  # doctest: +NORMALIZE_WHITESPACE
['scorer.drift.income', 'scorer.drift.region', 'scorer.dataset-drift', 'scorer.missing-rate',
 'scorer.volume', 'scorer.error-rate', 'scorer.latency-p99', 'scorer.accuracy']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from driftline.alerts._spec import MonitorSpec
from driftline.errors import InputError

if TYPE_CHECKING:
    from driftline.profile import DatasetProfile

__all__ = [
    "DEFAULT_DRIFTED_SHARE",
    "DEFAULT_DRIFT_MIN_SAMPLES",
    "DEFAULT_DRIFT_THRESHOLD",
    "DEFAULT_LATENCY_MIN_SAMPLES",
    "default_monitors",
]

#: Jensen-Shannon distance (base 2, in [0, 1]) above which a column counts as drifted.
DEFAULT_DRIFT_THRESHOLD = 0.1
#: Fewest rows a window needs before a default drift monitor judges it. The
#: Jensen-Shannon distance of a sample of ``n`` rows from its own population over
#: ``k`` bins is about ``sqrt((k - 1) / (4 n ln 2))``: 0.21 for 150 rows on 20
#: bins, which would read as drift on every column; at 1,000 rows it is 0.08
#: and with a day of traffic usually far less, well under the threshold.
DEFAULT_DRIFT_MIN_SAMPLES = 1000

#: Predictions an hourly window needs before its p99 latency is judged. The p99 of
#: n values is about their (n / 100)-th largest: of 100 values, the second slowest
#: request, so one or two slow requests (a timeout) move it by an order of magnitude
#: and its robust z against earlier hours flags them; from 1,000 values on it rests
#: on the ten slowest.
DEFAULT_LATENCY_MIN_SAMPLES = 1000

#: Share of drifted columns above which the whole data set counts as drifted.
DEFAULT_DRIFTED_SHARE = 0.5

_DRIFTABLE = ("numerical", "categorical", "boolean")
_ROLES = ("feature", "prediction", "score")


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_.-")
    return s or "column"


def _columns(source: Mapping[str, str] | DatasetProfile) -> tuple[dict[str, str], bool]:
    """``{column: kind}`` of the columns to watch for drift, and whether scores exist."""
    schema = getattr(source, "schema", None)
    if schema is None:
        if not isinstance(source, Mapping):
            raise InputError(
                "columns: expected a mapping of column to kind or a DatasetProfile, "
                f"got {type(source).__name__}"
            )
        return {str(k): str(v) for k, v in source.items()}, False
    cols = {c.name: c.kind.value for c in schema.columns if c.role.value in _ROLES}
    has_scores = any(c.role.value == "score" for c in schema.columns)
    return cols, has_scores


def _task(source: Any, task: str | None) -> str | None:
    if task is not None:
        return task
    perf = getattr(source, "performance", None)
    if perf is not None:
        return "regression" if type(perf).__name__ == "RegressionCounts" else "classification"
    schema = getattr(source, "schema", None)
    target = getattr(schema, "target", None) if schema is not None else None
    if target is not None:
        return "regression" if target.kind.value == "numerical" else "classification"
    return None


def default_monitors(
    project: str,
    model: str,
    columns: Mapping[str, str] | DatasetProfile,
    *,
    has_labels: bool,
    task: Literal["classification", "regression"] | None = None,
    version: str | None = None,
) -> list[MonitorSpec]:
    """The monitors driftline creates for a new model, from its reference.

    Parameters
    ----------
    project, model : str
        What the monitors watch.
    columns : mapping of str to str, or DatasetProfile
        ``{column: kind}`` (kinds: numerical, categorical, boolean, text,
        datetime), or the reference profile (its feature, prediction and score
        columns are used; the target is not, labels come late).
    has_labels : bool
        Whether labels will be logged (adds realised performance monitors).
    task : {'classification', 'regression'}, optional
        Inferred from the profile when not given.
    version : str, optional
        Pin the monitors to one model version.

    Returns
    -------
    list of MonitorSpec
        Named ``<model>.<what>`` (the model's name as a slug):

        - ``drift.<column>`` per numerical/categorical/boolean column:
          Jensen-Shannon distance > :data:`DEFAULT_DRIFT_THRESHOLD` (0.1) in
          daily windows of at least :data:`DEFAULT_DRIFT_MIN_SAMPLES` (1,000)
          rows, ``for`` 0, warning. JS is bounded and comparable across column
          kinds and does not flag everything at large n like a p-value; on small
          samples it does not fall to 0 without drift, hence daily windows and
          the sample minimum (hourly windows of a few hundred predictions would
          read as drift everywhere).
        - ``dataset-drift``: share of drifted columns > :data:`DEFAULT_DRIFTED_SHARE`
          (0.5), daily, same sample minimum, warning.
        - ``missing-rate``: the missing rate over all columns at least doubles
          *and* rises by 5 points against the reference, hourly, warning.
        - ``volume``: predictions per hour 4 robust z from the same hour of the
          last 14 days (daily seasonality), either way, warning.
        - ``error-rate``: more than 5 % of predictions failed in hourly windows,
          critical.
        - ``latency-p99``: p99 latency 4 robust z above the same hour of the last
          14 days, in hourly windows of at least :data:`DEFAULT_LATENCY_MIN_SAMPLES`
          (1,000) predictions, warning.
        - with ``has_labels``: ``accuracy`` (and ``roc_auc`` when the profile has
          a score column) 10 % below the reference for classification, or
          ``mae`` 20 % above it for regression, in daily windows with at least
          50 % label coverage, warning.

    Examples
    --------
    >>> [s.name for s in default_monitors("p", "m", {}, has_labels=True, task="regression")][-1]
    'm.mae'
    """
    cols, has_scores = _columns(columns)
    task = _task(columns, task)  # type: ignore[assignment]
    common: dict[str, Any] = {"project": project, "model": model, "version": version}
    prefix = _slug(model)
    out = [
        MonitorSpec.model_validate({**common, **m, "name": f"{prefix}.{m['name']}"})
        for m in _drift_monitors(cols) + _model_monitors()
    ]
    if has_labels and task is not None:
        out += [
            MonitorSpec.model_validate({**common, **m, "name": f"{prefix}.{m['name']}"})
            for m in _performance_monitors(task, has_scores)
        ]
    return out


def _drift_monitors(cols: Mapping[str, str]) -> list[dict[str, Any]]:
    """A ``drift.<column>`` monitor per driftable column (names made unique as slugs)."""
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    for col, kind in cols.items():
        if kind not in _DRIFTABLE:
            continue
        slug = base = _slug(col)
        k = 2
        while slug in used:
            slug, k = f"{base}-{k}", k + 1
        used.add(slug)
        out.append(
            {
                "name": f"drift.{slug}",
                "window": {"size": "1d"},
                "min_samples": DEFAULT_DRIFT_MIN_SAMPLES,
                "signal": {"kind": "drift", "column": col, "method": "jensen_shannon"},
                "condition": {"kind": "threshold", "op": ">", "value": DEFAULT_DRIFT_THRESHOLD},
                "labels": {"column": col},
            }
        )
    return out


def _model_monitors() -> list[dict[str, Any]]:
    """Dataset drift, missing rate, volume, error rate and latency of the model."""
    hourly: dict[str, Any] = {"window": {"size": "1h"}}
    return [
        {
            "name": "dataset-drift",
            "window": {"size": "1d"},
            "min_samples": DEFAULT_DRIFT_MIN_SAMPLES,
            "signal": {"kind": "dataset_drift"},
            "condition": {"kind": "threshold", "op": ">", "value": DEFAULT_DRIFTED_SHARE},
        },
        {
            "name": "missing-rate",
            **hourly,
            "signal": {"kind": "quality", "measure": "missing_rate"},
            "baseline": "reference",
            "condition": {"kind": "change", "relative": 1.0, "absolute": 0.05, "direction": "up"},
        },
        {
            "name": "volume",
            **hourly,
            "signal": {"kind": "volume"},
            "condition": {"kind": "anomaly", "z": 4, "seasonality": "1d", "history": "14d"},
        },
        {
            "name": "error-rate",
            **hourly,
            "signal": {"kind": "error_rate"},
            "condition": {"kind": "threshold", "op": ">", "value": 0.05},
            "severity": "critical",
        },
        {
            "name": "latency-p99",
            **hourly,
            "min_samples": DEFAULT_LATENCY_MIN_SAMPLES,
            "signal": {"kind": "latency", "quantile": 0.99},
            "condition": {
                "kind": "anomaly",
                "z": 4,
                "seasonality": "1d",
                "history": "14d",
                "direction": "up",
            },
        },
    ]


def _performance_monitors(task: str, has_scores: bool) -> list[dict[str, Any]]:
    """Realised performance against the reference: accuracy (and ROC AUC), or MAE."""
    if task == "regression":
        metrics = [("mae", "up", 0.2)]
    else:
        metrics = [("accuracy", "down", 0.1)] + ([("roc_auc", "down", 0.1)] if has_scores else [])
    return [
        {
            "name": metric,
            "window": {"size": "1d"},
            "baseline": "reference",
            "signal": {"kind": "performance", "metric": metric},
            "condition": {"kind": "change", "relative": rel, "direction": direction},
        }
        for metric, direction, rel in metrics
    ]
