"""Training monitoring: detectors over training curves, a guard that acts on them, checkpoints.

* Detectors (:class:`NonFinite`, :class:`Divergence`, :class:`Plateau`,
  :class:`Overfitting`, :class:`ExplodingGradients`, :class:`VanishingGradients`)
  are fed one step at a time and return a :class:`Detection` with a reason and
  evidence, or ``None``.
* A :class:`Guard` maps detectors to :class:`Action` s (record, alert, lower the
  learning rate, restore the last good checkpoint, stop), keeps a retry budget
  and records every detection and action on the run.
* A :class:`CheckpointManager` writes checkpoints atomically with a sha256 in a
  JSON manifest, keeps the last and best ones, and restores or resumes them.
* A :class:`TrainingLoop` is the core every framework adapter drives: step and
  throughput counting, what is logged per step, the guard's check -> act ->
  restore cycle and when checkpoints are written, reaching the framework only
  through callables (:class:`LoopHooks`).

Nothing here imports an ML framework; :mod:`driftline.integrations.torch` adapts
PyTorch.

Example
-------
>>> from driftline.training import Guard, NonFinite, Rule
>>> guard = Guard([Rule(NonFinite(), "stop")])
>>> guard.check(5, {"loss": float("inf")}).stop
True
"""

from __future__ import annotations

from driftline.training._checkpoint import (
    CheckpointError,
    CheckpointInfo,
    CheckpointManager,
    NpzSerializer,
    Serializer,
)
from driftline.training._detectors import (
    Detection,
    Detector,
    Divergence,
    NonFinite,
    Overfitting,
    Plateau,
)
from driftline.training._gradients import ExplodingGradients, VanishingGradients
from driftline.training._guard import Action, ActionResult, Guard, Rule, RunLike, Verdict
from driftline.training._loop import LoopHooks, MetricsRun, TrainingLoop

__all__ = [
    "Action",
    "ActionResult",
    "CheckpointError",
    "CheckpointInfo",
    "CheckpointManager",
    "Detection",
    "Detector",
    "Divergence",
    "ExplodingGradients",
    "Guard",
    "LoopHooks",
    "MetricsRun",
    "NonFinite",
    "NpzSerializer",
    "Overfitting",
    "Plateau",
    "Rule",
    "RunLike",
    "Serializer",
    "TrainingLoop",
    "VanishingGradients",
    "Verdict",
]
