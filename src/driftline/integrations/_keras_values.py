"""Host-side values of a Keras model for :mod:`driftline.integrations.keras`: numbers, norms,
the learning rate, and the model's state as arrays.

keras is imported when this module is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from driftline.errors import InputError

__all__ = [
    "BatchLoss",
    "get_lr",
    "gpu_memory",
    "grad_norms",
    "host_array",
    "host_float",
    "load_model_state",
    "model_state",
    "set_lr",
    "step_measurements",
    "update_ratios",
]

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


def step_measurements(
    weights: Sequence[Any], before: list[np.ndarray] | None, *, torch_backend: bool
) -> tuple[float | None, dict[str, float]]:
    """The global gradient norm (torch backend) and, with the weights ``before`` the step,
    per-weight gradient norms and update ratios."""
    gnorm, layers = (
        grad_norms(weights, per_layer=before is not None) if torch_backend else (None, {})
    )
    if before is not None:
        layers.update(update_ratios(weights, before))
    return gnorm, layers


class BatchLoss:
    """A batch's own loss, from Keras' running mean over the epoch: ``(i + 1) m_i - i m_{i-1}``.

    Exact when the batches of an epoch have the same size.

    Example
    -------
    >>> loss = BatchLoss()
    >>> [loss(m) for m in (1.0, 2.0, 3.0)]
    [1.0, 3.0, 5.0]
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new epoch."""
        self._prev: float | None = None
        self._seen = 0

    def __call__(self, mean: float) -> float:
        prev, i = self._prev, self._seen
        self._prev, self._seen = mean, i + 1
        return mean if prev is None else (i + 1) * mean - i * prev


def gpu_memory() -> dict[str, float]:
    """Allocated and peak CUDA memory in bytes (torch backend; empty without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {
        "gpu_memory_allocated": float(torch.cuda.memory_allocated()),
        "gpu_memory_max_allocated": float(torch.cuda.max_memory_allocated()),
    }


def get_lr(optimizer: Any) -> float:
    """The optimizer's current learning rate (NaN when it cannot be read)."""
    try:
        return host_float(optimizer.learning_rate)
    except (AttributeError, TypeError, ValueError, IndexError):
        return math.nan


def set_lr(optimizer: Any, value: float) -> bool:
    """Assign a fixed learning rate; ``False`` (nothing done) for a schedule or a non-finite value."""
    var = optimizer.learning_rate  # a Variable, or a tensor from a schedule
    if not math.isfinite(value) or not isinstance(var, keras.Variable):
        return False
    var.assign(value)
    return True


def model_state(model: Any) -> dict[str, np.ndarray]:
    """Weights and optimizer variables as arrays: ``weights/00000``..., ``optimizer/00000``...."""
    state = {f"weights/{i:05d}": host_array(w) for i, w in enumerate(model.weights)}
    for i, v in enumerate(model.optimizer.variables):
        state[f"optimizer/{i:05d}"] = host_array(v)
    return state


def load_model_state(model: Any, state: Mapping[str, Any], *, keep_lr: bool) -> None:
    """Put :func:`model_state` arrays back into ``model``; reset its metric trackers.

    With ``keep_lr`` (a guard restore) the current learning rate stays, and
    optimizer variables that do not fit are skipped; without it (resuming) the
    optimizer is built first and its saved variables must fit.
    """
    if not keep_lr and not getattr(model.optimizer, "built", True):
        model.optimizer.build(model.trainable_variables)
    weights = [np.asarray(state[k]) for k in sorted(state) if k.startswith("weights/")]
    n_weights = len(model.weights)
    if len(weights) != n_weights:
        raise InputError(
            f"state: expected {n_weights} weight arrays for this model, got {len(weights)}"
        )
    lr = get_lr(model.optimizer)
    model.set_weights(weights)
    opt_vars = model.optimizer.variables
    saved = [np.asarray(state[k]) for k in sorted(state) if k.startswith("optimizer/")]
    if len(saved) == len(opt_vars):
        for var, value in zip(opt_vars, saved, strict=True):
            var.assign(value)
    elif saved and not keep_lr:
        raise InputError(
            f"state: expected {len(opt_vars)} optimizer variables for this optimizer, "
            f"got {len(saved)}"
        )
    if keep_lr:
        set_lr(model.optimizer, lr)
    for m in model.metrics:
        m.reset_state()
