"""Performance estimated without labels, from the score distribution of a profile."""

from __future__ import annotations

from typing import Any

import numpy as np

from driftline.errors import InsufficientDataError

__all__ = ["ESTIMATE_QUANTILES", "estimated_accuracy"]

ESTIMATE_QUANTILES = 100
"""Quantiles of the score distribution averaged by :func:`estimated_accuracy`."""
_RANKS = (np.arange(ESTIMATE_QUANTILES) + 0.5) / ESTIMATE_QUANTILES


def estimated_accuracy(profile: Any, column: str | None = None) -> float | None:
    """Accuracy expected from calibrated binary scores, without labels (CBPE-style).

    A prediction with calibrated positive-class score ``p`` is right with
    probability ``max(p, 1 - p)``; the mean over the profile's score distribution
    (:data:`ESTIMATE_QUANTILES` quantiles of the score column) estimates accuracy
    (higher is better).

    Parameters
    ----------
    profile : DatasetProfile or None
        A window's (or any batch's) profile.
    column : str, optional
        The score column; default the profile schema's one score column.

    Returns
    -------
    float or None
        ``None`` without such a column (or with several score columns and no
        ``column``), without finite values, or with values outside ``[0, 1]``.

    Example
    -------
    >>> from driftline.profile import profile
    >>> from driftline.schema import Schema
    >>> data = {"score": [0.95] * 50 + [0.15] * 50, "pred": ["y"] * 50 + ["n"] * 50}
    >>> schema = Schema.infer(data, prediction="pred", scores=["score"],
    ...                       kinds={"pred": "categorical"})
    >>> round(estimated_accuracy(profile(data, schema)), 2)
    0.9
    >>> round(estimated_accuracy(profile({"score": data["score"]}), "score"), 2)
    0.9
    """
    if profile is None:
        return None
    if column is None:
        scores = profile.schema.scores
        if len(scores) != 1:
            return None
        column = scores[0].name
    col = profile.columns.get(column)
    if getattr(col, "kind", None) != "numerical" or not getattr(col, "n_finite", 0):
        return None
    if col.min < 0.0 or col.max > 1.0:
        return None
    try:
        q = np.asarray(col.quantiles(_RANKS), dtype=np.float64)
    except InsufficientDataError:
        return None
    return float(np.mean(np.maximum(q, 1.0 - q)))
