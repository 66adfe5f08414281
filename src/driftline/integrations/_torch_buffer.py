"""Per-step values kept on the device until one copy to the host, for the torch watcher.

torch is imported when this module is.
"""

from __future__ import annotations

import torch

__all__ = ["HostRow", "StepBuffer"]

HostRow = tuple[int, dict[str, float], float, int | None, dict[str, float] | None]
"""One drained step: (step, ``loss`` and ``grad_norm``, learning rate, batch size, per-layer values)."""


class StepBuffer:
    """Each step's loss and global gradient norm as device tensors, copied to the host together.

    Example
    -------
    >>> buf = StepBuffer()
    >>> buf.add(0, torch.tensor(0.5), torch.tensor(2.0), lr=0.1, batch_size=8)
    >>> buf.add(1, 0.25, None, lr=0.1, batch_size=None)
    >>> buf.drain()
    [(0, {'loss': 0.5, 'grad_norm': 2.0}, 0.1, 8, None), (1, {'loss': 0.25}, 0.1, None, None)]
    >>> len(buf)
    0
    """

    def __init__(self) -> None:
        self._steps: list[tuple[int, torch.Tensor, float, int | None, bool]] = []
        self._layers: dict[int, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self._steps)

    def add(
        self,
        step: int,
        loss: torch.Tensor | float,
        grad_norm: torch.Tensor | None,
        *,
        lr: float,
        batch_size: int | None,
    ) -> None:
        """Keep ``step``'s loss and gradient norm (``None``: the optimizer did not step); no sync."""
        if isinstance(loss, torch.Tensor):
            value = loss.detach().reshape(-1)[:1].float().reshape(())
        else:
            value = torch.tensor(float(loss))
        gnorm = grad_norm if grad_norm is not None else torch.zeros(())
        pair = torch.stack([value, gnorm.to(value.device)])
        self._steps.append((step, pair, lr, batch_size, grad_norm is not None))

    def add_layers(self, step: int, layers: dict[str, torch.Tensor]) -> None:
        """Keep ``step``'s per-layer values (device tensors)."""
        self._layers[step] = layers

    def clear(self) -> None:
        """Drop everything kept."""
        self._steps, self._layers = [], {}

    def drain(self) -> list[HostRow]:
        """Copy what is kept to the host (one sync), empty the buffer, and return it by step."""
        steps, layers = self._steps, self._layers
        self.clear()
        if not steps:
            return []
        host = torch.stack([s[1] for s in steps]).cpu().tolist()
        layer_host = {
            s: dict(zip(d, torch.stack(list(d.values())).cpu().tolist(), strict=True))
            for s, d in layers.items()
        }
        rows: list[HostRow] = []
        for (step, _, lr, n, has_gnorm), (loss, gnorm) in zip(steps, host, strict=True):
            metrics = {"loss": loss, "grad_norm": gnorm} if has_gnorm else {"loss": loss}
            rows.append((step, metrics, lr, n, layer_host.get(step)))
        return rows
