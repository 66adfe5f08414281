"""Keras 3 integration: a callback that logs a ``model.fit`` run and guards it.

:class:`DriftlineCallback` logs, per training step: ``loss`` (the batch's own loss,
recovered from Keras' running epoch mean, see below), the other metrics as Keras
reports them (running means over the epoch so far), ``lr``, ``step_time``
(seconds), ``throughput`` (samples per second, when ``batch_size`` is given) and,
on the torch backend, ``grad_norm`` (global L2 norm of the gradients of the step)
and ``gpu_memory_allocated`` / ``gpu_memory_max_allocated`` (bytes, CUDA only).
Every ``per_layer_every`` steps it adds ``update_ratio/<weight>`` (``||Δw|| /
||w||`` of the step), ``update_ratio`` (global) and, on the torch backend,
``grad_norm/<weight>``. Per epoch it logs ``epoch``, ``epoch/<metric>`` (the
epoch means) and the validation metrics (``val_loss``, ``val_<metric>``) under
their Keras names. ``config`` goes to ``run.log_summary(config=...)`` when training
starts.

Keras 3 reports the loss of a step as the running mean of the epoch; the callback
turns it back into the batch's loss (``(i + 1) * m_i - i * m_{i-1}``), which is
exact when the batches of an epoch have the same size (the last, smaller batch of
an epoch gets an approximate value).

Keras converts a step's logs to Python numbers before it calls a callback (one
host-device synchronisation per step, Keras' own); the callback reads the
gradient norms at that point, so a detection is never late. The guard
(:class:`driftline.training.Guard`) sees every step and every epoch's
validation metrics; its actions work through Keras: ``stop`` sets
``model.stop_training``, ``lower_lr`` assigns the optimizer's learning rate (a
fixed rate, not a schedule), and ``restore`` loads the weights and optimizer
variables of the last checkpoint written before the detection (keeping the
current learning rate) and resets the model's metric trackers, so the epoch's
running means do not carry a NaN on. Checkpoints are written with
:class:`KerasSerializer` (``.npz`` of arrays: no pickle, no code).

An interrupted run resumes from its newest checkpoint:
``initial_epoch = cb.resume(model)`` loads the weights, the optimizer's
variables (its step count and learning rate included) and the callback's step
counter, and returns the epoch to pass to ``model.fit(..., initial_epoch=...)``:
the epoch after the last one the checkpoint completed (a checkpoint written
mid-epoch restarts that epoch with the saved weights).

Keras picks its backend when it is first imported: set ``KERAS_BACKEND=torch`` in
the environment (or ``"backend": "torch"`` in ``~/.keras/keras.json``) before
anything imports keras to get gradient norms. The callback works on any backend;
without torch it logs no gradient norms. keras is imported when this module is;
the rest of driftline never imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from driftline.errors import InputError
from driftline.integrations._common import LoopAttributes
from driftline.integrations._keras_values import (
    gpu_memory,
    grad_norms,
    host_array,
    host_float,
    update_ratios,
)
from driftline.training import CheckpointManager, Guard, NpzSerializer, TrainingLoop

__all__ = ["DriftlineCallback", "KerasSerializer"]


class KerasSerializer(NpzSerializer):
    """Keras model and optimizer state as an ``.npz`` of arrays (never pickle).

    The state is the mapping :meth:`DriftlineCallback.state_dict` builds:
    ``weights/00000``..., ``optimizer/00000``... and ``step``.

    Example
    -------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> KerasSerializer().dump({"weights/00000": np.ones(2), "step": np.array(3)}, buf)
    >>> _ = buf.seek(0)
    >>> int(KerasSerializer().load(buf)["step"])
    3
    """


class DriftlineCallback(keras.callbacks.Callback, LoopAttributes):  # type: ignore[misc,unused-ignore]
    """Log a Keras 3 ``fit`` to a driftline run and let a guard act on it.

    Parameters
    ----------
    run
        A :class:`driftline.client.Run` (or anything with ``log``; ``log_summary``
        is used for ``config`` when present); ``None`` logs nothing.
    guard
        Detectors and actions (:class:`driftline.training.Guard`); its events go to
        the guard's own ``run``.
    checkpoints
        A :class:`~driftline.training.CheckpointManager` with a
        :class:`KerasSerializer`: periodic saves every ``checkpoints.every`` steps,
        on-improvement saves at the end of an epoch, the source of ``restore``.
    batch_size
        Samples per step, for ``throughput`` (Keras does not tell callbacks).
    log_every
        Log every ``log_every``-th step (default 1); the guard sees every step.
    per_layer_every
        Steps between per-layer norms and update ratios (default 100; ``None``
        turns them off). On those steps the weights are copied to the host once.
    config
        The run's configuration (hyper-parameters), logged when training starts.

    Example
    -------
    >>> import numpy as np
    >>> from driftline.training import Guard, NonFinite, Rule
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    >>> x = np.ones((8, 3), "float32"); x[5] = np.nan
    >>> cb = DriftlineCallback(None, guard=Guard([Rule(NonFinite(), "stop")]))
    >>> _ = model.fit(x, np.ones((8, 1)), batch_size=2, epochs=3, shuffle=False,
    ...               callbacks=[cb], verbose=0)
    >>> cb.global_step, cb.guard.stopped
    (3, True)
    """

    def __init__(
        self,
        run: Any,
        *,
        guard: Guard | None = None,
        checkpoints: CheckpointManager | None = None,
        batch_size: int | None = None,
        log_every: int = 1,
        per_layer_every: int | None = 100,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        TrainingLoop.check_options(
            log_every=log_every, per_layer_every=per_layer_every, batch_size=batch_size
        )
        if guard is not None and not isinstance(guard, Guard):
            raise InputError(f"guard: expected a driftline.training.Guard, got {type(guard)}")
        if config is not None and not isinstance(config, Mapping):
            raise InputError(f"config: expected a mapping, got {type(config).__name__}")
        self._loop = TrainingLoop(
            run,
            state_dict=self.state_dict,
            load_state_dict=self.load_state_dict,
            scale_lr=self._scale,
            stop=self._stop,
            guard=guard,
            checkpoints=checkpoints,
            log_every=log_every,
            per_layer_every=per_layer_every,
        )
        self.batch_size = batch_size
        self.config = dict(config or {})
        self._torch = keras.backend.backend() == "torch"
        self._prev_mean: float | None = None
        self._seen = 0
        self._before: list[np.ndarray] | None = None
        self._epoch = self._epochs_done = 0

    # ------------------------------------------------------------ Keras hooks
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        params = {k: v for k, v in (self.params or {}).items() if k in ("epochs", "steps")}
        config = {"optimizer": type(self.model.optimizer).__name__, **params, **self.config}
        log_summary = getattr(self.run, "log_summary", None)
        if callable(log_summary):
            log_summary(config=config)
        self._loop.should_stop = False  # a new fit; a guard that stopped stays stopped

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._prev_mean, self._seen = None, 0
        self._epoch = self._epochs_done = epoch

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._loop.start_timer()
        if self._loop.layer_step():
            self._before = [host_array(v) for v in self.model.trainable_weights]

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        loop = self._loop
        step_time = loop.lap()
        step = loop.advance()
        steps_per_epoch = (self.params or {}).get("steps")
        if steps_per_epoch and batch + 1 >= steps_per_epoch:
            self._epochs_done = self._epoch + 1  # a checkpoint of this step ends the epoch
        values = {str(k): host_float(v) for k, v in (logs or {}).items()}
        metrics: dict[str, float] = {k: v for k, v in values.items() if k != "loss"}
        if "loss" in values:
            mean = values["loss"]
            prev = self._prev_mean
            metrics["loss"] = mean if prev is None else (self._seen + 1) * mean - self._seen * prev
            self._prev_mean, self._seen = mean, self._seen + 1
        loop.step_metrics(metrics, lr=self._lr(), step_time=step_time, batch_size=self.batch_size)
        layers: dict[str, float] = {}
        if self._torch:
            gnorm, per_layer = grad_norms(
                self.model.trainable_weights, per_layer=self._before is not None
            )
            if gnorm is not None:
                metrics["grad_norm"] = gnorm
            layers.update(per_layer)
        if self._before is not None:
            layers.update(update_ratios(self.model.trainable_weights, self._before))
            self._before = None
        extra = {**gpu_memory(), **layers} if self._torch else layers
        verdict = loop.record(step, metrics, extra, check=self._guarding())
        if verdict is None and not self.model.stop_training:
            loop.save_periodic()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        values = {str(k): host_float(v) for k, v in (logs or {}).items()}
        val = {k: v for k, v in values.items() if k.startswith("val_")}
        loop = self._loop
        step = loop.last_step
        if self.run is not None:
            train = {f"epoch/{k}": v for k, v in values.items() if not k.startswith("val_")}
            self.run.log({"epoch": float(epoch), **train, **val}, step=step)
        verdict = loop.check(step, val) if val and self._guarding() else None
        self._epochs_done = epoch + 1
        if verdict is None and not self.model.stop_training:
            loop.save_on_improvement(val)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights, optimizer variables and the step, as arrays: what a checkpoint holds."""
        state = {f"weights/{i:05d}": host_array(w) for i, w in enumerate(self.model.weights)}
        for i, v in enumerate(self.model.optimizer.variables):
            state[f"optimizer/{i:05d}"] = host_array(v)
        state["step"] = np.asarray(self.global_step, dtype=np.int64)
        state["epoch"] = np.asarray(self._epochs_done, dtype=np.int64)
        return state

    def resume(self, model: Any) -> int:
        """Continue an interrupted run from the newest checkpoint that loads.

        Loads the weights, the optimizer's variables (iterations and learning rate
        included: the run goes on as it was) and the step counter into ``model``
        and this callback.

        Parameters
        ----------
        model : keras.Model
            The compiled model, built the same way as the interrupted one.

        Returns
        -------
        int
            The ``initial_epoch`` for ``model.fit``: the number of epochs the
            checkpoint had completed (an epoch interrupted midway is run again from
            its start with the saved weights); ``0`` when there is no checkpoint.

        Raises
        ------
        InputError
            Without a checkpoint manager, or when the checkpoint does not fit the model.
        """
        self.set_model(model)

        def load(state: Mapping[str, Any]) -> None:
            optimizer = model.optimizer
            if not getattr(optimizer, "built", True):
                optimizer.build(model.trainable_variables)
            self._load(state, keep_lr=False)

        found = self._loop.resume(load)
        if found is None:
            return 0
        self._epochs_done = int(np.asarray(found[1].get("epoch", 0)))
        return self._epochs_done

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint's weights and optimizer variables, keeping the learning rate.

        The learning rate stays as it is now, so a restore does not undo a reduction
        the guard made since the checkpoint. The model's metric trackers are reset.
        """
        self._load(state, keep_lr=True)

    def _load(self, state: Mapping[str, Any], *, keep_lr: bool) -> None:
        weights = [np.asarray(state[k]) for k in sorted(state) if k.startswith("weights/")]
        n_weights = len(self.model.weights)
        if len(weights) != n_weights:
            raise InputError(
                f"state: expected {n_weights} weight arrays for this model, got {len(weights)}"
            )
        lr = self._lr()
        self.model.set_weights(weights)
        opt_vars = self.model.optimizer.variables
        saved = [np.asarray(state[k]) for k in sorted(state) if k.startswith("optimizer/")]
        if len(saved) == len(opt_vars):
            for var, value in zip(opt_vars, saved, strict=True):
                var.assign(value)
        elif (
            saved and not keep_lr
        ):  # resuming needs the optimizer's state; a guard restore goes on without
            raise InputError(
                f"state: expected {len(opt_vars)} optimizer variables for this optimizer, "
                f"got {len(saved)}"
            )
        if keep_lr:
            self._set_lr(lr)
        for m in self.model.metrics:
            m.reset_state()
        self._prev_mean, self._seen, self._before = None, 0, None

    # ------------------------------------------------------------ internals
    def _guarding(self) -> bool:
        """Whether the guard still checks: a guard that stopped a fit checks no more."""
        return self.guard is not None and not self.guard.stopped

    def _stop(self) -> None:
        self.model.stop_training = True

    def _lr(self) -> float:
        try:
            return host_float(self.model.optimizer.learning_rate)
        except (AttributeError, TypeError, ValueError, IndexError):
            return math.nan

    def _set_lr(self, value: float) -> bool:
        var = self.model.optimizer.learning_rate  # a Variable, or a tensor from a schedule
        if not math.isfinite(value) or not isinstance(var, keras.Variable):
            return False  # a schedule: the rate cannot be assigned
        var.assign(value)
        return True

    def _scale(self, factor: float) -> list[float]:
        lr = self._lr() * factor
        return [lr] if self._set_lr(lr) else []
