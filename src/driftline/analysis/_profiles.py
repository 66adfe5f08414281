"""Drift and quality computed from two profiles, for data too large for the raw path (private).

* binned methods (``psi``, ``jensen_shannon``, ...) on numerical columns use the
  current histogram counted on the reference's bin edges;
* ``ks`` compares the two KLL sketch CDFs on the union of both sides' quantiles
  on a grid of :data:`PROFILE_GRID` + 1 probabilities (a lower bound of the exact
  statistic, within the sketches' rank error);
* ``wasserstein`` integrates the difference of the two quantile functions on the
  same grid;
* categorical methods use the category counts (labels beyond a profile's top-k
  cap are pooled into one ``(other)`` category).

``anderson_darling`` needs raw values and is reported as not computable here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from driftline.analysis._drift import (
    choose_method,
    drift_from_counts,
    method_applies,
    not_computed,
    resolve_threshold,
    run_kernel,
)
from driftline.analysis._results import ColumnDrift, ColumnQuality

__all__ = ["OTHER", "PROFILE_GRID", "drift_from_profiles", "label_counts", "quality_from_profiles"]

#: Quantile grid resolution of the profile path (``PROFILE_GRID + 1`` probabilities in [0, 1]).
PROFILE_GRID = 200
#: The pooled category of labels beyond a profile's top-k cap.
OTHER = "(other)"


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def label_counts(prof: Any) -> dict[str, int]:
    """A categorical profile's counts with string labels, plus :data:`OTHER` when non-zero."""
    out: dict[str, int] = {}
    for k, v in prof.counts.items():
        key = _label(k)
        out[key] = out.get(key, 0) + int(v)
    if getattr(prof, "other_count", 0):
        out[OTHER] = out.get(OTHER, 0) + int(prof.other_count)
    return out


def _numerical(
    column: str,
    role: str,
    ref: Any,
    cur: Any,
    methods: str | Mapping[str, str] | None,
    thresholds: float | Mapping[str, float] | None,
) -> ColumnDrift:
    from driftline.stats import drift as sd

    kind = "numerical"
    n_ref, n_cur = int(ref.n_finite), int(cur.n_finite)
    empty = [side for side, n in (("reference", n_ref), ("current", n_cur)) if n == 0]
    if empty:
        return not_computed(
            column, kind, role, "insufficient_data",
            f"no finite values in {' and '.join(empty)}",
            n_reference=n_ref, n_current=n_cur, computed_on="profile",
        )  # fmt: skip
    spec = choose_method(column, kind, n_ref, n_cur, methods)
    threshold = resolve_threshold(column, spec, thresholds)
    common: dict[str, Any] = {"n_reference": n_ref, "n_current": n_cur, "method": spec.name}
    wrong = method_applies(spec, kind)
    if wrong:
        return not_computed(
            column, kind, role, "not_computable", wrong, threshold=threshold,
            computed_on="profile", **common,
        )  # fmt: skip
    probs = np.linspace(0.0, 1.0, PROFILE_GRID + 1)
    if spec.name == "ks":
        points = np.unique(np.concatenate([ref.quantiles(probs), cur.quantiles(probs)]))

        def fn() -> Any:
            return sd.ks_from_cdfs(points, ref.cdf(points), cur.cdf(points), n_ref, n_cur)

    elif spec.name == "wasserstein":
        ref_std = math.sqrt(ref.m2 / n_ref) if n_ref else math.nan

        def fn() -> Any:
            return sd.wasserstein_from_quantiles(
                probs, ref.quantiles(probs), cur.quantiles(probs), ref_std,
                n_reference=n_ref, n_current=n_cur,
            )  # fmt: skip

    elif getattr(spec, "from_counts", None) is not None:
        ref_edges, ref_counts = ref.histogram
        cur_edges, cur_counts = cur.histogram
        if ref_edges.shape != cur_edges.shape or not np.array_equal(ref_edges, cur_edges):
            return not_computed(
                column, kind, role, "not_computable",
                f"{spec.name}: the current profile is not binned on the reference's edges "
                "(profile the current data with reference=the reference profile)",
                threshold=threshold, computed_on="profile", **common,
            )  # fmt: skip
        return drift_from_counts(
            column, kind, role, spec, threshold, ref_counts, cur_counts, computed_on="profile"
        )
    else:
        return not_computed(
            column, kind, role, "not_computable",
            f"{spec.name} needs the raw values; choose ks, wasserstein or a binned method",
            threshold=threshold, computed_on="profile", **common,
        )  # fmt: skip
    return run_kernel(fn, column, kind, role, spec, threshold, n_ref, n_cur, "profile", None)


