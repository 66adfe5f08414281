"""Keras 3 integration: a callback that logs a ``model.fit`` run and guards it.

What it logs (gradient norms need ``KERAS_BACKEND=torch``), how the guard acts
through Keras and how a run resumes: ``docs/training.md``. keras is imported
when this module is; the rest of driftline never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from driftline.integrations._common import LoopAttributes, log_config
from driftline.integrations._keras_values import (
    BatchLoss,
    get_lr,
    gpu_memory,
    host_array,
    host_float,
    load_model_state,
    model_state,
    set_lr,
    step_measurements,
)
from driftline.training import CheckpointManager, Guard, NpzSerializer, TrainingLoop

__all__ = ["DriftlineCallback", "KerasSerializer"]


class KerasSerializer(NpzSerializer):
    """Keras model and optimizer state as an ``.npz`` of arrays (never pickle).

    The state is :meth:`DriftlineCallback.state_dict`'s: ``weights/00000``...,
    ``optimizer/00000``..., ``step`` and ``epoch``.

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
        A :class:`driftline.client.Run` (anything with ``log``); ``None`` logs nothing.
    guard
        Detectors and actions (:class:`driftline.training.Guard`).
    checkpoints
        A :class:`~driftline.training.CheckpointManager` with a :class:`KerasSerializer`.
    batch_size
        Samples per step, for ``throughput`` (Keras does not tell callbacks).
    log_every
        Log every ``log_every``-th step (default 1); the guard sees every step.
    per_layer_every
        Steps between per-layer norms and update ratios (``None``: never).
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
            log_every=log_every,
            per_layer_every=per_layer_every,
            batch_size=batch_size,
            guard=guard,
            config=config,
        )
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
        self._batch_loss = BatchLoss()
        self._before: list[np.ndarray] | None = None
        self._epoch = self._epochs_done = 0

    # ------------------------------------------------------------ Keras hooks
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        params = {k: v for k, v in (self.params or {}).items() if k in ("epochs", "steps")}
        config = {"optimizer": type(self.model.optimizer).__name__, **params, **self.config}
        log_config(self.run, config)
        self._loop.should_stop = False  # a new fit; a guard that stopped stays stopped

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._batch_loss.reset()
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
            metrics["loss"] = self._batch_loss(values["loss"])
        lr = get_lr(self.model.optimizer)
        loop.step_metrics(metrics, lr=lr, step_time=step_time, batch_size=self.batch_size)
        weights, before, self._before = self.model.trainable_weights, self._before, None
        gnorm, layers = step_measurements(weights, before, torch_backend=self._torch)
        if gnorm is not None:
            metrics["grad_norm"] = gnorm
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
        state = model_state(self.model)
        state["step"] = np.asarray(self.global_step, dtype=np.int64)
        state["epoch"] = np.asarray(self._epochs_done, dtype=np.int64)
        return state

    def resume(self, model: Any) -> int:
        """Continue an interrupted run from the newest checkpoint that loads; return the
        ``initial_epoch`` for ``model.fit`` (``0`` without a checkpoint).

        Loads the weights, the optimizer's variables (iterations and learning
        rate included) and the step counter into ``model`` (compiled, built as the
        interrupted one) and this callback. Raises
        :class:`~driftline.errors.InputError` without a checkpoint manager or
        when the checkpoint does not fit the model.
        """
        self.set_model(model)
        found = self._loop.resume(lambda state: self._load(state, keep_lr=False))
        if found is None:
            return 0
        self._epochs_done = int(np.asarray(found[1].get("epoch", 0)))
        return self._epochs_done

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint's weights and optimizer variables, keeping the learning rate
        (a restore does not undo a reduction since); the metric trackers are reset."""
        self._load(state, keep_lr=True)

    def _load(self, state: Mapping[str, Any], *, keep_lr: bool) -> None:
        load_model_state(self.model, state, keep_lr=keep_lr)
        self._batch_loss.reset()
        self._before = None

    # ------------------------------------------------------------ internals
    def _guarding(self) -> bool:
        """Whether the guard still checks: a guard that stopped a fit checks no more."""
        return self.guard is not None and not self.guard.stopped

    def _stop(self) -> None:
        self.model.stop_training = True

    def _scale(self, factor: float) -> list[float]:
        lr = get_lr(self.model.optimizer) * factor
        return [lr] if set_lr(self.model.optimizer, lr) else []
