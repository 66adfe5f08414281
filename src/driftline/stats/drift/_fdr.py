"""Multiple-testing correction (private)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from driftline.errors import InputError

from ._validation import as_1d, preview


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control).

    Equal to ``scipy.stats.false_discovery_control(p, method="bh")`` on the
    non-NaN entries. NaN stays NaN and does not count towards the number of
    tests, so a column whose test could not run does not dilute the others.
    Reject at FDR level ``q`` where the adjusted p-value is ``<= q``.

    Parameters
    ----------
    p_values : array_like
        1-D p-values in [0, 1], NaN allowed.

    Returns
    -------
    numpy.ndarray
        float64 adjusted p-values, same shape and order; each >= its input.

    Raises
    ------
    InputError
        Not 1-D, or a value outside [0, 1].

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, float("nan"), 0.03]).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = as_1d(p_values, "p_values")
    if p.dtype.kind not in "biuf":
        raise InputError(f"p_values: expected numeric p-values, got dtype {p.dtype}")
    p = p.astype(np.float64)
    present = ~np.isnan(p)
    valid = p[present]
    bad = (valid < 0.0) | (valid > 1.0)
    if bad.any():
        raise InputError(f"p_values: expected values in [0, 1] or NaN, got {preview(valid[bad])}")
    m = valid.size
    if m == 0:
        return p
    order = np.argsort(valid, kind="stable")
    ranked = valid[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    out = p.copy()
    out[present] = adjusted
    return out
