"""Guard: actions per detector, retry budgets, recorded events (also through the real SDK)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftline.errors import InputError
from driftline.training import (
    Action,
    CheckpointManager,
    Detection,
    Divergence,
    Guard,
    NonFinite,
    Overfitting,
    Plateau,
    Rule,
)

NAN = float("nan")


class RecordingRun:
    """Stands in for ``driftline.client.Run``: remembers every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def log_event(
        self,
        kind: str,
        message: str = "",
        *,
        step: int | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        self.events.append(
            {"kind": kind, "message": message, "step": step, "evidence": dict(evidence or {})}
        )

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]


def _flat(guard: Guard, n: int, start: int = 0) -> None:
    for s in range(start, start + n):
        assert guard.check(s, {"loss": 1.0 + 0.001 * (s % 3)}) is None


def test_record_and_alert_do_not_act() -> None:
    run, alerts = RecordingRun(), list[Detection]()
    guard = Guard(
        [Rule(Plateau(patience=2), "record"), Rule(NonFinite(), "alert")],
        run=run,
        on_alert=alerts.append,
    )
    guard.check(0, {"loss": 1.0})
    guard.check(1, {"loss": 1.0})
    v = guard.check(2, {"loss": 1.0})
    assert v is not None and v.actions == (Action.RECORD,)
    assert not (v.stop or v.restore or v.lower_lr)
    v = guard.check(3, {"loss": NAN})
    assert v is not None and v.actions == (Action.ALERT,)
    assert [a.step for a in alerts] == [3] and isinstance(alerts[0], Detection)
    assert run.kinds() == ["plateau", "non_finite"]
    nf = run.events[1]
    assert nf["step"] == 3 and nf["evidence"]["values"] == {"loss": "nan"}  # JSON-safe
    assert nf["evidence"]["actions"] == ["alert"]
    json.dumps(run.events, allow_nan=False)


def test_actions_are_merged_most_severe_first() -> None:
    guard = Guard(
        [
            Rule(NonFinite(), ("restore", "lower_lr")),
            Rule(Divergence(window=5, min_history=3), "alert"),
        ]
    )
    v = guard.check(0, {"loss": NAN, "grad_norm": 1.0})
    assert v is not None
    assert v.actions == (Action.RESTORE, Action.LOWER_LR)
    assert v.restore and v.lower_lr and not v.stop
    assert "loss is nan" in v.reason


def test_budgets_escalate_to_stop() -> None:
    run = RecordingRun()
    guard = Guard(
        [
            Rule(NonFinite(), "restore"),
            Rule(Divergence(window=5, min_history=3, patience=1), "lower_lr"),
        ],
        run=run,
        max_restores=2,
        max_lr_reductions=1,
    )
    assert [guard.check(s, {"loss": NAN}).actions for s in range(3)] == [  # type: ignore[union-attr]
        (Action.RESTORE,),
        (Action.RESTORE,),
        (Action.STOP,),
    ]
    assert guard.restores == 2 and guard.stopped
    assert "max_restores=2" in run.events[-1]["evidence"]["notes"][0]
    _flat(guard, 5, start=3)
    v1 = guard.check(8, {"loss": 50.0})
    v2 = guard.check(9, {"loss": 80.0})
    assert v1 is not None and v1.actions == (Action.LOWER_LR,)
    assert v2 is not None and v2.stop and "max_lr_reductions=1" in v2.reason


def test_act_restores_the_last_checkpoint_before_the_detection(tmp_path: Path) -> None:
    run = RecordingRun()
    cm = CheckpointManager(tmp_path, keep_last=5)
    for step in (10, 20, 30):
        cm.save(step, {"w": np.full(2, float(step))})
    guard = Guard([Rule(NonFinite(), ("restore", "lower_lr"))], run=run, lr_factor=0.1)
    loaded: list[Any] = []
    lr = [0.5]

    def scale(f: float) -> list[float]:
        lr[0] *= f
        return list(lr)

    verdict = guard.check(25, {"loss": NAN})
    assert verdict is not None
    result = guard.act(verdict, checkpoints=cm, load=loaded.append, scale_lr=scale)
    assert not result.stop
    assert result.restored is not None and result.restored.step == 20
    assert loaded[0]["w"].tolist() == [20.0, 20.0]
    assert result.learning_rates == pytest.approx([0.05])
    assert run.kinds() == ["non_finite", "guard.restore", "guard.lower_lr"]
    restore_ev = run.events[1]
    assert restore_ev["step"] == 25 and restore_ev["evidence"]["restored_step"] == 20
    assert restore_ev["evidence"]["sha256"] == result.restored.sha256
    assert run.events[2]["evidence"]["learning_rates"] == pytest.approx([0.05])


