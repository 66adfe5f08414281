"""Monitors and alerting: checks over window series, alerts with a life cycle, notifications.

The pipeline is a chain of small stages around pure decisions that take ``now``
and return a reason: evaluate a monitor over its series, move its alert through
pending / firing / acknowledged / resolved, group alerts by route, hold back
what is silenced or inhibited, decide whether a group is due (group_wait,
group_interval, repeat_interval), and put the notification in a persisted
outbox that channels (email, webhook, Slack, Alertmanager) drain with retries.

The stages are modules named for them, in pipeline order: ``_due`` (which
monitors are due), ``_series`` (read a monitor's series), ``_judge`` (condition
-> evaluation with a reason), ``_transition`` (life cycle), ``_route``
(grouping, silences, inhibition, flush timing), ``_outbox`` (enqueue due
notifications) and ``_deliver`` (drain the outbox through the channels);
``_engine`` chains them. :class:`AlertService` composes the monitor
configuration (``service.monitors``), the alert book (``service.book``) and the
engine (``service.engine``); its results are the frozen records of this
package (:class:`MonitorInfo`, :class:`AlertInfo`, :class:`AlertDetail`...).
The pure decisions are public in :mod:`driftline.alerts.decisions`.

Example
-------
>>> from driftline.alerts import Matcher
>>> Matcher.parse('severity="critical"').matches({"severity": "critical"})
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from driftline.alerts._defaults import default_monitors
from driftline.alerts._duration import format_duration, format_time, parse_duration
from driftline.alerts._model import Alert, AlertState, Matcher, Notification, Silence
from driftline.alerts._results import (
    AlertCount,
    AlertDetail,
    AlertEvent,
    AlertInfo,
    ApplyResult,
    DeliveryRun,
    EvaluationRun,
    MonitorInfo,
    MonitorOutcome,
    MonitorResult,
    NotificationAttempt,
    NotificationInfo,
    RoutePreview,
    TickResult,
)
from driftline.alerts._signals_spec import (
    BusinessRateSignal,
    DatasetDriftSignal,
    DriftSignal,
    ErrorRateSignal,
    ExpressionSignal,
    LatencySignal,
    PerformanceSignal,
    QualitySignal,
    SignalSpec,
    TrainingSignal,
    VolumeSignal,
)
from driftline.alerts._spec import (
    AlertingConfig,
    AnomalyCondition,
    BaselineSpec,
    ChangeCondition,
    ConditionSpec,
    InhibitRule,
    MonitorSpec,
    RouteSpec,
    SilenceSpec,
    ThresholdCondition,
    WindowSpec,
    window_seconds,
)
from driftline.alerts._yaml import (
    ConfigProblem,
    check_config,
    dump_config,
    load_config,
    load_monitor,
)

if TYPE_CHECKING:  # the engine (store, scheduler) is imported on first use
    from driftline.alerts._scheduler import Scheduler
    from driftline.alerts._service import AlertService

__all__ = [
    "Alert",
    "AlertCount",
    "AlertDetail",
    "AlertEvent",
    "AlertInfo",
    "AlertService",
    "AlertState",
    "AlertingConfig",
    "AnomalyCondition",
    "ApplyResult",
    "BaselineSpec",
    "BusinessRateSignal",
    "ChangeCondition",
    "ConditionSpec",
    "ConfigProblem",
    "DatasetDriftSignal",
    "DeliveryRun",
    "DriftSignal",
    "ErrorRateSignal",
    "EvaluationRun",
    "ExpressionSignal",
    "InhibitRule",
    "LatencySignal",
    "Matcher",
    "MonitorInfo",
    "MonitorOutcome",
    "MonitorResult",
    "MonitorSpec",
    "Notification",
    "NotificationAttempt",
    "NotificationInfo",
    "PerformanceSignal",
    "QualitySignal",
    "RoutePreview",
    "RouteSpec",
    "Scheduler",
    "SignalSpec",
    "Silence",
    "SilenceSpec",
    "ThresholdCondition",
    "TickResult",
    "TrainingSignal",
    "VolumeSignal",
    "WindowSpec",
    "check_config",
    "default_monitors",
    "dump_config",
    "format_duration",
    "format_time",
    "load_config",
    "load_monitor",
    "parse_duration",
    "window_seconds",
]

_LAZY = {
    "AlertService": "driftline.alerts._service",
    "Scheduler": "driftline.alerts._scheduler",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'driftline.alerts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
