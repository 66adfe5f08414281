"""The training-loop core that every framework adapter drives.

:class:`TrainingLoop` owns what the Keras, PyTorch, Lightning and Hugging Face
adapters have in common: the step counter, the step timer and throughput, what is
logged for a step, the guard's check -> act (stop, lower the learning rate,
restore the last good checkpoint) cycle, and when a checkpoint is written
(periodically, on improvement of a metric; :class:`CheckpointManager` keeps the
last and best ones). It never imports a framework: it reaches the model through
four callables the adapter supplies (see :class:`LoopHooks`).

An adapter calls, per training step, :meth:`TrainingLoop.advance` (the step's
index), :meth:`TrainingLoop.lap` (seconds since the last lap),
:meth:`TrainingLoop.step_metrics` (``lr``, ``step_time``, ``throughput``) and
:meth:`TrainingLoop.record` (log, then guard); then
:meth:`TrainingLoop.save_periodic`. An adapter that buffers steps on a device
records each window with :meth:`TrainingLoop.record_window`. After a validation
it calls :meth:`TrainingLoop.evaluate`; a checkpoint holds
:meth:`TrainingLoop.progress_state` besides the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from driftline.errors import InputError
from driftline.training._checkpoint import CheckpointInfo, CheckpointManager
from driftline.training._guard import Guard, Verdict

__all__ = ["LoopHooks", "MetricsRun", "TrainingLoop"]


class MetricsRun(Protocol):
    """Where a loop logs its metrics: :meth:`driftline.client.Run.log`."""

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record metric values at ``step`` (never raises)."""


class LoopHooks(Protocol):
    """What a :class:`TrainingLoop` needs from a framework, as an object.

    Any object with these four methods can be passed to
    :meth:`TrainingLoop.from_hooks`; adapters usually pass the callables directly.
    """

    def state_dict(self) -> Any:
        """The state a checkpoint holds (model, optimizer, step...)."""

    def load_state_dict(self, state: Any) -> None:
        """Put a checkpoint's state back, keeping the current learning rates."""

    def scale_lr(self, factor: float) -> Sequence[float]:
        """Multiply every learning rate by ``factor``; return the new rates."""

    def stop(self) -> None:
        """Ask the framework to end the training loop."""


def _check_positive(name: str, value: object, *, optional: bool) -> None:
    if optional and value is None:
        return
    if type(value) is not int or value < 1:
        expected = "a positive int or None" if optional else "a positive int"
        raise InputError(f"{name}: expected {expected}, got {value!r}")