def drift_from_profiles(
    column: str,
    kind: str,
    role: str,
    reference: Any,
    current: Any,
    *,
    methods: str | Mapping[str, str] | None = None,
    thresholds: float | Mapping[str, float] | None = None,
) -> ColumnDrift:
    """Drift of one column from its reference and current column profiles (``computed_on="profile"``).

    Parameters
    ----------
    column, kind, role : str
        The column's name, kind (``"numerical"``, ``"categorical"``, ...) and role.
    reference, current : ColumnProfile
        The column's profiles; a numerical ``current`` must be binned on the
        reference's edges for the binned methods (profile it with ``reference=``).
    methods : str or mapping of column to method, optional
        The drift method (see :func:`driftline.stats.drift.available_methods`);
        default: chosen from the kind and the sample sizes.
    thresholds : float or mapping of column to float, optional
        The drift threshold; default: the method's own.

    Returns
    -------
    ColumnDrift
        The statistic, threshold and decision, or a ``not_computable`` /
        ``insufficient_data`` result that says why.

    Examples
    --------
    >>> from driftline.profile import profile
    >>> ref = profile({"x": [1.0, 2.0, 3.0, 4.0] * 25})
    >>> cur = profile({"x": [1.0, 2.0, 3.0, 4.0] * 25}, reference=ref)
    >>> d = drift_from_profiles(
    ...     "x", "numerical", "feature", ref.columns["x"], cur.columns["x"], methods="psi"
    ... )
    >>> d.method, d.statistic, d.drifted
    ('psi', 0.0, False)
    """
    ref_kind = getattr(reference, "kind", kind)
    cur_kind = getattr(current, "kind", kind)
    if ref_kind != cur_kind:
        return not_computed(
            column, kind, role, "not_computable",
            f"the column is {ref_kind} in the reference profile and {cur_kind} in the current one",
            computed_on="profile",
        )  # fmt: skip
    if ref_kind == "numerical":
        return _numerical(column, role, reference, current, methods, thresholds)
    if ref_kind not in ("categorical", "boolean"):
        return not_computed(
            column, kind, role, "not_computable",
            f"{ref_kind} columns are not checked for drift", computed_on="profile",
        )  # fmt: skip
    ref_map, cur_map = label_counts(reference), label_counts(current)
    cats = sorted(set(ref_map) | set(cur_map), key=lambda k: (-ref_map.get(k, 0), k))
    ref_counts = np.array([ref_map.get(k, 0) for k in cats], dtype=np.int64)
    cur_counts = np.array([cur_map.get(k, 0) for k in cats], dtype=np.int64)
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    if n_ref == 0 or n_cur == 0:
        empty = [s for s, n in (("reference", n_ref), ("current", n_cur)) if n == 0]
        return not_computed(
            column, ref_kind, role, "insufficient_data",
            f"no non-missing values in {' and '.join(empty)}",
            n_reference=n_ref, n_current=n_cur, computed_on="profile",
        )  # fmt: skip
    spec = choose_method(column, ref_kind, n_ref, n_cur, methods, len(cats))
    threshold = resolve_threshold(column, spec, thresholds)
    wrong = method_applies(spec, ref_kind)
    if wrong:
        return not_computed(
            column, ref_kind, role, "not_computable", wrong, n_reference=n_ref,
            n_current=n_cur, method=spec.name, threshold=threshold, computed_on="profile",
        )  # fmt: skip
    return drift_from_counts(
        column, ref_kind, role, spec, threshold, ref_counts, cur_counts, computed_on="profile"
    )


def quality_from_profiles(column: str, kind: str, reference: Any, current: Any) -> ColumnQuality:
    """Quality counts from two column profiles; raw-only counts are ``None`` with a note."""
    issues: list[str] = []
    notes: list[str] = []
    n_ref, n_cur = int(reference.n), int(current.n)
    miss_ref, miss_cur = int(reference.n_missing), int(current.n_missing)
    if n_cur and miss_cur == n_cur:
        issues.append("every current value is missing")
    mism_cur = int(getattr(current, "n_type_mismatch", 0))
    if mism_cur:
        issues.append(f"{mism_cur} value(s) of the wrong type")
    if getattr(reference, "kind", None) == "numerical" and getattr(current, "kind", None) == (
        "numerical"
    ):
        inf = int(current.n_pos_inf + current.n_neg_inf)
        if inf:
            issues.append(f"{inf} infinite value(s)")
        notes.append("out-of-range counts need the raw current values")
        return ColumnQuality(
            column=column, kind=kind, n_reference=n_ref, n_current=n_cur,
            missing_reference=miss_ref, missing_current=miss_cur,
            type_mismatch_reference=int(reference.n_type_mismatch),
            type_mismatch_current=mism_cur, nan_current=miss_cur, inf_current=inf,
            constant_reference=bool(reference.n_finite and reference.min == reference.max),
            constant_current=bool(current.n_finite and current.min == current.max),
            issues=tuple(issues), notes=tuple(notes),
        )  # fmt: skip
    if hasattr(reference, "counts") and hasattr(current, "counts"):
        ref_map, cur_map = label_counts(reference), label_counts(current)
        new = {k: v for k, v in cur_map.items() if k not in ref_map and k != OTHER}
        gone = {k: v for k, v in ref_map.items() if k not in cur_map and k != OTHER}
        if OTHER in ref_map or OTHER in cur_map:
            notes.append(
                "labels beyond the profiles' top-k cap are pooled: category lists are partial"
            )
        if new:
            issues.append(f"{len(new)} new categories")
        if gone:
            issues.append(f"{len(gone)} categories gone")
        return ColumnQuality(
            column=column, kind=kind, n_reference=n_ref, n_current=n_cur,
            missing_reference=miss_ref, missing_current=miss_cur,
            type_mismatch_reference=int(getattr(reference, "n_type_mismatch", 0)),
            type_mismatch_current=mism_cur, new_categories=new, missing_categories=gone,
            constant_reference=len(ref_map) == 1, constant_current=len(cur_map) == 1,
            issues=tuple(issues), notes=tuple(notes),
        )  # fmt: skip
    return ColumnQuality(
        column=column, kind=kind, n_reference=n_ref, n_current=n_cur,
        missing_reference=miss_ref, missing_current=miss_cur,
        issues=tuple(issues), notes=(f"{kind} columns: only missing values are checked",),
    )  # fmt: skip
