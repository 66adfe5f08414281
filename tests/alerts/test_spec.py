"""Monitor and routing specs: parsing, defaults, validation with line numbers, round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.alerts import (
    AlertingConfig,
    MonitorSpec,
    check_config,
    dump_config,
    format_duration,
    load_config,
    load_monitor,
    parse_duration,
    window_seconds,
)
from driftline.alerts._expression import compute_expression, parse_expression
from driftline.alerts._spec import DEFAULT_MIN_LABEL_COVERAGE, DEFAULT_MIN_SAMPLES
from driftline.errors import ConfigError, InputError

FULL = """\
receivers:
  - name: team
    webhook:
      - url: https://hooks.example.com/driftline
  - name: oncall
route:
  receiver: team
  group_by: [alertname, project, model]
  group_wait: 30s
  routes:
    - receiver: oncall
      matchers: ['severity="critical"']
      group_wait: 10s
      continue: true
    - receiver: team
      matchers: ['team=~"risk|fraud"']
      repeat_interval: 1h
inhibit_rules:
  - source_matchers: [alertname=scorer.error-rate]
    target_matchers: [severity=warning]
    equal: [model]
silences:
  - matchers: [model=legacy]
    starts_at: 2026-11-25T00:00:00Z
    ends_at: 2026-11-26T00:00:00Z
    comment: decommissioning
monitors:
  - name: income-drift
    project: loans
    model: scorer
    signal: {kind: drift, column: income}
    window: {size: 1h, align: 30m}
    condition: {kind: threshold, op: ">", value: 0.1}
    for: 10m
    labels: {team: risk}
  - name: accuracy-drop
    project: loans
    model: scorer
    version: v2
    signal: {kind: performance, metric: accuracy}
    window: {size: 1d}
    baseline: reference
    condition: {kind: change, relative: 0.1, direction: down}
    severity: critical
    route: oncall
  - name: volume
    project: loans
    model: scorer
    signal: {kind: volume}
    window: {kind: sliding, size: 1h, step: 15m}
    baseline: {kind: rolling, windows: 12}
    condition: {kind: anomaly, z: 5, seasonality: 1d, history: 14d}
    schedule: on_ingest
  - name: ctr
    project: loans
    model: scorer
    signal:
      kind: expression
      expr: clicks / max(predictions, 1)
      inputs:
        clicks: {kind: business_rate, event: click}
        predictions: {kind: volume}
    condition: {kind: threshold, op: "<", value: 0.01}
  - name: loss
    project: loans
    signal: {kind: training, metric: val_loss, run: nightly, tags: {team: risk}}
    condition: {kind: threshold, op: ">", value: 2.5}
    schedule: 5m
