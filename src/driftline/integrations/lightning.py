"""Lightning integration: a logger over a driftline run, and a callback that watches and guards.

``DriftlineLogger`` implements Lightning's ``Logger`` API: what the module logs
with ``self.log(...)`` goes to a :class:`driftline.client.Run`, hyper-parameters
go to the run's config, and the run is finished with the trainer's status.

``DriftlineCallback`` adapts :class:`driftline.integrations.torch.TorchWatcher`:
the loss, global gradient norm, learning rate, step time, throughput and, every
``per_layer_every`` steps, per-layer gradient norms and update ratios, all kept
on the device and copied to the host every ``sync_every`` steps. It feeds them
and the validation metrics to a :class:`driftline.training.Guard` and carries
out its actions: ``stop`` sets ``trainer.should_stop``, ``lower_lr`` multiplies
the rate of every optimizer (and the ``base_lrs`` of the schedulers, so a
scheduler does not undo it), ``restore`` loads the last checkpoint written by
the callback's :class:`~driftline.training.CheckpointManager` into the module
and the first optimizer.

Lightning runs ``backward`` inside ``optimizer.step(closure)``, so the gradients
are measured in ``on_before_optimizer_step`` (after ``backward``, before the
update) rather than in an optimizer pre-step hook. That hook runs before
Lightning clips the gradients, so ``grad_norm`` is the norm that
``gradient_clip_val`` is compared with.

Under several processes (DDP) only global rank 0 logs; each process runs its own
guard, and a stop is not synchronised across processes.

lightning and torch are imported when this module is; the rest of driftline
never imports them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from driftline.errors import InputError
from driftline.integrations.torch import TorchWatcher
from driftline.training import CheckpointManager, Guard, TrainingLoop

__all__ = ["DriftlineCallback", "DriftlineLogger"]

_FINAL_STATUS = {"success": "finished", "finished": "finished", "failed": "failed"}


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings flattened to ``a/b`` keys; values JSON-safe (else their ``repr``)."""
    flat: dict[str, Any] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, argparse.Namespace):
            v = vars(v)
        if isinstance(v, Mapping):
            flat.update(_flatten(v, f"{key}/"))
        elif v is None or isinstance(v, bool | int | float | str):
            flat[key] = v
        elif isinstance(v, list | tuple) and all(
            isinstance(x, bool | int | float | str) for x in v
        ):
            flat[key] = list(v)
        else:
            flat[key] = repr(v)
    return flat


class DriftlineLogger(Logger):
    """Lightning ``Logger`` that writes to a driftline run.

    Parameters
    ----------
    project
        Project of the run (created on first use); ignored when ``run`` is given.
    name
        Display name of the run (default: chosen by :func:`driftline.init`).
    run
        An open :class:`driftline.client.Run` to log to; by default one is
        started with ``driftline.init(project, name, **init_options)`` when first
        needed, and finished by :meth:`finalize`.
    finish
        Whether :meth:`finalize` finishes the run (default: only a run this
        logger started).
    **init_options
        Passed to :func:`driftline.client.init` (``url``, ``token``, ``tags``,
        ``settings``...).

    Example
    -------
    >>> import tempfile
    >>> from driftline.config import load_settings
    >>> settings = load_settings({"DRIFTLINE_DATA_DIR": tempfile.mkdtemp()})
    >>> logger = DriftlineLogger("lab", name="tiny", settings=settings,
    ...                          system_metrics_interval=None)
    >>> logger.log_hyperparams({"lr": 0.1, "model": {"width": 32}})
    >>> logger.log_metrics({"train_loss": 0.7}, step=0)
    >>> logger.experiment.config
    {'lr': 0.1, 'model/width': 32}
    >>> logger.finalize("success")
    >>> logger.experiment.status
    'finished'
    """

    def __init__(
        self,
        project: str = "default",
        name: str | None = None,
        run: Any = None,
        *,
        finish: bool | None = None,
        **init_options: Any,
    ) -> None:
        super().__init__()
        if not isinstance(project, str) or not project:
            raise InputError(f"project: expected a non-empty string, got {project!r}")
        if run is not None and not callable(getattr(run, "log", None)):
            raise InputError(f"run: expected a driftline Run, got {type(run).__name__}")
        self._project = project
        self._name = name
        self._run = run
        self._finish = finish if finish is not None else run is None
        self._init_options = init_options
        self._config: dict[str, Any] = {}

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The driftline :class:`~driftline.client.Run` (started on first access)."""
        if self._run is None:
            from driftline.client import init

            self._run = init(
                self._project, name=self._name, config=self._config, **self._init_options
            )
        return self._run

    @property
    def name(self) -> str:
        """The run's name (Lightning's experiment name)."""
        run = self._run
        return str(run.name) if run is not None else (self._name or self._project)

    @property
    def version(self) -> str:
        """The run's id (empty before the run exists)."""
        return str(getattr(self._run, "run_id", ""))

    @property
    def save_dir(self) -> str | None:
        """Nothing is written locally: ``None``."""
        return None

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Merge ``params`` (a mapping or ``argparse.Namespace``; nested keys become ``a/b``)
        into the run's config."""
        if isinstance(params, argparse.Namespace):
            params = vars(params)
        if not isinstance(params, Mapping):
            raise InputError(f"params: expected a mapping or Namespace, got {type(params)!r}")
        flat = _flatten(params)
        self._config.update(flat)
        if self._run is not None:
            self._run.config.update(flat)
            self._run.add_tags()  # re-announces the run, which updates its config
        else:
            _ = self.experiment

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log scalar metrics at ``step`` (tensors are converted; NaN is kept)."""
        values = {
            k: float(v.item()) if isinstance(v, torch.Tensor) else float(v)
            for k, v in metrics.items()
        }
        self.experiment.log(values, step=step)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Flush, and finish the run as ``finished`` (Lightning's ``success``) or ``failed``."""
        if self._run is None:
            return
        if self._finish:
            self._run.finish(_FINAL_STATUS.get(status, "failed"))
        elif callable(getattr(self._run, "flush", None)):
            self._run.flush()


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
        rates = []
        for opt in self.optimizers:
            for g in opt.param_groups:
                g["lr"] = g["lr"] * factor
                rates.append(float(g["lr"]))
        for s in self.schedulers:
            if isinstance(getattr(s, "base_lrs", None), list):
                s.base_lrs = [b * factor for b in s.base_lrs]
        return rates


