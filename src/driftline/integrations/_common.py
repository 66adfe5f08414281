"""What the adapters share: attributes that live on their :class:`~driftline.training.TrainingLoop`,
and framework-free helpers for the values they log.

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

import math
from collections.abc import Mapping
from typing import Any, Self

__all__ = ["Closing", "LoopAttributes", "OnLoop", "log_config", "numbers", "scalars"]


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


class Closing:
    """``with adapter: ...`` calls the adapter's ``close()`` on the way out."""

    def close(self) -> None:
        """Release what the adapter holds (subclasses say what)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def log_config(run: Any, config: Mapping[str, Any]) -> None:
    """Send ``config`` to ``run.log_summary(config=...)`` when the run has one."""
    log_summary = getattr(run, "log_summary", None)
    if callable(log_summary):
        log_summary(config=config)


def numbers(values: Mapping[Any, Any]) -> dict[str, float]:
    """The entries of ``values`` that are ints or floats (not bools), as floats.

    Example
    -------
    >>> numbers({"loss": 1, "ok": True, "name": "x", "lr": 0.5})
    {'loss': 1.0, 'lr': 0.5}
    """
    return {
        str(k): float(v)
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def scalars(values: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """The JSON-safe scalar entries of ``values`` (finite numbers, strings, bools, None).

    Example
    -------
    >>> scalars({"lr": 0.1, "nan": float("nan"), "layers": [1, 2], "name": None}, "a.")
    {'a.lr': 0.1, 'a.name': None}
    """
    out: dict[str, Any] = {}
    for k, v in values.items():
        if (
            isinstance(v, bool | str | int)
            or v is None
            or (isinstance(v, float) and math.isfinite(v))
        ):
            out[prefix + str(k)] = v
    return out
