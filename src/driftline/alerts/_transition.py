"""Transition stage: the alert life cycle as pure decisions: ``transition(previous, evaluation, now) -> Transition``.

::

                  condition holds                      held for `for`
    (none) ──────────────────────────▶ pending ─────────────────────────▶ firing
      ▲  │  (for = 0: straight to firing)  │                               │  ▲ │
      │  └─────────────────────────────────┼──────────────────────────────▶┘  │ │ acknowledge
      │              condition clears      │ (dropped: never fired,           │ ▼
      │                                    │  no notification)          acknowledged
      │                                    ▼                                  │
      └──────────────────────────────── resolved ◀────────────────────────────┘
                   condition holds again:           condition clears, or resolved by hand
                   a new pending/firing alert

An unknown evaluation (``firing=None``: too few samples, labels not in yet, no
data) keeps the alert as it is: missing data never resolves an alert, unless
the caller sets ``resolve_after_missing``. A clock that goes backwards
(``now`` before the alert's last update) changes nothing.

Example
-------
>>> from driftline.alerts._model import Evaluation
>>> ev = Evaluation("vol", 100.0, 0.0, 60.0, 3.0, 10.0, True, "volume 3 < 10",
...                 labels={"alertname": "vol"})
>>> t = transition(None, ev, for_seconds=0, now=100.0)
>>> t.event, t.alert.state.value, t.changed
('fired', 'firing', True)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from driftline.alerts._duration import format_duration, format_time
from driftline.alerts._model import Alert, AlertState, Evaluation
from driftline.errors import InputError

__all__ = ["Event", "Transition", "acknowledge", "fingerprint", "resolve_manually", "transition"]

#: What a transition did; ``changed`` is ``True`` for pending, fired, resolved,
#: dropped and acknowledged.
Event = Literal[
    "pending",
    "fired",
    "still_pending",
    "still_firing",
    "resolved",
    "dropped",
    "acknowledged",
    "no_change",
    "insufficient_data",
]


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable identity for a label set: 16 hex characters of the SHA-256 of the sorted labels.

    The order of the labels does not matter; any change of a name or a value does.

    Examples
    --------
    >>> fingerprint({"b": "2", "a": "1"}) == fingerprint({"a": "1", "b": "2"})
    True
    >>> len(fingerprint({})), fingerprint({"a": "1"}) != fingerprint({"a": "2"})
    (16, True)
    """
    text = json.dumps(sorted((str(k), str(v)) for k, v in labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of one life-cycle decision.

    Attributes
    ----------
    alert : Alert or None
        The alert to keep (the new version, or the previous one unchanged);
        ``None`` when there is none and none is needed.
    changed : bool
        Whether the state changed (an event worth a history entry and, for
        ``fired``/``resolved``, a notification).
    reason : str
        Why, in one line.
    event : Event
        What happened (``pending``, ``fired``, ``still_pending``, ``still_firing``,
        ``resolved``, ``dropped``, ``acknowledged``, ``no_change``,
        ``insufficient_data``).
    """

    alert: Alert | None
    changed: bool
    reason: str
    event: Event


def _since(t: float) -> str:
    return format_time(t)


def transition(
    previous: Alert | None,
    evaluation: Evaluation,
    *,
    for_seconds: float,
    now: float,
    resolve_after_missing: float | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Transition:
    """Move an alert through its life cycle after one evaluation of its monitor.

    Parameters
    ----------
    previous : Alert or None
        The alert with the evaluation's fingerprint, as stored (``None``: none yet).
    evaluation : Evaluation
        The monitor's latest evaluation.
    for_seconds : float
        How long the condition must hold before the alert fires (0: at once).
    now : float
        The decision time, epoch seconds.
    resolve_after_missing : float, optional
        Resolve an open alert when evaluations have been unknown for this many
        seconds since its last update. ``None`` (default): never resolve on
        missing data.
    annotations : mapping, optional
        Human text to attach to a new or updated alert (kept otherwise).

    Returns
    -------
    Transition

    Rules
    -----
    ============================  ==================  =======================================
    previous state                evaluation          result
    ============================  ==================  =======================================
    none / resolved               holds               pending (``for`` > 0) or firing
    none / resolved               clears              no_change (nothing to keep)
    pending                       holds               firing once held ``for``, else still_pending
    pending                       clears              dropped (resolved; never fired, no notice)
    firing                        holds               still_firing (value refreshed)
    acknowledged                  holds               still_firing, stays acknowledged
    firing / acknowledged         clears              resolved (notified)
    any                           unknown             insufficient_data (state kept)
    any                           ``now`` < updated   no_change (clock went backwards)
    ============================  ==================  =======================================

    Raises
    ------
    InputError
        When ``previous`` has another fingerprint than the evaluation's labels,
        or ``for_seconds`` is negative.
    """
    if for_seconds < 0 or for_seconds != for_seconds:
        raise InputError(f"for_seconds: expected a duration >= 0, got {for_seconds!r}")
    fp = fingerprint(evaluation.labels)
    if previous is not None and previous.fingerprint != fp:
        raise InputError(
            f"previous: alert {previous.fingerprint} does not match the evaluation's "
            f"labels (fingerprint {fp})"
        )
    if previous is not None and now < previous.updated_at:
        return _backwards(previous, now)
    notes = dict(annotations) if annotations is not None else None
    open_ = previous if previous is not None and previous.state.is_open else None
    if evaluation.firing is None:
        return _on_unknown(previous, open_, evaluation, now, resolve_after_missing)
    if not evaluation.firing:
        return _on_clear(previous, open_, evaluation, now)
    if open_ is None:
        return _open(fp, evaluation, for_seconds, now, notes)
    kept = notes if notes is not None else open_.annotations
    if open_.state is AlertState.PENDING:
        return _on_pending(open_, evaluation, for_seconds, now, kept)
    return _still_firing(open_, evaluation, now, kept)


def _backwards(alert: Alert, now: float) -> Transition:
    """Nothing changes when ``now`` is before the alert's last update."""
    return Transition(
        alert, False,
        f"clock went backwards: now ({_since(now)}) is before the alert's last update "
        f"({_since(alert.updated_at)}); nothing changes",
        "no_change",
    )  # fmt: skip


def _on_unknown(
    previous: Alert | None,
    open_: Alert | None,
    evaluation: Evaluation,
    now: float,
    resolve_after_missing: float | None,
) -> Transition:
    """An undecided evaluation keeps the state, unless data has been missing too long."""
    if (
        open_ is not None
        and resolve_after_missing is not None
        and now - open_.updated_at >= resolve_after_missing
    ):
        why = (
            f"no usable data for {format_duration(now - open_.updated_at)} "
            f"(resolve_after_missing {format_duration(resolve_after_missing)}): "
            f"{evaluation.reason}"
        )
        if open_.state is AlertState.PENDING:
            return Transition(_resolve(open_, now, why), True, why, "dropped")
        return Transition(_resolve(open_, now, why), True, why, "resolved")
    state = open_.state.value if open_ is not None else "no alert"
    return Transition(
        previous,
        False,
        f"unknown, {state} kept: {evaluation.reason}",
        "insufficient_data",
    )


def _open(
    fp: str,
    evaluation: Evaluation,
    for_seconds: float,
    now: float,
    notes: Mapping[str, str] | None,
) -> Transition:
    """The condition holds and no alert is open: a new alert, pending or firing."""
    fires = for_seconds <= 0
    alert = Alert(
        fingerprint=fp,
        labels=dict(evaluation.labels),
        state=AlertState.FIRING if fires else AlertState.PENDING,
        started_at=now,
        updated_at=now,
        annotations=notes or {},
        fired_at=now if fires else None,
        value=evaluation.value,
        reason=evaluation.reason,
    )
    if fires:
        return Transition(alert, True, f"fired: {evaluation.reason}", "fired")
    return Transition(
        alert,
        True,
        f"pending for {format_duration(for_seconds)} before firing: {evaluation.reason}",
        "pending",
    )


def _on_pending(
    open_: Alert,
    evaluation: Evaluation,
    for_seconds: float,
    now: float,
    kept: Mapping[str, str],
) -> Transition:
    """The condition still holds for a pending alert: it fires once held ``for``."""
    held = now - open_.started_at
    if held >= for_seconds:
        alert = dataclasses.replace(
            open_,
            state=AlertState.FIRING,
            fired_at=now,
            updated_at=now,
            value=evaluation.value,
            reason=evaluation.reason,
            annotations=kept,
        )
        why = f"fired: held for {format_duration(held)} (for {format_duration(for_seconds)})"
        return Transition(alert, True, f"{why}: {evaluation.reason}", "fired")
    alert = dataclasses.replace(
        open_, updated_at=now, value=evaluation.value, reason=evaluation.reason,
        annotations=kept,
    )  # fmt: skip
    return Transition(
        alert,
        False,
        f"still pending: held for {format_duration(held)} of "
        f"{format_duration(for_seconds)}: {evaluation.reason}",
        "still_pending",
    )


def _still_firing(
    open_: Alert, evaluation: Evaluation, now: float, kept: Mapping[str, str]
) -> Transition:
    """The condition still holds for a firing (or acknowledged) alert: value refreshed."""
    alert = dataclasses.replace(
        open_, updated_at=now, value=evaluation.value, reason=evaluation.reason,
        annotations=kept,
    )  # fmt: skip
    if open_.state is AlertState.ACKNOWLEDGED:
        who = f" by {open_.acknowledged_by}" if open_.acknowledged_by else ""
        why = f"still firing, acknowledged{who}: {evaluation.reason}"
    else:
        why = (
            f"still firing since {_since(open_.fired_at or open_.started_at)}: {evaluation.reason}"
        )
    return Transition(alert, False, why, "still_firing")


def _on_clear(
    previous: Alert | None, open_: Alert | None, evaluation: Evaluation, now: float
) -> Transition:
    """The condition does not hold: an open alert resolves (or is dropped if it never fired)."""
    if open_ is None:
        return Transition(previous, False, f"not firing: {evaluation.reason}", "no_change")
    if open_.state is AlertState.PENDING:
        why = f"dropped before firing (no notification): {evaluation.reason}"
        return Transition(_resolve(open_, now, why, evaluation.value), True, why, "dropped")
    why = f"resolved: {evaluation.reason}"
    return Transition(_resolve(open_, now, why, evaluation.value), True, why, "resolved")


def _resolve(alert: Alert, now: float, reason: str, value: float | None = None) -> Alert:
    return dataclasses.replace(
        alert,
        state=AlertState.RESOLVED,
        resolved_at=now,
        updated_at=now,
        reason=reason,
        value=value if value is not None else alert.value,
    )


def acknowledge(alert: Alert, by: str, now: float) -> Transition:
    """A person takes a firing alert: it stays open, but repeat notifications stop.

    Only a firing alert can be acknowledged; for any other state nothing
    changes and the reason says why.

    Examples
    --------
    >>> a = Alert("f", {"alertname": "x"}, AlertState.FIRING, 0.0, 10.0, fired_at=0.0)
    >>> t = acknowledge(a, "ana", 20.0)
    >>> t.event, t.alert.state.value, t.alert.acknowledged_by
    ('acknowledged', 'acknowledged', 'ana')
    """
    if now < alert.updated_at:
        return _backwards(alert, now)
    if alert.state is not AlertState.FIRING:
        return Transition(
            alert, False, f"not acknowledged: the alert is {alert.state.value}", "no_change"
        )
    why = f"acknowledged by {by}" if by else "acknowledged"
    new = dataclasses.replace(
        alert,
        state=AlertState.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=by or None,
        updated_at=now,
        reason=why,
    )
    return Transition(new, True, why, "acknowledged")


def resolve_manually(alert: Alert, by: str, now: float) -> Transition:
    """A person resolves an open alert. If the condition still holds, the next
    evaluation opens a new alert (pending, or firing when ``for`` is 0).

    Examples
    --------
    >>> a = Alert("f", {"alertname": "x"}, AlertState.FIRING, 0.0, 10.0, fired_at=0.0)
    >>> t = resolve_manually(a, "ana", 20.0)
    >>> t.event, t.alert.state.value, t.reason
    ('resolved', 'resolved', 'resolved by ana')
    """
    if now < alert.updated_at:
        return _backwards(alert, now)
    if not alert.state.is_open:
        return Transition(alert, False, "already resolved", "no_change")
    why = f"resolved by {by}" if by else "resolved by hand"
    event: Event = "dropped" if alert.fired_at is None else "resolved"
    return Transition(_resolve(alert, now, why), True, why, event)
