"""Column drift: compute a statistic per column, then decide against a threshold (private).

Two paths compute the statistic:

* **raw** (exact): when the raw values of both sides are at hand and each side has
  at most ``exact_limit`` rows, the kernels of :mod:`driftline.stats.drift` run on
  the values themselves (binned methods bin on the reference's quantiles).
* **profile**: otherwise the statistic comes from the two profiles: binned methods
  use the current histogram on the reference's bins, ``ks`` the two CDFs from the
  quantile sketches, ``wasserstein`` their quantiles, categorical methods the
  category counts. Each :class:`ColumnDrift` says which path it used.

Here, not in the kernels, is where thresholds decide. p-value methods are
corrected for testing many columns with Benjamini-Hochberg and the adjusted
p-value is compared with the threshold.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from driftline.analysis._inputs import LabelValues, NumericValues
from driftline.analysis._results import ColumnDrift, DatasetDrift
from driftline.errors import InputError, InsufficientDataError

__all__ = [
    "DEFAULT_DRIFT_SHARE",
    "DEFAULT_EXACT_LIMIT",
    "aligned_counts",
    "apply_benjamini_hochberg",
    "category_counts",
    "choose_method",
    "decide",
    "drift_from_counts",
    "drift_from_values",
    "make_dataset_drift",
    "method_applies",
    "not_computed",
    "resolve_threshold",
    "run_kernel",
]

#: Rows per side up to which drift is computed exactly on the raw values.
DEFAULT_EXACT_LIMIT = 100_000
#: The dataset drifts when at least this share of its feature columns drift.
DEFAULT_DRIFT_SHARE = 0.5


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def choose_method(
    column: str,
    kind: str,
    n_reference: int,
    n_current: int,
    methods: str | Mapping[str, str] | None,
    n_categories: int | None = None,
) -> Any:
    """The drift method spec for ``column``: its override, the global one, or the default.

    Raises
    ------
    InputError
        An unknown method name (the message lists the known ones).
    """
    from driftline.stats import drift as sd

    name: Any = None
    if isinstance(methods, str):
        name = methods
    elif methods is not None:
        name = methods.get(column)
    if name is None:
        name = sd.default_method(kind, n_reference, n_current, n_categories=n_categories)
    if not isinstance(name, str):
        return name  # already a spec
    try:
        return sd.get_method(name)
    except (KeyError, InputError) as exc:
        where = f"methods[{column!r}]" if isinstance(methods, Mapping) else "methods"
        raise InputError(f"{where}: unknown drift method {name!r} ({exc})") from exc


def resolve_threshold(
    column: str, spec: Any, thresholds: float | Mapping[str, float] | None
) -> float:
    """The threshold for ``column``: its override, the global one, or the method's default."""
    value: Any = None
    if isinstance(thresholds, int | float) and not isinstance(thresholds, bool):
        value = thresholds
    elif isinstance(thresholds, Mapping):
        value = thresholds.get(column)
    if value is None:
        return float(spec.default_threshold)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        where = f"thresholds[{column!r}]" if isinstance(thresholds, Mapping) else "thresholds"
        raise InputError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def not_computed(
    column: str,
    kind: str,
    role: str,
    status: str,
    reason: str,
    *,
    n_reference: int = 0,
    n_current: int = 0,
    method: str | None = None,
    threshold: float | None = None,
    computed_on: str = "none",
) -> ColumnDrift:
    """A :class:`ColumnDrift` for a column whose statistic could not be computed."""
    return ColumnDrift(
        column=column,
        kind=kind,
        role=role,
        method=method,
        statistic=None,
        threshold=threshold,
        p_value=None,
        adjusted_p_value=None,
        n_reference=n_reference,
        n_current=n_current,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        computed_on=computed_on,
        output=None,
    )


