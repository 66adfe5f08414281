"""PyTorch integration: ``watch(model, optimizer, run)`` and a weights-only checkpoint format.

Per step, :meth:`TorchWatcher.step` keeps the loss and the global gradient norm
(computed by an optimizer pre-step hook) **on the device** as tensors; every
``sync_every`` steps they are stacked and copied to the host in one transfer,
logged, and fed to the guard. So there is no host-device synchronisation per step;
the trade-off is that a non-finite loss is noticed up to ``sync_every - 1`` steps
late (the guard then restores a checkpoint written before the bad step: the
watcher syncs and checks before every checkpoint it writes, so a checkpoint never
holds a state the guard has not cleared). Set ``sync_every=1`` for immediate
detection at the cost of one sync per step.

Logged keys: ``loss``, ``grad_norm`` (global L2 norm, before the optimizer step,
after any clipping the loop does), ``lr`` (first parameter group), ``step_time``
(seconds, averaged over the sync window, which makes it exact on a GPU),
``throughput`` (samples per second, when a batch size is known),
``gpu_memory_allocated`` / ``gpu_memory_max_allocated`` (bytes, CUDA models), and
every ``per_layer_every`` steps ``grad_norm/<param>``, ``update_ratio/<param>``
(``||Δw|| / ||w||`` of the step) and ``update_ratio`` (global); on those steps
the parameters are copied once on the device to measure the update (memory for
one extra copy of the weights, briefly).

torch is imported when this module is; the rest of driftline never imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import TracebackType
from typing import IO, Any

import torch

from driftline.errors import InputError
from driftline.integrations._common import LoopAttributes, OnLoop
from driftline.integrations._torch_values import (
    MAX_KEY_LENGTH as MAX_KEY_LENGTH,  # the longest per-layer metric key; kept importable here
)
from driftline.integrations._torch_values import (
    gpu_memory,
    tensor_norms,
    update_ratios,
)
from driftline.training import CheckpointInfo, CheckpointManager, Guard, TrainingLoop, Verdict

__all__ = ["TorchSerializer", "TorchWatcher", "watch"]


class TorchSerializer:
    """``torch.save`` to write; ``torch.load(weights_only=True)`` to read (never runs code).

    Parameters
    ----------
    map_location
        Where loaded tensors go (default ``"cpu"``; ``load_state_dict`` then copies
        them to the model's device).

    Example
    -------
    >>> import io, torch
    >>> buf = io.BytesIO()
    >>> TorchSerializer().dump({"w": torch.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> TorchSerializer().load(buf)["w"].tolist()
    [1.0, 1.0]
    """

    suffix = ".pt"

    def __init__(self, map_location: str | torch.device = "cpu") -> None:
        self.map_location = map_location

    def dump(self, state: Any, file: IO[bytes]) -> None:
        torch.save(state, file)

    def load(self, file: IO[bytes]) -> Any:
        return torch.load(file, map_location=self.map_location, weights_only=True)


class TorchWatcher(LoopAttributes):
    """Hooks on a model and optimizer that log training metrics and run a guard.

    Create it with :func:`watch` (its parameters are this class's); call
    :meth:`step` once per optimizer step with the loss, :meth:`evaluate` with
    validation metrics, and stop when :attr:`should_stop` is true. See the module
    docstring for what is logged. Step counting, logging, the guard's actions and
    the checkpoint policy are the :class:`~driftline.training.TrainingLoop`'s.
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
        if not isinstance(model, torch.nn.Module):
            raise InputError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InputError(
                f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
        TrainingLoop.check_options(
            log_every=log_every,
            sync_every=sync_every,
            per_layer_every=per_layer_every,
            batch_size=batch_size,
        )
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
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._grad_norm: torch.Tensor | None = None
        self._layer_grads: tuple[list[str], torch.Tensor] | None = None
        self._before: list[torch.Tensor] | None = None
        self._pending: list[tuple[int, torch.Tensor, float, int | None, bool]] = []
        self._pending_layers: dict[int, dict[str, torch.Tensor]] = {}
        self._hooks = [optimizer.register_step_post_hook(self._post_step)]
        if gradient_hook:
            self._hooks.append(optimizer.register_step_pre_hook(self._pre_step))

    # ------------------------------------------------------------ hooks (no sync)
    def _pre_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.capture_gradients()

    def capture_gradients(self) -> None:
        """Measure the gradients now, after ``backward`` and before the update (no sync).

        The optimizer's pre-step hook calls it. Loops whose ``backward`` runs
        inside ``optimizer.step(closure)`` (Lightning) create the watcher with
        ``gradient_hook=False`` and call it themselves once the gradients are there.
        """
        with torch.no_grad():
            named = [(n, p.grad) for n, p in self._params if p.grad is not None]
            if not named:
                self._grad_norm = None
                return
            norms = tensor_norms([g for _, g in named])
            self._grad_norm = torch.linalg.vector_norm(norms)
            if self._loop.layer_step():
                self._layer_grads = ([n for n, _ in named], norms)
                self._before = [p.detach().clone() for _, p in self._params]

    def _post_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._before is None:
            return
        layers = update_ratios(self._params, self._before, self._layer_grads)
        self._pending_layers[self._loop.global_step] = layers
        self._before, self._layer_grads = None, None

    # ------------------------------------------------------------ public API
    def step(self, loss: torch.Tensor | float, *, batch_size: int | None = None) -> Verdict | None:
        """Record one training step; call it after ``optimizer.step()``.

        Returns the guard's verdict when the guard acted during this call (it
        syncs every ``sync_every`` steps and before a periodic checkpoint),
        else ``None``. ``batch_size`` overrides the one given to :func:`watch`.
        """
        if isinstance(loss, torch.Tensor):
            value = loss.detach().reshape(-1)[:1].float().reshape(())
        else:
            value = torch.tensor(float(loss))
        # no gradient norm when optimizer.step did not run (e.g. a GradScaler skipped it)
        has_gnorm = self._grad_norm is not None
        gnorm = self._grad_norm if self._grad_norm is not None else torch.zeros(())
        pair = torch.stack([value, gnorm.to(value.device)])
        lr = float(self.optimizer.param_groups[0].get("lr", math.nan))
        n = batch_size if batch_size is not None else self.batch_size
        loop = self._loop
        self._pending.append((loop.advance(), pair, lr, n, has_gnorm))
        self._grad_norm = None
        verdict = self.flush() if len(self._pending) >= self.sync_every else None
        if verdict is None and loop.checkpoints is not None:
            verdict = loop.save_periodic(before=self.flush)  # flushed and guarded before a save
        return verdict

    def evaluate(self, metrics: Mapping[str, float], *, log: bool = True) -> Verdict | None:
        """Log validation metrics at the current step, run the guard, save on improvement.

        ``log=False`` skips the logging, for callers that log them elsewhere.
        """
        verdict = self.flush()
        acted = self._loop.evaluate(metrics, log=log, check=verdict is None)
        if acted is not None:
            self._forget_measurements()
        return verdict if verdict is not None else acted

    def flush(self) -> Verdict | None:
        """Copy pending values to the host (one sync), log them and run the guard.

        Returns the first verdict the guard acted on; steps after it in the
        window are logged but not checked (they predate the action).
        """
        if not self._pending:
            return None
        pending, self._pending = self._pending, []
        layers, self._pending_layers = self._pending_layers, {}
        host = torch.stack([p[1] for p in pending]).cpu().tolist()
        layer_host = {
            s: dict(zip(d, torch.stack(list(d.values())).cpu().tolist(), strict=True))
            for s, d in layers.items()
        }
        loop = self._loop
        step_time = loop.lap(len(pending))
        memory = self._gpu_memory()
        acted: Verdict | None = None
        for (step, _, lr, n, has_gnorm), (loss, gnorm) in zip(pending, host, strict=True):
            metrics = {"loss": loss}
            if has_gnorm:
                metrics["grad_norm"] = gnorm
            loop.step_metrics(metrics, lr=lr, step_time=step_time, batch_size=n)
            per_layer = layer_host.get(step)
            extra = {**memory, **per_layer} if per_layer else memory
            verdict = loop.record(step, metrics, extra, check=acted is None)
            acted = verdict if acted is None else acted
        if acted is not None:
            self._forget_measurements()
        return acted

    def state_dict(self) -> dict[str, Any]:
        """Model and optimizer state, the step and the guard's state: what a checkpoint holds."""
        state: dict[str, Any] = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.global_step,
        }
        if self.guard is not None:
            state["guard"] = self.guard.to_dict()
        return state

    def resume(self) -> CheckpointInfo | None:
        """Continue an interrupted run from the newest loadable checkpoint.

        Loads the model and optimizer (learning rates included), the step
        counter and the guard's detector states and budgets. Returns the
        checkpoint, or ``None`` when there is none (nothing changes then).
        """
        if self.checkpoints is None:
            raise InputError("checkpoints: resume() needs the watcher's CheckpointManager")
        found = self._loop.resume(self._load_all)
        if found is None:
            return None
        self._pending, self._pending_layers = [], {}
        return found[0]

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint's model and optimizer state, keeping the current learning rates.

        The learning rates stay as they are now, so a restore does not undo a
        reduction the guard made since the checkpoint.
        """
        lrs = [g.get("lr") for g in self.optimizer.param_groups]
        self._load_all(state)
        for g, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            if lr is not None:
                g["lr"] = lr

    def close(self) -> None:
        """Flush what is pending and remove the hooks."""
        self.flush()
        for h in self._hooks:
            h.remove()
        self._hooks = []

    def __enter__(self) -> TorchWatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ internals
    def _load_all(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def _forget_measurements(self) -> None:
        """Drop gradient measurements of a step the guard acted on (they predate the action)."""
        self._grad_norm, self._before, self._layer_grads = None, None, None

    def _scale_lr(self, factor: float) -> list[float]:
        rates = []
        for g in self.optimizer.param_groups:
            g["lr"] = g["lr"] * factor
            rates.append(float(g["lr"]))
        return rates

    def _gpu_memory(self) -> dict[str, float]:
        return gpu_memory(next((p.device for _, p in self._params), None))


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
        A :class:`driftline.client.Run` (or anything with ``log`` and
        ``log_event``); ``None`` logs nothing.
    log_every
        Log every ``log_every``-th step (default 1). The guard sees every step.
    per_layer_every
        Steps between per-layer gradient norms and update ratios (default 100;
        ``None`` turns them off).
    guard
        Detectors and actions (:class:`driftline.training.Guard`); its events go
        to the guard's own ``run``.
    checkpoints
        A :class:`~driftline.training.CheckpointManager` (use
        :class:`TorchSerializer`): periodic saves from :meth:`TorchWatcher.step`,
        on-improvement saves from :meth:`TorchWatcher.evaluate`, and the source
        of ``restore``.
    sync_every
        Steps between two copies of the buffered values to the host (default 20);
        also the worst-case delay of a detection, in steps.
    batch_size
        Samples per step, for ``throughput``.
    gradient_hook
        Measure the gradients in an optimizer pre-step hook (default ``True``).
        ``False`` when ``backward`` runs inside ``optimizer.step(closure)``: then
        call :meth:`TorchWatcher.capture_gradients` after ``backward``.

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
        model,
        optimizer,
        run,
        log_every=log_every,
        per_layer_every=per_layer_every,
        guard=guard,
        checkpoints=checkpoints,
        sync_every=sync_every,
        batch_size=batch_size,
        gradient_hook=gradient_hook,
    )
