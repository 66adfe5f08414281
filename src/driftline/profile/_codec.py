"""JSON-safe encoding helpers shared by the profile classes (private)."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from driftline.errors import InputError

__all__ = ["dec_bytes", "dec_float", "dec_floats", "enc_bytes", "enc_float", "enc_floats", "field"]

_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def enc_float(value: float) -> float | str:
    """Encode a float for strict JSON: non-finite values become ``'nan'``, ``'inf'``, ``'-inf'``."""
    v = float(value)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def dec_float(value: Any) -> float:
    """Invert :func:`enc_float`."""
    if isinstance(value, str):
        if value not in _SPECIAL:
            raise InputError(
                f"profile dict: expected a number or 'nan'/'inf'/'-inf', got {value!r}"
            )
        return _SPECIAL[value]
    return float(value)


def enc_floats(values: np.ndarray) -> list[float | str]:
    """Encode a float array with :func:`enc_float`."""
    return [enc_float(v) for v in np.asarray(values, dtype=np.float64).tolist()]


def dec_floats(values: list[Any]) -> np.ndarray:
    """Invert :func:`enc_floats`."""
    return np.array([dec_float(v) for v in values], dtype=np.float64)


def enc_bytes(data: bytes) -> str:
    """Encode bytes (a serialised sketch) as base64 text."""
    return base64.b64encode(data).decode("ascii")


def dec_bytes(text: str) -> bytes:
    """Invert :func:`enc_bytes`."""
    return base64.b64decode(text.encode("ascii"), validate=True)


def field(data: Mapping[str, Any], key: str, where: str) -> Any:
    """Return ``data[key]`` or raise :class:`InputError` naming the missing field."""
    try:
        return data[key]
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"{where}: expected field {key!r} in the profile dict, it is missing"
        ) from exc
