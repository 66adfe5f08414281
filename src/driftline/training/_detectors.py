"""Streaming detectors over training curves.

Each detector watches one or two metric keys and is fed one step at a time with
``update(step, metrics)``; it returns a :class:`Detection` (detector name, step,
a one-line reason and the evidence) or ``None``. Detectors only decide what they
see; what to do about it is the :class:`~driftline.training.Guard`'s job.

Detectors are order dependent (a curve is a sequence), so they offer no
``merge``; their state round-trips through ``to_dict`` / ``from_dict`` so that a
resumed run keeps its baselines. Missing keys are skipped: a step that carries no
``val_loss`` does not count as an evaluation.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from driftline.errors import InputError

__all__ = [
    "Detection",
    "Detector",
    "Divergence",
    "NonFinite",
    "Overfitting",
    "Plateau",
]

_REGISTRY: dict[str, type[Detector]] = {}

Mode = Literal["min", "max"]

MAD_TO_SIGMA = 1.4826
"""Factor that turns a median absolute deviation into a normal standard deviation."""


@dataclass(frozen=True)
class Detection:
    """What a detector found at one step.

    Parameters
    ----------
    detector
        The detector's name (``non_finite``, ``divergence``...), also the run event kind.
    step
        The training step the detection refers to.
    reason
        One human-readable line.
    evidence
        The numbers behind the decision (values, baselines, thresholds).

    Example
    -------
    >>> Detection("plateau", 120, "loss flat for 100 steps", {"best": 0.31}).detector
    'plateau'
    """

    detector: str
    step: int
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _check_positive(name: str, value: float, *, integer: bool = False) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not value > 0 or not math.isfinite(value):
        kind = "a positive int" if integer else "a positive finite number"
        raise InputError(f"{name}: expected {kind}, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InputError(f"{name}: expected a non-negative number, got {value!r}")


def _check_mode(mode: str) -> None:
    if mode not in ("min", "max"):
        raise InputError(f"mode: expected 'min' or 'max', got {mode!r}")


def _check_key(name: str, key: object) -> None:
    if not isinstance(key, str) or not key:
        raise InputError(f"{name}: expected a non-empty metric key, got {key!r}")


def _value(metrics: Mapping[str, Any], key: str) -> float | None:
    """The metric as a float, or ``None`` when the step does not carry it."""
    v = metrics.get(key)
    return None if v is None else float(v)


class Detector:
    """Base class: ``update(step, metrics)`` returns a :class:`Detection` or ``None``.

    Subclasses set :attr:`name`, implement :meth:`update`, and list the state
    attributes that :meth:`to_dict` saves in ``_state``.
    """

    name: ClassVar[str] = "detector"
    _params: ClassVar[tuple[str, ...]] = ()
    _state: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            _REGISTRY[cls.name] = cls  # from_dict finds every public detector by name

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        """Feed one step's metrics; return a detection or ``None``."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything seen so far (parameters are kept)."""
        fresh = type(self)(**{p: getattr(self, p) for p in self._params})
        for s in self._state:
            setattr(self, s, getattr(fresh, s))

    def to_dict(self) -> dict[str, Any]:
        """Parameters and state as JSON-compatible data (see :meth:`from_dict`)."""
        state: dict[str, Any] = {}
        for s in self._state:
            v = getattr(self, s)
            state[s] = list(v) if isinstance(v, deque) else v
        return {
            "type": self.name,
            "params": {p: getattr(self, p) for p in self._params},
            "state": state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Detector:
        """Rebuild a detector written by :meth:`to_dict` (any subclass, by ``type``)."""
        kinds = _REGISTRY
        kind = data.get("type") if isinstance(data, Mapping) else None
        if kind not in kinds:
            raise InputError(f"data['type']: expected one of {sorted(kinds)}, got {kind!r}")
        obj = kinds[kind](**data["params"])
        for s, v in data["state"].items():
            if s not in obj._state:
                raise InputError(f"data['state']: unknown field {s!r} for {kind}")
            current = getattr(obj, s)
            setattr(obj, s, deque(v, maxlen=current.maxlen) if isinstance(current, deque) else v)
        return obj

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"


class NonFinite(Detector):
    """Fires on every step where a watched value is NaN or infinite.

    Parameters
    ----------
    keys
        Metric keys to check (default ``("loss", "grad_norm")``); absent keys are skipped.

    Example
    -------
    >>> d = NonFinite()
    >>> d.update(3, {"loss": 0.5}) is None
    True
    >>> d.update(4, {"loss": float("nan")}).reason
    'loss is nan at step 4'
    """

    name = "non_finite"
    _params = ("keys",)

    def __init__(self, keys: tuple[str, ...] | list[str] = ("loss", "grad_norm")) -> None:
        if isinstance(keys, str) or not keys:
            raise InputError(f"keys: expected a non-empty sequence of metric keys, got {keys!r}")
        for k in keys:
            _check_key("keys", k)
        self.keys = tuple(keys)

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        bad = {}
        for k in self.keys:
            v = _value(metrics, k)
            if v is not None and not math.isfinite(v):
                bad[k] = v
        if not bad:
            return None
        what = ", ".join(f"{k} is {v}" for k, v in bad.items())
        return Detection(self.name, step, f"{what} at step {step}", {"values": bad})


class _RobustWindow(Detector):
    """Base of detectors that keep a window of recent finite values with a median/MAD baseline."""

    _state = ("_window", "_streak")

    def __init__(self, window: int, min_history: int) -> None:
        _check_positive("window", window, integer=True)
        _check_positive("min_history", min_history, integer=True)
        if min_history > window:
            raise InputError(
                f"min_history: expected at most window ({window}), got {min_history!r}"
            )
        self.window = window
        self.min_history = min_history
        self._window: deque[float] = deque(maxlen=window)
        self._streak = 0

    def _baseline(self) -> tuple[float, float] | None:
        if len(self._window) < self.min_history:
            return None
        arr = np.fromiter(self._window, dtype=float)
        med = float(np.median(arr))
        return med, float(np.median(np.abs(arr - med))) * MAD_TO_SIGMA


class Divergence(_RobustWindow):
    """A value that spikes far above (or below, for ``mode='max'``) a robust running baseline.

    The baseline is the median of the last ``window`` finite values that were not
    themselves flagged, and its scale the MAD (times 1.4826), floored at
    ``min_relative_scale * |median|`` so that a perfectly flat curve does not
    flag noise. A step is a spike when its robust z-score is above
    ``threshold``; the detector fires after ``patience`` spikes in a row.

    Parameters
    ----------
    key
        Metric to watch (default ``"loss"``).
    mode
        ``"min"`` when lower is better (a loss: spikes go up), ``"max"`` otherwise.
    threshold
        Robust z-score above which a step is a spike (default 6).
    window
        Number of recent values in the baseline (default 50).
    min_history
        Values needed before anything is flagged (default 20).
    patience
        Consecutive spikes before the detector fires (default 2: one noisy
        mini-batch is not a divergence).
    min_relative_scale
        Floor of the scale as a fraction of ``|median|`` (default 0.05).

    Example
    -------
    >>> d = Divergence(window=10, min_history=5)
    >>> [d.update(s, {"loss": 1.0 - 0.01 * s}) for s in range(8)].count(None)
    8
    >>> d.update(8, {"loss": 5.0}) is None  # one spike: patience is 2
    True
    >>> d.update(9, {"loss": 40.0}).detector
    'divergence'
    """

    name = "divergence"
    _params = (
        "key",
        "mode",
        "threshold",
        "window",
        "min_history",
        "patience",
        "min_relative_scale",
    )

    def __init__(
        self,
        key: str = "loss",
        *,
        mode: Mode = "min",
        threshold: float = 6.0,
        window: int = 50,
        min_history: int = 20,
        patience: int = 2,
        min_relative_scale: float = 0.05,
    ) -> None:
        super().__init__(window, min_history)
        _check_key("key", key)
        _check_mode(mode)
        _check_positive("threshold", threshold)
        _check_positive("patience", patience, integer=True)
        _check_non_negative("min_relative_scale", min_relative_scale)
        self.key = key
        self.mode = mode
        self.threshold = threshold
        self.patience = patience
        self.min_relative_scale = min_relative_scale

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        v = _value(metrics, self.key)
        if v is None or not math.isfinite(v):
            return None  # non-finite values are NonFinite's business
        base = self._baseline()
        if base is None:
            self._window.append(v)
            return None
        med, mad = base
        scale = max(mad, self.min_relative_scale * abs(med), 1e-12)
        z = (v - med) / scale if self.mode == "min" else (med - v) / scale
        if z <= self.threshold:
            self._streak = 0
            self._window.append(v)
            return None
        self._streak += 1  # a spike stays out of the baseline
        if self._streak < self.patience:
            return None
        return Detection(
            self.name,
            step,
            f"{self.key} = {v:.6g} is {z:.1f} robust deviations from its running median "
            f"{med:.6g} (threshold {self.threshold:g})",
            {
                "key": self.key,
                "value": v,
                "median": med,
                "scale": scale,
                "z": z,
                "threshold": self.threshold,
                "consecutive": self._streak,
            },
        )


class Plateau(Detector):
    """No improvement of a metric by more than ``min_delta`` for ``patience`` steps.

    Fires once when the patience runs out, then again after each further
    ``patience`` steps without improvement.

    Parameters
    ----------
    key
        Metric to watch (default ``"loss"``).
    mode
        ``"min"`` when lower is better, ``"max"`` when higher is better.
    patience
        Steps (that carry the key) without improvement before firing (default 100).
    min_delta
        Smallest change that counts as an improvement, relative to ``|best|`` when
        ``relative`` (default 1e-3, i.e. 0.1 %).
    relative
        Whether ``min_delta`` is a fraction of ``|best|`` (default ``True``).

    Example
    -------
    >>> d = Plateau(patience=3)
    >>> [d.update(s, {"loss": 1.0}) for s in range(4)][-1].reason
    'loss has not improved on 1 for 3 steps (since step 0)'
    """

    name = "plateau"
    _params = ("key", "mode", "patience", "min_delta", "relative")
    _state = ("_best", "_best_step", "_since")

    def __init__(
        self,
        key: str = "loss",
        *,
        mode: Mode = "min",
        patience: int = 100,
        min_delta: float = 1e-3,
        relative: bool = True,
    ) -> None:
        _check_key("key", key)
        _check_mode(mode)
        _check_positive("patience", patience, integer=True)
        _check_non_negative("min_delta", min_delta)
        self.key = key
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.relative = bool(relative)
        self._best: float | None = None
        self._best_step = -1
        self._since = 0

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        v = _value(metrics, self.key)
        if v is None or not math.isfinite(v):
            return None
        if self._best is None:
            self._best, self._best_step, self._since = v, step, 0
            return None
        delta = self.min_delta * abs(self._best) if self.relative else self.min_delta
        gain = self._best - v if self.mode == "min" else v - self._best
        if gain > delta:
            self._best, self._best_step, self._since = v, step, 0
            return None
        self._since += 1
        if self._since % self.patience:
            return None
        return Detection(
            self.name,
            step,
            f"{self.key} has not improved on {self._best:.6g} for {self._since} steps "
            f"(since step {self._best_step})",
            {
                "key": self.key,
                "value": v,
                "best": self._best,
                "best_step": self._best_step,
                "steps_without_improvement": self._since,
                "min_delta": delta,
            },
        )


class Overfitting(Detector):
    """Validation getting worse while training keeps improving, for ``patience`` evaluations.

    Every step that carries ``val_key`` is an evaluation; the training value for
    it is the mean of ``train_key`` since the previous evaluation (or the value at
    that step). An evaluation counts against the model when the validation value
    is worse than its best by more than ``min_delta`` *and* the training value is
    better than it was at that best evaluation. The detector fires when that
    happened ``patience`` evaluations in a row.

    Parameters
    ----------
    train_key, val_key
        Metric keys (default ``"loss"`` and ``"val_loss"``).
    mode
        ``"min"`` when lower is better (losses), ``"max"`` for accuracies.
    patience
        Consecutive worsening evaluations before firing (default 3).
    min_delta
        Smallest absolute worsening of the validation value that counts (default 0).

    Example
    -------
    >>> d = Overfitting(patience=2)
    >>> curve = [(1.0, 1.0), (0.8, 0.9), (0.6, 0.95), (0.4, 1.1)]
    >>> [d.update(s, {"loss": t, "val_loss": v}) for s, (t, v) in enumerate(curve)][-1].step
    3
    """

    name = "overfitting"
    _params = ("train_key", "val_key", "mode", "patience", "min_delta")
    _state = ("_sum", "_n", "_best_val", "_train_at_best", "_best_step", "_worse")

    def __init__(
        self,
        train_key: str = "loss",
        val_key: str = "val_loss",
        *,
        mode: Mode = "min",
        patience: int = 3,
        min_delta: float = 0.0,
    ) -> None:
        _check_key("train_key", train_key)
        _check_key("val_key", val_key)
        _check_mode(mode)
        _check_positive("patience", patience, integer=True)
        _check_non_negative("min_delta", min_delta)
        self.train_key = train_key
        self.val_key = val_key
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self._sum = 0.0
        self._n = 0
        self._best_val: float | None = None
        self._train_at_best: float | None = None
        self._best_step = -1
        self._worse = 0

    def _better(self, a: float, b: float, delta: float = 0.0) -> bool:
        return a < b - delta if self.mode == "min" else a > b + delta

    def update(self, step: int, metrics: Mapping[str, Any]) -> Detection | None:
        t = _value(metrics, self.train_key)
        if t is not None and math.isfinite(t):
            self._sum += t
            self._n += 1
        val = _value(metrics, self.val_key)
        if val is None or not math.isfinite(val) or self._n == 0:
            return None
        train = self._sum / self._n
        self._sum, self._n = 0.0, 0
        if self._best_val is None or self._better(val, self._best_val):
            self._best_val, self._train_at_best, self._best_step = val, train, step
            self._worse = 0
            return None
        train_at_best = train if self._train_at_best is None else self._train_at_best
        worse = self._better(self._best_val, val, self.min_delta)
        if not (worse and self._better(train, train_at_best)):
            self._worse = 0
            return None
        self._worse += 1
        if self._worse < self.patience:
            return None
        return Detection(
            self.name,
            step,
            f"{self.val_key} worsened from {self._best_val:.6g} (step {self._best_step}) to "
            f"{val:.6g} over {self._worse} evaluations while {self.train_key} improved from "
            f"{train_at_best:.6g} to {train:.6g}",
            {
                "train_key": self.train_key,
                "val_key": self.val_key,
                "val": val,
                "best_val": self._best_val,
                "best_step": self._best_step,
                "train": train,
                "train_at_best": train_at_best,
                "gap": val - train,
                "evaluations_worse": self._worse,
            },
        )