def run_kernel(
    fn: Callable[[], Any],
    column: str,
    kind: str,
    role: str,
    spec: Any,
    threshold: float,
    n_ref: int,
    n_cur: int,
    computed_on: str,
    scale_hint: float | None,
) -> ColumnDrift:
    """Run ``fn`` (a kernel call) and decide; kernel errors become a status with a reason.

    ``InsufficientDataError`` gives ``"insufficient_data"``; input errors and
    non-finite statistics give ``"not_computable"`` (``scale_hint``, the largest
    absolute value, is named in the reason when values are huge).
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = fn()
    except InsufficientDataError as exc:
        return not_computed(
            column, kind, role, "insufficient_data", f"{spec.name}: {exc}",
            n_reference=n_ref, n_current=n_cur, method=spec.name, threshold=threshold,
            computed_on=computed_on,
        )  # fmt: skip
    except (InputError, ValueError, FloatingPointError, OverflowError) as exc:
        return not_computed(
            column, kind, role, "not_computable", f"{spec.name}: {exc}",
            n_reference=n_ref, n_current=n_cur, method=spec.name, threshold=threshold,
            computed_on=computed_on,
        )  # fmt: skip
    stat = float(result.statistic)
    p = None if result.p_value is None else float(result.p_value)
    if math.isnan(stat) or (p is not None and math.isnan(p)):
        hint = f" (values too large: max |x| = {scale_hint:.3g})" if scale_hint else ""
        return not_computed(
            column, kind, role, "not_computable",
            f"{spec.name}: the statistic is not a finite number{hint}",
            n_reference=int(result.n_reference), n_current=int(result.n_current),
            method=spec.name, threshold=threshold, computed_on=computed_on,
        )  # fmt: skip
    provisional = ColumnDrift(
        column=column,
        kind=kind,
        role=role,
        method=spec.name,
        statistic=stat,
        threshold=threshold,
        p_value=p,
        adjusted_p_value=None,
        n_reference=int(result.n_reference),
        n_current=int(result.n_current),
        status="no_drift",
        reason="",
        computed_on=computed_on,
        output=str(spec.output),
    )
    return decide(provisional)


def decide(d: ColumnDrift) -> ColumnDrift:
    """Set status and reason of a computed column from its statistic (or adjusted p) and threshold.

    Distances drift when ``statistic >= threshold``; p-value methods drift when the
    adjusted p-value (the raw one before correction) is below the threshold.
    """
    if d.statistic is None or d.threshold is None:
        return d
    sizes = f"n_ref={d.n_reference}, n_cur={d.n_current}"
    if d.output == "p_value":
        p = d.adjusted_p_value if d.adjusted_p_value is not None else d.p_value
        label = "adjusted p" if d.adjusted_p_value is not None else "p"
        if p is None:
            return d
        drifted = p < d.threshold
        verb = "<" if drifted else "≥"
        extra = f"p={_fmt(d.p_value)}, " if d.adjusted_p_value is not None else ""
        reason = (
            f"{d.method} {label} {_fmt(p)} {verb} threshold {_fmt(d.threshold)} "
            f"(statistic {_fmt(d.statistic)}, {extra}{sizes})"
        )
    else:
        drifted = d.statistic >= d.threshold
        verb = "≥" if drifted else "<"
        reason = f"{d.method} {_fmt(d.statistic)} {verb} threshold {_fmt(d.threshold)} ({sizes})"
    return replace(d, status="drift" if drifted else "no_drift", reason=reason)


def category_counts(
    reference: np.ndarray, current: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of each category on both sides, aligned; categories sorted by reference count.

    Examples
    --------
    >>> cats, r, c = category_counts(np.array(["a", "b", "a"]), np.array(["c", "a"]))
    >>> cats, r.tolist(), c.tolist()
    (['a', 'b', 'c'], [2, 1, 0], [1, 0, 1])
    """
    from driftline.analysis._inputs import LabelValues

    ref = LabelValues(np.asarray(reference), len(reference), 0).label_counts()
    cur = LabelValues(np.asarray(current), len(current), 0).label_counts()
    return aligned_counts(ref, cur)


