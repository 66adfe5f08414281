"""Windows, baselines and conditions of a monitor (part of the spec model).

Example
-------
>>> WindowSpec(size="1h", kind="sliding", step="15m").step_seconds
900.0
>>> ChangeCondition(relative=0.3).direction
'both'
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from driftline.alerts._duration import format_duration, parse_duration
from driftline.alerts._problems import FieldProblems

__all__ = [
    "AnomalyCondition",
    "BaselineSpec",
    "ChangeCondition",
    "ConditionSpec",
    "Duration",
    "ThresholdCondition",
    "WindowSpec",
]


def _duration(v: object) -> float:
    return parse_duration(v, None)


def _fmt(v: float) -> str:
    return format_duration(v)


#: Seconds, written as ``'30s'``/``'5m'``/``'1h'``/``'1d'`` or a number.
Duration = Annotated[
    float, BeforeValidator(_duration), PlainSerializer(_fmt, return_type=str, when_used="json")
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WindowSpec(_Spec):
    """Which windows a monitor judges.

    ``tumbling`` windows of ``size`` follow each other; ``sliding`` windows of
    ``size`` start every ``step`` (``step <= size``). Boundaries fall on
    ``align + k * step`` seconds since the epoch (UTC), so ``size: 1d`` with
    ``align: 6h`` gives days from 06:00 to 06:00.
    """

    size: Duration = 3600.0
    kind: Literal["tumbling", "sliding"] = "tumbling"
    step: Duration | None = None
    align: Duration = 0.0

    @model_validator(mode="after")
    def _check(self) -> WindowSpec:
        if self.size <= 0:
            raise FieldProblems([(("size",), "expected a positive duration, got 0s")])
        if self.kind == "tumbling" and self.step not in (None, self.size):
            raise FieldProblems(
                [(("step",), "only sliding windows take a step (a tumbling step is its size)")]
            )
        if self.kind == "sliding":
            if self.step is None:
                raise FieldProblems([(("step",), "a sliding window needs a step, e.g. step: 5m")])
            if not 0 < self.step <= self.size:
                raise FieldProblems(
                    [
                        (
                            ("step",),
                            f"expected 0 < step <= size ({_fmt(self.size)}), got {_fmt(self.step)}",
                        )
                    ]
                )
        return self

    @property
    def step_seconds(self) -> float:
        """Seconds between window starts (the size for tumbling windows)."""
        return self.step if self.step is not None else self.size


class BaselineSpec(_Spec):
    """What ``change`` conditions compare against.

    ``reference``: the reference's value of the signal (passed in by the caller);
    ``previous``: the window before; ``rolling``: the mean of the ``windows``
    windows before. Written as a string (``baseline: previous``) or a mapping.
    """

    kind: Literal["reference", "previous", "rolling"] = "reference"
    windows: int = Field(default=24, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"kind": data} if isinstance(data, str) else data


class ThresholdCondition(_Spec):
    """Fires when ``value op threshold`` holds (``op``: ``>``, ``>=``, ``<``, ``<=``)."""

    kind: Literal["threshold"] = "threshold"
    op: Literal[">", ">=", "<", "<="] = ">"
    value: float


class ChangeCondition(_Spec):
    """Fires on a change against the baseline: relative (0.3 = 30 %) and/or absolute.

    ``direction``: ``up``, ``down`` or ``both``. With both ``relative`` and
    ``absolute`` set, the change must exceed both (so a tiny baseline does not
    turn noise into a large relative change).
    """

    kind: Literal["change"] = "change"
    relative: float | None = Field(default=None, gt=0)
    absolute: float | None = Field(default=None, gt=0)
    direction: Literal["up", "down", "both"] = "both"

    @model_validator(mode="after")
    def _one(self) -> ChangeCondition:
        if self.relative is None and self.absolute is None:
            raise ValueError("expected 'relative' (e.g. 0.3 for 30%) and/or 'absolute'")
        return self


class AnomalyCondition(_Spec):
    """Fires when the value is ``z`` robust standard deviations from its own history.

    The history is the windows of the last ``history`` before the judged one;
    with ``seasonality`` (e.g. ``1d``) only the windows at the same phase (same
    hour of the day) count. Centre and spread are the median and the MAD
    (scaled by 1.4826), so past outliers do not hide new ones. At least
    ``ANOMALY_MIN_HISTORY`` (8) windows are needed, else the result is unknown.
    """

    kind: Literal["anomaly"] = "anomaly"
    z: float = Field(default=4.0, gt=0)
    seasonality: Duration | None = None
    history: Duration = 7 * 86400.0
    direction: Literal["up", "down", "both"] = "both"


ConditionSpec = Annotated[
    ThresholdCondition | ChangeCondition | AnomalyCondition, Field(discriminator="kind")
]