"""


def test_full_example_parses_with_defaults() -> None:
    cfg = load_config("alerting.yaml", text=FULL)
    drift, acc, vol, ctr, loss = cfg.monitors
    assert drift.for_seconds == 600.0 and drift.window.align == 1800.0
    assert drift.min_samples == DEFAULT_MIN_SAMPLES and drift.min_label_coverage is None
    assert drift.signal.kind == "drift" and drift.signal.method == "jensen_shannon"
    assert acc.min_label_coverage == DEFAULT_MIN_LABEL_COVERAGE and acc.route == "oncall"
    assert window_seconds(acc) == 86400.0
    assert vol.min_samples == 0 and vol.window.step_seconds == 900.0 and vol.schedule == "on_ingest"
    assert vol.baseline.kind == "rolling" and vol.baseline.windows == 12
    assert ctr.signal.kind == "expression" and set(ctr.signal.inputs) == {"clicks", "predictions"}
    assert loss.model is None and loss.min_samples == 1 and loss.schedule == 300.0
    assert cfg.route is not None and cfg.route.routes[0].continue_ is True
    assert cfg.runtime_silences()[0].active(1795600800.0)
    assert cfg.receivers[0].webhook[0].url == "https://hooks.example.com/driftline"


def test_round_trip_through_yaml_and_json(tmp_path: Path) -> None:
    cfg = load_config("alerting.yaml", text=FULL)
    text = dump_config(cfg)
    assert load_config("again.yaml", text=text) == cfg
    path = tmp_path / "a.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path) == cfg
    assert AlertingConfig.model_validate_json(cfg.model_dump_json(by_alias=True)) == cfg
    for m in cfg.monitors:
        assert MonitorSpec.from_yaml(m.to_yaml()) == m
        assert "for:" in m.to_yaml()


def test_python_construction_equals_yaml() -> None:
    from_yaml = load_config("a.yaml", text=FULL).monitors[0]
    from_python = MonitorSpec(
        name="income-drift",
        project="loans",
        model="scorer",
        signal={"kind": "drift", "column": "income"},  # type: ignore[arg-type]
        window={"size": "1h", "align": "30m"},  # type: ignore[arg-type]
        condition={"kind": "threshold", "op": ">", "value": 0.1},  # type: ignore[arg-type]
        labels={"team": "risk"},
        **{"for": "10m"},
    )
    assert from_python == from_yaml


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD_CASES = [
    pytest.param(
        "value: 0.1}",
        "value: high}",
        "monitors[0].condition.value: expected a number, got 'high'",
        id="not-a-number",
    ),
    pytest.param("for: 10m", "for: ten", "monitors[0].for: expected a duration", id="duration"),
    pytest.param(
        'op: ">"',
        'op: "!"',
        "monitors[0].condition.op: expected '>', '>=', '<' or '<='",
        id="bad-op",
    ),
    pytest.param(
        "kind: threshold, op",
        "kind: thresh, op",
        "monitors[0].condition: unknown kind 'thresh'",
        id="bad-condition-kind",
    ),
    pytest.param(
        "{kind: drift, column: income}",
        "{kind: drift, column: income, methd: ks}",
        "monitors[0].signal.methd: unknown field",
        id="unknown-field",
    ),
    pytest.param(
        "{kind: drift, column: income}",
        "{kind: drift, column: income, method: nope}",
        "monitors[0].signal.method: expected one of",
        id="unknown-method",
    ),
    pytest.param(
        "name: volume", "name: Volume Monitor", "monitors[2].name: expected a slug", id="slug"
    ),
    pytest.param(
        "- name: volume",
        "- name: income-drift",
        "monitors[2].name: duplicate monitor name 'income-drift' (first at monitors[0])",
        id="duplicate-monitor",
    ),
    pytest.param(
        "- receiver: oncall",
        "- receiver: pager",
        "route.routes[0].receiver: unknown receiver 'pager' (receivers: oncall, team)",
        id="unknown-receiver",
    ),
    pytest.param(
        "route: oncall",
        "route: pager",
        "monitors[1].route: unknown receiver 'pager'",
        id="monitor-route-receiver",
    ),
    pytest.param(
        "['severity=\"critical\"']",
        "['severity=~\"(\"']",
        "route.routes[0].matchers[0]: matcher 'severity': invalid regular expression",
        id="bad-regex",
    ),
    pytest.param(
        "[model=legacy]",
        "[model legacy]",
        "silences[0].matchers[0]: matcher: expected 'name=value'",
        id="bad-matcher",
    ),
    pytest.param(
        "expr: clicks / max(predictions, 1)",
        "expr: clicks / __import__('os')",
        "monitors[3].signal.expr: '__import__' is not allowed",
        id="unsafe-expression",
    ),
    pytest.param(
        "expr: clicks / max(predictions, 1)",
        "expr: clicks / views",
        "monitors[3].signal.expr: names 'views', which are not in inputs",
        id="unknown-input",
    ),
    pytest.param(
        "step: 15m}",
        "step: 2h}",
        "monitors[2].window.step: expected 0 < step <= size (1h), got 2h",
        id="sliding-step",
    ),
    pytest.param(
        "{kind: change, relative: 0.1, direction: down}",
        "{kind: change, direction: down}",
        "monitors[1].condition: expected 'relative'",
        id="change-needs-amount",
    ),
    pytest.param(
        "    labels: {team: risk}",
        "    labels: {severity: low}",
        "monitors[0].labels: ['severity'] are set by driftline",
        id="reserved-label",
    ),
    pytest.param(
        "metric: accuracy}",
        "metric: acuracy}",
        "monitors[1].signal.metric: expected one of",
        id="unknown-metric",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_CASES)
def test_errors_name_file_line_column_and_field(old: str, new: str, expected: str) -> None:
    assert old in FULL
    text = FULL.replace(old, new, 1)
    cfg, problems = check_config("monitors.yaml", text=text)
    assert cfg is None
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert expected in str(p)
    assert str(p).startswith(f"monitors.yaml:{p.line}:{p.column}: ")
    assert p.line == _line_of(FULL, old)  # the line that was edited
    assert text.splitlines()[p.line - 1][p.column - 1 :].strip() != ""
    with pytest.raises(ConfigError, match=r"^monitors\.yaml:\d+:\d+: "):
        load_config("monitors.yaml", text=text)


def test_exact_position_of_a_bad_value() -> None:
    text = FULL.replace("value: 0.1}", "value: high}", 1)
    (p,) = check_config("monitors.yaml", text=text)[1]
    line = text.splitlines()[p.line - 1]
    assert line[p.column - 1 :].startswith("high")
    assert str(p) == (
        f"monitors.yaml:{p.line}:{p.column}: monitors[0].condition.value: "
        "expected a number, got 'high'"
    )


def test_missing_field_points_at_the_mapping() -> None:
    text = "monitors:\n  - name: x\n    project: p\n    model: m\n    signal: {kind: volume}\n"
    (p,) = check_config("m.yaml", text=text)[1]
    assert (p.line, p.column, p.path, p.message) == (
        2,
        5,
        "monitors[0].condition",
        "required field is missing",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("monitors: [\n", "m.yaml:2:1: invalid YAML", id="syntax"),
        pytest.param(
            "route: {receiver: a}\nroute: {}\n", "m.yaml:2:1: duplicate key 'route'", id="dup-key"
        ),
        pytest.param(
            "42\n", "m.yaml:1:1: expected a mapping (an alerting config), got int", id="scalar"
        ),
        pytest.param("!!python/object:os.system {}\n", "m.yaml:1:1: invalid YAML", id="unsafe-tag"),
    ],
)
def test_yaml_level_problems(text: str, expected: str) -> None:
    cfg, problems = check_config("m.yaml", text=text)
    assert cfg is None and str(problems[0]).startswith(expected)


def test_top_level_list_is_monitors_and_missing_file(tmp_path: Path) -> None:
    text = "- {name: v, project: p, model: m, signal: {kind: volume}, condition: {kind: threshold, op: '<', value: 1}}\n"
    assert [m.name for m in load_config("m.yaml", text=text).monitors] == ["v"]
    cfg, problems = check_config(tmp_path / "nope.yaml")
    assert cfg is None and "cannot read the file" in str(problems[0])


def test_load_monitor_errors_carry_lines() -> None:
    with pytest.raises(ConfigError, match=r"^api:3:1: model: required field|^api:1:1: "):
        load_monitor("name: x\nproject: p\nsignal: {kind: volume}\n", "api")


def test_python_api_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        MonitorSpec(
            name="x", project="p", model="m", signal={"kind": "volume"}, condition={"kind": "nope"}
        )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        ("2w", 1209600.0),
        ("250ms", 0.25),
        (90, 90.0),
        ("15", 15.0),
        (0.5, 0.5),
    ],
)
def test_parse_duration(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("bad", ["", "5 minutes", "m5", "-1s", -3, True, "1h-", None, float("inf")])
def test_parse_duration_rejects(bad: Any) -> None:
    with pytest.raises(InputError, match="expected a duration"):
        parse_duration(bad, "for")


@pytest.mark.parametrize(
    ("expr", "values", "expected"),
    [
        ("a + b * 2", {"a": 1.0, "b": 2.0}, 5.0),
        ("-a / b", {"a": 1.0, "b": 4.0}, -0.25),
        ("abs(a - b)", {"a": 1.0, "b": 4.0}, 3.0),
        ("min(a, b, 0.5) + max(a, 3)", {"a": 1.0, "b": 4.0}, 3.5),
        ("a / (b - b)", {"a": 1.0, "b": 4.0}, None),
        ("a * 1e308 * 10", {"a": 1.0}, None),
    ],
)
def test_expression_values(expr: str, values: dict[str, float], expected: float | None) -> None:
    assert compute_expression(parse_expression(expr), values) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "a ** 2",
        "a.b",
        "a[0]",
        "lambda: 1",
        "open('x')",
        "'s'",
        "a if b else c",
        "a < b",
        "abs(a, b)",
        "max()",
        "min(a, key=b)",
        "(a := 1)",
        "True",
        "a; b",
    ],
)
def test_expression_rejects_unsafe_syntax(expr: str) -> None:
    with pytest.raises(InputError):
        parse_expression(expr)
