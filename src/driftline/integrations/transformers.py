"""Hugging Face integration: a ``TrainerCallback`` that logs a ``Trainer`` run and guards it.

The callback drives :class:`driftline.integrations.torch.TorchWatcher` on the
Trainer's model and optimizer; what it logs, how the guard acts and how a run
resumes: ``docs/training.md``. transformers and torch are imported when this
module is; the rest of driftline never imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import transformers

from driftline.errors import InputError
from driftline.integrations._common import log_config, numbers, scalars
from driftline.integrations._torch_values import StepLosses, innermost_optimizer, scale_lrs
from driftline.integrations.torch import TorchWatcher
from driftline.training import CheckpointInfo, CheckpointManager, Guard, TrainingLoop

__all__ = ["DriftlineCallback"]

_SKIPPED_LOGS = frozenset({"loss", "grad_norm", "learning_rate"})
"""Keys of the Trainer's own logs that the watcher already logs per step."""


class _TrainerWatcher(TorchWatcher):
    """A watcher whose ``lower_lr`` also scales the scheduler's base rates."""

    scheduler: Any = None

    def state_dict(self) -> dict[str, Any]:
        """The watcher's state plus the learning-rate scheduler's, when there is one."""
        state = super().state_dict()
        scheduler_state = getattr(self.scheduler, "state_dict", None)
        if callable(scheduler_state):
            state["scheduler"] = scheduler_state()
        return state

    def _scale_lr(self, factor: float) -> list[float]:
        return scale_lrs([self.optimizer], factor, [self.scheduler])


class DriftlineCallback(transformers.TrainerCallback):  # type: ignore[misc,unused-ignore]
    """Log a Hugging Face ``Trainer`` run to a driftline run and let a guard act on it.

    Parameters
    ----------
    run
        A :class:`driftline.client.Run` (anything with ``log``); ``None`` logs nothing.
    guard
        Detectors and actions; validation keys are the Trainer's (``eval_loss``).
    checkpoints
        A :class:`~driftline.training.CheckpointManager` with a ``TorchSerializer``.
    log_every, per_layer_every, sync_every
        As in :func:`driftline.integrations.torch.watch` (defaults 1, 100, 20).
    config
        Extra configuration logged with the Trainer's arguments.

    Example
    -------
    >>> from driftline.training import Guard, NonFinite, Rule
    >>> cb = DriftlineCallback(None, guard=Guard([Rule(NonFinite(), "stop")]), sync_every=5)
    >>> cb.watcher is None  # created when training starts: Trainer(..., callbacks=[cb])
    True
    """

    def __init__(
        self,
        run: Any,
        *,
        guard: Guard | None = None,
        checkpoints: CheckpointManager | None = None,
        log_every: int = 1,
        per_layer_every: int | None = 100,
        sync_every: int = 20,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        TrainingLoop.check_options(
            log_every=log_every,
            sync_every=sync_every,
            per_layer_every=per_layer_every,
            guard=guard,
            config=config,
        )
        self.run = run
        self.guard = guard
        self.checkpoints = checkpoints
        self.log_every = log_every
        self.per_layer_every = per_layer_every
        self.sync_every = sync_every
        self.config = dict(config or {})
        self.watcher: TorchWatcher | None = None
        """The torch watcher of the current ``train()`` (``None`` outside of it)."""
        self.restored: list[CheckpointInfo] = []
        """Checkpoints the guard restored, in order, over every ``train()``."""
        self._losses = StepLosses()
        self._n_restored = 0
        self._hook: Any = None
        self._recorded = False

    # ------------------------------------------------------------ Trainer events
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs.get("model")
        optimizer = innermost_optimizer(kwargs.get("optimizer"))
        if not isinstance(model, torch.nn.Module) or not isinstance(
            optimizer, torch.optim.Optimizer
        ):
            raise InputError(
                "DriftlineCallback: expected the Trainer to pass a torch model and optimizer, "
                f"got {type(model).__name__} and {type(optimizer).__name__}"
            )
        batch = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
        watcher = _TrainerWatcher(
            model,
            optimizer,
            self.run,
            log_every=self.log_every,
            per_layer_every=self.per_layer_every,
            guard=self.guard,
            checkpoints=self.checkpoints,
            sync_every=self.sync_every,
            batch_size=batch,
        )
        watcher.scheduler = kwargs.get("lr_scheduler")
        watcher.global_step = int(state.global_step)
        self.watcher = watcher
        self._losses, self._n_restored, self._recorded = StepLosses(), 0, False
        self._hook = model.register_forward_hook(self._catch_loss)
        if callable(getattr(self.run, "log_summary", None)):
            config = scalars(args.to_dict())
            model_config = getattr(model, "config", None)
            if model_config is not None:
                config.update(scalars(model_config.to_dict(), prefix="model."))
            log_config(self.run, {**config, **self.config})

    def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # right after optimizer.step(), before the scheduler moves the rate on
        self._record(control)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._recorded:  # a transformers without on_optimizer_step
            self._record(control)
        self._recorded = False

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        watcher = self.watcher
        if watcher is None:
            return
        watcher.flush()
        values = {"epoch": float(state.epoch or 0.0)}
        mean = self._losses.epoch_mean()
        if mean is not None:
            values["epoch/loss"] = mean
        if self.run is not None:
            self.run.log(values, step=max(watcher.global_step - 1, 0))
        self._after(watcher, control)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        metrics: Mapping[str, Any] | None = kwargs.get("metrics")
        watcher = self.watcher
        if watcher is None:
            return
        values = {k: v for k, v in numbers(metrics or {}).items() if k != "epoch"}
        watcher.evaluate(values)
        self._after(watcher, control)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kw: Any
    ) -> None:
        if self.run is None or not logs:
            return
        values = {
            k: v
            for k, v in numbers(logs).items()
            if k not in _SKIPPED_LOGS and not k.startswith("eval_")
        }
        if values:
            self.run.log(values, step=max(int(state.global_step) - 1, 0))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.watcher is not None:
            self.watcher.close()
        if self._hook is not None:
            self._hook.remove()
        self.watcher, self._hook, self._losses = None, None, StepLosses()

    # ------------------------------------------------------------ internals
    def _catch_loss(self, module: torch.nn.Module, inputs: Any, output: Any) -> None:
        if module.training:
            loss = (
                output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
            )
            self._losses.add(loss)

    def _record(self, control: Any) -> None:
        watcher = self.watcher
        if watcher is None:
            return
        self._recorded = True
        watcher.step(self._losses.step())
        self._after(watcher, control)

    def _after(self, watcher: TorchWatcher, control: Any) -> None:
        self.restored.extend(watcher.restored[self._n_restored :])
        self._n_restored = len(watcher.restored)
        if watcher.should_stop:
            control.should_training_stop = True