class TrainingLoop:
    """Step counting, logging, guarding and checkpointing of one training loop.

    Parameters
    ----------
    run
        Where metrics go (a :class:`driftline.client.Run` or anything with its
        ``log``); ``None`` logs nothing.
    state_dict
        Returns the state a checkpoint holds.
    load_state_dict
        Puts a checkpoint's state back (for ``restore``), keeping the learning rates.
    scale_lr
        Multiplies the learning rate by its argument and returns the new rates
        (for ``lower_lr``).
    stop
        Called once when the guard stops the run (default: nothing; the adapter
        reads :attr:`should_stop`).
    guard
        Detectors and actions (:class:`Guard`); ``None`` guards nothing.
    checkpoints
        Where periodic and on-improvement checkpoints go, and the source of
        ``restore``; ``None`` writes none.
    log_every
        Log every ``log_every``-th step (default 1); the guard sees every step.
    per_layer_every
        Steps between per-layer measurements (see :meth:`layer_step`; default
        ``None``: never).
    clock
        Monotonic seconds for the step timer (default :func:`time.perf_counter`).

    Example
    -------
    >>> from driftline.training import Guard, NonFinite, Rule
    >>> rates = [0.1]
    >>> loop = TrainingLoop(None, state_dict=dict, load_state_dict=lambda s: None,
    ...                     scale_lr=lambda f: rates, guard=Guard([Rule(NonFinite(), "stop")]))
    >>> for loss in (0.9, 0.7, float("nan"), 0.5):
    ...     step = loop.advance()
    ...     metrics = loop.step_metrics({"loss": loss}, lr=rates[0], step_time=0.5, batch_size=32)
    ...     _ = loop.record(step, metrics)
    >>> loop.global_step, loop.should_stop, metrics["throughput"]
    (4, True, 64.0)
    """

    def __init__(
        self,
        run: MetricsRun | None,
        *,
        state_dict: Callable[[], Any],
        load_state_dict: Callable[[Any], None],
        scale_lr: Callable[[float], Sequence[float]],
        stop: Callable[[], None] | None = None,
        guard: Guard | None = None,
        checkpoints: CheckpointManager | None = None,
        log_every: int = 1,
        per_layer_every: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.check_options(log_every=log_every, per_layer_every=per_layer_every)
        self.run = run
        self.guard = guard
        self.checkpoints = checkpoints
        self.log_every = log_every
        self.per_layer_every = per_layer_every
        self.state_dict = state_dict
        self.load_state_dict = load_state_dict
        self.scale_lr = scale_lr
        self._stop = stop
        self._clock = clock
        self._mark = clock()
        self.global_step = 0
        """Steps seen; it keeps counting after a restore."""
        self.should_stop = False
        """True once the guard decided to stop the run."""
        self.restored: list[CheckpointInfo] = []
        """Checkpoints the guard restored, in order."""

    @classmethod
    def from_hooks(cls, run: MetricsRun | None, hooks: LoopHooks, **options: Any) -> TrainingLoop:
        """A loop that reaches the framework through ``hooks`` (see :class:`LoopHooks`).

        Example
        -------
        >>> class Fake:
        ...     def state_dict(self): return {"w": 1.0}
        ...     def load_state_dict(self, state): pass
        ...     def scale_lr(self, factor): return [0.1 * factor]
        ...     def stop(self): pass
        >>> TrainingLoop.from_hooks(None, Fake(), log_every=2).log_every
        2
        """
        return cls(
            run,
            state_dict=hooks.state_dict,
            load_state_dict=hooks.load_state_dict,
            scale_lr=hooks.scale_lr,
            stop=hooks.stop,
            **options,
        )

    @staticmethod
    def check_options(
        *,
        log_every: object = 1,
        sync_every: object = 1,
        per_layer_every: object = None,
        batch_size: object = None,
        guard: object = None,
        checkpoints: object = None,
        config: object = None,
    ) -> None:
        """Raise :class:`~driftline.errors.InputError` for an adapter option of the wrong kind.

        ``log_every`` and ``sync_every`` must be positive ints; ``per_layer_every``
        and ``batch_size`` positive ints or ``None``; ``guard`` a :class:`Guard`,
        ``checkpoints`` a :class:`CheckpointManager` and ``config`` a mapping, or
        ``None``.

        Example
        -------
        >>> TrainingLoop.check_options(log_every=0)
        Traceback (most recent call last):
        ...
        driftline.errors.InputError: log_every: expected a positive int, got 0
        """
        _check_positive("log_every", log_every, optional=False)
        _check_positive("sync_every", sync_every, optional=False)
        _check_positive("per_layer_every", per_layer_every, optional=True)
        _check_positive("batch_size", batch_size, optional=True)
        for name, value, kind, expected in (
            ("guard", guard, Guard, "a driftline Guard"),
            ("checkpoints", checkpoints, CheckpointManager, "a CheckpointManager"),
            ("config", config, Mapping, "a mapping"),
        ):
            if value is not None and not isinstance(value, kind):
                raise InputError(f"{name}: expected {expected}, got {type(value).__name__}")

    # ------------------------------------------------------------ counting
    def advance(self) -> int:
        """Count one step; return its index (the value of :attr:`global_step` before)."""
        step = self.global_step
        self.global_step = step + 1
        return step

    @property
    def last_step(self) -> int:
        """Index of the most recent step (0 before any): where validation metrics go."""
        return max(self.global_step - 1, 0)

    def layer_step(self) -> bool:
        """Whether the coming step (:attr:`global_step`) takes per-layer measurements."""
        every = self.per_layer_every
        return every is not None and self.global_step % every == 0

    def start_timer(self) -> None:
        """Start timing a step (or a window of steps) now."""
        self._mark = self._clock()

    def lap(self, steps: int = 1) -> float:
        """Seconds per step since the timer was last started or lapped, over ``steps`` steps."""
        now = self._clock()
        elapsed = (now - self._mark) / steps
        self._mark = now
        return elapsed

    @staticmethod
    def step_metrics(
        metrics: dict[str, float], *, lr: float, step_time: float, batch_size: int | None
    ) -> dict[str, float]:
        """Add ``lr``, ``step_time`` and, with a batch size, ``throughput`` (samples/s) to ``metrics``.

        Example
        -------
        >>> TrainingLoop.step_metrics({"loss": 0.5}, lr=0.1, step_time=0.25, batch_size=8)
        {'loss': 0.5, 'lr': 0.1, 'step_time': 0.25, 'throughput': 32.0}
        """
        metrics["lr"] = lr
        metrics["step_time"] = step_time
        if batch_size is not None and step_time > 0:
            metrics["throughput"] = batch_size / step_time
        return metrics

    # ------------------------------------------------------------ logging and guarding
    def record(
        self,
        step: int,
        metrics: Mapping[str, float],
        extra: Mapping[str, float] | None = None,
        *,
        check: bool = True,
    ) -> Verdict | None:
        """Log ``metrics`` and ``extra`` at ``step`` (every ``log_every``-th), then guard ``metrics``.

        ``extra`` (GPU memory, per-layer values) is logged but not guarded;
        ``check=False`` only logs. Returns the verdict the guard acted on, if any.
        """
        if self.run is not None and step % self.log_every == 0:
            self.run.log({**metrics, **extra} if extra else dict(metrics), step=step)
        return self.check(step, metrics) if check else None

    def record_window(
        self,
        rows: Sequence[tuple[int, dict[str, float], float, int | None, Mapping[str, float] | None]],
        extra: Mapping[str, float],
    ) -> Verdict | None:
        """Time, log and guard a window of buffered steps, laid out as ``(step, metrics, lr,
        batch_size, own_extra)``.

        The window's steps share one :meth:`lap`; each gets :meth:`step_metrics`
        and is recorded with ``extra`` (e.g. GPU memory) and its own extra values.
        Returns the first verdict the guard acted on; the steps after it are
        logged but not checked (they predate the action).

        Example
        -------
        >>> loop = TrainingLoop(None, state_dict=dict, load_state_dict=print, scale_lr=list)
        >>> rows = [(loop.advance(), {"loss": 0.5}, 0.1, 8, None) for _ in range(2)]
        >>> loop.record_window(rows, {}) is None, rows[0][1]["lr"]
        (True, 0.1)
        """
        step_time = self.lap(len(rows))
        acted: Verdict | None = None
        for step, metrics, lr, n, own in rows:
            self.step_metrics(metrics, lr=lr, step_time=step_time, batch_size=n)
            verdict = self.record(
                step, metrics, {**extra, **own} if own else extra, check=acted is None
            )
            acted = verdict if acted is None else acted
        return acted

    def check(self, step: int, metrics: Mapping[str, float]) -> Verdict | None:
        """Feed ``metrics`` of ``step`` to the guard and carry out what it decides.

        Nothing is checked once the loop should stop. A verdict that stops,
        restores or lowers the learning rate is carried out through the hooks
        (restore: the last checkpoint written before ``step``, the learning rate
        kept) and returned; otherwise (nothing found, or only recorded) ``None``.
        """
        guard = self.guard
        if guard is None or self.should_stop:
            return None
        verdict = guard.check(step, metrics)
        if verdict is None or not (verdict.stop or verdict.restore or verdict.lower_lr):
            return None
        result = guard.act(
            verdict,
            checkpoints=self.checkpoints,
            load=self.load_state_dict,
            scale_lr=self.scale_lr,
        )
        if result.restored is not None:
            self.restored.append(result.restored)
        if result.stop:
            self.should_stop = True
            if self._stop is not None:
                self._stop()
        return verdict

    def evaluate(
        self, metrics: Mapping[str, float], *, log: bool = True, check: bool = True
    ) -> Verdict | None:
        """Log validation metrics at :attr:`last_step`, guard them, save on improvement.

        ``log=False`` skips the logging (for callers that log them elsewhere);
        ``check=False`` skips the guard and the save (a verdict was just acted on).
        """
        step = self.last_step
        values = {str(k): float(v) for k, v in metrics.items()}
        if self.run is not None and log:
            self.run.log(values, step=step)
        if not check:
            return None
        verdict = self.check(step, values)
        if verdict is None:
            self.save_on_improvement(values)
        return verdict

    # ------------------------------------------------------------ checkpoint policy
    def save_periodic(self, before: Callable[[], Verdict | None] | None = None) -> Verdict | None:
        """Write the periodic checkpoint of :attr:`global_step` when one is due.

        ``before`` runs first (an adapter that buffers steps flushes and guards
        them there, so no checkpoint holds a state the guard has not cleared);
        when it returns a verdict, nothing is saved and the verdict is returned.
        """
        cm = self.checkpoints
        if cm is None or self.should_stop or cm.should_save(self.global_step) != "periodic":
            return None
        verdict = before() if before is not None else None
        if verdict is None:
            cm.save(self.global_step, self.state_dict(), reason="periodic")
        return verdict

    def save_on_improvement(self, metrics: Mapping[str, float]) -> CheckpointInfo | None:
        """Save at :attr:`global_step` when ``metrics`` improve (or a periodic save is due)."""
        cm = self.checkpoints
        if cm is None or self.should_stop:
            return None
        return cm.maybe_save(self.global_step, self.state_dict, metrics)

    def progress_state(self) -> dict[str, Any]:
        """What a checkpoint holds besides the model: ``"step"`` and, with a guard, ``"guard"``.

        :meth:`resume` puts both back.

        Example
        -------
        >>> loop = TrainingLoop(None, state_dict=dict, load_state_dict=print, scale_lr=list)
        >>> _ = loop.advance()
        >>> loop.progress_state()
        {'step': 1}
        """
        state: dict[str, Any] = {"step": self.global_step}
        if self.guard is not None:
            state["guard"] = self.guard.to_dict()
        return state

    def resume(self, load: Callable[[Any], None]) -> tuple[CheckpointInfo, Any] | None:
        """Continue from the newest checkpoint that loads; ``None`` when there is none.

        ``load`` puts the whole state back (learning rates included); the step
        counter and the guard's state (under ``"step"`` and ``"guard"``) follow.
        Raises :class:`~driftline.errors.InputError` without a checkpoint manager.
        """
        if self.checkpoints is None:
            raise InputError("checkpoints: resume needs a CheckpointManager, got None")
        found = self.checkpoints.resume()
        if found is None:
            return None
        info, state = found
        load(state)
        self.global_step = int(state.get("step", info.step))
        if self.guard is not None and "guard" in state:
            self.guard.load_dict(state["guard"])
        return info, state
