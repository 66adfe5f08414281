"""Lightning integration: a logger over a driftline run, and a callback that watches and guards.

The callback drives :class:`driftline.integrations.torch.TorchWatcher`; what it
logs and how the guard acts on the trainer: ``docs/training.md``. lightning and
torch are imported when this module is; the rest of driftline never imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback

from driftline.errors import InputError
from driftline.integrations._lightning_logger import DriftlineLogger
from driftline.integrations._torch_values import batch_size_of, loss_of, scale_lrs
from driftline.integrations.torch import TorchWatcher
from driftline.training import CheckpointManager, Guard, TrainingLoop

__all__ = ["DriftlineCallback", "DriftlineLogger"]


class _LightningWatcher(TorchWatcher):
    """A watcher whose ``lower_lr`` covers every optimizer and scheduler of the trainer."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizers: Sequence[torch.optim.Optimizer],
        schedulers: Sequence[Any],
        run: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, optimizers[0], run, gradient_hook=False, **kwargs)
        self.optimizers = list(optimizers)
        self.schedulers = list(schedulers)

    def _scale_lr(self, factor: float) -> list[float]:
        return scale_lrs(self.optimizers, factor, self.schedulers)


class DriftlineCallback(Callback):
    """Lightning callback: training metrics to the run, and a guard that acts on the trainer.

    Parameters
    ----------
    guard
        Detectors and actions; a guard without a ``run`` records on the callback's run.
    checkpoints
        A :class:`~driftline.training.CheckpointManager` with a ``TorchSerializer``.
    per_layer_every
        Steps between per-layer gradient norms and update ratios (``None``: never).
    sync_every
        Steps between two copies to the host; the worst-case detection delay.
    log_every
        Log every ``log_every``-th optimizer step; the guard sees all.
    batch_size
        Samples per step (default: the first dimension of the batch's first tensor).
    run
        Where metrics go (default: the run of the trainer's :class:`DriftlineLogger`).
    val_prefix
        Validation metrics: the ``callback_metrics`` whose names start with it.

    Example
    -------
    >>> from driftline.training import Guard, NonFinite, Rule
    >>> callback = DriftlineCallback(guard=Guard([Rule(NonFinite(), "stop")]), sync_every=10)
    >>> callback.watcher is None  # created when training starts
    True
    """

    def __init__(
        self,
        guard: Guard | None = None,
        checkpoints: CheckpointManager | None = None,
        per_layer_every: int | None = 100,
        sync_every: int = 20,
        *,
        log_every: int = 1,
        batch_size: int | None = None,
        run: Any = None,
        val_prefix: str = "val",
    ) -> None:
        if not isinstance(val_prefix, str):
            raise InputError(f"val_prefix: expected a string, got {val_prefix!r}")
        self.guard = guard
        self.checkpoints = checkpoints
        self.run = run
        self.val_prefix = val_prefix
        self._options: dict[str, Any] = {
            "per_layer_every": per_layer_every,
            "sync_every": sync_every,
            "log_every": log_every,
            "batch_size": batch_size,
        }
        TrainingLoop.check_options(guard=guard, checkpoints=checkpoints, **self._options)
        self.watcher: TorchWatcher | None = None
        """The watcher of the current ``fit`` (``None`` before it starts)."""
        self._measured = False
        self._active = False
        self._log_validation = True

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Find the run and hook the module and optimizers."""
        if not trainer.optimizers:
            raise InputError("trainer: DriftlineCallback needs an optimizer, the module has none")
        run = self.run
        self._log_validation = run is not None
        if run is None:  # that logger already gets the validation metrics from Lightning
            run = next(
                (lg.experiment for lg in trainer.loggers if isinstance(lg, DriftlineLogger)), None
            )
        if trainer.global_rank != 0:  # one process logs; every process guards its own copy
            run = None
        if self.guard is not None and self.guard.run is None:
            self.guard.run = run
        schedulers = [c.scheduler for c in trainer.lr_scheduler_configs]
        self.watcher = _LightningWatcher(
            pl_module,
            trainer.optimizers,
            schedulers,
            run,
            guard=self.guard,
            checkpoints=self.checkpoints,
            **self._options,
        )
        self.watcher.global_step = trainer.global_step  # a resumed fit continues its steps
        self._measured = False
        self._active = True

    def on_before_optimizer_step(
        self, trainer: Trainer, pl_module: LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """Measure the gradients: ``backward`` has run, the update has not."""
        w = self.watcher
        if w is None or not self._active:
            return
        if getattr(optimizer, "optimizer", optimizer) is w.optimizer:
            w.capture_gradients()
            self._measured = True

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Record the step and act; only batches that ended with an optimizer step count.

        ``training_step`` must return the loss (a tensor, or a dict with ``"loss"``);
        a step without one is not recorded.
        """
        w = self.watcher
        if w is None or not self._active or not self._measured:
            return
        self._measured = False
        loss = loss_of(outputs)
        if loss is None:  # training_step returned no loss: nothing to record
            return
        w.step(loss, batch_size=self._options["batch_size"] or batch_size_of(batch))
        self._apply(trainer)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Log the validation metrics, let the guard judge them, save on improvement."""
        w = self.watcher
        if w is None or not self._active or trainer.sanity_checking:
            return
        metrics = {
            k: float(v.item()) if isinstance(v, torch.Tensor) else float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith(self.val_prefix) and (not isinstance(v, torch.Tensor) or v.numel() == 1)
        }
        if metrics:
            w.evaluate(metrics, log=self._log_validation)
            self._apply(trainer)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Flush what is pending and remove the hooks."""
        self._active = False
        if self.watcher is not None:
            self.watcher.close()

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        """Remove the hooks; what is pending is flushed."""
        self._active = False
        if self.watcher is not None:
            self.watcher.close()

    def _apply(self, trainer: Trainer) -> None:
        if self.watcher is not None and self.watcher.should_stop:
            trainer.should_stop = True