def aligned_counts(
    reference: Mapping[str, int], current: Mapping[str, int]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """:func:`category_counts` from each side's ``{label: count}``.

    Examples
    --------
    >>> cats, r, c = aligned_counts({"a": 2, "b": 1}, {"c": 1, "a": 1})
    >>> cats, r.tolist(), c.tolist()
    (['a', 'b', 'c'], [2, 1, 0], [1, 0, 1])
    """
    cats = sorted(
        set(reference) | set(current),
        key=lambda k: (-reference.get(k, 0), -current.get(k, 0), k),
    )
    ref = np.array([reference.get(k, 0) for k in cats], dtype=np.int64)
    cur = np.array([current.get(k, 0) for k in cats], dtype=np.int64)
    return cats, ref, cur


def method_applies(spec: Any, kind: str) -> str | None:
    """``None`` when ``spec`` takes ``kind`` columns, else a one-line reason why not."""
    kinds = tuple(str(k) for k in getattr(spec, "kinds", ()))
    if kinds and kind not in kinds:
        return (
            f"method {spec.name!r} does not apply to {kind} columns (it takes {', '.join(kinds)})"
        )
    return None


def drift_from_values(
    column: str,
    kind: str,
    role: str,
    reference: NumericValues | LabelValues,
    current: NumericValues | LabelValues,
    *,
    methods: str | Mapping[str, str] | None = None,
    thresholds: float | Mapping[str, float] | None = None,
) -> ColumnDrift:
    """Drift of one column computed exactly on its raw values (``computed_on="raw"``)."""
    if isinstance(reference, NumericValues) and isinstance(current, NumericValues):
        n_ref, n_cur = reference.finite.size, current.finite.size
        ref_arr, cur_arr = reference.finite, current.finite
    elif isinstance(reference, LabelValues) and isinstance(current, LabelValues):
        n_ref, n_cur = reference.n_labels, current.n_labels
        ref_arr = cur_arr = np.empty(0)  # categorical drift reads the label counts
    else:
        raise InputError(f"column {column!r}: reference and current values of different kinds")
    empty = [side for side, n in (("reference", n_ref), ("current", n_cur)) if n == 0]
    if empty:
        return not_computed(
            column, kind, role, "insufficient_data",
            f"no non-missing values in {' and '.join(empty)}",
            n_reference=n_ref, n_current=n_cur,
        )  # fmt: skip
    n_cats = None
    ref_map: dict[str, int] = {}
    cur_map: dict[str, int] = {}
    if isinstance(reference, LabelValues) and isinstance(current, LabelValues):
        ref_map, cur_map = reference.label_counts(), current.label_counts()
        n_cats = len(set(ref_map) | set(cur_map))
    spec = choose_method(column, kind, n_ref, n_cur, methods, n_cats)
    threshold = resolve_threshold(column, spec, thresholds)
    wrong = method_applies(spec, kind)
    if wrong:
        return not_computed(
            column, kind, role, "not_computable", wrong,
            n_reference=n_ref, n_current=n_cur, method=spec.name, threshold=threshold,
        )  # fmt: skip
    min_samples = int(getattr(spec, "min_samples", 1) or 1)
    if n_ref < min_samples or n_cur < min_samples:
        return not_computed(
            column, kind, role, "insufficient_data",
            f"{spec.name} needs at least {min_samples} values per side, "
            f"got n_ref={n_ref}, n_cur={n_cur}",
            n_reference=n_ref, n_current=n_cur, method=spec.name, threshold=threshold,
            computed_on="raw",
        )  # fmt: skip
    if kind == "numerical":
        scale = float(max(np.abs(ref_arr).max(), np.abs(cur_arr).max()))
        fn = spec.numerical
        return run_kernel(
            lambda: fn(ref_arr, cur_arr), column, kind, role, spec, threshold,
            n_ref, n_cur, "raw", scale if scale > 1e150 else None,
        )  # fmt: skip
    _, ref_counts, cur_counts = aligned_counts(ref_map, cur_map)
    return drift_from_counts(
        column, kind, role, spec, threshold, ref_counts, cur_counts, computed_on="raw"
    )


def drift_from_counts(
    column: str,
    kind: str,
    role: str,
    spec: Any,
    threshold: float,
    reference_counts: np.ndarray,
    current_counts: np.ndarray,
    *,
    computed_on: str,
) -> ColumnDrift:
    """Drift from aligned counts (categories, or histogram bins on the reference's edges)."""
    n_ref, n_cur = int(np.sum(reference_counts)), int(np.sum(current_counts))
    fn = getattr(spec, "from_counts", None)
    if fn is None:
        return not_computed(
            column, kind, role, "not_computable",
            f"method {spec.name!r} cannot be computed from counts",
            n_reference=n_ref, n_current=n_cur, method=spec.name, threshold=threshold,
            computed_on=computed_on,
        )  # fmt: skip
    return run_kernel(
        lambda: fn(reference_counts, current_counts), column, kind, role, spec, threshold,
        n_ref, n_cur, computed_on, None,
    )  # fmt: skip


def apply_benjamini_hochberg(results: list[ColumnDrift]) -> list[ColumnDrift]:
    """Adjust the p-values of every p-value result with Benjamini-Hochberg, then re-decide.

    The adjustment runs over all columns tested with a p-value method in one report;
    the other results come back unchanged, in the same order.

    Examples
    --------
    >>> import numpy as np
    >>> from driftline.profile import profile
    >>> ref = profile({"a": np.arange(100.0), "b": np.arange(100.0)})
    >>> cur = profile({"a": np.arange(100.0) + 30, "b": np.arange(100.0)}, reference=ref)
    >>> from driftline.analysis import drift_from_profiles
    >>> results = [
    ...     drift_from_profiles(c, "numerical", "feature", ref.columns[c], cur.columns[c], methods="ks")
    ...     for c in ("a", "b")
    ... ]
    >>> [d.adjusted_p_value is not None for d in apply_benjamini_hochberg(results)]
    [True, True]
    """
    from driftline.stats.drift import benjamini_hochberg

    idx = [
        i
        for i, d in enumerate(results)
        if d.output == "p_value" and d.p_value is not None and d.statistic is not None
    ]
    if not idx:
        return list(results)
    adjusted = np.asarray(benjamini_hochberg(np.array([results[i].p_value for i in idx])))
    out = list(results)
    for i, adj in zip(idx, adjusted.tolist(), strict=True):
        out[i] = decide(replace(out[i], adjusted_p_value=float(adj)))
    return out


def make_dataset_drift(
    results: list[ColumnDrift], threshold_share: float = DEFAULT_DRIFT_SHARE
) -> DatasetDrift:
    """The dataset verdict over the feature columns whose drift could be computed.

    Parameters
    ----------
    results : list of ColumnDrift
        Per-column results; only role ``"feature"`` counts.
    threshold_share : float
        The dataset drifts when ``n_drifted / n_columns >= threshold_share``
        (default 0.5).
    """
    features = [d for d in results if d.role == "feature"]
    computed = [d for d in features if d.status in ("drift", "no_drift")]
    n = len(computed)
    n_drifted = sum(d.status == "drift" for d in computed)
    skipped = len(features) - n
    tail = f"; {skipped} column(s) not computable or with too little data" if skipped else ""
    if n == 0:
        return DatasetDrift(
            0, 0, None, threshold_share, False,
            f"no feature column could be checked for drift{tail}", status="insufficient_data",
        )  # fmt: skip
    share = n_drifted / n
    drifted = share >= threshold_share
    verb = "≥" if drifted else "<"
    reason = (
        f"{n_drifted} of {n} feature columns drifted (share {share:.3g} {verb} "
        f"threshold_share {threshold_share:g}){tail}"
    )
    return DatasetDrift(
        n, n_drifted, share, threshold_share, drifted, reason,
        status="drift" if drifted else "no_drift",
    )  # fmt: skip
