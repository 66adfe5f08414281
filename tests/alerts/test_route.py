"""Routing, grouping, flush timing, silences and inhibition: table-driven with a pinned ``now``."""

from __future__ import annotations

import dataclasses

import pytest

from driftline.alerts import Alert, AlertState, InhibitRule, Matcher, RouteSpec, Silence
from driftline.alerts.decisions import (
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
    silencing,
)
from driftline.errors import InputError

T = 1795600800.0  # 2026-11-25 10:00 UTC

TREE = RouteSpec.model_validate(
    {
        "receiver": "default",
        "group_wait": "30s",
        "routes": [
            {
                "receiver": "oncall",
                "matchers": ['severity="critical"'],
                "group_wait": "10s",
                "continue": True,
                "routes": [{"receiver": "pager", "matchers": ["team=payments"]}],
            },
            {"receiver": "risk", "matchers": ['team=~"risk|fraud"'], "repeat_interval": "1h"},
            {"receiver": "never", "matchers": ["team=risk"]},
            {"matchers": ["model=legacy"], "group_by": ["..."]},
        ],
    }
)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param({"severity": "info"}, [("root", "default")], id="no-child-root-takes-it"),
        pytest.param({"severity": "critical"}, [("root/0", "oncall")], id="first-child"),
        pytest.param(
            {"severity": "critical", "team": "payments"}, [("root/0/0", "pager")], id="nested"
        ),
        pytest.param(
            {"severity": "critical", "team": "risk"},
            [("root/0", "oncall"), ("root/1", "risk")],
            id="continue-goes-on",
        ),
        pytest.param({"team": "risk"}, [("root/1", "risk")], id="first-match-stops"),
        pytest.param({"team": "riskier"}, [("root", "default")], id="regex-is-anchored"),
        pytest.param({"model": "legacy"}, [("root/3", "default")], id="inherits-receiver"),
    ],
)
def test_match_routes(labels: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert [(m.route_id, m.receiver) for m in match_routes(labels, TREE)] == expected


def test_inherited_settings() -> None:
    (crit,) = match_routes({"severity": "critical", "team": "payments"}, TREE)
    assert (crit.group_wait, crit.group_interval, crit.repeat_interval) == (10.0, 300.0, 14400.0)
    assert crit.group_by == ("alertname", "project", "model")
    assert crit.matchers == ('severity="critical"', "team=payments")
    (risk,) = match_routes({"team": "risk"}, TREE)
    assert (risk.group_wait, risk.repeat_interval) == (30.0, 3600.0)


def test_monitor_route_bypasses_the_tree() -> None:
    (m,) = match_routes({"severity": "critical"}, TREE, receiver="risk")
    assert (m.route_id, m.receiver, m.group_wait) == ("monitor:risk", "risk", 30.0)


def test_root_needs_a_receiver() -> None:
    with pytest.raises(InputError, match="root route needs a receiver"):
        match_routes({}, RouteSpec())


@pytest.mark.parametrize(
    ("group_by", "labels", "key", "values"),
    [
        pytest.param(
            ("alertname", "model"),
            {"model": "m", "alertname": "a", "severity": "x"},
            'r:{alertname="a",model="m"}',
            {"alertname": "a", "model": "m"},
            id="by-labels",
        ),
        pytest.param(
            ("alertname", "model"),
            {"alertname": "a"},
            'r:{alertname="a"}',
            {"alertname": "a"},
            id="missing-label-left-out",
        ),
        pytest.param(
            ("...",), {"b": "2", "a": "1"}, 'r:{a="1",b="2"}', {"a": "1", "b": "2"}, id="all-labels"
        ),
        pytest.param((), {"a": "1"}, "r:{}", {}, id="one-group"),
    ],
)
def test_group_key(
    group_by: tuple[str, ...], labels: dict[str, str], key: str, values: dict[str, str]
) -> None:
    m = RouteMatch("r", "team", group_by, 30.0, 300.0, 14400.0)
    assert group_key(m, labels) == (key, values)


ROUTE = RouteMatch("root", "team", ("alertname",), 30.0, 300.0, 3600.0)


def al(fp: str, state: AlertState, *, fired: bool = True) -> Alert:
    return Alert(
        fp,
        {"alertname": "x", "id": fp},
        state,
        T - 100,
        T - 100,
        fired_at=T - 100 if fired else None,
    )


def group(**kw: object) -> GroupState:
    base = GroupState('root:{alertname="x"}', "team", "root", T - 100, T - 70, {"alertname": "x"})
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


F, A, P, R = AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.PENDING, AlertState.RESOLVED
SENT = T - 600  # last notification 10 minutes ago

FLUSH = [
    pytest.param(
        group(),
        [al("a", F)],
        T - 80,
        False,
        "not due: group_wait until",
        T - 70,
        id="group-wait-not-over",
    ),
    pytest.param(
        group(),
        [al("a", F)],
        T - 70,
        True,
        "first notification of the group after group_wait 30s: 1 firing",
        T + 230,
        id="group-wait-boundary",
    ),
    pytest.param(group(), [al("a", P)], T, False, "nothing firing yet", T + 300, id="only-pending"),
    pytest.param(
        group(),
        [al("a", R, fired=False)],
        T,
        False,
        "nothing firing yet",
        T + 300,
        id="only-dropped",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T + 60, last_notified=frozenset({"a:firing"})),
        [al("a", F), al("b", F)],
        T,
        False,
        "not due: group_interval until",
        T + 60,
        id="group-interval-not-over",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:firing"})),
        [al("a", F), al("b", F)],
        T,
        True,
        "1 newly firing since the last notification at 2026-11-25 09:50",
        T + 300,
        id="new-alert-in-group",
    ),
    pytest.param(
        group(
            last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:firing", "b:firing"})
        ),
        [al("a", F), al("b", R)],
        T,
        True,
        "1 resolved since the last notification",
        T + 300,
        id="resolve-notified",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:firing"})),
        [al("a", F), al("b", R)],
        T,
        False,
        "no change since the last notification",
        T + 300,
        id="resolve-never-notified-firing",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:firing"})),
        [al("a", F)],
        T,
        False,
        "no change since the last notification at 2026-11-25 09:50; repeat at 2026-11-25 10:50",
        T + 300,
        id="unchanged-before-repeat",
    ),
    pytest.param(
        group(last_flush_at=T - 3600, next_flush_at=T, last_notified=frozenset({"a:firing"})),
        [al("a", F)],
        T,
        True,
        "repeat after repeat_interval 1h: 1 still firing unacknowledged",
        T + 300,
        id="repeat-boundary",
    ),
    pytest.param(
        group(last_flush_at=T - 7200, next_flush_at=T, last_notified=frozenset({"a:firing"})),
        [al("a", A)],
        T,
        False,
        "all 1 firing alerts are acknowledged: no repeat",
        T + 300,
        id="acknowledged-not-repeated",
    ),
    pytest.param(
        group(
            last_flush_at=T - 7200,
            next_flush_at=T,
            last_notified=frozenset({"a:firing", "b:firing"}),
        ),
        [al("a", A), al("b", F)],
        T,
        True,
        "repeat after repeat_interval 1h: 1 still firing unacknowledged",
        T + 300,
        id="repeat-only-for-unacknowledged",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:firing"})),
        [al("a", A)],
        T,
        False,
        "acknowledged: no repeat",
        T + 300,
        id="acknowledging-is-no-change",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:resolved"})),
        [al("a", F)],
        T,
        True,
        "1 newly firing",
        T + 300,
        id="refire-after-resolve-notified",
    ),
    pytest.param(
        group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:resolved"})),
        [al("a", R)],
        T,
        False,
        "nothing firing and nothing newly resolved",
        T + 300,
        id="all-done",
    ),
]