def _loss_of(outputs: Any) -> torch.Tensor | float | None:
    if isinstance(outputs, Mapping):
        outputs = outputs.get("loss")
    if isinstance(outputs, torch.Tensor) and outputs.numel() >= 1:
        return outputs
    if isinstance(outputs, int | float) and not isinstance(outputs, bool):
        return float(outputs)
    return None


def _batch_size(batch: Any) -> int | None:
    while isinstance(batch, list | tuple) and batch:
        batch = batch[0]
    if isinstance(batch, Mapping) and batch:
        return _batch_size(next(iter(batch.values())))
    if isinstance(batch, torch.Tensor) and batch.dim() > 0:
        return int(batch.shape[0])
    return None


class DriftlineCallback(Callback):
    """Lightning callback: training metrics to the run, and a guard that acts on the trainer.

    Parameters
    ----------
    guard
        Detectors and actions (:class:`driftline.training.Guard`); when its
        ``run`` is ``None`` it records on the callback's run.
    checkpoints
        A :class:`~driftline.training.CheckpointManager` (with
        :class:`~driftline.integrations.torch.TorchSerializer`): periodic saves
        of module, first optimizer and guard state, on-improvement saves after
        validation, and the source of ``restore``.
    per_layer_every
        Steps between per-layer gradient norms and update ratios (default 100;
        ``None`` turns them off).
    sync_every
        Steps between two copies of the buffered values to the host (default
        20); also the worst-case delay of a detection, in steps.
    log_every
        Log every ``log_every``-th optimizer step (default 1); the guard sees all.
    batch_size
        Samples per step, for ``throughput`` (default: the first dimension of
        the batch's first tensor).
    run
        Where metrics go (default: the run of the trainer's
        :class:`DriftlineLogger`; ``None`` without one logs nothing).
    val_prefix
        After each validation, the trainer's ``callback_metrics`` whose name
        starts with it are logged (unless the run is the :class:`DriftlineLogger`'s,
        which Lightning already gives them to), fed to the guard (e.g. ``val_loss`` for
        :class:`~driftline.training.Overfitting`) and drive on-improvement
        checkpoints (default ``"val"``).

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
        if guard is not None and not isinstance(guard, Guard):
            raise InputError(f"guard: expected a driftline Guard, got {type(guard).__name__}")
        if checkpoints is not None and not isinstance(checkpoints, CheckpointManager):
            raise InputError(
                f"checkpoints: expected a CheckpointManager, got {type(checkpoints).__name__}"
            )
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
        TrainingLoop.check_options(**self._options)
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
        loss = _loss_of(outputs)
        if loss is None:  # training_step returned no loss: nothing to record
            return
        w.step(loss, batch_size=self._options["batch_size"] or _batch_size(batch))
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
