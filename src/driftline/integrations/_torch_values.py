"""Device-side measurements for :mod:`driftline.integrations.torch`, none of which syncs.

torch is imported when this module is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

__all__ = ["MAX_KEY_LENGTH", "gpu_memory", "tensor_norms", "update_ratios"]

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


def gpu_memory(device: torch.device | None) -> dict[str, float]:
    """Allocated and peak memory of a CUDA ``device`` in bytes; empty for any other."""
    if device is None or device.type != "cuda":
        return {}
    return {
        "gpu_memory_allocated": float(torch.cuda.memory_allocated(device)),
        "gpu_memory_max_allocated": float(torch.cuda.max_memory_allocated(device)),
    }
