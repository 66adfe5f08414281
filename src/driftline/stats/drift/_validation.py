"""Cheap explicit argument checks shared by the drift kernels (private)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from driftline.errors import InputError, InsufficientDataError

NanPolicy = Literal["omit", "raise"]

_PREVIEW = 3


def preview(values: Any) -> str:
    """A short ``('a', 'b', ...)`` rendering of the first few values, for messages."""
    items = list(np.asarray(values).ravel()[:_PREVIEW].tolist())
    more = ", ..." if np.asarray(values).size > _PREVIEW else ""
    return "(" + ", ".join(repr(v) for v in items) + more + ")"


def as_1d(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D numpy array; raise :class:`InputError` otherwise."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array, got an array of shape {arr.shape}")
    return arr


def as_numeric_1d(values: Any, name: str, nan_policy: NanPolicy = "omit") -> np.ndarray:
    """Return the finite values of a 1-D numeric array as float64.

    NaN and +/-inf are dropped when ``nan_policy`` is ``"omit"`` and raise
    :class:`InputError` when it is ``"raise"``. Strings, bytes, dates and complex
    numbers raise :class:`InputError`.
    """
    if nan_policy not in ("omit", "raise"):
        raise InputError(f"nan_policy: expected 'omit' or 'raise', got {nan_policy!r}")
    arr = as_1d(values, name)
    kind = arr.dtype.kind
    if kind in "US":
        raise InputError(f"{name}: expected a numeric array, got strings {preview(arr)}")
    if kind in "cMmV":
        raise InputError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if kind == "O":
        if any(isinstance(v, str | bytes) for v in arr):
            strings = [v for v in arr if isinstance(v, str | bytes)]
            raise InputError(f"{name}: expected a numeric array, got strings {preview(strings)}")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{name}: expected a numeric array, got objects {preview(arr)}"
            ) from exc
    elif kind != "f" or arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    finite = np.isfinite(arr)
    if finite.all():
        return arr
    if nan_policy == "raise":
        bad = arr[~finite]
        raise InputError(
            f"{name}: expected finite values (nan_policy='raise'), got {bad.size} "
            f"non-finite values {preview(bad)}"
        )
    kept: np.ndarray = arr[finite]
    return kept


def check_enough(n: int, needed: int, name: str, method: str) -> None:
    """Raise :class:`InsufficientDataError` when ``n < needed``."""
    if n < needed:
        raise InsufficientDataError(
            f"{method}: {name} has {n} usable values, at least {needed} are needed"
        )


def as_counts(counts: Any, name: str) -> np.ndarray:
    """Validate a 1-D vector of non-negative finite counts and return it as float64."""
    arr = as_1d(counts, name)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: expected numeric counts, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise InputError(f"{name}: expected finite counts, got {preview(arr[~np.isfinite(arr)])}")
    if (arr < 0).any():
        raise InputError(f"{name}: expected non-negative counts, got {preview(arr[arr < 0])}")
    return arr


def aligned_counts(
    reference_counts: Any, current_counts: Any, method: str, min_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two aligned count vectors (same length, non-negative, enough total)."""
    ref = as_counts(reference_counts, "reference_counts")
    cur = as_counts(current_counts, "current_counts")
    if ref.shape != cur.shape:
        raise InputError(
            f"current_counts: expected {ref.size} counts (aligned with reference_counts), "
            f"got {cur.size}"
        )
    check_enough(count_total(ref), min_samples, "reference_counts", method)
    check_enough(count_total(cur), min_samples, "current_counts", method)
    return ref, cur


def count_total(counts: np.ndarray) -> int:
    """Total of a count vector as an int (rounded, since counts may be estimates)."""
    return round(float(counts.sum()))
