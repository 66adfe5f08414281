"""False discovery control across many p-value based checks (Benjamini-Hochberg).

When one evaluation round runs many tests at once (drift of 40 columns with
a KS test, say), about ``alpha`` of the true nulls would fire by chance. This
stage adjusts the p-values of the round together and lets an evaluation fire
only when its own condition holds *and* its adjusted p-value is ``<= alpha``.

Example
-------
>>> from driftline.alerts._model import Evaluation
>>> evs = [Evaluation(f"m{i}", 0.0, 0.0, 60.0, p, 0.05, p <= 0.05, "ks", p_value=p)
...        for i, p in enumerate([0.001, 0.02, 0.04, 0.3])]
>>> [e.firing for e in control_false_discoveries(evs)]
[True, True, False, False]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from driftline.alerts._model import Evaluation
from driftline.errors import InputError
from driftline.stats.drift import benjamini_hochberg

__all__ = ["DEFAULT_FDR_ALPHA", "control_false_discoveries"]

#: The false discovery rate allowed across one round of checks.
DEFAULT_FDR_ALPHA = 0.05


def control_false_discoveries(
    evaluations: Sequence[Evaluation], alpha: float = DEFAULT_FDR_ALPHA
) -> list[Evaluation]:
    """Benjamini-Hochberg across the evaluations that carry a p-value.

    Parameters
    ----------
    evaluations : sequence of Evaluation
        One round of evaluations. Those with a ``p_value`` and a decided
        ``firing`` (not ``None``) are the tests; the others pass unchanged and
        do not count.
    alpha : float
        The false discovery rate, in (0, 1). Lower fires less.

    Returns
    -------
    list of Evaluation
        Same order. Each test gets its BH-adjusted p-value in ``p_value``,
        ``firing = firing and adjusted <= alpha``, and its reason extended with
        ``p=0.003, BH-adjusted 0.02 <= 0.05 across 40 checks``.

    Raises
    ------
    InputError
        ``alpha`` outside (0, 1), or a p-value outside [0, 1].
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    tests = [
        i
        for i, e in enumerate(evaluations)
        if e.p_value is not None and not math.isnan(e.p_value) and e.firing is not None
    ]
    out = list(evaluations)
    if not tests:
        return out
    raw = [float(evaluations[i].p_value) for i in tests]  # type: ignore[arg-type]
    adjusted = benjamini_hochberg(raw)
    m = len(tests)
    for i, p, adj in zip(tests, raw, adjusted.tolist(), strict=True):
        e = evaluations[i]
        passes = adj <= alpha
        cmp = "<=" if passes else ">"
        note = f"p={p:.3g}, BH-adjusted {adj:.3g} {cmp} {alpha:g} across {m} checks"
        if e.firing and not passes:
            note = f"not significant after false discovery control: {note}"
        out[i] = dataclasses.replace(
            e, firing=bool(e.firing and passes), p_value=float(adj), reason=f"{e.reason}; {note}"
        )
    return out
