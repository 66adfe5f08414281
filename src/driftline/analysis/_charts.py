"""Per-column chart data for the HTML report: the two distributions on common bins (private)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from driftline.analysis._inputs import LabelValues, NumericValues

__all__ = [
    "CHART_BINS",
    "CHART_CATEGORIES",
    "bin_labels",
    "chart_from_counts",
    "chart_from_values",
]

#: Equal-width bins of a numerical column's chart (plus open-ended outer bins when needed).
CHART_BINS = 20
#: Categories shown per categorical chart; the rest are pooled into "(rest)".
CHART_CATEGORIES = 20


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _shares(counts: np.ndarray) -> list[float]:
    total = float(counts.sum())
    if total <= 0:
        return [0.0] * int(counts.size)
    return [round(float(c) / total, 6) for c in counts]


def bin_labels(edges: np.ndarray) -> list[str]:
    """Labels of right-closed bins; the first bin also holds its left edge.

    Examples
    --------
    >>> bin_labels(np.array([0.0, 1.0, 2.0])), bin_labels(np.array([-np.inf, 1.0, np.inf]))
    (['[0, 1]', '(1, 2]'], ['≤ 1', '> 1'])
    """
    labels = []
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        if np.isneginf(lo):
            labels.append(f"≤ {_fmt(hi)}")
        elif np.isposinf(hi):
            labels.append(f"> {_fmt(lo)}")
        else:
            left = "[" if i == 0 else "("
            labels.append(f"{left}{_fmt(lo)}, {_fmt(hi)}]")
    return labels


def chart_from_counts(
    title: str,
    labels: list[str],
    reference: np.ndarray,
    current: np.ndarray,
    *,
    categories: bool = False,
) -> dict[str, Any]:
    """Chart data from counts on common bins or categories (shares of each side's rows).

    With ``categories=True`` the bars stand side by side and only the
    :data:`CHART_CATEGORIES` most frequent categories are kept; otherwise (bins)
    the two histograms are overlaid.
    """
    reference, current = np.asarray(reference), np.asarray(current)
    if categories and len(labels) > CHART_CATEGORIES + 1:
        order = np.argsort(-(reference + current), kind="stable")
        keep = order[:CHART_CATEGORIES]
        rest = order[CHART_CATEGORIES:]
        labels = [labels[i] for i in keep] + [f"(rest: {rest.size})"]
        reference = np.append(reference[keep], reference[rest].sum())
        current = np.append(current[keep], current[rest].sum())
    return {
        "title": title,
        "mode": "group" if categories else "overlay",
        "labels": list(labels),
        "reference": _shares(np.asarray(reference, dtype=np.float64)),
        "current": _shares(np.asarray(current, dtype=np.float64)),
    }


def _chart_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of finite ``values`` in the right-closed bins of ``edges``; the outer bins
    also take the values beyond the outer edges. One comparison per interior edge."""
    below = np.empty(values.size, dtype=bool)
    at_most = [0]
    for edge in edges[1:-1].tolist():
        np.less_equal(values, edge, out=below)
        at_most.append(int(np.count_nonzero(below)))
    at_most.append(values.size)
    return np.diff(np.asarray(at_most, dtype=np.int64))


def chart_from_values(
    column: str, reference: NumericValues | LabelValues, current: NumericValues | LabelValues
) -> dict[str, Any]:
    """Chart data from raw values: equal-width bins over both sides, or the top categories.

    Examples
    --------
    >>> from driftline.analysis._inputs import numeric_values
    >>> c = chart_from_values("x", numeric_values(np.arange(10.0), "float"),
    ...                       numeric_values(np.arange(5.0, 15.0), "float"))
    >>> len(c["labels"]), round(sum(c["reference"]), 6), round(sum(c["current"]), 6)
    (20, 1.0, 1.0)
    """
    if isinstance(reference, NumericValues) and isinstance(current, NumericValues):
        ref, cur = reference.finite, current.finite
        both = np.concatenate([ref, cur])
        if both.size == 0:
            return {"title": column, "labels": [], "note": "no finite values"}
        lo, hi = (float(v) for v in np.quantile(both, [0.001, 0.999]))
        if not np.isfinite(hi - lo):
            return {"title": column, "labels": [], "note": "values too large to bin"}
        if hi <= lo:
            lo, hi = float(both.min()), float(both.max())
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, CHART_BINS + 1)
        if both.min() < lo:
            edges = np.concatenate([[-np.inf], edges[1:]])
        if both.max() > hi:
            edges = np.concatenate([edges[:-1], [np.inf]])
        ref_counts, cur_counts = _chart_counts(ref, edges), _chart_counts(cur, edges)
        return chart_from_counts(column, bin_labels(edges), ref_counts, cur_counts)
    if isinstance(reference, LabelValues) and isinstance(current, LabelValues):
        from driftline.analysis._drift import aligned_counts

        cats, r, c = aligned_counts(reference.label_counts(), current.label_counts())
        return chart_from_counts(column, cats, r, c, categories=True)
    return {"title": column, "labels": [], "note": "the two sides hold different kinds of values"}
