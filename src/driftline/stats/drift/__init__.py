"""Drift kernels: distances and two-sample tests between a reference and a current sample.

Pure functions over numpy arrays that return a :class:`DriftResult`; they never
decide whether something drifted (thresholds live in monitors). Methods are
registered by name (:func:`get_method`, :func:`available_methods`); each has a
kernel for raw numerical arrays (``*_numerical``, ``ks``, ``wasserstein``,
``anderson_darling``), raw labels (``*_categorical``, ``z_test``) and aligned
counts (``*_from_counts``). :func:`ks_from_cdfs` and
:func:`wasserstein_from_quantiles` work from the summaries profiles keep.

Examples
--------
>>> import numpy as np
>>> from driftline.stats.drift import get_method
>>> rng = np.random.default_rng(0)
>>> ref, cur = rng.normal(size=2000), rng.normal(0.5, 1.0, size=2000)
>>> round(get_method("wasserstein").numerical(ref, cur).statistic, 1)
0.5
"""

from __future__ import annotations

from ._binning import DEFAULT_N_BINS, bin_counts, quantile_edges
from ._categorical import (
    aligned_category_counts,
    chi_square_categorical,
    hellinger_categorical,
    jensen_shannon_categorical,
    kl_categorical,
    psi_categorical,
    total_variation_categorical,
    z_test,
)
from ._counts import (
    DEFAULT_EPS,
    chi_square_from_counts,
    hellinger_from_counts,
    jensen_shannon_from_counts,
    kl_from_counts,
    psi_from_counts,
    total_variation_from_counts,
    z_test_from_counts,
)
from ._fdr import benjamini_hochberg
from ._numerical import (
    anderson_darling,
    chi_square_numerical,
    hellinger_numerical,
    jensen_shannon_numerical,
    kl_numerical,
    ks,
    psi_numerical,
    total_variation_numerical,
    wasserstein,
)
from ._registry import (
    DEFAULT_DISTANCE_THRESHOLD,
    DEFAULT_METHOD_SAMPLE_CUTOFF,
    DEFAULT_P_VALUE_THRESHOLD,
    DriftMethod,
    available_methods,
    default_method,
    get_method,
)
from ._result import DriftResult
from ._summary import ks_from_cdfs, wasserstein_from_quantiles

__all__ = [
    "DEFAULT_DISTANCE_THRESHOLD",
    "DEFAULT_EPS",
    "DEFAULT_METHOD_SAMPLE_CUTOFF",
    "DEFAULT_N_BINS",
    "DEFAULT_P_VALUE_THRESHOLD",
    "DriftMethod",
    "DriftResult",
    "aligned_category_counts",
    "anderson_darling",
    "available_methods",
    "benjamini_hochberg",
    "bin_counts",
    "chi_square_categorical",
    "chi_square_from_counts",
    "chi_square_numerical",
    "default_method",
    "get_method",
    "hellinger_categorical",
    "hellinger_from_counts",
    "hellinger_numerical",
    "jensen_shannon_categorical",
    "jensen_shannon_from_counts",
    "jensen_shannon_numerical",
    "kl_categorical",
    "kl_from_counts",
    "kl_numerical",
    "ks",
    "ks_from_cdfs",
    "psi_categorical",
    "psi_from_counts",
    "psi_numerical",
    "quantile_edges",
    "total_variation_categorical",
    "total_variation_from_counts",
    "total_variation_numerical",
    "wasserstein",
    "wasserstein_from_quantiles",
    "z_test",
    "z_test_from_counts",
]
