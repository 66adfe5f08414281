"""Model performance on both sides, and its change (private).

Metrics come from the mergeable counts of :mod:`driftline.stats.metrics`
(``ClassificationCounts`` / ``RegressionCounts``): built here from the raw
target, prediction and score columns, or taken from ``profile.performance``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftline.analysis._results import PerformanceResult
from driftline.errors import DriftlineError, InputError

__all__ = ["performance_from_counts", "performance_from_tables"]


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _scalar_metrics(counts: Any) -> dict[str, float | None]:
    raw = counts.metrics()
    return {str(k): _clean(v) for k, v in raw.items() if not isinstance(v, list | dict | tuple)}


def performance_from_counts(task: str, reference: Any, current: Any) -> PerformanceResult:
    """Compare two counts objects (``ClassificationCounts`` or ``RegressionCounts``).

    Either side may be ``None``; its metrics are then missing.
    """
    ref = _scalar_metrics(reference) if reference is not None else {}
    cur = _scalar_metrics(current) if current is not None else {}
    names = list(dict.fromkeys([*ref, *cur]))
    delta: dict[str, float | None] = {}
    for name in names:
        a, b = ref.get(name), cur.get(name)
        delta[name] = None if a is None or b is None else b - a
    labels: list[Any] = []
    cm_ref = cm_cur = None
    if task == "classification":
        sides = [c for c in (reference, current) if c is not None]
        labels = sorted({str(x) for c in sides for x in c.labels})
        cm_ref = _matrix_on(reference, labels)
        cm_cur = _matrix_on(current, labels)
    n_ref = getattr(reference, "n", 0) if reference is not None else 0
    n_cur = getattr(current, "n", 0) if current is not None else 0
    return PerformanceResult(
        task=task,
        status="computed",
        reason=f"{task} metrics on {n_ref} reference and {n_cur} current labelled rows",
        reference=ref,
        current=cur,
        delta=delta,
        labels=labels,
        confusion_reference=cm_ref,
        confusion_current=cm_cur,
    )


def _matrix_on(counts: Any, labels: list[str]) -> list[list[int]] | None:
    if counts is None:
        return None
    matrix, own = counts.confusion_matrix()
    pos = {str(lab): i for i, lab in enumerate(own.tolist())}
    k = len(labels)
    out = [[0] * k for _ in range(k)]
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            if a in pos and b in pos:
                out[i][j] = int(matrix[pos[a], pos[b]])
    return out


def _not(task: str | None, reason: str) -> PerformanceResult:
    return PerformanceResult(task=task, status="not_computable", reason=reason)


def _labelled(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    import pandas as pd

    keep = ~(np.asarray(pd.isna(y_true), dtype=bool) | np.asarray(pd.isna(y_pred), dtype=bool))
    if score is not None:
        s = np.asarray(score, dtype=np.float64)[keep]
        score = s if np.isfinite(s).all() else None
    return _integral(y_true[keep]), _integral(y_pred[keep]), score


def _integral(values: np.ndarray) -> np.ndarray:
    """Whole-number floats (labels read from CSV as 0.0 / 1.0) as integers."""
    if values.dtype.kind != "f" or values.size == 0:
        return values
    if np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
        return values.astype(np.int64)
    return values


def performance_from_tables(
    task: str,
    reference: dict[str, np.ndarray],
    current: dict[str, np.ndarray],
) -> PerformanceResult:
    """Build counts from raw ``y_true``, ``y_pred`` (and optional ``score``) arrays per side.

    Rows where the target or the prediction is missing are left out. ``score`` is
    1-d (binary: probability of the positive class) or 2-d (one column per
    class, in sorted label order); scores with non-finite values are not used.
    """
    from driftline.stats.metrics import ClassificationCounts, RegressionCounts

    sides = []
    for what, side in (("reference", reference), ("current", current)):
        t, p, s = _labelled(side["y_true"], side["y_pred"], side.get("score"))
        if t.size == 0:
            return _not(task, f"no row of the {what} has both a target and a prediction")
        sides.append((t, p, s))
    counts: list[Any] = []
    try:
        if task == "regression":
            for t, p, _ in sides:
                r = RegressionCounts()
                r.update(np.asarray(t, dtype=np.float64), np.asarray(p, dtype=np.float64))
                counts.append(r)
        else:
            found = {v for t, p, _ in sides for v in np.concatenate([t, p]).tolist()}
            try:
                labels = sorted(found)
            except TypeError:  # labels of mixed types: ClassificationCounts will say so
                labels = sorted(found, key=str)
            use_scores = all(
                s is not None and ((s.ndim == 1 and len(labels) <= 2) or s.shape[-1] == len(labels))
                for *_, s in sides
            )
            for t, p, s in sides:
                c = ClassificationCounts(labels=labels)
                c.update(t, p, scores=s if use_scores else None)
                counts.append(c)
        return performance_from_counts(task, counts[0], counts[1])
    except (DriftlineError, ValueError, TypeError) as exc:
        msg = str(exc)
        if not isinstance(exc, InputError):
            msg = f"{type(exc).__name__}: {msg}"
        return _not(task, f"performance cannot be computed: {msg}")