def test_act_stops_when_nothing_can_be_restored(tmp_path: Path) -> None:
    run = RecordingRun()
    cm = CheckpointManager(tmp_path)
    cm.save(50, {"w": np.zeros(1)})
    guard = Guard([Rule(NonFinite(), "restore")], run=run)
    verdict = guard.check(40, {"loss": NAN})
    assert verdict is not None
    result = guard.act(verdict, checkpoints=cm, load=lambda s: None)
    assert result.stop and guard.stopped
    assert run.kinds() == ["non_finite", "guard.restore_failed", "guard.stop"]
    assert "before step 40" in run.events[1]["message"]
    verdict = guard.check(41, {"loss": NAN})
    assert verdict is not None and guard.act(verdict).stop  # no manager at all


def test_guard_state_round_trip() -> None:
    rules = [Rule(Plateau(patience=3)), Rule(Overfitting(patience=1), "stop")]
    guard = Guard(rules, max_restores=4)
    for s in range(5):
        guard.check(s, {"loss": 1.0 - 0.1 * s})
    guard.restores = 2
    data = json.loads(json.dumps(guard.to_dict()))
    other = Guard([Rule(Plateau(patience=3)), Rule(Overfitting(patience=1), "stop")])
    other.load_dict(data)
    assert other.restores == 2
    for s in range(5, 12):
        assert guard.check(s, {"loss": 0.5}) == other.check(s, {"loss": 0.5})
    with pytest.raises(InputError, match="detectors"):
        Guard([Rule(NonFinite())]).load_dict(data)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: Rule(NonFinite(), "explode"), "actions"),
        (lambda: Rule("nan", "stop"), "detector"),  # type: ignore[arg-type]
        (lambda: Guard([NonFinite()]), "rules"),  # type: ignore[list-item]
        (lambda: Guard([], lr_factor=1.5), "lr_factor"),
        (lambda: Guard([], max_restores=-1), "max_restores"),
    ],
)
def test_bad_arguments(make: Any, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        make()


def test_events_reach_the_real_store_through_the_sdk(tmp_path: Path) -> None:
    from driftline.client import init
    from driftline.config import load_settings
    from driftline.store import QueryService, Store

    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "data")})
    run = init("lab", settings=settings, system_metrics_interval=None, flush_interval=0.02)
    cm = CheckpointManager(tmp_path / "ckpt")
    cm.save(4, {"w": np.ones(2)})
    guard = Guard([Rule(NonFinite(), "restore")], run=run)
    for s in range(6):
        run.log({"loss": 1.0 / (s + 1)}, step=s)
        assert guard.check(s, {"loss": 1.0 / (s + 1)}) is None
    verdict = guard.check(6, {"loss": math.inf, "grad_norm": NAN})
    assert verdict is not None
    assert guard.act(verdict, checkpoints=cm, load=lambda s: None).restored is not None
    assert run.finish(timeout=20.0)
    assert run.stats().dropped == {}
    store = Store.open(settings.database_url)
    try:
        detail = QueryService(store).get_run(run.run_id)
    finally:
        store.close()
    events = detail["events"]
    assert [e["kind"] for e in events] == ["non_finite", "guard.restore"]
    assert [e["step"] for e in events] == [6, 6]
    assert events[0]["evidence"]["values"] == {"loss": "inf", "grad_norm": "nan"}
    assert events[0]["evidence"]["actions"] == ["restore"]
    assert events[1]["evidence"]["restored_step"] == 4
    assert "restored the checkpoint of step 4" in events[1]["message"]


@pytest.mark.parametrize("module", ["driftline.training", "driftline.integrations"])
def test_training_core_never_imports_a_framework(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = [m for m in ('torch', 'keras', 'tensorflow', 'sqlalchemy', 'fastapi')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"
