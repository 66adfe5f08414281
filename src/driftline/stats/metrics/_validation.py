"""Input checks and label encoding shared by the metric kernels.

Every check raises :class:`driftline.errors.InputError` (bad shapes, lengths,
types or values) or :class:`driftline.errors.InsufficientDataError` (no rows),
with a message that names the parameter, what was expected and what came.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftline.errors import InputError, InsufficientDataError

_NUMERIC_KINDS = "biuf"
_STRING_KINDS = "USO"


def _preview(values: NDArray[Any], limit: int = 3) -> str:
    """Return a short ``(a, b, ...)`` preview of the first values."""
    shown = ", ".join(repr(_to_python(v)) for v in values[:limit])
    return f"({shown}{', ...' if values.size > limit else ''})"


def _to_python(value: object) -> object:
    """Convert a numpy scalar to the matching JSON-safe Python scalar."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def as_label_array(values: ArrayLike, name: str) -> NDArray[Any]:
    """Return ``values`` as a 1-d array of class labels (ints, bools, floats or strings).

    Raises
    ------
    InputError
        If ``values`` is not one-dimensional, mixes strings and numbers, or holds NaN.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-d array of labels, got shape {arr.shape}")
    if arr.dtype.kind == "O" and arr.size:
        kinds = {type(v) is str for v in arr.tolist()}
        if kinds == {True}:
            arr = arr.astype(str)
        elif True in kinds:
            raise InputError(
                f"{name}: expected labels of one kind, got strings mixed with other values "
                f"{_preview(arr)}"
            )
        else:
            try:
                arr = np.asarray(arr.tolist())
            except (TypeError, ValueError) as exc:  # pragma: no cover - exotic objects
                raise InputError(f"{name}: expected scalar labels, got {_preview(arr)}") from exc
            if arr.dtype.kind not in _NUMERIC_KINDS:
                raise InputError(f"{name}: expected scalar labels, got {_preview(arr)}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise InputError(f"{name}: expected labels without NaN, got NaN at row {_first_nan(arr)}")
    if arr.dtype.kind not in _NUMERIC_KINDS + _STRING_KINDS:
        raise InputError(f"{name}: expected ints, bools or strings, got dtype {arr.dtype}")
    return arr


def _first_nan(arr: NDArray[Any]) -> int:
    return int(np.flatnonzero(np.isnan(arr))[0])


def is_string_kind(arr: NDArray[Any]) -> bool:
    """Whether a label array holds strings."""
    return arr.dtype.kind in _STRING_KINDS


def check_same_kind(a: NDArray[Any], b: NDArray[Any], name_a: str, name_b: str) -> None:
    """Raise InputError when one label array holds strings and the other numbers."""
    if a.size and b.size and is_string_kind(a) != is_string_kind(b):
        raise InputError(
            f"{name_b}: expected labels of the same kind as {name_a} "
            f"({'strings' if is_string_kind(a) else 'numbers'}), got {_preview(b)}"
        )


def check_length(n_expected: int, arr: NDArray[Any], name: str, ref_name: str) -> None:
    """Raise InputError when ``arr`` does not have ``n_expected`` rows."""
    if arr.shape[0] != n_expected:
        raise InputError(
            f"{name}: expected {n_expected} rows (as many as {ref_name}), got {arr.shape[0]}"
        )


def check_not_empty(n: int, name: str) -> None:
    """Raise InsufficientDataError when there are no rows."""
    if n == 0:
        raise InsufficientDataError(f"{name}: no rows; the metric is undefined without data")


def as_float_array(
    values: ArrayLike, name: str, ndim: tuple[int, ...] = (1,)
) -> NDArray[np.float64]:
    """Return ``values`` as a finite float64 array with one of the allowed dimensions."""
    arr = np.asarray(values)
    if arr.ndim not in ndim:
        expected = " or ".join(f"{d}-d" for d in ndim)
        raise InputError(f"{name}: expected a {expected} array, got shape {arr.shape}")
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise InputError(
            f"{name}: expected numbers, got dtype {arr.dtype} {_preview(arr.reshape(-1))}"
        )
    out = arr.astype(np.float64, copy=False)
    if not np.isfinite(out).all():
        bad = out.reshape(-1)[~np.isfinite(out.reshape(-1))]
        raise InputError(f"{name}: expected finite numbers, got {_preview(bad)}")
    return out


def as_probabilities(
    values: ArrayLike, name: str, n_rows: int, ndim: tuple[int, ...] = (1, 2)
) -> NDArray[np.float64]:
    """Return probabilities in [0, 1] with ``n_rows`` rows (1-d or 2-d)."""
    arr = as_float_array(values, name, ndim)
    check_length(n_rows, arr, name, "y_true")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        bad = arr[(arr < 0.0) | (arr > 1.0)]
        raise InputError(f"{name}: expected probabilities in [0, 1], got {_preview(bad)}")
    return arr


def encode(
    values: NDArray[Any], classes: NDArray[Any]
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Map ``values`` to indexes into sorted ``classes``; also return a found mask."""
    if classes.size == 0:
        return np.zeros(values.shape[0], dtype=np.intp), np.zeros(values.shape[0], dtype=bool)
    idx = np.searchsorted(classes, values)
    idx = np.minimum(idx, classes.size - 1)
    found = classes[idx] == values
    return idx.astype(np.intp, copy=False), np.asarray(found, dtype=bool)


