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
    rng = np.random.default_rng(seed)
    d = x_train.shape[1]
    params = {
        "w1": rng.normal(0.0, 1.0 / math.sqrt(d), (d, hidden)),
        "b1": np.zeros(hidden),
        "w2": rng.normal(0.0, 1.0 / math.sqrt(hidden), hidden),
        "b2": np.zeros(1),
    }
    guard = Guard([Rule(NonFinite(), "restore")], run=run)
    checkpoints = CheckpointManager(
        checkpoint_dir,
        serializer=NpzSerializer(),
        every=checkpoint_every,
        metric="val_loss",
        keep_last=2,
    )

    def load(state: Any) -> None:
        for k in params:
            params[k] = np.array(state[k], dtype=np.float64)

    step = 0
    val_loss, val_acc = math.nan, math.nan
    for _epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            if step == corrupt_step:
                xb = xb.copy()
                xb[0, 0] = math.nan  # a broken record slipped into the batch
            h, p = _forward(params, xb)
            loss = _loss(p, yb)
            # backward pass of the binary cross-entropy
            dz = (p - yb) / len(yb)
            grads = {"w2": h.T @ dz, "b2": np.array([dz.sum()])}
            dh = np.outer(dz, params["w2"]) * (1.0 - h**2)
            grads["w1"] = xb.T @ dh
            grads["b1"] = dh.sum(axis=0)
            grad_norm = float(math.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
            acc = float(np.mean((p >= 0.5) == (yb >= 0.5)))
            metrics = {"loss": loss, "accuracy": acc, "lr": float(lr), "grad_norm": grad_norm}
            run.log(metrics, step=step)
            verdict = guard.check(step, metrics)
            if verdict is not None:
                result = guard.act(verdict, checkpoints=checkpoints, load=load)
                if result.stop:
                    break
            else:
                for k, g in grads.items():
                    params[k] = params[k] - lr * g
            step += 1
            checkpoints.maybe_save(step, lambda: dict(params))
        else:
            _, pv = _forward(params, x_val)
            val_loss = _loss(pv, y_val)
            val_acc = float(np.mean((pv >= 0.5) == (y_val >= 0.5)))
            run.log({"val_loss": val_loss, "val_accuracy": val_acc}, step=max(step - 1, 0))
            checkpoints.maybe_save(step, lambda: dict(params), {"val_loss": val_loss})
            continue
        break  # the guard stopped the run
    run.log_summary(val_loss=val_loss, val_accuracy=val_acc, steps=step, restores=guard.restores)
    return TrainingResult(step, val_loss, val_acc, guard.restores, guard.stopped)
