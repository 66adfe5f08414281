"""PyTorch integration: ``watch(model, optimizer, run)`` and a weights-only checkpoint format.

What is logged and how it is guarded: ``docs/training.md``. torch is imported
when this module is; the rest of driftline never imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from driftline.integrations._common import Closing, LoopAttributes, OnLoop
from driftline.integrations._torch_buffer import StepBuffer
from driftline.integrations._torch_serializer import TorchSerializer
from driftline.integrations._torch_values import MAX_KEY_LENGTH as MAX_KEY_LENGTH  # importable here
from driftline.integrations._torch_values import (
    GradientProbe,
    check_torch_objects,
    gpu_memory,
    keeping_lrs,
    scale_lrs,
)
from driftline.training import CheckpointInfo, CheckpointManager, Guard, TrainingLoop, Verdict

__all__ = ["TorchSerializer", "TorchWatcher", "watch"]


class TorchWatcher(LoopAttributes, Closing):
    """Hooks on a model and optimizer that log training metrics and run a guard.

    Create it with :func:`watch` (whose parameters are this class's); call
    :meth:`step` per optimizer step, :meth:`evaluate` with validation metrics.
    """

    should_stop = OnLoop("True once the guard decided to stop the run.")

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        run: Any,
        *,
        log_every: int = 1,
        per_layer_every: int | None = 100,
        guard: Guard | None = None,
        checkpoints: CheckpointManager | None = None,
        sync_every: int = 20,
        batch_size: int | None = None,
        gradient_hook: bool = True,
    ) -> None:
        check_torch_objects(model=model, optimizer=optimizer)
        TrainingLoop.check_options(sync_every=sync_every, batch_size=batch_size)
        self.model = model
        self.optimizer = optimizer
        self.sync_every = sync_every
        self.batch_size = batch_size
        self._loop = TrainingLoop(
            run,
            state_dict=self.state_dict,
            load_state_dict=self.load_state_dict,
            scale_lr=self._scale_lr,
            guard=guard,
            checkpoints=checkpoints,
            log_every=log_every,
            per_layer_every=per_layer_every,
        )
        self._probe = GradientProbe(model)
        self._buffer = StepBuffer()
        self._hooks = [optimizer.register_step_post_hook(self._post_step)]
        if gradient_hook:
            self._hooks.append(
                optimizer.register_step_pre_hook(lambda *_: self.capture_gradients())
            )

    # ------------------------------------------------------------ hooks (no sync)

    def capture_gradients(self) -> None:
        """Measure the gradients now, after ``backward`` and before the update (no sync);
        the pre-step hook calls it, with ``gradient_hook=False`` the caller does."""
        self._probe.capture(self._loop.layer_step())

    def _post_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        layers = self._probe.layers()
        if layers is not None:
            self._buffer.add_layers(self._loop.global_step, layers)

    # ------------------------------------------------------------ public API
    def step(self, loss: torch.Tensor | float, *, batch_size: int | None = None) -> Verdict | None:
        """Record one training step, after ``optimizer.step()``; ``batch_size`` overrides watch's.

        Returns the guard's verdict when it acted during this call (it syncs
        every ``sync_every`` steps and before a periodic checkpoint), else ``None``.
        """
        lr = float(self.optimizer.param_groups[0].get("lr", math.nan))
        n = batch_size if batch_size is not None else self.batch_size
        loop, buffer, probe = self._loop, self._buffer, self._probe
        # no gradient norm when optimizer.step did not run (e.g. a GradScaler skipped it)
        buffer.add(loop.advance(), loss, probe.grad_norm, lr=lr, batch_size=n)
        probe.grad_norm = None
        verdict = self.flush() if len(buffer) >= self.sync_every else None
        if verdict is None and loop.checkpoints is not None:
            verdict = loop.save_periodic(before=self.flush)  # flushed and guarded before a save
        return verdict

    def evaluate(self, metrics: Mapping[str, float], *, log: bool = True) -> Verdict | None:
        """Log validation metrics (unless ``log=False``), guard them, save on improvement."""
        verdict = self.flush()
        acted = self._loop.evaluate(metrics, log=log, check=verdict is None)
        if acted is not None:
            self._probe.forget()
        return verdict if verdict is not None else acted

    def flush(self) -> Verdict | None:
        """Copy pending values to the host (one sync), log them, guard them: see
        :meth:`~driftline.training.TrainingLoop.record_window`."""
        if not len(self._buffer):
            return None
        rows = self._buffer.drain()
        acted = self._loop.record_window(rows, gpu_memory(self._probe.device()))
        if acted is not None:
            self._probe.forget()
        return acted

    def state_dict(self) -> dict[str, Any]:
        """Model and optimizer state, the step and the guard's state: what a checkpoint holds."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            **self._loop.progress_state(),
        }

    def resume(self) -> CheckpointInfo | None:
        """Continue from the newest loadable checkpoint (``None``: none): model, optimizer
        (learning rates included), step counter, the guard's detectors and budgets."""
        found = self._loop.resume(self._load_all)
        if found is None:
            return None
        self._buffer.clear()
        return found[0]

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint's model and optimizer state, keeping the current learning rates
        (a restore does not undo a reduction the guard made since the checkpoint)."""
        with keeping_lrs(self.optimizer):
            self._load_all(state)

    def close(self) -> None:
        """Flush what is pending and remove the hooks."""
        self.flush()
        for h in self._hooks:
            h.remove()
        self._hooks = []

    # ------------------------------------------------------------ internals
    def _load_all(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def _scale_lr(self, factor: float) -> list[float]:
        return scale_lrs([self.optimizer], factor)


def watch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    run: Any,
    *,
    log_every: int = 1,
    per_layer_every: int | None = 100,
    guard: Guard | None = None,
    checkpoints: CheckpointManager | None = None,
    sync_every: int = 20,
    batch_size: int | None = None,
    gradient_hook: bool = True,
) -> TorchWatcher:
    """Watch a PyTorch training loop: log its metrics to ``run`` and guard it.

    Parameters
    ----------
    model, optimizer
        What is trained; the watcher hooks ``optimizer.step``.
    run
        A :class:`driftline.client.Run` (anything with ``log``); ``None`` logs nothing.
    log_every
        Log every ``log_every``-th step (default 1); the guard sees every step.
    per_layer_every
        Steps between per-layer gradient norms and update ratios (``None``: never).
    guard
        Detectors and actions (:class:`driftline.training.Guard`).
    checkpoints
        A :class:`~driftline.training.CheckpointManager` with a :class:`TorchSerializer`.
    sync_every
        Steps between two copies to the host; the worst-case detection delay.
    batch_size
        Samples per step, for ``throughput``.
    gradient_hook
        Measure gradients in an optimizer pre-step hook (``False``: call
        :meth:`TorchWatcher.capture_gradients` yourself).

    Example
    -------
    >>> import torch
    >>> from driftline.training import Guard, NonFinite, Rule
    >>> model = torch.nn.Linear(3, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> watcher = watch(model, opt, None, guard=Guard([Rule(NonFinite(), "stop")]), sync_every=4)
    >>> for i in range(8):
    ...     opt.zero_grad()
    ...     loss = model(torch.ones(2, 3)).pow(2).mean() * (float("nan") if i == 5 else 1.0)
    ...     loss.backward()
    ...     opt.step()
    ...     _ = watcher.step(loss)
    >>> watcher.should_stop, watcher.guard.stopped
    (True, True)
    """
    return TorchWatcher(
        model, optimizer, run, log_every=log_every, per_layer_every=per_layer_every,
        guard=guard, checkpoints=checkpoints, sync_every=sync_every, batch_size=batch_size,
        gradient_hook=gradient_hook,
    )  # fmt: skip