@pytest.mark.parametrize(("g", "alerts", "now", "notify", "text", "next_at"), FLUSH)
def test_flush_decision(
    g: GroupState, alerts: list[Alert], now: float, notify: bool, text: str, next_at: float
) -> None:
    d = flush_decision(g, alerts, ROUTE, now)
    assert d.notify is notify, d.reason
    assert text in d.reason
    assert d.next_at == next_at


def test_drop_group_when_nothing_is_left() -> None:
    g = group(last_flush_at=SENT, next_flush_at=T, last_notified=frozenset({"a:resolved"}))
    assert flush_decision(g, [al("a", R)], ROUTE, T).drop_group is True
    assert flush_decision(g, [al("a", P)], ROUTE, T).drop_group is False


def test_a_group_through_its_life() -> None:
    """group_wait -> first flush -> quiet -> new alert -> resolve -> repeat stops when acked."""
    a, b = al("a", F), al("b", F)
    g = new_group(ROUTE, a.labels, now=T)
    log = []
    for now, alerts in [
        (T + 10, [a]),  # within group_wait
        (T + 30, [a]),  # first flush
        (T + 330, [a]),  # unchanged
        (T + 400, [a, b]),  # b joins; not due until T + 630
        (T + 630, [a, b]),  # flush for b
        (T + 930, [a, dataclasses.replace(b, state=R)]),  # b resolved
        (T + 1230, [a]),  # nothing new
        (T + 4600, [a]),  # repeat 1h after the last notification
        (T + 8000, [dataclasses.replace(a, state=A)]),  # acknowledged: no repeat
    ]:
        d = flush_decision(g, alerts, ROUTE, now)
        if d.notify:
            n = build_notification(g, alerts, now)
            log.append((now, n.status, [x.fingerprint for x in n.alerts]))
        g = after_flush(g, d, alerts, now)
    assert log == [
        (T + 30, "firing", ["a"]),
        (T + 630, "firing", ["a", "b"]),
        (T + 930, "firing", ["a", "b"]),
        (T + 4600, "firing", ["a"]),
    ]


