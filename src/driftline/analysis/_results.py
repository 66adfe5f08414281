"""Result records of an analysis: drift, data quality and performance.

Every record is a frozen dataclass with a ``to_dict()`` that returns plain JSON
types. "Not enough data" is a status with a reason, never a ``0.0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ColumnDrift",
    "ColumnQuality",
    "DatasetDrift",
    "DatasetQuality",
    "DriftStatus",
    "PerformanceResult",
    "QualityResult",
    "json_number",
]

DriftStatus = Literal["drift", "no_drift", "insufficient_data", "not_computable"]


def json_number(value: float | None) -> float | None:
    """Return ``value`` as a JSON-safe float: ``None`` for missing, NaN or infinite.

    Examples
    --------
    >>> json_number(float("nan")) is None, json_number(2), json_number(None)
    (True, 2.0, None)
    """
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict for one column.

    Attributes
    ----------
    column, kind, role : str
        The column, its kind (``"numerical"`` / ``"categorical"``) and role
        (``"feature"``, ``"prediction"``, ``"score"``, ``"target"``).
    method : str or None
        The drift method (``None`` when nothing could be computed).
    statistic : float or None
        The method's statistic (a distance, or a test statistic).
    threshold : float
        A distance at or above it is drift; for p-value methods a (BH-adjusted)
        p-value below it is drift.
    p_value, adjusted_p_value : float or None
        Raw and Benjamini-Hochberg adjusted p-values (p-value methods only).
    n_reference, n_current : int
        Non-missing values used from each side.
    status : {"drift", "no_drift", "insufficient_data", "not_computable"}
    reason : str
        One line saying why, e.g. ``"wasserstein 0.31 ≥ threshold 0.10 (n_ref=1000, n_cur=900)"``.
    computed_on : {"raw", "profile", "none"}
        ``"raw"``: exact, on the raw values; ``"profile"``: from the two
        profiles (reference-binned histograms or quantile sketches).
    output : {"p_value", "distance"} or None
        What the method's decision is made on.
    """

    column: str
    kind: str
    role: str
    method: str | None
    statistic: float | None
    threshold: float | None
    p_value: float | None
    adjusted_p_value: float | None
    n_reference: int
    n_current: int
    status: DriftStatus
    reason: str
    computed_on: str = "raw"
    output: str | None = None

    @property
    def drifted(self) -> bool:
        """True when the status is ``"drift"``."""
        return self.status == "drift"

    @property
    def severity(self) -> float:
        """A sort key, higher is worse: statistic over threshold, or ``-log10`` of p over threshold."""
        if self.status not in ("drift", "no_drift") or self.statistic is None:
            return -1.0
        if self.output == "p_value":
            p = self.adjusted_p_value if self.adjusted_p_value is not None else self.p_value
            thr = self.threshold or 0.05
            if p is None:
                return -1.0
            return math.log10(thr) / math.log10(max(p, 1e-300)) if p < 1.0 else 0.0
        thr = self.threshold or 1.0
        return float(self.statistic) / thr if thr > 0 else float(self.statistic)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (infinite or NaN numbers become ``None``)."""
        return {
            "column": self.column,
            "kind": self.kind,
            "role": self.role,
            "method": self.method,
            "output": self.output,
            "statistic": json_number(self.statistic),
            "threshold": json_number(self.threshold),
            "p_value": json_number(self.p_value),
            "adjusted_p_value": json_number(self.adjusted_p_value),
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "status": self.status,
            "reason": self.reason,
            "computed_on": self.computed_on,
        }


@dataclass(frozen=True)
class DatasetDrift:
    """The dataset-level drift verdict: drift when the share of drifted features reaches a threshold.

    Attributes
    ----------
    n_columns : int
        Feature columns whose drift could be computed.
    n_drifted : int
        Of those, how many drifted.
    share_drifted : float or None
        ``n_drifted / n_columns`` (``None`` when no column could be computed).
    threshold_share : float
        The dataset drifts when ``share_drifted >= threshold_share``.
    drifted : bool
    reason : str
    status : {"drift", "no_drift", "insufficient_data"}
    """

    n_columns: int
    n_drifted: int
    share_drifted: float | None
    threshold_share: float
    drifted: bool
    reason: str
    status: str = "no_drift"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "n_columns": self.n_columns,
            "n_drifted": self.n_drifted,
            "share_drifted": json_number(self.share_drifted),
            "threshold_share": self.threshold_share,
            "drifted": self.drifted,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ColumnQuality:
    """Data-quality counts for one column, reference against current.

    Counts that need the raw values (or a histogram) and could not be computed
    are ``None``; ``notes`` says why. ``issues`` lists the problems found in the
    current data, one short line each.
    """

    column: str
    kind: str
    n_reference: int
    n_current: int
    missing_reference: int
    missing_current: int
    type_mismatch_reference: int = 0
    type_mismatch_current: int = 0
    nan_current: int | None = None
    inf_current: int | None = None
    below_reference_min: int | None = None
    above_reference_max: int | None = None
    new_categories: dict[str, int] = field(default_factory=dict)
    missing_categories: dict[str, int] = field(default_factory=dict)
    constant_reference: bool = False
    constant_current: bool = False
    issues: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def missing_rate_reference(self) -> float | None:
        """Share of missing values in the reference (``None`` without rows)."""
        return self.missing_reference / self.n_reference if self.n_reference else None

    @property
    def missing_rate_current(self) -> float | None:
        """Share of missing values in the current data (``None`` without rows)."""
        return self.missing_current / self.n_current if self.n_current else None

    @property
    def out_of_range(self) -> int | None:
        """Current values outside the reference's ``[min, max]`` (``None`` when unknown)."""
        if self.below_reference_min is None or self.above_reference_max is None:
            return None
        return self.below_reference_min + self.above_reference_max

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "column": self.column,
            "kind": self.kind,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "missing_reference": self.missing_reference,
            "missing_current": self.missing_current,
            "missing_rate_reference": json_number(self.missing_rate_reference),
            "missing_rate_current": json_number(self.missing_rate_current),
            "type_mismatch_reference": self.type_mismatch_reference,
            "type_mismatch_current": self.type_mismatch_current,
            "nan_current": self.nan_current,
            "inf_current": self.inf_current,
            "below_reference_min": self.below_reference_min,
            "above_reference_max": self.above_reference_max,
            "out_of_range": self.out_of_range,
            "new_categories": dict(self.new_categories),
            "missing_categories": dict(self.missing_categories),
            "constant_reference": self.constant_reference,
            "constant_current": self.constant_current,
            "issues": list(self.issues),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DatasetQuality:
    """Dataset-level quality: rows, duplicates and columns present on one side only."""

    n_rows_reference: int
    n_rows_current: int
    duplicate_rows_reference: int | None
    duplicate_rows_current: int | None
    columns_only_in_reference: tuple[str, ...] = ()
    columns_only_in_current: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "n_rows_reference": self.n_rows_reference,
            "n_rows_current": self.n_rows_current,
            "duplicate_rows_reference": self.duplicate_rows_reference,
            "duplicate_rows_current": self.duplicate_rows_current,
            "columns_only_in_reference": list(self.columns_only_in_reference),
            "columns_only_in_current": list(self.columns_only_in_current),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class QualityResult:
    """Data quality of the current data against the reference, per column and overall."""

    dataset: DatasetQuality
    columns: dict[str, ColumnQuality]

    @property
    def n_issues(self) -> int:
        """Number of issue lines over all columns."""
        return sum(len(c.issues) for c in self.columns.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "dataset": self.dataset.to_dict(),
            "n_issues": self.n_issues,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }


