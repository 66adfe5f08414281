"""Device-side measurements for the torch adapters, none of which syncs, and torch helpers.

What :mod:`driftline.integrations.torch`, ``lightning`` and ``transformers``
share: tensor norms, update ratios, GPU memory, learning-rate scaling and the
loss and batch size found in a step's values. torch is imported when this module is.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from driftline.errors import InputError

__all__ = [
    "MAX_KEY_LENGTH",
    "GradientProbe",
    "StepLosses",
    "batch_size_of",
    "check_torch_objects",
    "gpu_memory",
    "innermost_optimizer",
    "keeping_lrs",
    "loss_of",
    "scale_lrs",
    "tensor_norms",
    "update_ratios",
]

MAX_KEY_LENGTH = 200
"""Longest metric key the server accepts; longer per-layer keys are shortened with a hash."""


def _key(prefix: str, name: str) -> str:
    key = f"{prefix}/{name}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{key[: MAX_KEY_LENGTH - 11]}~{digest}"


def tensor_norms(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """L2 norm of each tensor, as one float32 device tensor (no sync)."""
    foreach = getattr(torch, "_foreach_norm", None)
    norms = foreach(list(tensors)) if foreach is not None else [t.norm() for t in tensors]
    return torch.stack([n.float() for n in norms])


def update_ratios(
    params: Sequence[tuple[str, torch.Tensor]],
    before: Sequence[torch.Tensor],
    layer_grads: tuple[list[str], torch.Tensor] | None,
) -> dict[str, torch.Tensor]:
    """Per-layer ``update_ratio/<param>`` (``||Δw|| / ||w||``), the global ``update_ratio``
    and, with ``layer_grads`` (names, norms), ``grad_norm/<param>``: device tensors."""
    with torch.no_grad():
        now = [p.detach() for _, p in params]
        deltas = [a - b for a, b in zip(now, before, strict=True)]
        upd = tensor_norms(deltas)
        w = tensor_norms(now)
        ratios = upd / w.clamp_min(1e-12)
        total = torch.linalg.vector_norm(upd) / torch.linalg.vector_norm(w).clamp_min(1e-12)
        layers: dict[str, torch.Tensor] = {}
        if layer_grads is not None:
            names, gnorms = layer_grads
            layers.update({_key("grad_norm", n): gnorms[i] for i, n in enumerate(names)})
        layers.update({_key("update_ratio", n): ratios[i] for i, (n, _) in enumerate(params)})
        layers["update_ratio"] = total
    return layers


class GradientProbe:
    """The global gradient norm of each step; per-layer norms and update ratios on request.

    :meth:`capture` after ``backward`` and before the update, :meth:`layers`
    after it; nothing here syncs.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.grad_norm: torch.Tensor | None = None
        """Global L2 norm of the last captured gradients (``None``: none captured)."""
        self._layer_grads: tuple[list[str], torch.Tensor] | None = None
        self._before: list[torch.Tensor] | None = None

    def capture(self, per_layer: bool) -> None:
        """Measure the gradients; with ``per_layer``, keep per-layer norms and copy the weights."""
        with torch.no_grad():
            named = [(n, p.grad) for n, p in self.params if p.grad is not None]
            if not named:
                self.grad_norm = None
                return
            norms = tensor_norms([g for _, g in named])
            self.grad_norm = torch.linalg.vector_norm(norms)
            if per_layer:
                self._layer_grads = ([n for n, _ in named], norms)
                self._before = [p.detach().clone() for _, p in self.params]

    def layers(self) -> dict[str, torch.Tensor] | None:
        """After the update: the per-layer values of a per-layer capture (``None`` otherwise)."""
        if self._before is None:
            return None
        layers = update_ratios(self.params, self._before, self._layer_grads)
        self._before, self._layer_grads = None, None
        return layers

    def forget(self) -> None:
        """Drop what was captured (a step the guard acted on)."""
        self.grad_norm, self._before, self._layer_grads = None, None, None

    def device(self) -> torch.device | None:
        """The device of the first parameter (``None`` without parameters)."""
        return next((p.device for _, p in self.params), None)