def test_build_notification() -> None:
    g = group(last_notified=frozenset({"b:firing"}))
    alerts = [al("c", P), al("b", R), al("a", F), al("d", R)]
    n = build_notification(g, alerts, T, external_url="http://localhost:8000")
    assert [a.fingerprint for a in n.alerts] == ["a", "b"]  # pending and never-notified out
    assert n.status == "firing" and n.group_labels == {"alertname": "x"}
    assert n.id == build_notification(g, alerts, T).id != build_notification(g, alerts, T + 1).id
    done = build_notification(g, [al("b", R)], T)
    assert done.status == "resolved"
    assert GroupState.from_dict(g.to_dict()) == g


def test_after_flush_without_notify_only_moves_the_timer() -> None:
    g = group()
    assert after_flush(g, FlushDecision(False, "x", T + 5), [al("a", F)], T) == dataclasses.replace(
        g, next_flush_at=T + 5
    )


SIL = Silence(
    "s1",
    (Matcher.parse("model=scorer"), Matcher.parse('severity=~"warn.*"')),
    T,
    T + 3600,
    comment="deploy",
)


@pytest.mark.parametrize(
    ("labels", "now", "muted"),
    [
        pytest.param({"model": "scorer", "severity": "warning"}, T - 1, False, id="before-start"),
        pytest.param({"model": "scorer", "severity": "warning"}, T, True, id="at-start"),
        pytest.param(
            {"model": "scorer", "severity": "warning"}, T + 3599, True, id="just-before-end"
        ),
        pytest.param({"model": "scorer", "severity": "warning"}, T + 3600, False, id="at-end"),
        pytest.param({"model": "scorer", "severity": "critical"}, T, False, id="one-matcher-fails"),
        pytest.param({"model": "other", "severity": "warning"}, T, False, id="other-model"),
    ],
)
def test_silencing(labels: dict[str, str], now: float, muted: bool) -> None:
    assert (silencing(labels, [SIL], now) is SIL) is muted


def test_silencing_prefers_the_longest() -> None:
    longer = dataclasses.replace(SIL, id="s2", ends_at=T + 7200)
    assert silencing({"model": "scorer", "severity": "warning"}, [SIL, longer], T).id == "s2"  # type: ignore[union-attr]


RULE = InhibitRule(
    source_matchers=["alertname=error-rate"], target_matchers=["severity=warning"], equal=["model"]
)
SOURCE = Alert(
    "src", {"alertname": "error-rate", "model": "m", "severity": "critical"}, F, T, T, fired_at=T
)


@pytest.mark.parametrize(
    ("labels", "sources", "hit"),
    [
        pytest.param(
            {"alertname": "drift", "model": "m", "severity": "warning"},
            [SOURCE],
            True,
            id="inhibited",
        ),
        pytest.param(
            {"alertname": "drift", "model": "n", "severity": "warning"},
            [SOURCE],
            False,
            id="equal-differs",
        ),
        pytest.param(
            {"alertname": "drift", "model": "m", "severity": "critical"},
            [SOURCE],
            False,
            id="not-a-target",
        ),
        pytest.param(
            {"alertname": "drift", "model": "m", "severity": "warning"},
            [dataclasses.replace(SOURCE, state=A)],
            True,
            id="acknowledged-source",
        ),
        pytest.param(
            {"alertname": "drift", "model": "m", "severity": "warning"},
            [dataclasses.replace(SOURCE, state=R)],
            False,
            id="resolved-source",
        ),
        pytest.param(
            {"alertname": "drift", "model": "m", "severity": "warning"},
            [dataclasses.replace(SOURCE, state=P)],
            False,
            id="pending-source",
        ),
        pytest.param(
            {"alertname": "error-rate", "model": "m", "severity": "warning"},
            [
                Alert(
                    "self",
                    {"alertname": "error-rate", "model": "m", "severity": "warning"},
                    F,
                    T,
                    T,
                    fired_at=T,
                )
            ],
            False,
            id="not-itself",
        ),
    ],
)
def test_inhibited(labels: dict[str, str], sources: list[Alert], hit: bool) -> None:
    reason = inhibited(labels, sources, [RULE])
    assert (reason is not None) is hit
    if hit:
        assert reason is not None and "inhibited by 'error-rate' (src), rule 0" in reason


def test_equal_label_missing_on_both_sides_counts_as_equal() -> None:
    rule = InhibitRule(
        source_matchers=["alertname=error-rate"],
        target_matchers=["severity=warning"],
        equal=["region"],
    )
    assert inhibited({"alertname": "d", "severity": "warning"}, [SOURCE], [rule]) is not None