@dataclass(frozen=True)
class PerformanceResult:
    """Model performance on the reference and on the current data, with the deltas.

    Attributes
    ----------
    task : {"classification", "regression"} or None
    status : {"computed", "not_computable"}
    reason : str
    reference, current : dict
        Metric name to value (``None`` when the metric is undefined there).
    delta : dict
        ``current - reference`` per metric (``None`` when either is missing).
    labels : list
        Class labels of the confusion matrices (classification only).
    confusion_reference, confusion_current : list of list of int or None
        Rows are true labels, columns predicted labels.
    """

    task: str | None
    status: str
    reason: str
    reference: dict[str, float | None] = field(default_factory=dict)
    current: dict[str, float | None] = field(default_factory=dict)
    delta: dict[str, float | None] = field(default_factory=dict)
    labels: list[Any] = field(default_factory=list)
    confusion_reference: list[list[int]] | None = None
    confusion_current: list[list[int]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "task": self.task,
            "status": self.status,
            "reason": self.reason,
            "reference": {k: json_number(v) for k, v in self.reference.items()},
            "current": {k: json_number(v) for k, v in self.current.items()},
            "delta": {k: json_number(v) for k, v in self.delta.items()},
            "labels": [str(x) for x in self.labels],
            "confusion_reference": self.confusion_reference,
            "confusion_current": self.confusion_current,
        }
