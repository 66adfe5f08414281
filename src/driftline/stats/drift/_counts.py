"""Drift statistics over two aligned count vectors (private).

Counts are histograms on common bins or category counts aligned on a common
category list. Proportions are ``counts / counts.sum()`` per side.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from driftline.errors import InputError

from ._result import DriftResult
from ._scipy import scipy_special, scipy_stats
from ._validation import aligned_counts, count_total, preview

DEFAULT_EPS = 1e-4
"""Default proportion given to an empty bin by ``psi`` and ``kl`` (before renormalising)."""

BINNED_MIN_SAMPLES = 1
"""Fewest values per side for the binned / categorical methods."""


def _check_eps(eps: float) -> float:
    if not isinstance(eps, float | int) or isinstance(eps, bool) or not 0.0 < eps < 1.0:
        raise InputError(f"eps: expected a number in (0, 1), got {eps!r}")
    return float(eps)


def _proportions(counts: np.ndarray) -> np.ndarray:
    shares: np.ndarray = counts / counts.sum()
    return shares


def smooth_proportions(counts: np.ndarray, eps: float) -> np.ndarray:
    """Proportions with empty bins raised to ``eps`` and the vector renormalised."""
    p = _proportions(counts)
    if (p == 0).any():
        p = np.where(p == 0, eps, p)
        p = p / p.sum()
    return p


def psi_from_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, eps: float = DEFAULT_EPS
) -> DriftResult:
    """Population stability index between two aligned count vectors.

    ``PSI = sum((c - r) * ln(c / r))`` over bins, with ``r`` and ``c`` the
    reference and current proportions. Empty bins get proportion ``eps`` and each
    side is renormalised to sum to one, so the value stays finite. Higher means
    more drift; 0 for identical proportions; symmetric. Common reading: < 0.1
    stable, 0.1-0.25 moderate, > 0.25 major shift.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        1-D non-negative counts of the same length.
    eps : float, default 1e-4
        Proportion given to an empty bin before renormalising.

    Returns
    -------
    DriftResult
        ``method="psi"``, ``p_value=None``.

    Examples
    --------
    >>> r = psi_from_counts([50, 50], [40, 60])
    >>> round(r.statistic, 4)
    0.0405
    """
    ref, cur = aligned_counts(reference_counts, current_counts, "psi", BINNED_MIN_SAMPLES)
    eps = _check_eps(eps)
    r = smooth_proportions(ref, eps)
    c = smooth_proportions(cur, eps)
    value = float(np.sum((c - r) * np.log(c / r)))
    return DriftResult("psi", max(value, 0.0), None, count_total(ref), count_total(cur))


def kl_from_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, eps: float = DEFAULT_EPS
) -> DriftResult:
    """Kullback-Leibler divergence KL(current || reference), in nats, smoothed.

    ``KL = sum(c * ln(c / r))``. Empty bins get proportion ``eps`` and each side is
    renormalised, so the value is finite (equal to
    ``scipy.stats.entropy(c, r)`` on the smoothed proportions). Higher means more
    drift; 0 for identical proportions; not symmetric.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        1-D non-negative counts of the same length.
    eps : float, default 1e-4
        Proportion given to an empty bin before renormalising.

    Returns
    -------
    DriftResult
        ``method="kl"``, ``p_value=None``.

    Examples
    --------
    >>> round(kl_from_counts([50, 50], [40, 60]).statistic, 4)
    0.0201
    """
    ref, cur = aligned_counts(reference_counts, current_counts, "kl", BINNED_MIN_SAMPLES)
    eps = _check_eps(eps)
    r = smooth_proportions(ref, eps)
    c = smooth_proportions(cur, eps)
    value = float(np.sum(scipy_special().rel_entr(c, r)))
    return DriftResult("kl", max(value, 0.0), None, count_total(ref), count_total(cur))


def jensen_shannon_from_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike
) -> DriftResult:
    """Jensen-Shannon distance (base 2) between two aligned count vectors.

    The square root of the Jensen-Shannon divergence in bits, as
    ``scipy.spatial.distance.jensenshannon(r, c, base=2)``: in [0, 1], 0 for
    identical proportions, 1 for disjoint support. Higher means more drift;
    symmetric; needs no smoothing.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        1-D non-negative counts of the same length.

    Returns
    -------
    DriftResult
        ``method="jensen_shannon"``, ``p_value=None``.

    Examples
    --------
    >>> jensen_shannon_from_counts([10, 0], [0, 10]).statistic
    1.0
    """
    ref, cur = aligned_counts(
        reference_counts, current_counts, "jensen_shannon", BINNED_MIN_SAMPLES
    )
    r = _proportions(ref)
    c = _proportions(cur)
    m = 0.5 * (r + c)
    rel_entr = scipy_special().rel_entr
    divergence = 0.5 * float(np.sum(rel_entr(r, m) + rel_entr(c, m)))
    value = math.sqrt(min(max(divergence / math.log(2.0), 0.0), 1.0))
    return DriftResult("jensen_shannon", value, None, count_total(ref), count_total(cur))


def hellinger_from_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> DriftResult:
    """Hellinger distance between two aligned count vectors.

    ``H = sqrt(sum((sqrt(r) - sqrt(c))**2) / 2)``: in [0, 1], 0 for identical
    proportions, 1 for disjoint support. Higher means more drift; symmetric.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        1-D non-negative counts of the same length.

    Returns
    -------
    DriftResult
        ``method="hellinger"``, ``p_value=None``.

    Examples
    --------
    >>> hellinger_from_counts([5, 5], [5, 5]).statistic
    0.0
    """
    ref, cur = aligned_counts(reference_counts, current_counts, "hellinger", BINNED_MIN_SAMPLES)
    diff = np.sqrt(_proportions(ref)) - np.sqrt(_proportions(cur))
    value = min(math.sqrt(0.5 * float(np.dot(diff, diff))), 1.0)
    return DriftResult("hellinger", value, None, count_total(ref), count_total(cur))


def total_variation_from_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike
) -> DriftResult:
    """Total variation distance between two aligned count vectors.

    ``TV = sum(|r - c|) / 2``: the largest difference in probability any set of
    bins can have; in [0, 1]. Higher means more drift; symmetric.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        1-D non-negative counts of the same length.

    Returns
    -------
    DriftResult
        ``method="total_variation"``, ``p_value=None``.

    Examples
    --------
    >>> round(total_variation_from_counts([50, 50], [40, 60]).statistic, 6)
    0.1
    """
    ref, cur = aligned_counts(
        reference_counts, current_counts, "total_variation", BINNED_MIN_SAMPLES
    )
    value = 0.5 * float(np.abs(_proportions(ref) - _proportions(cur)).sum())
    return DriftResult("total_variation", min(value, 1.0), None, count_total(ref), count_total(cur))


def chi_square_from_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> DriftResult:
    """Pearson chi-square test of homogeneity on the 2 x k table of counts.

    Bins empty on both sides are dropped; no continuity correction (equal to
    ``scipy.stats.chi2_contingency(table, correction=False)``). With one
    non-empty bin left the samples cannot differ: statistic 0, p-value 1. With
    two bins it equals the square of :func:`z_test_from_counts`'s statistic.
    Lower p-value means stronger evidence of drift; symmetric.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        1-D non-negative counts of the same length.

    Returns
    -------
    DriftResult
        ``method="chi_square"``; ``statistic`` is the chi-square statistic with
        ``k - 1`` degrees of freedom.

    Examples
    --------
    >>> r = chi_square_from_counts([50, 50], [40, 60])
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (2.0202, 0.1552)
    """
    ref, cur = aligned_counts(reference_counts, current_counts, "chi_square", BINNED_MIN_SAMPLES)
    keep = (ref + cur) > 0
    table = np.vstack((ref[keep], cur[keep]))
    dof = table.shape[1] - 1
    if dof == 0:
        return DriftResult("chi_square", 0.0, 1.0, count_total(ref), count_total(cur))
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    p_value = float(scipy_stats().chi2.sf(statistic, dof))
    return DriftResult("chi_square", statistic, p_value, count_total(ref), count_total(cur))


def z_test_from_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> DriftResult:
    """Two-proportion z-test (pooled, two-sided) on two-category counts.

    With ``p_r`` and ``p_c`` the share of the second category on each side and
    ``p`` the pooled share, ``z = (p_c - p_r) / sqrt(p (1 - p) (1/n_r + 1/n_c))``.
    The statistic is ``|z|`` and the p-value ``2 * norm.sf(|z|)``. When only one
    category occurs on both sides, ``z = 0`` and the p-value is 1. Lower p-value
    means stronger evidence of drift; symmetric.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Counts of the two categories (length 2; length 1 means one category).

    Returns
    -------
    DriftResult
        ``method="z_test"``.

    Raises
    ------
    InputError
        More than two categories.

    Examples
    --------
    >>> r = z_test_from_counts([50, 50], [40, 60])
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (1.4213, 0.1552)
    """
    ref, cur = aligned_counts(reference_counts, current_counts, "z_test", BINNED_MIN_SAMPLES)
    if ref.size > 2:
        raise InputError(
            f"reference_counts: z_test needs at most two categories, got {ref.size} "
            f"counts {preview(ref)}; use chi_square for more categories"
        )
    n_ref = float(ref.sum())
    n_cur = float(cur.sum())
    if ref.size < 2:
        return DriftResult("z_test", 0.0, 1.0, count_total(ref), count_total(cur))
    pooled = (ref[1] + cur[1]) / (n_ref + n_cur)
    variance = pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur)
    if variance <= 0.0:
        return DriftResult("z_test", 0.0, 1.0, count_total(ref), count_total(cur))
    z = abs(float(cur[1] / n_cur - ref[1] / n_ref)) / math.sqrt(variance)
    p_value = float(2.0 * scipy_stats().norm.sf(z))
    return DriftResult("z_test", z, min(p_value, 1.0), count_total(ref), count_total(cur))
