"""Muting: silences (by matchers, for a time) and inhibition (by another firing alert).

Example
-------
>>> from driftline.alerts._model import Matcher
>>> s = Silence("s1", (Matcher.parse("model=scorer"),), starts_at=0.0, ends_at=60.0)
>>> silencing({"model": "scorer"}, [s], now=30.0).id
's1'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from driftline.alerts._model import Alert, AlertState, Matcher, Silence
from driftline.alerts._spec import InhibitRule

__all__ = ["inhibited", "silencing"]


def silencing(labels: Mapping[str, str], silences: Iterable[Silence], now: float) -> Silence | None:
    """The silence that mutes ``labels`` at ``now``, or ``None``.

    A silence is active from ``starts_at`` (inclusive) to ``ends_at``
    (exclusive). When several match, the one that ends last is returned.

    Examples
    --------
    >>> s = Silence("s1", (Matcher.parse("model=scorer"),), starts_at=0.0, ends_at=100.0)
    >>> silencing({"model": "scorer"}, [s], now=99.0).id, silencing({"model": "scorer"}, [s], 100.0)
    ('s1', None)
    """
    hits = [s for s in silences if s.active(now) and s.matches(labels)]
    return max(hits, key=lambda s: (s.ends_at, s.id)) if hits else None


def inhibited(
    labels: Mapping[str, str], firing_alerts: Iterable[Alert], rules: Iterable[InhibitRule]
) -> str | None:
    """Why an alert with ``labels`` is inhibited by a firing alert, or ``None``.

    A rule inhibits the target when the target matches ``target_matchers``, and
    another open, fired alert (firing or acknowledged) matches
    ``source_matchers`` with the same values of the ``equal`` labels (a label
    missing on both sides counts as equal). An alert never inhibits itself.

    Examples
    --------
    >>> rule = InhibitRule(source_matchers=["severity=critical"],
    ...                    target_matchers=["severity=warning"], equal=["model"])
    >>> src = Alert("c1", {"alertname": "down", "severity": "critical", "model": "m"},
    ...             AlertState.FIRING, 0.0, 0.0, fired_at=0.0)
    >>> print(inhibited({"alertname": "drift", "severity": "warning", "model": "m"}, [src], [rule]))
    inhibited by 'down' (c1), rule 0: source severity="critical", equal ['model']
    """
    rules = list(rules)
    sources = [
        a
        for a in firing_alerts
        if a.state in (AlertState.FIRING, AlertState.ACKNOWLEDGED)
        and dict(a.labels) != dict(labels)
    ]
    for i, rule in enumerate(rules):
        targets = [Matcher.parse(m) for m in rule.target_matchers]
        if not all(m.matches(labels) for m in targets):
            continue
        wanted = [Matcher.parse(m) for m in rule.source_matchers]
        for a in sorted(sources, key=lambda a: a.fingerprint):
            if all(m.matches(a.labels) for m in wanted) and all(
                a.labels.get(k, "") == labels.get(k, "") for k in rule.equal
            ):
                name = a.labels.get("alertname", "?")
                return (
                    f"inhibited by {name!r} ({a.fingerprint}), rule {i}: source "
                    f"{', '.join(str(m) for m in wanted)}, equal {list(rule.equal)}"
                )
    return None
