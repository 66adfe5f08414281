"""Monitor and routing specs: the one pydantic model under YAML, Python and the API.

A :class:`MonitorSpec` says what to watch (``signal``), over which windows
(``window``), against what (``baseline``) and when it fires (``condition``,
``min_samples``, ``min_label_coverage``, ``for``). An :class:`AlertingConfig`
holds monitors with the routing tree (:class:`RouteSpec`), receivers,
inhibition rules and silences. Durations are written ``'30s'``, ``'5m'``,
``'1h'``, ``'1d'`` (or seconds) and held as float seconds.

Example
-------
>>> m = MonitorSpec.model_validate({
...     "name": "income-drift", "project": "loans", "model": "scorer",
...     "signal": {"kind": "drift", "column": "income"},
...     "condition": {"kind": "threshold", "op": ">", "value": 0.1},
...     "for": "10m",
... })
>>> m.window.size, m.for_seconds, m.min_samples, window_seconds(m)
(3600.0, 600.0, 100, 3600.0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from driftline.alerts._conditions import (
    AnomalyCondition,
    BaselineSpec,
    ChangeCondition,
    ConditionSpec,
    Duration,
    ThresholdCondition,
    WindowSpec,
)
from driftline.alerts._duration import format_duration, parse_duration
from driftline.alerts._model import Matcher, Silence
from driftline.alerts._problems import FieldProblems
from driftline.alerts._signals_spec import SignalSpec
from driftline.alerts.channels import ReceiverSpec

__all__ = [
    "ANOMALY_MIN_HISTORY",
    "DEFAULT_GROUP_BY",
    "DEFAULT_MIN_LABEL_COVERAGE",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_SCHEDULE",
    "AlertingConfig",
    "AnomalyCondition",
    "BaselineSpec",
    "ChangeCondition",
    "ConditionSpec",
    "InhibitRule",
    "MonitorSpec",
    "RouteSpec",
    "SilenceSpec",
    "ThresholdCondition",
    "WindowSpec",
    "window_seconds",
]

#: Fewest samples (``Point.n``) a window needs before a monitor judges it. Volume
#: monitors default to 0 (an empty window is what they look for), training monitors to 1.
DEFAULT_MIN_SAMPLES = 100
#: Least share of predictions with a label before a realised-performance monitor
#: judges a window, so labels that arrive late do not raise false alarms.
DEFAULT_MIN_LABEL_COVERAGE = 0.5
#: How often a monitor is evaluated when ``schedule`` is not set (seconds).
DEFAULT_SCHEDULE = 60.0
#: Fewest earlier windows an ``anomaly`` condition needs in its history.
ANOMALY_MIN_HISTORY = 8
#: Labels that group alerts into one notification unless a route says otherwise.
DEFAULT_GROUP_BY = ("alertname", "project", "model")

_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = ("alertname", "project", "model", "version", "severity")


def _fmt(v: float) -> str:
    return format_duration(v)


def _matcher(text: str) -> str:
    Matcher.parse(text)
    return text


def _schedule(v: object) -> object:
    return v if v == "on_ingest" else parse_duration(v, None)


def _fmt_schedule(v: float | str) -> str:
    return v if isinstance(v, str) else format_duration(v)


#: ``'on_ingest'`` or seconds (written like a duration).
Schedule = Annotated[
    Literal["on_ingest"] | float,
    BeforeValidator(_schedule),
    PlainSerializer(_fmt_schedule, return_type=str, when_used="json"),
]

MatcherText = Annotated[str, AfterValidator(_matcher)]


def _labels(v: dict[str, str]) -> dict[str, str]:
    for k in v:
        if not _LABEL.fullmatch(k):
            raise ValueError(f"label name {k!r}: expected letters, digits and '_'")
    return v


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class MonitorSpec(_Spec):
    """One declarative check over a window series.

    Attributes
    ----------
    name : str
        Unique slug (lower-case letters, digits, ``_ . -``); the alert's ``alertname``.
    project, model, version : str
        What is watched; ``model`` may be unset only for ``training`` signals.
    signal : SignalSpec
        What to watch (``kind``: drift, dataset_drift, quality, performance, latency,
        error_rate, volume, business_rate, training, expression).
    window : WindowSpec
        Which windows (default: tumbling, 1h).
    baseline : BaselineSpec
        Against what ``change`` conditions compare (default: the reference).
    condition : ConditionSpec
        When it fires (``kind``: threshold, change, anomaly).
    min_samples : int
        Fewest samples a window needs (default :data:`DEFAULT_MIN_SAMPLES`; 0 for
        volume, 1 for training signals).
    min_label_coverage : float or None
        For realised performance: least share of labelled predictions (default
        :data:`DEFAULT_MIN_LABEL_COVERAGE`); ``None`` elsewhere.
    for_ : float
        Seconds the condition must hold before the alert fires (YAML: ``for``).
    schedule : 'on_ingest' or float
        When to evaluate: after each ingest, or every so many seconds
        (default :data:`DEFAULT_SCHEDULE`).
    severity : {'info', 'warning', 'critical'}
    labels, annotations : dict of str to str
        Extra identity labels, and human text (``summary``, ``runbook``...).
    route : str or None
        A receiver to send to directly, bypassing the routing tree.
    enabled : bool
    """

    name: str
    project: str = Field(min_length=1)
    model: str | None = None
    version: str | None = None
    signal: SignalSpec
    window: WindowSpec = Field(default_factory=WindowSpec)
    baseline: BaselineSpec = Field(default_factory=BaselineSpec)
    condition: ConditionSpec
    min_samples: int = Field(default=DEFAULT_MIN_SAMPLES, ge=0)
    min_label_coverage: float | None = Field(default=None, ge=0.0, le=1.0)
    for_: Duration = Field(default=0.0, alias="for")
    schedule: Schedule = DEFAULT_SCHEDULE
    severity: Literal["info", "warning", "critical"] = "warning"
    labels: Annotated[dict[str, str], AfterValidator(_labels)] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    route: str | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.fullmatch(v):
            raise ValueError(
                f"expected a slug (a-z, 0-9, '_', '.', '-', starting with a letter or digit), "
                f"got {v!r}"
            )
        return v

    @model_validator(mode="after")
    def _check(self) -> MonitorSpec:
        if self.model is None and self.signal.kind != "training":
            raise FieldProblems([(("model",), f"required for {self.signal.kind} signals")])
        clash = sorted(set(self.labels) & set(_RESERVED))
        if clash:
            raise FieldProblems(
                [(("labels",), f"{clash} are set by driftline and cannot be overridden")]
            )
        if "min_samples" not in self.model_fields_set:
            if self.signal.kind == "volume":
                object.__setattr__(self, "min_samples", 0)
            elif self.signal.kind == "training":
                object.__setattr__(self, "min_samples", 1)
        if "min_label_coverage" not in self.model_fields_set and self.signal.needs_labels:
            object.__setattr__(self, "min_label_coverage", DEFAULT_MIN_LABEL_COVERAGE)
        if isinstance(self.schedule, float) and self.schedule <= 0:
            raise FieldProblems([(("schedule",), "expected 'on_ingest' or a positive duration")])
        return self

    @property
    def for_seconds(self) -> float:
        """Seconds the condition must hold before the alert fires."""
        return float(self.for_)

    def to_yaml(self) -> str:
        """This monitor as YAML (``MonitorSpec.from_yaml`` reads it back).

        Examples
        --------
        >>> m = MonitorSpec(name="vol", project="p", model="m", signal={"kind": "volume"},
        ...                 condition={"kind": "threshold", "op": "<", "value": 10})
        >>> MonitorSpec.from_yaml(m.to_yaml()) == m
        True
        """
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> MonitorSpec:
        """Read one monitor from YAML text (errors carry line and column)."""
        from driftline.alerts._yaml import load_monitor

        return load_monitor(text)


def window_seconds(spec: MonitorSpec) -> float:
    """The length of the windows ``spec`` judges, in seconds.

    Examples
    --------
    >>> m = MonitorSpec(name="e", project="p", model="m", signal={"kind": "error_rate"},
    ...                 window={"size": "15m"}, condition={"kind": "threshold", "value": 0.05})
    >>> window_seconds(m)
    900.0
    """
    return float(spec.window.size)


class RouteSpec(_Spec):
    """A node of the routing tree (Alertmanager's ``route``).

    Unset ``receiver``, ``group_by`` and timings are inherited from the parent;
    the root's defaults are ``group_by: [alertname, project, model]``,
    ``group_wait: 30s``, ``group_interval: 5m``, ``repeat_interval: 4h``.
    ``group_by: ['...']`` groups by every label. Children are tried in order;
    the first that matches takes the alert unless it sets ``continue: true``.
    """

    receiver: str | None = None
    matchers: list[MatcherText] = Field(default_factory=list)
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    routes: list[RouteSpec] = Field(default_factory=list)

    @property
    def parsed_matchers(self) -> tuple[Matcher, ...]:
        """``matchers`` as :class:`Matcher` values."""
        return tuple(Matcher.parse(m) for m in self.matchers)

    def receivers(self) -> set[str]:
        """Every receiver named in this tree."""
        out = {self.receiver} if self.receiver else set()
        for child in self.routes:
            out |= child.receivers()
        return out


class InhibitRule(_Spec):
    """Mutes alerts matching ``target_matchers`` while an alert matching ``source_matchers``
    fires with the same values of the ``equal`` labels."""

    source_matchers: list[MatcherText] = Field(min_length=1)
    target_matchers: list[MatcherText] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


def _epoch(v: object) -> object:
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp()
    if isinstance(v, str):
        try:
            d = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"expected an ISO 8601 time (2026-11-25T10:00:00Z) or epoch seconds, got {v!r}"
            ) from None
        return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()
    return v


def _iso(v: float) -> str:
    return datetime.fromtimestamp(v, UTC).isoformat().replace("+00:00", "Z")


#: Epoch seconds, written as an ISO 8601 time (UTC when no offset is given) or a number.
Timestamp = Annotated[
    float, BeforeValidator(_epoch), PlainSerializer(_iso, return_type=str, when_used="json")
]


class SilenceSpec(_Spec):
    """A silence declared in the config file (the API creates others at run time)."""

    matchers: list[MatcherText] = Field(min_length=1)
    ends_at: Timestamp
    starts_at: Timestamp = 0.0
    id: str | None = None
    created_by: str = ""
    comment: str = ""

    @model_validator(mode="after")
    def _order(self) -> SilenceSpec:
        if self.ends_at <= self.starts_at:
            raise FieldProblems([(("ends_at",), "expected a time after starts_at")])
        return self

    def to_silence(self, index: int = 0) -> Silence:
        """The runtime :class:`Silence` (id ``config-<index>`` unless set)."""
        return Silence(
            id=self.id or f"config-{index}",
            matchers=tuple(Matcher.parse(m) for m in self.matchers),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            created_by=self.created_by,
            comment=self.comment,
        )


class AlertingConfig(_Spec):
    """Monitors, the routing tree, receivers, inhibition rules and silences.

    Checked across fields: monitor and receiver names are unique, and every
    receiver that a route or a monitor names exists.

    Examples
    --------
    >>> cfg = AlertingConfig.model_validate({
    ...     "route": {"receiver": "team", "routes": [{"receiver": "oncall",
    ...               "matchers": ["severity=critical"]}]},
    ...     "receivers": [{"name": "team"}, {"name": "oncall"}],
    ... })
    >>> sorted(cfg.route.receivers())
    ['oncall', 'team']
    """

    monitors: list[MonitorSpec] = Field(default_factory=list)
    route: RouteSpec | None = None
    receivers: list[ReceiverSpec] = Field(default_factory=list)
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    silences: list[SilenceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> AlertingConfig:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, int] = {}
        for i, m in enumerate(self.monitors):
            if m.name in seen:
                problems.append(
                    (
                        ("monitors", i, "name"),
                        f"duplicate monitor name {m.name!r} (first at monitors[{seen[m.name]}])",
                    )
                )
            seen.setdefault(m.name, i)
        names: dict[str, int] = {}
        for i, r in enumerate(self.receivers):
            if r.name in names:
                problems.append((("receivers", i, "name"), f"duplicate receiver {r.name!r}"))
            names.setdefault(r.name, i)
        known = ", ".join(sorted(names)) or "none defined"
        if self.route is not None:
            if self.route.receiver is None:
                problems.append((("route", "receiver"), "the root route needs a receiver"))
            self._check_route(self.route, ("route",), names, known, problems)
        for i, m in enumerate(self.monitors):
            if m.route is not None and m.route not in names:
                problems.append(
                    (("monitors", i, "route"), f"unknown receiver {m.route!r} (receivers: {known})")
                )
        if problems:
            raise FieldProblems(problems)
        return self

    @staticmethod
    def _check_route(
        route: RouteSpec,
        loc: tuple[str | int, ...],
        names: Mapping[str, int],
        known: str,
        problems: list[tuple[tuple[str | int, ...], str]],
    ) -> None:
        if route.receiver is not None and route.receiver not in names:
            problems.append(
                ((*loc, "receiver"), f"unknown receiver {route.receiver!r} (receivers: {known})")
            )
        for j, child in enumerate(route.routes):
            AlertingConfig._check_route(child, (*loc, "routes", j), names, known, problems)

    def monitor(self, name: str) -> MonitorSpec:
        """The monitor called ``name`` (:class:`~driftline.errors.NotFoundError`, a ``LookupError``, when there is none)."""
        for m in self.monitors:
            if m.name == name:
                return m
        from driftline.errors import NotFoundError

        raise NotFoundError(f"monitor {name!r}: no monitor of that name in the config")

    def manages_routing(self) -> bool:
        """Whether the config sets the routing (a route, receivers or inhibit rules).

        One without any of them manages monitors (and silences) only; applying it
        keeps the routing already stored.
        """
        return self.route is not None or bool(self.receivers) or bool(self.inhibit_rules)

    def runtime_silences(self) -> list[Silence]:
        """The config's silences as :class:`Silence` values."""
        return [s.to_silence(i) for i, s in enumerate(self.silences)]
