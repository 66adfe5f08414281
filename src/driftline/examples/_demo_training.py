"""A small guarded training run in plain NumPy: an MLP trained by minibatch SGD.

The network (inputs -> ``hidden`` tanh units -> sigmoid) learns the screening
task of :mod:`driftline.examples._screening`. Each step logs ``loss``,
``accuracy``, ``lr`` and ``grad_norm``; each epoch ``val_loss`` and
``val_accuracy``. A :class:`~driftline.training.Guard` watches every step and a
:class:`~driftline.training.CheckpointManager` (``.npz``, no pickle) keeps the
last and the best checkpoints. With ``corrupt_step`` one batch carries a NaN (a
broken record upstream): its loss is NaN, the guard restores the last good
checkpoint and training goes on with the next batch.

No ML framework is needed, only NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from driftline.errors import InputError
from driftline.training import CheckpointManager, Guard, NonFinite, NpzSerializer, Rule

__all__ = ["TrainingResult", "TrainingRunLike", "train_mlp"]


class TrainingRunLike(Protocol):
    """What :func:`train_mlp` logs to: a :class:`driftline.client.Run` or a stand-in."""

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metric values at ``step``."""

    def log_event(
        self,
        kind: str,
        message: str = "",
        *,
        step: int | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an event."""

    def log_summary(self, summary: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Set summary values."""


@dataclass(frozen=True)
class TrainingResult:
    """How a run ended.

    Attributes
    ----------
    steps : int
        Optimiser steps taken (restored steps included).
    val_loss, val_accuracy : float
        Validation loss (lower is better) and accuracy (higher is better) at the end.
    restores : int
        Checkpoints the guard restored.
    stopped : bool
        Whether the guard stopped the run.
    """

    steps: int
    val_loss: float
    val_accuracy: float
    restores: int
    stopped: bool


def _forward(params: Mapping[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = np.tanh(x @ params["w1"] + params["b1"])
    z = h @ params["w2"] + params["b2"]
    return h, 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _loss(p: np.ndarray, y: np.ndarray) -> float:
    eps = 1e-7
    with np.errstate(invalid="ignore"):
        return float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))


def train_mlp(
    run: TrainingRunLike,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    checkpoint_dir: str | Path,
    *,
    hidden: int = 16,
    lr: float = 0.1,
    batch_size: int = 32,
    epochs: int = 20,
    corrupt_step: int | None = None,
    checkpoint_every: int = 20,
    seed: int = 0,
) -> TrainingResult:
    """Train the MLP, logging to ``run``, guarded against non-finite losses.

    Parameters
    ----------
    run
        Where metrics, guard events and the summary go.
    x_train, y_train, x_val, y_val
        Standardised features (2-D) and 0/1 targets.
    checkpoint_dir
        Directory of the run's checkpoints.
    hidden, lr, batch_size, epochs
        The network and its optimiser (defaults 16, 0.1, 32, 20).
    corrupt_step
        Step whose batch gets a NaN, to show the guard at work (default: none).
    checkpoint_every
        Steps between periodic checkpoints (default 20); the best by ``val_loss``
        is kept as well.
    seed
        Seed of the initial weights and of the batch order.

    Examples
    --------
    >>> import tempfile
    >>> class Log:
    ...     def __init__(self): self.events = []
    ...     def log(self, metrics, step=None): pass
    ...     def log_event(self, kind, message="", *, step=None, evidence=None):
    ...         self.events.append(kind)
    ...     def log_summary(self, summary=None, **values): pass
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 3)); y = (x[:, 0] > 0).astype(float)
    >>> log = Log()
    >>> r = train_mlp(log, x, y, x, y, tempfile.mkdtemp(), epochs=5, corrupt_step=25)
    >>> log.events, r.restores, r.stopped, r.val_accuracy > 0.8
    (['non_finite', 'guard.restore'], 1, False, True)
    """
    x_train, y_train, x_val, y_val = _checked_inputs(
        hidden, lr, batch_size, epochs, x_train, y_train, x_val, y_val
    )
    rng = np.random.default_rng(seed)
    loop = _Loop(
        run=run,
        guard=Guard([Rule(NonFinite(), "restore")], run=run),
        checkpoints=CheckpointManager(
            checkpoint_dir,
            serializer=NpzSerializer(),
            every=checkpoint_every,
            metric="val_loss",
            keep_last=2,
        ),
        params=_initial_params(rng, x_train.shape[1], hidden),
        lr=float(lr),
    )
    val_loss, val_acc = math.nan, math.nan
    for _epoch in range(epochs):
        order = rng.permutation(len(x_train))
        if loop.epoch(x_train, y_train, order, batch_size, corrupt_step):
            break  # the guard stopped the run
        val_loss, val_acc = loop.validate(x_val, y_val)
    guard = loop.guard
    run.log_summary(
        val_loss=val_loss, val_accuracy=val_acc, steps=loop.step, restores=guard.restores
    )
    return TrainingResult(loop.step, val_loss, val_acc, guard.restores, guard.stopped)


def _checked_inputs(
    hidden: int,
    lr: float,
    batch_size: int,
    epochs: int,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four arrays as float64, once the arguments of :func:`train_mlp` are checked."""
    for name, v in (("hidden", hidden), ("batch_size", batch_size), ("epochs", epochs)):
        if type(v) is not int or v < 1:
            raise InputError(f"{name}: expected a positive int, got {v!r}")
    if not isinstance(lr, int | float) or not lr > 0:
        raise InputError(f"lr: expected a positive number, got {lr!r}")
    x_train = np.asarray(x_train, dtype=np.float64)
    x_val = np.asarray(x_val, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64)
    y_val = np.asarray(y_val, dtype=np.float64)
    if x_train.ndim != 2 or x_train.shape[0] != y_train.shape[0]:
        raise InputError(
            f"x_train: expected a 2-D array with one row per target, got shape {x_train.shape} "
            f"for {y_train.shape[0]} targets"
        )
    return x_train, y_train, x_val, y_val


def _initial_params(rng: np.random.Generator, d: int, hidden: int) -> dict[str, np.ndarray]:
    """Random weights scaled by fan-in and zero biases, for ``d`` inputs."""
    return {
        "w1": rng.normal(0.0, 1.0 / math.sqrt(d), (d, hidden)),
        "b1": np.zeros(hidden),
        "w2": rng.normal(0.0, 1.0 / math.sqrt(hidden), hidden),
        "b2": np.zeros(1),
    }


def _gradients(
    params: Mapping[str, np.ndarray], xb: np.ndarray, yb: np.ndarray
) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    """Predictions, loss and gradients (backward pass of the binary cross-entropy) of a batch."""
    h, p = _forward(params, xb)
    loss = _loss(p, yb)
    dz = (p - yb) / len(yb)
    grads = {"w2": h.T @ dz, "b2": np.array([dz.sum()])}
    dh = np.outer(dz, params["w2"]) * (1.0 - h**2)
    grads["w1"] = xb.T @ dh
    grads["b1"] = dh.sum(axis=0)
    return p, loss, grads


@dataclass
class _Loop:
    """The state of a guarded SGD run: parameters, step, guard and checkpoints."""

    run: TrainingRunLike
    guard: Guard
    checkpoints: CheckpointManager
    params: dict[str, np.ndarray]
    lr: float
    step: int = 0

    def load(self, state: Any) -> None:
        """Restore the parameters from a checkpoint's state."""
        for k in self.params:
            self.params[k] = np.array(state[k], dtype=np.float64)

    def epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        order: np.ndarray,
        batch_size: int,
        corrupt_step: int | None,
    ) -> bool:
        """One pass over the batches of ``order``; whether the guard stopped the run."""
        params, checkpoints = self.params, self.checkpoints
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            xb, yb = x[idx], y[idx]
            if self.step == corrupt_step:
                xb = xb.copy()
                xb[0, 0] = math.nan  # a broken record slipped into the batch
            p, loss, grads = _gradients(params, xb, yb)
            grad_norm = float(math.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
            acc = float(np.mean((p >= 0.5) == (yb >= 0.5)))
            metrics = {"loss": loss, "accuracy": acc, "lr": self.lr, "grad_norm": grad_norm}
            self.run.log(metrics, step=self.step)
            verdict = self.guard.check(self.step, metrics)
            if verdict is not None:
                result = self.guard.act(verdict, checkpoints=checkpoints, load=self.load)
                if result.stop:
                    return True
            else:
                for k, g in grads.items():
                    params[k] = params[k] - self.lr * g
            self.step += 1
            checkpoints.maybe_save(self.step, lambda: dict(params))
        return False

    def validate(self, x_val: np.ndarray, y_val: np.ndarray) -> tuple[float, float]:
        """Log and return the validation loss and accuracy; checkpoint by ``val_loss``."""
        _, pv = _forward(self.params, x_val)
        val_loss = _loss(pv, y_val)
        val_acc = float(np.mean((pv >= 0.5) == (y_val >= 0.5)))
        self.run.log({"val_loss": val_loss, "val_accuracy": val_acc}, step=max(self.step - 1, 0))
        self.checkpoints.maybe_save(self.step, lambda: dict(self.params), {"val_loss": val_loss})
        return val_loss, val_acc