def gpu_memory(device: torch.device | None) -> dict[str, float]:
    """Allocated and peak memory of a CUDA ``device`` in bytes; empty for any other."""
    if device is None or device.type != "cuda":
        return {}
    return {
        "gpu_memory_allocated": float(torch.cuda.memory_allocated(device)),
        "gpu_memory_max_allocated": float(torch.cuda.max_memory_allocated(device)),
    }


def check_torch_objects(*, model: object, optimizer: object) -> None:
    """Raise :class:`~driftline.errors.InputError` unless ``model`` is a module and
    ``optimizer`` an optimizer."""
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise InputError(
            f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )


@contextmanager
def keeping_lrs(optimizer: torch.optim.Optimizer) -> Iterator[None]:
    """Put the parameter groups' learning rates back as they were once the block is done."""
    lrs = [g.get("lr") for g in optimizer.param_groups]
    yield
    for g, lr in zip(optimizer.param_groups, lrs, strict=True):
        if lr is not None:
            g["lr"] = lr


def scale_lrs(
    optimizers: Iterable[torch.optim.Optimizer], factor: float, schedulers: Iterable[Any] = ()
) -> list[float]:
    """Multiply the rate of every parameter group by ``factor``; return the new rates.

    The ``base_lrs`` of ``schedulers`` are scaled too, so a schedule does not undo it.
    """
    rates = []
    for opt in optimizers:
        for g in opt.param_groups:
            g["lr"] = g["lr"] * factor
            rates.append(float(g["lr"]))
    for s in schedulers:
        base = getattr(s, "base_lrs", None)
        if isinstance(base, list):
            s.base_lrs = [b * factor for b in base]
    return rates


def loss_of(outputs: Any) -> torch.Tensor | float | None:
    """The loss a training step returned (a tensor, a number, or a dict with ``"loss"``)."""
    if isinstance(outputs, Mapping):
        outputs = outputs.get("loss")
    if isinstance(outputs, torch.Tensor) and outputs.numel() >= 1:
        return outputs
    if isinstance(outputs, int | float) and not isinstance(outputs, bool):
        return float(outputs)
    return None


def batch_size_of(batch: Any) -> int | None:
    """The first dimension of the first tensor of a batch (nested lists, tuples, dicts)."""
    while isinstance(batch, list | tuple) and batch:
        batch = batch[0]
    if isinstance(batch, Mapping) and batch:
        return batch_size_of(next(iter(batch.values())))
    if isinstance(batch, torch.Tensor) and batch.dim() > 0:
        return int(batch.shape[0])
    return None


def innermost_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside wrappers such as accelerate's ``AcceleratedOptimizer``."""
    while not type(optimizer).__module__.startswith("torch.") and hasattr(optimizer, "optimizer"):
        optimizer = optimizer.optimizer
    return optimizer


class StepLosses:
    """The losses of a step's micro-batches, averaged per step and per epoch on the device.

    Example
    -------
    >>> losses = StepLosses()
    >>> losses.add(torch.tensor(1.0)); losses.add(torch.tensor(3.0))
    >>> float(losses.step()), losses.epoch_mean(), math.isnan(float(losses.step()))
    (2.0, 2.0, True)
    """

    def __init__(self) -> None:
        self._losses: list[torch.Tensor] = []
        self._epoch_sum: torch.Tensor | None = None
        self._epoch_steps = 0

    def add(self, loss: object) -> None:
        """Keep a micro-batch's loss (anything but a tensor is ignored)."""
        if isinstance(loss, torch.Tensor):
            self._losses.append(loss.detach().reshape(-1)[:1].reshape(()))

    def step(self) -> torch.Tensor:
        """The mean loss of the micro-batches since the last step (NaN without any); no sync."""
        if self._losses:
            loss = torch.stack(self._losses).float().mean()
            self._epoch_sum = loss if self._epoch_sum is None else self._epoch_sum + loss
            self._epoch_steps += 1
        else:
            loss = torch.tensor(math.nan)
        self._losses = []
        return loss

    def epoch_mean(self) -> float | None:
        """The mean step loss of the epoch (one sync; ``None`` without steps); a new epoch starts."""
        total, n = self._epoch_sum, self._epoch_steps
        self._epoch_sum, self._epoch_steps = None, 0
        return float(total) / n if total is not None and n else None
