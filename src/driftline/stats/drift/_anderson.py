"""Two-sample Anderson-Darling test (midrank variant) in numpy (private).

The same computation, step for step, as ``scipy.stats.anderson_ksamp([x, y],
variant="midrank")`` (Scholz and Stephens 1987, equation 7 and Table 2), so
the statistic and the table-interpolated p-value agree with scipy's to the last
bit. Unlike scipy it does not warn when the p-value is capped to 0.25 or floored
to 0.001: callers read the cap from :data:`AD_P_VALUE_RANGE`, and the kernel
needs no ``warnings.catch_warnings`` (not thread-safe before Python 3.14).
"""

from __future__ import annotations

import math

import numpy as np

AD_P_VALUE_RANGE = (0.001, 0.25)
"""p-values are interpolated from tables and clipped to this range (scipy's cap and floor)."""

# Interpolation coefficients of Table 2 of Scholz and Stephens (1987), as in scipy.
_B0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
_B1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
_B2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
_SIG = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])


def _a2akn_midrank(
    samples: tuple[np.ndarray, ...], z: np.ndarray, zstar: np.ndarray, n: np.ndarray, total: int
) -> float:
    """``A2akN`` (equation 7 of Scholz and Stephens), the midrank form for ties."""
    a2akn = 0.0
    z_left = z.searchsorted(zstar, "left")
    lj: float | np.ndarray = 1.0
    if total != zstar.size:
        lj = z.searchsorted(zstar, "right") - z_left
    bj = z_left + lj / 2.0
    for i, sample in enumerate(samples):
        s = np.sort(sample)
        s_right = s.searchsorted(zstar, side="right")
        mij = s_right.astype(float)
        fij = s_right - s.searchsorted(zstar, "left")
        mij -= fij / 2.0
        inner = (
            lj
            / float(total)
            * (total * mij - bj * n[i]) ** 2
            / (bj * (total - bj) - total * lj / 4.0)
        )
        a2akn += inner.sum() / n[i]
    return float(a2akn * ((total - 1.0) / total))


def anderson_ksamp_midrank(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Normalised k-sample Anderson-Darling statistic and p-value of two samples.

    ``reference`` and ``current`` are finite 1-D float arrays with at least 2
    values each and at least 2 distinct values together (the caller checks).
    The p-value is capped to :data:`AD_P_VALUE_RANGE`.

    Examples
    --------
    >>> import numpy as np
    >>> stat, p = anderson_ksamp_midrank(np.arange(20.0), np.arange(20.0) + 100.0)
    >>> round(stat, 3), p
    (20.044, 0.001)
    """
    samples = (reference, current)
    k = len(samples)
    z = np.sort(np.hstack(samples))
    total = z.size
    zstar = np.unique(z)
    n = np.array([sample.size for sample in samples])
    a2kn = _a2akn_midrank(samples, z, zstar, n, total)

    big_h = (1.0 / n).sum()
    hs_cs = (1.0 / np.arange(total - 1, 1, -1)).cumsum()
    h = hs_cs[-1] + 1
    g = (hs_cs / np.arange(2, total)).sum()
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * big_h
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * big_h - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * big_h + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * total**3 + b * total**2 + c * total + d) / (
        (total - 1.0) * (total - 2.0) * (total - 3.0)
    )
    m = k - 1
    a2 = float((a2kn - m) / math.sqrt(sigmasq))
    critical = _B0 + _B1 / math.sqrt(m) + _B2 / m
    if a2 < critical.min():
        return a2, float(_SIG.max())
    if a2 > critical.max():
        return a2, float(_SIG.min())
    pf = np.polyfit(critical, np.log(_SIG), 2)
    return a2, math.exp(float(np.polyval(pf, a2)))
