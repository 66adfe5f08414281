"""Hugging Face integration: a ``TrainerCallback`` that logs a ``Trainer`` run and guards it.

:class:`DriftlineCallback` drives a :class:`driftline.integrations.torch.TorchWatcher`
on the Trainer's model and (unwrapped) optimizer, so it logs what ``watch`` logs
(``loss``, ``grad_norm``, ``lr``, ``step_time``, ``throughput``, GPU memory on
CUDA, and every ``per_layer_every`` steps ``grad_norm/<param>`` and
``update_ratio/<param>``), without a host-device synchronisation per step. The
step's ``loss`` is the mean of the model output's ``loss`` over the step's
micro-batches, caught by a forward hook while the model is in training mode; the
Trainer's own ``logging_nan_inf_filter`` does not hide a NaN from it. Steps are
numbered from 0 (optimizer step ``k`` is logged at step ``k``, which the Trainer
calls ``global_step = k + 1``).

Per epoch it logs ``epoch`` and ``epoch/loss`` (mean step loss of the epoch); each
evaluation logs the Trainer's metrics (``eval_loss``, ``eval_<metric>``...) and
feeds them to the guard, so ``Overfitting(val_key="eval_loss")`` works, and a
``CheckpointManager(metric="eval_loss")`` saves on improvement. The run's
configuration (the ``TrainingArguments`` and the model's config, scalars only) goes
to ``run.log_summary(config=...)`` when training starts; the Trainer's summary
logs (``train_runtime``, ``train_samples_per_second``...) are logged as they come.

The guard's actions: ``stop`` sets ``control.should_training_stop``; ``lower_lr``
multiplies the optimizer's rates *and* the scheduler's ``base_lrs``, so the
schedule does not undo it; ``restore`` loads the model and optimizer state of the
last checkpoint written before the detection (with
:class:`~driftline.integrations.torch.TorchSerializer`) and training goes on with
the next batch. Checkpoints also hold the learning-rate scheduler's state; a
restore keeps the schedule where the Trainer's step is (the step counter goes on
after a restore, and so does the schedule), so warm-up and decay stay aligned
with the steps that remain.

An interrupted run resumes with the Trainer's own
``trainer.train(resume_from_checkpoint=...)`` (which restores the data order, the
RNG, the optimizer and the scheduler); the callback picks up the Trainer's step,
so the run's curves go on from where they stopped.

transformers and torch are imported when this module is; the rest of driftline
never imports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import transformers

from driftline.errors import InputError
from driftline.integrations.torch import TorchWatcher
from driftline.training import CheckpointInfo, CheckpointManager, Guard

__all__ = ["DriftlineCallback"]

_SKIPPED_LOGS = frozenset({"loss", "grad_norm", "learning_rate"})
"""Keys of the Trainer's own logs that the watcher already logs per step."""


