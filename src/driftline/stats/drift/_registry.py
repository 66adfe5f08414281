"""The registry of drift methods (private).

One :class:`DriftMethod` per method name says which column kinds it applies to,
how a monitor should read its output, its default threshold and which kernel to
call for raw numerical data, raw categorical data and aligned counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from driftline.errors import InputError

from ._categorical import (
    chi_square_categorical,
    hellinger_categorical,
    jensen_shannon_categorical,
    kl_categorical,
    psi_categorical,
    total_variation_categorical,
    z_test,
)
from ._counts import (
    BINNED_MIN_SAMPLES,
    chi_square_from_counts,
    hellinger_from_counts,
    jensen_shannon_from_counts,
    kl_from_counts,
    psi_from_counts,
    total_variation_from_counts,
    z_test_from_counts,
)
from ._numerical import (
    ANDERSON_DARLING_MIN_SAMPLES,
    KS_MIN_SAMPLES,
    WASSERSTEIN_MIN_SAMPLES,
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
from ._result import DriftResult

KINDS = frozenset({"numerical", "categorical", "boolean"})
"""Column kinds a drift method can apply to."""

DEFAULT_METHOD_SAMPLE_CUTOFF = 1_000
"""Largest per-side sample size for which :func:`default_method` picks a test.

Above it (on either side) the default is an effect size, because with large
samples any test flags negligible differences.
"""

DEFAULT_P_VALUE_THRESHOLD = 0.05
"""Default significance level for test methods: drift when ``p_value < 0.05``."""

DEFAULT_DISTANCE_THRESHOLD = 0.1
"""Default threshold for distance methods: drift when ``statistic >= 0.1``."""


@dataclass(frozen=True, slots=True)
class DriftMethod:
    """A registered drift method: what it applies to and how to read it.

    Parameters
    ----------
    name : str
        Registry name, also :attr:`DriftResult.method`.
    kinds : frozenset of str
        Column kinds it applies to, a subset of ``{"numerical", "categorical",
        "boolean"}``.
    output : {"p_value", "distance"}
        How a monitor decides: ``p_value < threshold`` for tests,
        ``statistic >= threshold`` for distances.
    default_threshold : float
        0.05 for tests; 0.1 for every distance (PSI 0.1 is the usual "moderate
        shift" line; Jensen-Shannon, Hellinger and total variation 0.1 are small
        but visible differences; KL 0.1 nats; normed Wasserstein 0.1 reference
        standard deviations).
    symmetric : bool
        Whether swapping reference and current leaves the statistic unchanged
        given the same bins (binned kernels on raw numerical data take their
        bins from the reference, so only their count form is symmetric).
    min_samples : int
        Fewest usable values per side; fewer raise ``InsufficientDataError``.
    description : str
        One line for docs and drift reasons.
    numerical, categorical, from_counts : callable or None
        The kernel for raw numerical arrays, raw label arrays, and aligned
        count vectors; ``None`` where the method does not apply.

    Examples
    --------
    >>> m = get_method("psi")
    >>> m.output, m.default_threshold, sorted(m.kinds)
    ('distance', 0.1, ['boolean', 'categorical', 'numerical'])
    """

    name: str
    kinds: frozenset[str]
    output: Literal["p_value", "distance"]
    default_threshold: float
    symmetric: bool
    min_samples: int
    description: str
    numerical: Callable[..., DriftResult] | None
    categorical: Callable[..., DriftResult] | None
    from_counts: Callable[..., DriftResult] | None


_ALL = frozenset({"numerical", "categorical", "boolean"})
_NUM = frozenset({"numerical"})
_CAT = frozenset({"categorical", "boolean"})
_P = DEFAULT_P_VALUE_THRESHOLD
_D = DEFAULT_DISTANCE_THRESHOLD

_METHODS: tuple[DriftMethod, ...] = (
    DriftMethod(
        "anderson_darling", _NUM, "p_value", _P, True, ANDERSON_DARLING_MIN_SAMPLES,
        "Anderson-Darling k-sample test (tail-sensitive; p-value capped to [0.001, 0.25])",
        anderson_darling, None, None,
    ),
    DriftMethod(
        "chi_square", _ALL, "p_value", _P, True, BINNED_MIN_SAMPLES,
        "Pearson chi-square test of homogeneity of the category or bin frequencies",
        chi_square_numerical, chi_square_categorical, chi_square_from_counts,
    ),
    DriftMethod(
        "hellinger", _ALL, "distance", _D, True, BINNED_MIN_SAMPLES,
        "Hellinger distance between the category or bin frequencies (0 to 1)",
        hellinger_numerical, hellinger_categorical, hellinger_from_counts,
    ),
    DriftMethod(
        "jensen_shannon", _ALL, "distance", _D, True, BINNED_MIN_SAMPLES,
        "Jensen-Shannon distance (base 2) between the category or bin frequencies (0 to 1)",
        jensen_shannon_numerical, jensen_shannon_categorical, jensen_shannon_from_counts,
    ),
    DriftMethod(
        "kl", _ALL, "distance", _D, False, BINNED_MIN_SAMPLES,
        "Kullback-Leibler divergence of current from reference frequencies (nats, smoothed)",
        kl_numerical, kl_categorical, kl_from_counts,
    ),
    DriftMethod(
        "ks", _NUM, "p_value", _P, True, KS_MIN_SAMPLES,
        "Two-sample Kolmogorov-Smirnov test (largest gap between the two CDFs)",
        ks, None, None,
    ),
    DriftMethod(
        "psi", _ALL, "distance", _D, True, BINNED_MIN_SAMPLES,
        "Population stability index over the category or bin frequencies",
        psi_numerical, psi_categorical, psi_from_counts,
    ),
    DriftMethod(
        "total_variation", _ALL, "distance", _D, True, BINNED_MIN_SAMPLES,
        "Total variation distance between the category or bin frequencies (0 to 1)",
        total_variation_numerical, total_variation_categorical, total_variation_from_counts,
    ),
    DriftMethod(
        "wasserstein", _NUM, "distance", _D, False, WASSERSTEIN_MIN_SAMPLES,
        "Wasserstein-1 distance in units of the reference standard deviation",
        wasserstein, None, None,
    ),
    DriftMethod(
        "z_test", _CAT, "p_value", _P, True, BINNED_MIN_SAMPLES,
        "Two-proportion z-test on two-category (boolean) data",
        None, z_test, z_test_from_counts,
    ),
)  # fmt: skip

_REGISTRY: Mapping[str, DriftMethod] = MappingProxyType({m.name: m for m in _METHODS})


def available_methods() -> tuple[str, ...]:
    """Names of all registered drift methods, sorted.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> "psi" in available_methods()
    True
    """
    return tuple(sorted(_REGISTRY))


def get_method(name: str) -> DriftMethod:
    """Look up a drift method by name.

    Parameters
    ----------
    name : str
        A name from :func:`available_methods`.

    Returns
    -------
    DriftMethod

    Raises
    ------
    InputError
        Unknown name; the message lists the valid names.

    Examples
    --------
    >>> get_method("ks").output
    'p_value'
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        valid = ", ".join(available_methods())
        raise InputError(f"method: expected one of {valid}, got {name!r}") from None


