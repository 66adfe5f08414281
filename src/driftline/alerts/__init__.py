"""Monitors and alerting: checks over window series, alerts with a life cycle, notifications.

The pipeline is a chain of small stages around pure decisions that take ``now``
and return a reason: evaluate a monitor over its series, move its alert through
pending / firing / acknowledged / resolved, group alerts by route, hold back
what is silenced or inhibited, decide whether a group is due (group_wait,
group_interval, repeat_interval), and put the notification in a persisted
outbox that channels (email, webhook, Slack, Alertmanager) drain with retries.

The values that flow between the stages live in :mod:`driftline.alerts._model`.

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
from driftline.alerts._duration import format_duration, parse_duration
from driftline.alerts._evaluate import (
    alert_labels,
    combine_expression,
    evaluate,
    evaluate_expression,
)
from driftline.alerts._fdr import control_false_discoveries
from driftline.alerts._model import (
    Alert,
    AlertState,
    Evaluation,
    Matcher,
    Notification,
    Point,
    Series,
    Silence,
)
from driftline.alerts._routing import (
    FlushDecision,
    GroupState,
    RouteMatch,
    after_flush,
    build_notification,
    flush_decision,
    group_key,
    inhibited,
    match_routes,
    new_group,
    notification_alerts,
    silencing,
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
from driftline.alerts._state import (
    Transition,
    acknowledge,
    fingerprint,
    resolve_manually,
    transition,
)
from driftline.alerts._yaml import (
    ConfigProblem,
    check_config,
    dump_config,
    load_config,
    load_monitor,
)
from driftline.errors import DeliveryError

if TYPE_CHECKING:  # the engine (store, scheduler) is imported on first use
    from driftline.alerts._results import (
        ApplyResult,
        DeliveryRun,
        EvaluationRun,
        MonitorOutcome,
        TickResult,
    )
    from driftline.alerts._scheduler import Scheduler
    from driftline.alerts._service import AlertService

__all__ = [
    "Alert",
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
    "DeliveryError",
    "DeliveryRun",
    "DriftSignal",
    "ErrorRateSignal",
    "Evaluation",
    "EvaluationRun",
    "ExpressionSignal",
    "FlushDecision",
    "GroupState",
    "InhibitRule",
    "LatencySignal",
    "Matcher",
    "MonitorOutcome",
    "MonitorSpec",
    "Notification",
    "PerformanceSignal",
    "Point",
    "QualitySignal",
    "RouteMatch",
    "RouteSpec",
    "Scheduler",
    "Series",
    "SignalSpec",
    "Silence",
    "SilenceSpec",
    "ThresholdCondition",
    "TickResult",
    "TrainingSignal",
    "Transition",
    "VolumeSignal",
    "WindowSpec",
    "acknowledge",
    "after_flush",
    "alert_labels",
    "build_notification",
    "check_config",
    "combine_expression",
    "control_false_discoveries",
    "default_monitors",
    "dump_config",
    "evaluate",
    "evaluate_expression",
    "fingerprint",
    "flush_decision",
    "format_duration",
    "group_key",
    "inhibited",
    "load_config",
    "load_monitor",
    "match_routes",
    "new_group",
    "notification_alerts",
    "parse_duration",
    "resolve_manually",
    "silencing",
    "transition",
    "window_seconds",
]

_LAZY = {
    "AlertService": "driftline.alerts._service",
    "ApplyResult": "driftline.alerts._results",
    "DeliveryRun": "driftline.alerts._results",
    "EvaluationRun": "driftline.alerts._results",
    "MonitorOutcome": "driftline.alerts._results",
    "Scheduler": "driftline.alerts._scheduler",
    "TickResult": "driftline.alerts._results",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'driftline.alerts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
