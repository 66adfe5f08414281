"""Detectors over gradient norms: exploding and vanishing gradients.

See :mod:`driftline.training._detectors` for the shared protocol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from driftline.training._detectors import (
    Detection,
    Detector,
    _check_key,
    _check_positive,
    _RobustWindow,
    _value,
)

__all__ = ["ExplodingGradients", "VanishingGradients"]


class ExplodingGradients(_RobustWindow):
    """A gradient norm above ``max_norm``, or ``factor`` times its running median.

    Parameters
    ----------
    key
        Metric with the global gradient norm (default ``"grad_norm"``).
    max_norm
        Absolute ceiling (default 1e4); ``None`` turns the absolute test off.
    factor
        Ratio to the median of the last ``window`` norms above which a norm
        explodes (default 20); ``None`` turns the relative test off.
    window, min_history
        Size of the running window and values needed before the relative test
        applies (defaults 100 and 20).

    Example
    -------
    >>> ExplodingGradients(max_norm=100.0).update(7, {"grad_norm": 250.0}).reason
    'grad_norm = 250 is above max_norm 100'
    """

    name = "exploding_gradients"
    _params = ("key", "max_norm", "factor", "window", "min_history")

    def __init__(
        self,
        key: str = "grad_norm",
        *,
        max_norm: float | None = 1e4,
        factor: float | None = 20.0,
        window: int = 100,
        min_history: int = 20,
    ) -> None:
        super().__init__(window, min_history)
        _check_key("key", key)
        if max_norm is not None:
            _check_positive("max_norm", max_norm)
        if factor is not None:
            _check_positive("factor", factor)
        self.key = key
        self.max_norm = max_norm
        self.factor = factor

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        v = _value(metrics, self.key)
        if v is None or not math.isfinite(v):
            return None
        evidence: dict[str, Any] = {"key": self.key, "value": v, "max_norm": self.max_norm}
        if self.max_norm is not None and v > self.max_norm:
            reason = f"{self.key} = {v:.6g} is above max_norm {self.max_norm:g}"
            return Detection(self.name, step, reason, evidence)
        base = self._baseline()
        if self.factor is not None and base is not None and v > self.factor * max(base[0], 1e-12):
            evidence.update(median=base[0], factor=self.factor, ratio=v / max(base[0], 1e-12))
            reason = (
                f"{self.key} = {v:.6g} is {v / max(base[0], 1e-12):.1f} times its running "
                f"median {base[0]:.6g} (factor {self.factor:g})"
            )
            return Detection(self.name, step, reason, evidence)
        self._window.append(v)
        return None


class VanishingGradients(Detector):
    """A gradient norm below ``min_norm`` for ``patience`` steps in a row.

    Parameters
    ----------
    key
        Metric with the global gradient norm (default ``"grad_norm"``).
    min_norm
        Floor under which gradients count as vanished (default 1e-7).
    patience
        Consecutive steps under the floor before firing (default 20); it fires
        once per run of small norms.

    Example
    -------
    >>> d = VanishingGradients(min_norm=1e-6, patience=2)
    >>> [d.update(s, {"grad_norm": 1e-9}) for s in range(3)][1].step
    1
    """

    name = "vanishing_gradients"
    _params = ("key", "min_norm", "patience")
    _state = ("_streak", "_since")

    def __init__(
        self, key: str = "grad_norm", *, min_norm: float = 1e-7, patience: int = 20
    ) -> None:
        _check_key("key", key)
        _check_positive("min_norm", min_norm)
        _check_positive("patience", patience, integer=True)
        self.key = key
        self.min_norm = min_norm
        self.patience = patience
        self._streak = 0
        self._since = -1

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        v = _value(metrics, self.key)
        if v is None or not math.isfinite(v):
            return None
        if v >= self.min_norm:
            self._streak, self._since = 0, -1
            return None
        if self._streak == 0:
            self._since = step
        self._streak += 1
        if self._streak != self.patience:
            return None
        return Detection(
            self.name,
            step,
            f"{self.key} has stayed below min_norm {self.min_norm:g} for {self._streak} steps "
            f"(since step {self._since}; now {v:.3g})",
            {"key": self.key, "value": v, "min_norm": self.min_norm, "since_step": self._since},
        )
