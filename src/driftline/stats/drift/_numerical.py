"""Drift kernels on raw numerical arrays (private).

Every kernel takes two 1-D numeric arrays. NaN and +/-inf are omitted by default
(``nan_policy="omit"``); ``nan_policy="raise"`` raises :class:`InputError` instead.
``n_reference`` / ``n_current`` in the result count the values actually used.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from driftline.errors import InsufficientDataError

from ._anderson import anderson_ksamp_midrank
from ._binning import DEFAULT_N_BINS, bin_counts, quantile_edges
from ._counts import (
    BINNED_MIN_SAMPLES,
    DEFAULT_EPS,
    chi_square_from_counts,
    hellinger_from_counts,
    jensen_shannon_from_counts,
    kl_from_counts,
    psi_from_counts,
    total_variation_from_counts,
)
from ._result import DriftResult
from ._scipy import scipy_stats
from ._validation import NanPolicy, as_numeric_1d, check_enough
from ._w1 import wasserstein1

KS_MIN_SAMPLES = 1
"""Fewest finite values per side for ``ks``."""
WASSERSTEIN_MIN_SAMPLES = 2
"""Fewest finite values per side for ``wasserstein`` (the reference needs a spread)."""
ANDERSON_DARLING_MIN_SAMPLES = 2
"""Fewest finite values per side for ``anderson_darling``."""
KS_EXACT_MAX_N = 10_000
"""Largest sample for which ``ks`` tries scipy's exact p-value (scipy's ``method="auto"`` cut-off);
above it the asymptotic p-value is used."""


def _pair(
    reference: ArrayLike, current: ArrayLike, method: str, min_samples: int, nan_policy: NanPolicy
) -> tuple[np.ndarray, np.ndarray]:
    ref = as_numeric_1d(reference, "reference", nan_policy)
    cur = as_numeric_1d(current, "current", nan_policy)
    check_enough(ref.size, min_samples, "reference", method)
    check_enough(cur.size, min_samples, "current", method)
    return ref, cur


def ks(reference: ArrayLike, current: ArrayLike, *, nan_policy: NanPolicy = "omit") -> DriftResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided).

    The statistic is the largest absolute difference between the two empirical
    CDFs (exact, in [0, 1]); the p-value is the one ``scipy.stats.ks_2samp``
    gives with ``method="auto"`` (exact for small samples, asymptotic
    otherwise). Lower p-value means stronger evidence of drift; symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="ks"``.

    Examples
    --------
    >>> r = ks([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
    >>> r.statistic, round(r.p_value, 4)
    (0.5, 0.7714)
    """
    ref, cur = _pair(reference, current, "ks", KS_MIN_SAMPLES, nan_policy)
    ks_2samp = scipy_stats().ks_2samp
    if max(ref.size, cur.size) > KS_EXACT_MAX_N:
        # What method="auto" does for these sizes; no warning is possible, so no
        # (thread-unsafe) warnings.catch_warnings on the large inputs run in threads.
        res = ks_2samp(ref, cur, alternative="two-sided", method="asymp")
    else:
        with warnings.catch_warnings():
            # scipy falls back from the exact to the asymptotic p-value with a warning.
            warnings.filterwarnings(
                "ignore", message=".*[Ee]xact.*Switching to", category=RuntimeWarning
            )
            res = ks_2samp(ref, cur, alternative="two-sided", method="auto")
    return DriftResult("ks", float(res.statistic), float(res.pvalue), ref.size, cur.size)


def normed_wasserstein(distance: float, reference_std: float) -> float:
    """Divide a Wasserstein-1 distance by the reference standard deviation.

    A zero distance gives 0.0; a positive distance over a zero standard deviation
    (a constant reference that moved) gives ``inf``.
    """
    if distance == 0.0:
        return 0.0
    if reference_std == 0.0:
        return math.inf
    return distance / reference_std


def wasserstein(
    reference: ArrayLike, current: ArrayLike, *, nan_policy: NanPolicy = "omit"
) -> DriftResult:
    """Normed Wasserstein-1 (earth mover's) distance.

    ``scipy.stats.wasserstein_distance(reference, current)`` divided by the
    reference standard deviation (``ddof=0``), so the value reads as "the
    distribution moved by this many reference standard deviations" and does not
    change when both samples are rescaled. When the reference is constant (std
    0) the result is 0.0 if the samples are identical and ``inf`` otherwise.
    Higher means more drift; not symmetric (the normaliser is the reference's).

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples, at least 2 finite values each.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="wasserstein"``, ``p_value=None``.

    Examples
    --------
    >>> wasserstein([0.0, 2.0], [1.0, 3.0]).statistic
    1.0
    """
    ref, cur = _pair(reference, current, "wasserstein", WASSERSTEIN_MIN_SAMPLES, nan_policy)
    distance = wasserstein1(ref, cur)  # == scipy.stats.wasserstein_distance, faster
    value = normed_wasserstein(distance, float(np.std(ref)))
    return DriftResult("wasserstein", value, None, ref.size, cur.size)


