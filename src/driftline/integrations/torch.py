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

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import IO, Any

import torch

from driftline.errors import InputError
from driftline.training import CheckpointInfo, CheckpointManager, Guard, Verdict

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


MAX_KEY_LENGTH = 200
"""Longest metric key the server accepts; longer per-layer keys are shortened with a hash."""


def _key(prefix: str, name: str) -> str:
    key = f"{prefix}/{name}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{key[: MAX_KEY_LENGTH - 11]}~{digest}"


def _norms(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """L2 norm of each tensor, as one float32 device tensor (no sync)."""
    foreach = getattr(torch, "_foreach_norm", None)
    norms = foreach(list(tensors)) if foreach is not None else [t.norm() for t in tensors]
    return torch.stack([n.float() for n in norms])


class TorchWatcher:
    """Hooks on a model and optimizer that log training metrics and run a guard.

    Create it with :func:`watch`; call :meth:`step` once per optimizer step with
    the loss, :meth:`evaluate` with validation metrics, and stop when
    :attr:`should_stop` is true. See the module docstring for what is logged.
    """

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
        for name, v in (("log_every", log_every), ("sync_every", sync_every)):
            if type(v) is not int or v < 1:
                raise InputError(f"{name}: expected a positive int, got {v!r}")
        if per_layer_every is not None and (
            type(per_layer_every) is not int or per_layer_every < 1
        ):
            raise InputError(
                f"per_layer_every: expected a positive int or None, got {per_layer_every!r}"
            )
        if batch_size is not None and (type(batch_size) is not int or batch_size < 1):
            raise InputError(f"batch_size: expected a positive int or None, got {batch_size!r}")
        self.model = model
        self.optimizer = optimizer
        self.run = run
        self.log_every = log_every
        self.per_layer_every = per_layer_every
        self.guard = guard
        self.checkpoints = checkpoints
        self.sync_every = sync_every
        self.batch_size = batch_size
        self.global_step = 0
        """Optimizer steps seen; it keeps counting after a restore."""
        self.should_stop = False
        """True once the guard decided to stop the run."""
        self.restored: list[CheckpointInfo] = []
        """Checkpoints the guard restored, in order."""
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._grad_norm: torch.Tensor | None = None
        self._layer_grads: tuple[list[str], torch.Tensor] | None = None
        self._before: list[torch.Tensor] | None = None
        self._pending: list[tuple[int, torch.Tensor, float, int | None, bool]] = []
        self._pending_layers: dict[int, dict[str, torch.Tensor]] = {}
        self._window_start = time.perf_counter()
        self._hooks = [optimizer.register_step_post_hook(self._post_step)]
        if gradient_hook:
            self._hooks.append(optimizer.register_step_pre_hook(self._pre_step))

    # ------------------------------------------------------------ hooks (no sync)
    def _layer_step(self) -> bool:
        return self.per_layer_every is not None and self.global_step % self.per_layer_every == 0

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
            norms = _norms([g for _, g in named])
            self._grad_norm = torch.linalg.vector_norm(norms)
            if self._layer_step():
                self._layer_grads = ([n for n, _ in named], norms)
                self._before = [p.detach().clone() for _, p in self._params]

    def _post_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._before is None:
            return
        with torch.no_grad():
            params = [p.detach() for _, p in self._params]
            deltas = [a - b for a, b in zip(params, self._before, strict=True)]
            upd = _norms(deltas)
            w = _norms(params)
            ratios = upd / w.clamp_min(1e-12)
            total = torch.linalg.vector_norm(upd) / torch.linalg.vector_norm(w).clamp_min(1e-12)
            layers: dict[str, torch.Tensor] = {}
            if self._layer_grads is not None:
                names, gnorms = self._layer_grads
                layers.update({_key("grad_norm", n): gnorms[i] for i, n in enumerate(names)})
            layers.update(
                {_key("update_ratio", n): ratios[i] for i, (n, _) in enumerate(self._params)}
            )
            layers["update_ratio"] = total
            self._pending_layers[self.global_step] = layers
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
        self._pending.append((self.global_step, pair, lr, n, has_gnorm))
        self._grad_norm = None
        self.global_step += 1
        verdict = None
        if len(self._pending) >= self.sync_every:
            verdict = self.flush()
        cm = self.checkpoints
        if verdict is None and cm is not None and not self.should_stop:
            step = self.global_step
            if cm.should_save(step) == "periodic":
                verdict = self.flush()  # never checkpoint a state the guard has not seen
                if verdict is None:
                    cm.save(step, self.state_dict(), reason="periodic")
        return verdict

    def evaluate(self, metrics: Mapping[str, float], *, log: bool = True) -> Verdict | None:
        """Log validation metrics at the current step, run the guard, save on improvement.

        ``log=False`` skips the logging, for callers that log them elsewhere.
        """
        verdict = self.flush()
        step = max(self.global_step - 1, 0)
        values = {str(k): float(v) for k, v in metrics.items()}
        if self.run is not None and log:
            self.run.log(values, step=step)
        if verdict is None and self.guard is not None and not self.should_stop:
            verdict = self._check(step, values)
        cm = self.checkpoints
        if verdict is None and cm is not None and not self.should_stop:
            cm.maybe_save(self.global_step, self.state_dict, values)
        return verdict

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
        now = time.perf_counter()
        step_time = (now - self._window_start) / len(pending)
        self._window_start = now
        memory = self._gpu_memory()
        acted: Verdict | None = None
        for (step, _, lr, n, has_gnorm), (loss, gnorm) in zip(pending, host, strict=True):
            metrics = {"loss": loss, "lr": lr, "step_time": step_time}
            if has_gnorm:
                metrics["grad_norm"] = gnorm
            if n is not None and step_time > 0:
                metrics["throughput"] = n / step_time
            if self.run is not None and step % self.log_every == 0:
                self.run.log({**metrics, **memory, **layer_host.get(step, {})}, step=step)
            if acted is None and self.guard is not None and not self.should_stop:
                acted = self._check(step, metrics)
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
        found = self.checkpoints.resume()
        if found is None:
            return None
        info, state = found
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.global_step = int(state.get("step", info.step))
        if self.guard is not None and "guard" in state:
            self.guard.load_dict(state["guard"])
        self._pending, self._pending_layers = [], {}
        return info

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint's model and optimizer state, keeping the current learning rates.

        The learning rates stay as they are now, so a restore does not undo a
        reduction the guard made since the checkpoint.
        """
        lrs = [g.get("lr") for g in self.optimizer.param_groups]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
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
    def _check(self, step: int, metrics: Mapping[str, float]) -> Verdict | None:
        if self.guard is None:
            return None
        verdict = self.guard.check(step, metrics)
        if verdict is None or not (verdict.stop or verdict.restore or verdict.lower_lr):
            return None
        result = self.guard.act(
            verdict,
            checkpoints=self.checkpoints,
            load=self.load_state_dict,
            scale_lr=self._scale_lr,
        )
        if result.restored is not None:
            self.restored.append(result.restored)
        if result.stop:
            self.should_stop = True
        self._grad_norm, self._before, self._layer_grads = None, None, None
        return verdict

    def _scale_lr(self, factor: float) -> list[float]:
        rates = []
        for g in self.optimizer.param_groups:
            g["lr"] = g["lr"] * factor
            rates.append(float(g["lr"]))
        return rates

    def _gpu_memory(self) -> dict[str, float]:
        device = next((p.device for _, p in self._params), None)
        if device is None or device.type != "cuda":
            return {}
        return {
            "gpu_memory_allocated": float(torch.cuda.memory_allocated(device)),
            "gpu_memory_max_allocated": float(torch.cuda.max_memory_allocated(device)),
        }


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
