"""Host-side values of a Keras model for :mod:`driftline.integrations.keras`: numbers, norms.

keras is imported when this module is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

__all__ = ["gpu_memory", "grad_norms", "host_array", "host_float", "update_ratios"]

_EPS = 1e-12
"""Floor of a weight norm in an update ratio, so a zero weight does not divide by zero."""


def host_float(value: Any) -> float:
    """A Python float of a number, a 0-d or a 1-element tensor."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(host_array(value).reshape(-1)[0])


def host_array(variable: Any) -> np.ndarray:
    """A copy of a Keras variable or backend tensor as a NumPy array."""
    value = variable.value if isinstance(variable, keras.Variable) else variable
    detach = getattr(value, "detach", None)  # a torch tensor: skip numpy's __array__ protocol
    if callable(detach):
        return np.array(detach().cpu().numpy(), copy=True)
    return np.array(keras.ops.convert_to_numpy(value), copy=True)


def grad_norms(weights: Sequence[Any], *, per_layer: bool) -> tuple[float | None, dict[str, float]]:
    """Global L2 norm of the gradients of ``weights`` (torch backend), and per weight on request."""
    import torch  # the torch backend is loaded, so this costs nothing

    named = [(v.path, g) for v in weights if (g := getattr(v.value, "grad", None)) is not None]
    if not named:
        return None, {}
    with torch.no_grad():
        norms = torch.stack([torch.linalg.vector_norm(g.float()) for _, g in named])
        total = float(torch.linalg.vector_norm(norms))
        layers = (
            dict(zip([f"grad_norm/{n}" for n, _ in named], norms.cpu().tolist(), strict=True))
            if per_layer
            else {}
        )
    return total, layers


def update_ratios(weights: Sequence[Any], before: list[np.ndarray]) -> dict[str, float]:
    """``||Δw|| / ||w||`` per weight and globally, against the copies ``before`` the step."""
    out: dict[str, float] = {}
    upd_sq = w_sq = 0.0
    for v, b in zip(weights, before, strict=True):
        w = host_array(v).astype(np.float64)
        du = float(np.linalg.norm(w - b))
        wn = float(np.linalg.norm(w))
        out[f"update_ratio/{v.path}"] = du / max(wn, _EPS)
        upd_sq, w_sq = upd_sq + du * du, w_sq + wn * wn
    out["update_ratio"] = math.sqrt(upd_sq) / max(math.sqrt(w_sq), _EPS)
    return out


def gpu_memory() -> dict[str, float]:
    """Allocated and peak CUDA memory in bytes (torch backend; empty without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {
        "gpu_memory_allocated": float(torch.cuda.memory_allocated()),
        "gpu_memory_max_allocated": float(torch.cuda.max_memory_allocated()),
    }