def anderson_darling(
    reference: ArrayLike, current: ArrayLike, *, nan_policy: NanPolicy = "omit"
) -> DriftResult:
    """k-sample Anderson-Darling test (midrank variant) for two samples.

    Statistic and p-value are ``scipy.scipy_stats().anderson_ksamp([reference, current],
    variant="midrank")``: the normalised statistic (can be negative) and a
    p-value interpolated from tables, **capped to [0.001, 0.25]** (a p-value of
    0.25 means "0.25 or more"); computed in numpy, without scipy's capping
    warning. More
    sensitive to differences in the tails than ``ks``. Lower p-value means
    stronger evidence of drift; symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples, at least 2 finite values each.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="anderson_darling"``.

    Raises
    ------
    InsufficientDataError
        Too few values, or all values (both samples together) are equal.

    Examples
    --------
    >>> import numpy as np
    >>> r = anderson_darling(np.arange(20.0), np.arange(20.0) + 100.0)
    >>> r.p_value
    0.001
    """
    ref, cur = _pair(
        reference, current, "anderson_darling", ANDERSON_DARLING_MIN_SAMPLES, nan_policy
    )
    low = min(float(ref.min()), float(cur.min()))
    if low == max(float(ref.max()), float(cur.max())):
        raise InsufficientDataError(
            f"anderson_darling: needs at least 2 distinct values in reference and current "
            f"together, got 1 (all {ref.size + cur.size} values equal {low!r})"
        )
    statistic, p_value = anderson_ksamp_midrank(ref, cur)  # == scipy's, without its warning
    return DriftResult("anderson_darling", statistic, p_value, ref.size, cur.size)


def _binned(
    from_counts: Callable[..., DriftResult],
    method: str,
    reference: ArrayLike,
    current: ArrayLike,
    n_bins: int,
    nan_policy: NanPolicy,
    **params: float,
) -> DriftResult:
    ref, cur = _pair(reference, current, method, BINNED_MIN_SAMPLES, nan_policy)
    edges = quantile_edges(ref, n_bins)
    return from_counts(bin_counts(ref, edges), bin_counts(cur, edges), **params)


def psi_numerical(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
    eps: float = DEFAULT_EPS,
    nan_policy: NanPolicy = "omit",
) -> DriftResult:
    """Population stability index on reference-quantile bins.

    Bins come from :func:`quantile_edges` of the reference (outer edges -inf and
    +inf); the statistic is :func:`psi_from_counts` of the two bin counts.
    Higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    n_bins : int, default 10
        Number of reference-quantile bins (fewer when the reference has few
        distinct values).
    eps : float, default 1e-4
        Proportion given to an empty bin.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="psi"``, ``p_value=None``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1000.0)
    >>> psi_numerical(x, x).statistic
    0.0
    """
    return _binned(psi_from_counts, "psi", reference, current, n_bins, nan_policy, eps=eps)


def kl_numerical(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
    eps: float = DEFAULT_EPS,
    nan_policy: NanPolicy = "omit",
) -> DriftResult:
    """KL(current || reference) in nats on reference-quantile bins, smoothed.

    See :func:`kl_from_counts`. Higher means more drift; not symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    n_bins : int, default 10
        Number of reference-quantile bins.
    eps : float, default 1e-4
        Proportion given to an empty bin.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="kl"``, ``p_value=None``.

    Examples
    --------
    >>> kl_numerical([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], n_bins=2).statistic
    0.0
    """
    return _binned(kl_from_counts, "kl", reference, current, n_bins, nan_policy, eps=eps)


def jensen_shannon_numerical(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
    nan_policy: NanPolicy = "omit",
) -> DriftResult:
    """Jensen-Shannon distance (base 2) on reference-quantile bins.

    See :func:`jensen_shannon_from_counts`. In [0, 1]; higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    n_bins : int, default 10
        Number of reference-quantile bins.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="jensen_shannon"``, ``p_value=None``.

    Examples
    --------
    >>> round(jensen_shannon_numerical([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 2.0]).statistic, 4)
    0.5868
    """
    return _binned(
        jensen_shannon_from_counts, "jensen_shannon", reference, current, n_bins, nan_policy
    )


def hellinger_numerical(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
    nan_policy: NanPolicy = "omit",
) -> DriftResult:
    """Hellinger distance on reference-quantile bins.

    See :func:`hellinger_from_counts`. In [0, 1]; higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    n_bins : int, default 10
        Number of reference-quantile bins.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="hellinger"``, ``p_value=None``.

    Examples
    --------
    >>> hellinger_numerical([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]).statistic
    0.0
    """
    return _binned(hellinger_from_counts, "hellinger", reference, current, n_bins, nan_policy)


def total_variation_numerical(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
    nan_policy: NanPolicy = "omit",
) -> DriftResult:
    """Total variation distance on reference-quantile bins.

    See :func:`total_variation_from_counts`. In [0, 1]; higher means more drift.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    n_bins : int, default 10
        Number of reference-quantile bins.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="total_variation"``, ``p_value=None``.

    Examples
    --------
    >>> total_variation_numerical([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 2.0, 2.0], n_bins=2).statistic
    0.5
    """
    return _binned(
        total_variation_from_counts, "total_variation", reference, current, n_bins, nan_policy
    )


def chi_square_numerical(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
    nan_policy: NanPolicy = "omit",
) -> DriftResult:
    """Chi-square test of homogeneity on reference-quantile bins.

    See :func:`chi_square_from_counts`. Lower p-value means stronger evidence of
    drift.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples.
    n_bins : int, default 10
        Number of reference-quantile bins.
    nan_policy : {"omit", "raise"}, default "omit"
        What to do with NaN and +/-inf.

    Returns
    -------
    DriftResult
        ``method="chi_square"``.

    Examples
    --------
    >>> r = chi_square_numerical([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], n_bins=2)
    >>> r.statistic, r.p_value
    (0.0, 1.0)
    """
    return _binned(chi_square_from_counts, "chi_square", reference, current, n_bins, nan_policy)
