"""What the alert service's operations return: small frozen records with ``to_dict``.

Example
-------
>>> ApplyResult(created=("a",)).to_dict()["created"]
['a']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ApplyResult", "DeliveryRun", "EvaluationRun", "MonitorOutcome", "TickResult"]


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :meth:`AlertService.apply` changed, by monitor name.

    Attributes
    ----------
    created, updated, unchanged, deleted : tuple of str
        Monitor names, sorted.
    config_revision : int
        Revision of the stored routes/receivers/inhibit rules after the apply.
    silences_created : int
        Silences of the config that were not stored yet.
    """

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    config_revision: int = 0
    silences_created: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out = dataclasses.asdict(self)
        for k in ("created", "updated", "unchanged", "deleted"):
            out[k] = list(out[k])
        return out


@dataclass(frozen=True, slots=True)
class MonitorOutcome:
    """One monitor in one evaluation pass.

    Attributes
    ----------
    monitor : str
        The monitor's name.
    status : {'evaluated', 'skipped', 'failed'}
        ``skipped``: its latest complete window was judged already;
        ``failed``: fetching or evaluating raised (see ``reason``).
    firing : bool or None
        The decision (``None``: undecided or not evaluated).
    reason : str
        The evaluation's reason, or why it was skipped or failed.
    event : str or None
        The alert transition it caused (``pending``, ``firing``, ``resolved``...).
    seconds : float
        Wall time spent on the monitor.
    """

    monitor: str
    status: str
    firing: bool | None
    reason: str
    event: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """One pass of :meth:`AlertService.evaluate_due`.

    Attributes
    ----------
    at : float
        The pass's ``now``.
    outcomes : tuple of MonitorOutcome
        One per due monitor, in evaluation order.
    notifications : int
        Notifications put in the outbox by the pass.
    """

    at: float
    outcomes: tuple[MonitorOutcome, ...] = ()
    notifications: int = 0

    @property
    def evaluated(self) -> int:
        """Monitors that were evaluated."""
        return sum(o.status == "evaluated" for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Monitors whose evaluation raised."""
        return sum(o.status == "failed" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "at": self.at,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "notifications": self.notifications,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    """One pass of :meth:`AlertService.deliver_due`.

    Attributes
    ----------
    at : float
        The pass's ``now``.
    claimed, delivered, retrying, failed : int
        Outbox rows claimed; of those, delivered, scheduled for another try,
        and given up (permanent error or attempts exhausted).
    """

    at: float
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class TickResult:
    """One :meth:`Scheduler.tick`.

    Attributes
    ----------
    at : float
        The tick's ``now`` (never earlier than the previous tick's, per scheduler).
    leader : bool
        Whether this scheduler held the lease during the tick.
    reason : str
        Why it acted or not (lease acquired, renewed, held by another owner...).
    evaluation, delivery : EvaluationRun or DeliveryRun or None
        What it did; ``None`` when it was not the leader.
    fencing_token : int or None
        The lease's fencing token while leader.
    """

    at: float
    leader: bool
    reason: str
    evaluation: EvaluationRun | None = None
    delivery: DeliveryRun | None = None
    fencing_token: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "at": self.at,
            "leader": self.leader,
            "reason": self.reason,
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
            "delivery": None if self.delivery is None else self.delivery.to_dict(),
            "fencing_token": self.fencing_token,
        }