def _scalars(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The JSON-safe scalar entries of ``values`` (finite numbers, strings, bools, None)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if (
            isinstance(v, bool | str | int)
            or v is None
            or (isinstance(v, float) and math.isfinite(v))
        ):
            out[prefix + str(k)] = v
    return out


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
        base = getattr(self.scheduler, "base_lrs", None)
        if isinstance(base, list):
            self.scheduler.base_lrs = [b * factor for b in base]
        return super()._scale_lr(factor)


class DriftlineCallback(transformers.TrainerCallback):  # type: ignore[misc,unused-ignore]
    """Log a Hugging Face ``Trainer`` run to a driftline run and let a guard act on it.

    Parameters
    ----------
    run
        A :class:`driftline.client.Run` (or anything with ``log``; ``log_summary``
        is used for the configuration when present); ``None`` logs nothing.
    guard
        Detectors and actions (:class:`driftline.training.Guard`). Validation keys
        are the Trainer's: use ``Overfitting(val_key="eval_loss")``.
    checkpoints
        A :class:`~driftline.training.CheckpointManager` with a
        :class:`~driftline.integrations.torch.TorchSerializer`: periodic saves,
        on-improvement saves after evaluations, the source of ``restore``.
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
        for name, v in (("log_every", log_every), ("sync_every", sync_every)):
            if type(v) is not int or v < 1:
                raise InputError(f"{name}: expected a positive int, got {v!r}")
        if per_layer_every is not None and (
            type(per_layer_every) is not int or per_layer_every < 1
        ):
            raise InputError(
                f"per_layer_every: expected a positive int or None, got {per_layer_every!r}"
            )
        if guard is not None and not isinstance(guard, Guard):
            raise InputError(f"guard: expected a driftline.training.Guard, got {type(guard)}")
        if config is not None and not isinstance(config, Mapping):
            raise InputError(f"config: expected a mapping, got {type(config).__name__}")
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
        self._losses: list[torch.Tensor] = []
        self._epoch_sum: torch.Tensor | None = None
        self._epoch_steps = 0
        self._hook: Any = None
        self._recorded = False

    # ------------------------------------------------------------ Trainer events
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs.get("model")
        optimizer: Any = kwargs.get("optimizer")
        while not type(optimizer).__module__.startswith("torch.") and hasattr(
            optimizer, "optimizer"
        ):
            optimizer = optimizer.optimizer  # accelerate's AcceleratedOptimizer and the like
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
        self._losses, self._epoch_sum, self._epoch_steps = [], None, 0
        self._recorded = False
        self._hook = model.register_forward_hook(self._catch_loss)
        log_summary = getattr(self.run, "log_summary", None)
        if callable(log_summary):
            config = _scalars(args.to_dict())
            model_config = getattr(model, "config", None)
            if model_config is not None:
                config.update(_scalars(model_config.to_dict(), prefix="model."))
            config.update(self.config)
            log_summary(config=config)

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
        n_restored = len(watcher.restored)
        watcher.flush()
        values = {"epoch": float(state.epoch or 0.0)}
        if self._epoch_sum is not None and self._epoch_steps:
            values["epoch/loss"] = float(self._epoch_sum) / self._epoch_steps
        if self.run is not None:
            self.run.log(values, step=max(watcher.global_step - 1, 0))
        self._epoch_sum, self._epoch_steps = None, 0
        self._after(watcher, control, n_restored)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        metrics: Mapping[str, Any] | None = kwargs.get("metrics")
        watcher = self.watcher
        if watcher is None:
            return
        values = {
            k: float(v)
            for k, v in (metrics or {}).items()
            if k != "epoch" and isinstance(v, int | float) and not isinstance(v, bool)
        }
        n_restored = len(watcher.restored)
        watcher.evaluate(values)
        self._after(watcher, control, n_restored)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kw: Any
    ) -> None:
        if self.run is None or not logs:
            return
        values = {
            k: float(v)
            for k, v in logs.items()
            if k not in _SKIPPED_LOGS
            and not k.startswith("eval_")
            and isinstance(v, int | float)
            and not isinstance(v, bool)
        }
        if values:
            self.run.log(values, step=max(int(state.global_step) - 1, 0))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.watcher is not None:
            self.watcher.close()
        if self._hook is not None:
            self._hook.remove()
        self.watcher, self._hook, self._losses = None, None, []

    # ------------------------------------------------------------ internals
    def _catch_loss(self, module: torch.nn.Module, inputs: Any, output: Any) -> None:
        if not module.training:
            return
        loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
        if isinstance(loss, torch.Tensor):
            self._losses.append(loss.detach().reshape(-1)[:1].reshape(()))

    def _record(self, control: Any) -> None:
        watcher = self.watcher
        if watcher is None:
            return
        if self._losses:
            loss = torch.stack(self._losses).float().mean()
            self._epoch_sum = loss if self._epoch_sum is None else self._epoch_sum + loss
            self._epoch_steps += 1
        else:
            loss = torch.tensor(math.nan)
        self._losses = []
        self._recorded = True
        n_restored = len(watcher.restored)
        watcher.step(loss)
        self._after(watcher, control, n_restored)

    def _after(self, watcher: TorchWatcher, control: Any, n_restored: int) -> None:
        self.restored.extend(watcher.restored[n_restored:])
        if watcher.should_stop:
            control.should_training_stop = True
