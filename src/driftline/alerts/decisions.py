"""The alert pipeline's pure decisions, for checking monitors and routes offline.

Each stage of :class:`~driftline.alerts.AlertService` is a function of its
inputs and ``now`` that returns a reason; these are the same functions the
engine runs, without a store:

- judge: :func:`evaluate`, :func:`evaluate_expression`, :func:`combine_expression`,
  :func:`alert_labels`, :func:`control_false_discoveries`;
- transition: :func:`transition`, :func:`acknowledge`, :func:`resolve_manually`,
  :func:`fingerprint`;
- route: :func:`match_routes`, :func:`group_key`, :func:`new_group`,
  :func:`flush_decision`, :func:`after_flush`, :func:`notification_alerts`,
  :func:`build_notification`, :func:`silencing`, :func:`inhibited`.

Example
-------
>>> from driftline.alerts import MonitorSpec
>>> spec = MonitorSpec.model_validate({
...     "name": "income-drift", "project": "loans", "model": "scorer",
...     "signal": {"kind": "drift", "column": "income"},
...     "condition": {"kind": "threshold", "op": ">", "value": 0.1}})
>>> t0 = 1795600800.0  # 2026-11-25 10:00 UTC
>>> ev = evaluate(spec, Series.of([Point(t0, t0 + 3600, 0.31, n=5000)]), now=t0 + 3660)
>>> step = transition(None, ev, for_seconds=spec.for_seconds, now=t0 + 3660)
>>> ev.firing, step.event
(True, 'fired')
"""

from __future__ import annotations

from driftline.alerts._fdr import control_false_discoveries
from driftline.alerts._judge import alert_labels, combine_expression, evaluate, evaluate_expression
from driftline.alerts._model import Evaluation, Point, Series
from driftline.alerts._route import (
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
from driftline.alerts._transition import (
    Transition,
    acknowledge,
    fingerprint,
    resolve_manually,
    transition,
)

__all__ = [
    "Evaluation",
    "FlushDecision",
    "GroupState",
    "Point",
    "RouteMatch",
    "Series",
    "Transition",
    "acknowledge",
    "after_flush",
    "alert_labels",
    "build_notification",
    "combine_expression",
    "control_false_discoveries",
    "evaluate",
    "evaluate_expression",
    "fingerprint",
    "flush_decision",
    "group_key",
    "inhibited",
    "match_routes",
    "new_group",
    "notification_alerts",
    "resolve_manually",
    "silencing",
    "transition",
]
