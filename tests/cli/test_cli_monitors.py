"""``driftline monitors validate`` and ``driftline alerts test-route`` through ``main([...])``."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.cli import EXIT_OK, EXIT_USAGE, main

CONFIG = """\
receivers:
  - {name: team, webhook: [{url: "https://hooks.example.com/a?k=1", secret_env: HOOK_SECRET}]}
  - name: oncall
route:
  receiver: team
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
    condition: {kind: threshold, op: ">", value: 0.1}
    labels: {team: risk}
  - name: accuracy-drop
    project: loans
    model: scorer
    signal: {kind: performance, metric: accuracy}
    condition: {kind: change, relative: 0.1, direction: down}
    severity: critical
    route: oncall
"""
T = "1795600800"  # 2026-11-25 10:00 UTC


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "alerting.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_validate_ok(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitors", "validate", str(config)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.strip() == (
        f"{config}: OK (2 monitors, 2 receivers, a route, 1 inhibit rules, 1 silences)"
    )


def test_validate_prints_each_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = CONFIG.replace("value: 0.1}", "value: high}").replace("metric: accuracy", "metric: acc")
    bad.write_text(text, encoding="utf-8")
    assert main(["monitors", "validate", str(bad)]) == EXIT_USAGE
    captured = capsys.readouterr()
    first, second = captured.out.splitlines()
    assert first == f"{bad}:28:50: monitors[0].condition.value: expected a number, got 'high'"
    col = text.splitlines()[32].index("acc") + 1
    assert second.startswith(f"{bad}:33:{col}: monitors[1].signal.metric: expected one of ")
    assert second.endswith("got 'acc'")
    assert captured.err.strip() == f"{bad}: 2 problems"


def test_validate_missing_file_and_no_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitors", "validate", str(tmp_path / "nope.yaml"), "--quiet"]) == EXIT_USAGE
    assert "cannot read the file" in capsys.readouterr().out
    assert main(["monitors"]) == EXIT_USAGE
    assert "expected an action" in capsys.readouterr().err


def test_test_route_of_a_monitor(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["alerts", "test-route", "--config", str(config), "--at", T]
    assert main([*args, "--monitor", "income-drift", "--severity", "critical"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        'labels: alertname="income-drift", model="scorer", project="loans", '
        'severity="critical", team="risk"'
    )
    assert out[1] == 'route root/0 (matchers: severity="critical")'
    assert out[2] == "  receiver: oncall"
    assert out[3] == "    (no channels: alerts to it go nowhere)"
    assert out[4] == "  group_by: alertname, project, model"
    assert out[5].startswith('  group: root/0:{alertname="income-drift",model="scorer",')
    assert out[6] == "  timings: group_wait 10s, group_interval 5m, repeat_interval 4h"
    assert out[7] == 'route root/1 (matchers: team=~"risk|fraud")'
    assert "  timings: group_wait 30s, group_interval 5m, repeat_interval 1h" in out
    # where the channels deliver, secrets named but never shown
    assert any(
        line.startswith("    webhook team/webhook/0") and "HOOK_SECRET" in line for line in out
    ), out
    assert out[-2:] == ["silenced: no", "nothing was sent"]


def test_test_route_monitor_route_silence_and_inhibition(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["alerts", "test-route", "--config", str(config), "--at", T]
    assert main([*args, "--monitor", "accuracy-drop"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "route monitor:oncall\n  receiver: oncall\n" in out
    assert main([*args, "--label", "model=legacy", "--label", "severity=warning"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "silenced: yes, by silence config-0 until 2026-11-26 00:00 (decommissioning)" in out
    assert "inhibition: would be muted while a matching source alert fires (rules [0])" in out
    assert main([*args, "--label", "model=legacy", "--at", "1795737600"]) == EXIT_OK
    assert "silenced: no" in capsys.readouterr().out


def test_test_route_errors(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["alerts", "test-route", "--config", str(config), "--monitor", "nope"]) == EXIT_USAGE
    )
    assert "no monitor 'nope'" in capsys.readouterr().err
    assert (
        main(["alerts", "test-route", "--config", str(config), "--label", "novalue"]) == EXIT_USAGE
    )
    assert "expected NAME=VALUE" in capsys.readouterr().err
    empty = tmp_path / "empty.yaml"
    empty.write_text("monitors: []\n", encoding="utf-8")
    assert main(["alerts", "test-route", "--config", str(empty)]) == EXIT_USAGE
    assert "has no route" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("route: {receiver: ghost}\n", encoding="utf-8")
    assert main(["alerts", "test-route", "--config", str(broken)]) == EXIT_USAGE
    assert "broken.yaml:1:19: route.receiver: unknown receiver 'ghost'" in capsys.readouterr().err
