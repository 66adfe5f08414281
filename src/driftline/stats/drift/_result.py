"""The result every drift kernel returns (private)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DriftResult:
    """The outcome of one drift computation: a statistic, never a decision.

    Parameters
    ----------
    method : str
        Registry name of the method, e.g. ``"psi"`` (see :func:`get_method`).
    statistic : float
        The distance or test statistic. For distances higher means more drift;
        for tests it is the test statistic that ``p_value`` belongs to.
    p_value : float or None
        The p-value of a test (lower means stronger evidence of drift); ``None``
        for distance methods.
    n_reference : int
        Number of reference values actually used (after omitting NaN and
        non-finite values), or the total reference count for count inputs.
    n_current : int
        The same for the current sample.

    Examples
    --------
    >>> r = DriftResult("psi", 0.02, None, 1000, 800)
    >>> r.statistic, r.p_value is None
    (0.02, True)
    """

    method: str
    statistic: float
    p_value: float | None
    n_reference: int
    n_current: int
