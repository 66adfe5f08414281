"""A predictions batch as the frame its bucket profiles are made of.

Example
-------
>>> as_column([1, 2, 3]).dtype.kind, as_column(["a", None]).dtype.kind
('i', 'O')
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from driftline.schema import ColumnRole, ColumnSpec, Schema, SchemaInferenceWarning
from driftline.wire import PredictionsBatch

__all__ = [
    "PREDICTION_COLUMN",
    "SCORE_COLUMN",
    "as_column",
    "batch_arrays",
    "frame_for",
    "infer_schema",
]

PREDICTION_COLUMN = "prediction"
"""Name of the prediction column in a window profile when the schema names none."""
SCORE_COLUMN = "score"
"""Name of the score column in a window profile when the schema names none."""

_PROFILED_ROLES = (ColumnRole.FEATURE, ColumnRole.SEGMENT, ColumnRole.PREDICTION, ColumnRole.SCORE)


def _take(values: Sequence[Any], idx: np.ndarray | None) -> Any:
    if isinstance(values, np.ndarray):
        return values if idx is None else values[idx]
    if idx is None:
        return list(values)
    return [values[i] for i in idx.tolist()]


def as_column(values: Sequence[Any]) -> np.ndarray:
    """A batch column as the 1-D array :func:`driftline.schema.as_table` makes of the list.

    Numbers and booleans become typed arrays, anything else an object array,
    so profiling the array or the list gives the same profile.
    """
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested values
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
        return arr
    if arr.dtype.kind in "USV" or arr.ndim != 1:
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
    return arr


def batch_arrays(batch: PredictionsBatch) -> dict[str, np.ndarray]:
    """The features of a batch as arrays (see :func:`as_column`), converted once per batch."""
    return {name: as_column(col) for name, col in batch.features.items()}


def _scalar_scores(batch: PredictionsBatch) -> bool:
    return bool(batch.scores) and not isinstance(batch.scores[0], list)  # type: ignore[index]


def frame_for(
    batch: PredictionsBatch,
    idx: np.ndarray | None,
    schema: Schema,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, Any], Schema]:
    """The columns of ``batch`` (rows ``idx``, or all) that ``schema`` profiles.

    Returns the frame and the part of ``schema`` it covers, the same for every
    batch: features and segments by name, the prediction column, and score
    columns (scalar scores, or one column per class of list scores); a column
    the batch lacks is all missing. Targets, ids and timestamps are not
    profiled here (labels join later; see the performance counts).
    ``arrays`` holds the features already converted by :func:`batch_arrays`.
    """
    n = len(batch.ids) if idx is None else int(idx.size)
    frame: dict[str, Any] = {}
    specs: list[ColumnSpec] = []
    score_specs = [c for c in schema.columns if c.role is ColumnRole.SCORE]
    for spec in schema.columns:
        if spec.role not in _PROFILED_ROLES:
            continue
        if spec.role is ColumnRole.PREDICTION:
            frame[spec.name] = _take(batch.predictions, idx)
        elif spec.role is ColumnRole.SCORE:
            j = score_specs.index(spec)
            if not batch.scores or (_scalar_scores(batch) and j):
                frame[spec.name] = [None] * n
            elif _scalar_scores(batch):
                frame[spec.name] = _take(batch.scores, idx)
            else:
                rows = _take(batch.scores, idx)
                frame[spec.name] = [r[j] if j < len(r) else None for r in rows]
        else:
            col: Any = batch.features.get(spec.name)
            if arrays is not None and spec.name in arrays:
                col = arrays[spec.name]
            frame[spec.name] = [None] * n if col is None else _take(col, idx)
        specs.append(spec)
    return frame, Schema(tuple(specs))


def infer_schema(batch: PredictionsBatch) -> Schema:
    """A schema inferred from a batch: its features, ``prediction`` and ``score``."""
    frame: dict[str, list[Any]] = {k: list(v) for k, v in batch.features.items()}
    prediction = PREDICTION_COLUMN
    while prediction in frame:
        prediction = "_" + prediction
    frame[prediction] = list(batch.predictions)
    scores: list[str] = []
    if batch.scores and _scalar_scores(batch):
        score = SCORE_COLUMN
        while score in frame:
            score = "_" + score
        frame[score] = list(batch.scores)
        scores.append(score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaInferenceWarning)
        return Schema.infer(frame, prediction=prediction, scores=scores)
