"""The guard: detectors wired to actions, with a retry budget, recorded on the run.

:meth:`Guard.check` feeds one step to every detector and returns a
:class:`Verdict` (what was found, what should be done) or ``None``;
:meth:`Guard.act` carries a verdict out through callables the caller supplies
(load a state, scale the learning rate), so the guard stays framework-free.
Every detection and every action taken is logged on the run with
``run.log_event(kind, message, step=..., evidence=...)``.

A run whose ``stop_requested`` is true (a :class:`driftline.client.Run` after a
``POST /api/v1/runs/{run_id}/stop`` or an alert's webhook) makes the next
:meth:`Guard.check` return a stop, with the reason "stop requested from ...",
so every integration stops through its usual path.

Restoring "continues, skipping the offending window": the model and optimizer go
back to the last checkpoint written before the detection, while the data stream
goes on with the next batch, so the batches between the checkpoint and the
detection are not replayed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from driftline.errors import InputError, NotFoundError
from driftline.training._checkpoint import CheckpointError, CheckpointInfo, CheckpointManager
from driftline.training._detectors import Detection, Detector

__all__ = ["Action", "ActionResult", "Guard", "Rule", "RunLike", "Verdict"]

logger = logging.getLogger("driftline.training")

STOP_REQUEST = "stop_request"
"""Detector name (and run event kind) of a stop requested on the run from outside."""


class Action(StrEnum):
    """What the guard does about a detection, mildest first."""

    RECORD = "record"
    """Log the detection on the run (always done)."""
    ALERT = "alert"
    """Also log a warning and call the guard's ``on_alert``."""
    LOWER_LR = "lower_lr"
    """Multiply the learning rate by the guard's ``lr_factor``."""
    RESTORE = "restore"
    """Load the last checkpoint written before the detection, and go on."""
    STOP = "stop"
    """Stop the run."""


_SEVERITY = {a: i for i, a in enumerate(Action)}


