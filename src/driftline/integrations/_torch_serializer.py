"""The weights-only PyTorch checkpoint format, exported by :mod:`driftline.integrations.torch`.

torch is imported when this module is.
"""

from __future__ import annotations

from typing import IO, Any

import torch

__all__ = ["TorchSerializer"]


class TorchSerializer:
    """``torch.save`` to write; ``torch.load(weights_only=True)`` to read (never runs code).

    Parameters
    ----------
    map_location
        Where loaded tensors go (default ``"cpu"``; ``load_state_dict`` then copies
        them to the model's device).

    Example
    -------
    >>> import io, torch
    >>> buf = io.BytesIO()
    >>> TorchSerializer().dump({"w": torch.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> TorchSerializer().load(buf)["w"].tolist()
    [1.0, 1.0]
    """

    suffix = ".pt"

    def __init__(self, map_location: str | torch.device = "cpu") -> None:
        self.map_location = map_location

    def dump(self, state: Any, file: IO[bytes]) -> None:
        torch.save(state, file)

    def load(self, file: IO[bytes]) -> Any:
        return torch.load(file, map_location=self.map_location, weights_only=True)
