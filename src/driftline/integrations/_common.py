"""What the adapters share: attributes that live on their :class:`~driftline.training.TrainingLoop`.

Example
-------
>>> from types import SimpleNamespace
>>> class Adapter:
...     global_step = OnLoop("Steps seen.")
...     def __init__(self):
...         self._loop = SimpleNamespace(global_step=0)
>>> a = Adapter()
>>> a.global_step = 3
>>> a._loop.global_step, Adapter.global_step.__doc__
(3, 'Steps seen.')
"""

from __future__ import annotations

from typing import Any

__all__ = ["LoopAttributes", "OnLoop"]


class OnLoop:
    """A data descriptor that reads and writes the same-named attribute of ``self._loop``.

    The adapters keep their public attributes (``global_step``, ``guard``,
    ``restored``...) while the one :class:`~driftline.training.TrainingLoop`
    behind them holds the value, so the two can never disagree.
    """

    def __init__(self, doc: str = "") -> None:
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj._loop, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj._loop, self.name, value)


class LoopAttributes:
    """The public attributes every adapter shares, kept on its ``self._loop``."""

    run = OnLoop("Where metrics go (``None``: nowhere).")
    guard = OnLoop("The :class:`~driftline.training.Guard`, or ``None``.")
    checkpoints = OnLoop("The :class:`~driftline.training.CheckpointManager`, or ``None``.")
    log_every = OnLoop("Log every ``log_every``-th step; the guard sees every step.")
    per_layer_every = OnLoop("Steps between per-layer measurements (``None``: never).")
    global_step = OnLoop("Training steps seen; it keeps counting after a restore.")
    restored = OnLoop("Checkpoints the guard restored, in order.")