class RunLike(Protocol):
    """What the guard needs from a run: :meth:`driftline.client.Run.log_event`."""

    def log_event(
        self,
        kind: str,
        message: str = "",
        *,
        step: int | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an event (never raises)."""


class Rule:
    """A detector and the actions to take when it fires.

    Parameters
    ----------
    detector
        The detector to run on every step.
    actions
        One :class:`Action` (or its name) or several (default ``"record"``).

    Example
    -------
    >>> from driftline.training import Divergence
    >>> Rule(Divergence(), ("restore", "lower_lr")).actions
    (<Action.RESTORE: 'restore'>, <Action.LOWER_LR: 'lower_lr'>)
    """

    def __init__(self, detector: Detector, actions: str | Iterable[str] = Action.RECORD) -> None:
        if not isinstance(detector, Detector):
            raise InputError(f"detector: expected a Detector, got {type(detector).__name__}")
        raw = [actions] if isinstance(actions, str) else list(actions)
        try:
            acts = tuple(Action(a) for a in raw)
        except ValueError as exc:
            choices = [a.value for a in Action]
            raise InputError(f"actions: expected some of {choices}, got {actions!r}") from exc
        self.detector = detector
        self.actions: tuple[Action, ...] = acts or (Action.RECORD,)

    def __repr__(self) -> str:
        return f"Rule({self.detector!r}, {tuple(a.value for a in self.actions)!r})"


@dataclass(frozen=True)
class Verdict:
    """The detections of one step and the actions decided, most severe first.

    ``notes`` explains escalations (a retry budget that ran out).
    """

    step: int
    detections: tuple[Detection, ...]
    actions: tuple[Action, ...]
    notes: tuple[str, ...] = ()

    @property
    def stop(self) -> bool:
        """Whether the run should stop."""
        return Action.STOP in self.actions

    @property
    def restore(self) -> bool:
        """Whether the last good checkpoint should be restored."""
        return Action.RESTORE in self.actions and not self.stop

    @property
    def lower_lr(self) -> bool:
        """Whether the learning rate should be lowered."""
        return Action.LOWER_LR in self.actions and not self.stop

    @property
    def reason(self) -> str:
        """The detections' reasons, joined."""
        return "; ".join([d.reason for d in self.detections] + list(self.notes))


@dataclass
class ActionResult:
    """What :meth:`Guard.act` did: stopped, restored which checkpoint, new learning rates."""

    stop: bool = False
    restored: CheckpointInfo | None = None
    state: Any = None
    learning_rates: list[float] = field(default_factory=list)


def _jsonable(value: Any) -> Any:
    """Evidence made safe for JSON: non-finite floats become strings, numpy scalars floats."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else str(f)


class Guard:
    """Runs detectors on every step and decides what to do about what they find.

    Parameters
    ----------
    rules
        :class:`Rule` s: a detector and its actions.
    run
        Where detections and actions are recorded (a :class:`driftline.client.Run`
        or anything with its ``log_event``); ``None`` records nothing.
    max_restores
        Retry budget: restores allowed over the run (default 3). A restore
        decided after that becomes a stop.
    max_lr_reductions
        Learning-rate reductions allowed (default 5); then a stop.
    lr_factor
        Factor the learning rate is multiplied by on ``lower_lr`` (default 0.5).
    on_alert
        Called with each detection whose rule says ``alert``.

    A ``run`` whose ``stop_requested`` attribute is true (see
    :attr:`driftline.client.Run.stop_requested`) makes the next :meth:`check` return a
    stop whose reason is "stop requested from <the run's stop_reason>", recorded as a
    ``stop_request`` event, once.

    Example
    -------
    >>> from driftline.training import Divergence, NonFinite
    >>> guard = Guard([Rule(NonFinite(), "restore"), Rule(Divergence(), "lower_lr")],
    ...               max_restores=1)
    >>> guard.check(1, {"loss": 0.5}) is None
    True
    >>> guard.check(2, {"loss": float("nan")}).actions
    (<Action.RESTORE: 'restore'>,)
    >>> guard.check(3, {"loss": float("nan")}).actions  # the budget of one is spent
    (<Action.STOP: 'stop'>,)
    >>> from types import SimpleNamespace
    >>> asked = SimpleNamespace(stop_requested=True, stop_reason="the API",
    ...                         log_event=lambda *args, **kwargs: None)
    >>> Guard([], run=asked).check(7, {"loss": 0.4}).reason
    'stop requested from the API'
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        run: RunLike | None = None,
        max_restores: int = 3,
        max_lr_reductions: int = 5,
        lr_factor: float = 0.5,
        on_alert: Callable[[Detection], None] | None = None,
    ) -> None:
        self.rules = list(rules)
        for r in self.rules:
            if not isinstance(r, Rule):
                raise InputError(f"rules: expected Rule objects, got {type(r).__name__}")
        for name, v in (("max_restores", max_restores), ("max_lr_reductions", max_lr_reductions)):
            if type(v) is not int or v < 0:
                raise InputError(f"{name}: expected a non-negative int, got {v!r}")
        if not isinstance(lr_factor, int | float) or not 0 < lr_factor < 1:
            raise InputError(f"lr_factor: expected a number in (0, 1), got {lr_factor!r}")
        self.run = run
        self.max_restores = max_restores
        self.max_lr_reductions = max_lr_reductions
        self.lr_factor = float(lr_factor)
        self.on_alert = on_alert
        self.restores = 0
        self.lr_reductions = 0
        self.stopped = False
        self._stop_request_seen = False

    def check(self, step: int, metrics: Mapping[str, Any]) -> Verdict | None:
        """Feed ``metrics`` of ``step`` to every detector; record and return what was found.

        A stop requested on the run (its ``stop_requested``) is a detection whose
        action is ``stop`` (see the class docstring).
        """
        found: list[tuple[Detection, tuple[Action, ...]]] = []
        for rule in self.rules:
            det = rule.detector.update(step, metrics)
            if det is not None:
                found.append((det, rule.actions))
        requested = self._stop_request(step)
        if requested is not None:
            found.append((requested, (Action.STOP,)))
        if not found:
            return None
        wanted = {a for _, acts in found for a in acts}
        notes: list[str] = []
        if Action.RESTORE in wanted and Action.STOP not in wanted:
            if self.restores >= self.max_restores:
                wanted.add(Action.STOP)
                notes.append(f"restore budget spent (max_restores={self.max_restores})")
            else:
                self.restores += 1
        if Action.LOWER_LR in wanted and Action.STOP not in wanted:
            if self.lr_reductions >= self.max_lr_reductions:
                wanted.add(Action.STOP)
                notes.append(
                    f"learning-rate budget spent (max_lr_reductions={self.max_lr_reductions})"
                )
            else:
                self.lr_reductions += 1
        if Action.STOP in wanted:
            self.stopped = True
            wanted -= {Action.RESTORE, Action.LOWER_LR}  # nothing to repair in a stopped run
        actions = tuple(sorted(wanted, key=_SEVERITY.__getitem__, reverse=True))
        for det, acts in found:
            evidence = {**det.evidence, "actions": [a.value for a in actions]}
            if notes:
                evidence["notes"] = notes
            self.record(det.detector, det.reason, step=step, evidence=evidence)
            if Action.ALERT in acts:
                logger.warning("step %d: %s", step, det.reason)
                if self.on_alert is not None:
                    self.on_alert(det)
        return Verdict(step, tuple(d for d, _ in found), actions, tuple(notes))

    def _stop_request(self, step: int) -> Detection | None:
        """A detection for a stop requested on the run, the first time it is seen."""
        if self._stop_request_seen or self.run is None:
            return None
        try:  # a run-like object without the attribute (or one that fails) asks nothing
            requested = bool(getattr(self.run, "stop_requested", False))
            source = getattr(self.run, "stop_reason", None) if requested else None
        except Exception:
            return None
        if not requested:
            return None
        self._stop_request_seen = True
        source = str(source) if source else "the run's server"
        return Detection(
            STOP_REQUEST, step, f"stop requested from {source}", {"requested_by": source}
        )

    def record(
        self, kind: str, message: str, *, step: int, evidence: Mapping[str, Any] | None = None
    ) -> None:
        """Log an event on the run (evidence made JSON-safe); a no-op without a run."""
        if self.run is not None:
            self.run.log_event(kind, message, step=step, evidence=_jsonable(dict(evidence or {})))

    def act(
        self,
        verdict: Verdict,
        *,
        checkpoints: CheckpointManager | None = None,
        load: Callable[[Any], None] | None = None,
        scale_lr: Callable[[float], Sequence[float]] | None = None,
    ) -> ActionResult:
        """Carry out ``verdict`` and record each action as a ``guard.<action>`` event.

        Parameters
        ----------
        verdict
            From :meth:`check`.
        checkpoints, load
            For ``restore``: the checkpoint manager and a callable that puts a
            loaded state back into the model and optimizer. The checkpoint is the
            last one whose step is smaller than the verdict's step. Without them,
            or without such a checkpoint, the run is stopped.
        scale_lr
            For ``lower_lr``: multiplies the learning rate by its argument and
            returns the new rates. Without it the action is only recorded.
        """
        result = ActionResult(stop=verdict.stop)
        step = verdict.step
        if verdict.restore:
            if checkpoints is None or load is None:
                result.stop = True
                self.record(
                    "guard.restore_failed",
                    "restore requested but no checkpoint manager was given; stopping",
                    step=step,
                )
            else:
                try:
                    info, state = checkpoints.restore("last", before=step)
                    load(state)
                except (NotFoundError, CheckpointError) as exc:
                    result.stop = True
                    self.record("guard.restore_failed", f"{exc}; stopping", step=step, evidence={})
                else:
                    result.restored, result.state = info, state
                    self.record(
                        "guard.restore",
                        f"restored the checkpoint of step {info.step} after: {verdict.reason}",
                        step=step,
                        evidence={
                            "restored_step": info.step,
                            "file": info.file,
                            "sha256": info.sha256,
                            "restores": self.restores,
                            "max_restores": self.max_restores,
                        },
                    )
        if verdict.lower_lr and not result.stop:
            rates = list(scale_lr(self.lr_factor)) if scale_lr is not None else []
            result.learning_rates = rates
            self.record(
                "guard.lower_lr",
                f"learning rate multiplied by {self.lr_factor:g} after: {verdict.reason}",
                step=step,
                evidence={
                    "factor": self.lr_factor,
                    "learning_rates": rates,
                    "lr_reductions": self.lr_reductions,
                },
            )
        if result.stop:
            self.stopped = True
            self.record("guard.stop", f"stopping the run: {verdict.reason}", step=step)
        return result

    def to_dict(self) -> dict[str, Any]:
        """Detector states and budgets, to save with a checkpoint (see :meth:`load_dict`)."""
        return {
            "detectors": [r.detector.to_dict() for r in self.rules],
            "restores": self.restores,
            "lr_reductions": self.lr_reductions,
        }

    def load_dict(self, data: Mapping[str, Any]) -> None:
        """Restore detector states and budgets saved by :meth:`to_dict` (same rules)."""
        dets = data.get("detectors", [])
        if len(dets) != len(self.rules):
            raise InputError(
                f"data['detectors']: expected {len(self.rules)} detectors, got {len(dets)}"
            )
        for rule, d in zip(self.rules, dets, strict=True):
            if d.get("type") != rule.detector.name:
                raise InputError(
                    f"data['detectors']: expected {rule.detector.name!r}, got {d.get('type')!r}"
                )
        for rule, d in zip(self.rules, dets, strict=True):
            rule.detector = Detector.from_dict(d)
        self.restores = int(data.get("restores", 0))
        self.lr_reductions = int(data.get("lr_reductions", 0))

    def __repr__(self) -> str:
        names = ", ".join(
            f"{r.detector.name}->{'+'.join(a.value for a in r.actions)}" for r in self.rules
        )
        return f"Guard({names})"
