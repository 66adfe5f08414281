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
from driftline.errors import DeliveryError

__all__ = [
    "Alert",
    "AlertState",
    "DeliveryError",
    "Evaluation",
    "Matcher",
    "Notification",
    "Point",
    "Series",
    "Silence",
]