def default_method(
    kind: str, n_reference: int, n_current: int, *, n_categories: int | None = None
) -> str:
    """The method driftline uses when none is configured.

    Small samples (both sides at most :data:`DEFAULT_METHOD_SAMPLE_CUTOFF` = 1,000 values)
    get a test: ``"ks"`` for numerical columns; ``"z_test"`` for boolean columns
    and categorical columns with two categories; ``"chi_square"`` for other
    categorical columns. Larger samples get an effect size, so big data does not
    flag every negligible difference: ``"wasserstein"`` for numerical columns,
    ``"jensen_shannon"`` otherwise.

    Parameters
    ----------
    kind : {"numerical", "categorical", "boolean"}
        Column kind.
    n_reference, n_current : int
        Usable values on each side.
    n_categories : int, optional
        Number of categories (union of both sides) of a categorical column;
        when not given a categorical column is assumed to have more than two.

    Returns
    -------
    str
        A registry name.

    Examples
    --------
    >>> default_method("numerical", 500, 800), default_method("numerical", 500, 5000)
    ('ks', 'wasserstein')
    >>> default_method("categorical", 100, 100, n_categories=2)
    'z_test'
    """
    if kind not in KINDS:
        raise InputError(f"kind: expected one of {', '.join(sorted(KINDS))}, got {kind!r}")
    for name, n in (("n_reference", n_reference), ("n_current", n_current)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InputError(f"{name}: expected a non-negative integer, got {n!r}")
    small = max(n_reference, n_current) <= DEFAULT_METHOD_SAMPLE_CUTOFF
    if kind == "numerical":
        return "ks" if small else "wasserstein"
    if not small:
        return "jensen_shannon"
    two = kind == "boolean" or (n_categories is not None and n_categories <= 2)
    return "z_test" if two else "chi_square"