def union_labels(*arrays: NDArray[Any]) -> NDArray[Any]:
    """Sorted unique labels over several label arrays."""
    non_empty = [a for a in arrays if a.size]
    if not non_empty:
        return np.asarray(arrays[0]) if arrays else np.asarray([])
    return np.unique(np.concatenate(non_empty))


def resolve_labels(
    labels: Sequence[object] | NDArray[Any] | None,
    present: NDArray[Any],
    name: str = "labels",
) -> NDArray[Any]:
    """Return the label array to use: the given ``labels`` or the sorted ``present`` ones.

    Raises InputError when given labels are empty, repeated or miss a present label.
    """
    if labels is None:
        return present
    arr = as_label_array(np.asarray(labels), name)
    if arr.size == 0:
        raise InputError(f"{name}: expected at least one label, got none")
    uniq = np.unique(arr)
    if uniq.size != arr.size:
        raise InputError(f"{name}: expected distinct labels, got repeats in {_preview(arr)}")
    if present.size:
        check_same_kind(arr, present, name, "y_true/y_pred")
        _, found = encode(present, uniq)
        if not found.all():
            raise InputError(
                f"{name}: expected every label in the data to be listed, "
                f"missing {_preview(present[~found])}"
            )
    return arr


def default_pos_label(classes: NDArray[Any], pos_label: object | None, name: str) -> object:
    """Resolve the positive class of a binary problem.

    ``pos_label`` wins when given (it must be one of ``classes`` when two are present).
    Otherwise the greater of two classes is positive (scikit-learn's convention), and
    with a single numeric class ``1`` is positive.
    """
    if classes.size > 2:
        raise InputError(
            f"y_true: expected at most 2 classes for binary {name}, got {classes.size} "
            f"{_preview(classes)}; pass a 2-d score matrix for multiclass"
        )
    if pos_label is not None:
        if classes.size == 2 and pos_label not in classes.tolist():
            raise InputError(
                f"pos_label: expected one of the labels {_preview(classes)}, got {pos_label!r}"
            )
        return pos_label
    if classes.size == 2:
        return _to_python(classes[1])
    if classes.size == 1 and not is_string_kind(classes):
        return 1
    raise InputError(
        f"pos_label: expected a positive class for {name} when y_true holds "
        f"{classes.size} string class(es) {_preview(classes)}, got None"
    )


def encode_to(
    values: NDArray[Any], labels: NDArray[Any]
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Map ``values`` to positions in ``labels`` (any order); also return a found mask."""
    sorter = np.argsort(labels, kind="stable")
    idx, found = encode(values, labels[sorter])
    return sorter[idx] if labels.size else idx, found


def encode_pair(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Sequence[object] | NDArray[Any] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[Any]]:
    """Validate a pair of label arrays and encode both as indexes into the labels.

    Returns ``(true_index, pred_index, labels)``; ``labels`` are sorted unless given.
    """
    t = as_label_array(y_true, "y_true")
    p = as_label_array(y_pred, "y_pred")
    check_length(t.shape[0], p, "y_pred", "y_true")
    check_same_kind(t, p, "y_true", "y_pred")
    present = union_labels(t, p)
    classes = resolve_labels(labels, present)
    t_idx, _ = encode_to(t, classes)
    p_idx, _ = encode_to(p, classes)
    return t_idx, p_idx, classes
