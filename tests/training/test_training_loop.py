"""The training-loop core against a fake framework made of plain Python objects."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pytest

from driftline.errors import InputError
from driftline.training import (
    CheckpointManager,
    Divergence,
    Guard,
    LoopHooks,
    NonFinite,
    Overfitting,
    Rule,
    TrainingLoop,
    Verdict,
)

NAN = float("nan")


class JsonSerializer:
    """Plain data as JSON: what the fake framework's checkpoints are written with."""

    suffix = ".json"

    def dump(self, state: Any, file: IO[bytes]) -> None:
        file.write(json.dumps(state).encode())

    def load(self, file: IO[bytes]) -> Any:
        return json.loads(file.read())


def _manager(root: Path, **options: Any) -> CheckpointManager:
    return CheckpointManager(root, serializer=JsonSerializer(), **options)


class FakeFramework:
    """A 'model' of one weight and a learning rate; implements :class:`LoopHooks`."""

    def __init__(self, lr: float = 0.1) -> None:
        self.weight = 0.0
        self.lr = lr
        self.stopped = False
        self.loads: list[dict[str, Any]] = []

    def state_dict(self) -> dict[str, Any]:
        return {"w": self.weight, "lr": self.lr}

    def load_state_dict(self, state: Any) -> None:
        self.loads.append(dict(state))
        self.weight = float(state["w"])  # the learning rate is kept

    def scale_lr(self, factor: float) -> Sequence[float]:
        self.lr *= factor
        return [self.lr]

    def stop(self) -> None:
        self.stopped = True


class Run:
    def __init__(self) -> None:
        self.points: dict[int, dict[str, float]] = {}
        self.events: list[tuple[str, int | None]] = []

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        assert step is not None
        self.points.setdefault(step, {}).update(metrics)

    def log_event(
        self,
        kind: str,
        message: str = "",
        *,
        step: int | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        self.events.append((kind, step))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _loop(fw: FakeFramework, run: Run | None = None, **options: Any) -> TrainingLoop:
    hooks: LoopHooks = fw
    return TrainingLoop.from_hooks(run, hooks, **options)


def _train(
    loop: TrainingLoop, fw: FakeFramework, losses: Sequence[float], clock: Clock | None = None
) -> list[Verdict]:
    """Per loss: one update of the weight, then what an adapter does after a step."""
    acted = []
    for loss in losses:
        if loop.should_stop:
            break
        if clock is not None:
            loop.start_timer()
            clock.now += 0.5
        fw.weight += 1.0
        step_time = loop.lap()
        step = loop.advance()
        metrics = loop.step_metrics({"loss": loss}, lr=fw.lr, step_time=step_time, batch_size=16)
        verdict = loop.record(step, metrics, {"extra": 1.0})
        if verdict is None:
            verdict = loop.save_periodic()
        if verdict is not None:
            acted.append(verdict)
    return acted


def test_steps_are_counted_and_throughput_is_samples_per_second() -> None:
    fw, run, clock = FakeFramework(), Run(), Clock()
    loop = _loop(fw, run, log_every=2, clock=clock)
    assert loop.last_step == 0
    assert _train(loop, fw, [1.0, 0.9, 0.8, 0.7, 0.6], clock) == []
    assert loop.global_step == 5 and loop.last_step == 4
    assert sorted(run.points) == [0, 2, 4]  # every log_every-th step
    assert run.points[2] == {
        "loss": 0.8,
        "lr": 0.1,
        "step_time": 0.5,
        "throughput": 32.0,
        "extra": 1.0,
    }


def test_a_window_lap_averages_over_its_steps_and_no_batch_size_gives_no_throughput() -> None:
    clock = Clock()
    loop = _loop(FakeFramework(), clock=clock)
    clock.now = 2.0
    assert loop.lap(4) == 0.5
    clock.now = 3.0
    assert loop.lap() == 1.0
    metrics = loop.step_metrics({}, lr=0.1, step_time=0.0, batch_size=8)
    assert "throughput" not in metrics  # a zero step time has no rate
    assert "throughput" not in loop.step_metrics({}, lr=0.1, step_time=1.0, batch_size=None)


def test_layer_steps_follow_per_layer_every() -> None:
    fw = FakeFramework()
    loop = _loop(fw, per_layer_every=3)
    seen = []
    for _ in range(7):
        seen.append(loop.layer_step())
        loop.advance()
    assert seen == [True, False, False, True, False, False, True]
    assert not any(_loop(fw).layer_step() for _ in range(3))  # default: never


def test_guard_stop_stops_the_loop_and_calls_the_framework() -> None:
    fw, run = FakeFramework(), Run()
    guard = Guard([Rule(NonFinite(), "stop")], run=run)
    loop = _loop(fw, run, guard=guard)
    acted = _train(loop, fw, [1.0, 0.9, NAN, 0.7])
    assert [v.step for v in acted] == [2] and acted[0].stop
    assert loop.should_stop and fw.stopped and guard.stopped
    assert loop.global_step == 3  # the loop ended after the bad step
    assert ("guard.stop", 2) in run.events
    assert loop.check(3, {"loss": NAN}) is None  # nothing is checked once stopping


def test_a_window_is_timed_together_and_checked_up_to_the_first_action() -> None:
    run, clock = Run(), Clock()
    loop = _loop(FakeFramework(), run, guard=Guard([Rule(NonFinite(), "stop")]), clock=clock)
    clock.now = 2.0
    rows = [
        (loop.advance(), {"loss": loss}, 0.1, 4, {"grad_norm/w": 1.0} if loss == 1.0 else None)
        for loss in (1.0, NAN, NAN, 0.5)
    ]
    verdict = loop.record_window(rows, {"gpu_memory_allocated": 8.0})
    assert verdict is not None and verdict.stop and verdict.step == 1
    assert [p["step_time"] for p in run.points.values()] == [0.5] * 4
    assert run.points[0]["throughput"] == 8.0 and run.points[0]["grad_norm/w"] == 1.0
    assert all(p["gpu_memory_allocated"] == 8.0 for p in run.points.values())
    assert "grad_norm/w" not in run.points[3] and loop.should_stop


def test_progress_state_holds_the_step_and_the_guard() -> None:
    guard = Guard([Rule(NonFinite(), "restore")], max_restores=2)
    loop = _loop(FakeFramework(), guard=guard)
    loop.advance()
    assert loop.progress_state() == {"step": 1, "guard": guard.to_dict()}
    assert _loop(FakeFramework()).progress_state() == {"step": 0}


def test_only_recorded_detections_do_not_act() -> None:
    fw = FakeFramework()
    loop = _loop(fw, guard=Guard([Rule(NonFinite(), "record")]))
    assert _train(loop, fw, [1.0, NAN, 0.5]) == []
    assert not loop.should_stop and not fw.stopped and loop.global_step == 3


def test_lower_lr_scales_the_rate_through_the_hook() -> None:
    fw = FakeFramework(lr=0.4)
    guard = Guard([Rule(NonFinite(), "lower_lr")], max_lr_reductions=2, lr_factor=0.5)
    loop = _loop(fw, guard=guard)
    acted = _train(loop, fw, [1.0, NAN, 0.9, NAN, 0.8])
    assert [v.step for v in acted] == [1, 3] and all(v.lower_lr for v in acted)
    assert fw.lr == pytest.approx(0.1) and not loop.should_stop
    assert _train(loop, fw, [NAN])[0].stop  # the budget of two is spent: a stop
    assert fw.stopped


def test_restore_loads_the_last_checkpoint_before_the_detection(tmp_path: Path) -> None:
    fw, run = FakeFramework(), Run()
    cm = _manager(tmp_path, every=2, keep_last=5)
    guard = Guard([Rule(NonFinite(), ("restore", "lower_lr"))], run=run)
    loop = _loop(fw, run, guard=guard, checkpoints=cm)
    acted = _train(loop, fw, [1.0, 0.9, 0.8, 0.7, 0.6, NAN, 0.5, 0.4])
    assert [c.step for c in cm.checkpoints()] == [2, 4, 8]  # none of the step it acted on
    assert [v.step for v in acted] == [5] and acted[0].restore
    # the checkpoint of step 4 holds the weight after 4 updates; training goes on from it
    assert [info.step for info in loop.restored] == [4]
    assert fw.loads[0]["w"] == 4.0 and fw.lr == pytest.approx(0.05)
    assert fw.weight == 4.0 + 2  # two more updates after the restore
    assert loop.global_step == 8 and not loop.should_stop  # the counter goes on
    assert ("guard.restore", 5) in run.events


def test_restore_without_a_checkpoint_stops(tmp_path: Path) -> None:
    fw = FakeFramework()
    cm = _manager(tmp_path, every=10)
    loop = _loop(fw, guard=Guard([Rule(NonFinite(), "restore")]), checkpoints=cm)
    acted = _train(loop, fw, [1.0, NAN, 0.5])
    assert acted[0].restore and loop.should_stop and fw.stopped and loop.restored == []
    assert fw.loads == []


def test_a_periodic_save_waits_for_the_before_callback(tmp_path: Path) -> None:
    fw = FakeFramework()
    cm = _manager(tmp_path, every=2)
    loop = _loop(fw, guard=Guard([Rule(NonFinite(), "stop")]), checkpoints=cm)
    calls: list[int] = []

    def flush() -> Verdict | None:
        calls.append(loop.global_step)
        return loop.check(loop.last_step, {"loss": NAN if loop.global_step == 4 else 1.0})

    for _ in range(5):
        loop.advance()
        loop.save_periodic(before=flush)
    assert calls == [2, 4]  # called only when a save is due
    assert [c.step for c in cm.checkpoints()] == [2]  # the step-4 state was never cleared
    assert loop.should_stop


def test_checkpoint_policy_keeps_the_last_and_the_best(tmp_path: Path) -> None:
    fw = FakeFramework()
    cm = _manager(tmp_path, every=3, metric="val_loss", keep_last=2, keep_best=1)
    loop = _loop(fw, checkpoints=cm)
    val = {2: 0.5, 4: 0.3, 6: 0.4, 8: 0.35, 10: 0.45}
    for step in range(1, 11):
        fw.weight = float(step)
        loop.advance()
        loop.save_periodic()
        if step in val:
            assert loop.evaluate({"val_loss": val[step]}, log=False) is None  # no guard
    # saved: 2 and 4 on improvement, 3, 6 and 9 periodically; kept: the last two and the best
    assert [c.step for c in cm.checkpoints()] == [4, 6, 9]
    best = cm.best()
    assert best is not None and best.step == 4 and best.metrics == {"val_loss": 0.3}
    assert cm.last() is not None and cm.last().step == 9  # type: ignore[union-attr]


def test_evaluate_guards_validation_metrics_and_logs_at_the_last_step(tmp_path: Path) -> None:
    fw, run = FakeFramework(), Run()
    guard = Guard([Rule(Overfitting(patience=2), "stop")], run=run)
    loop = _loop(fw, run, guard=guard, checkpoints=_manager(tmp_path, metric="val_loss"))
    train, val = [1.0, 0.8, 0.6, 0.4], [0.5, 0.6, 0.7, 0.8]
    verdicts = []
    for t, v in zip(train, val, strict=True):
        _train(loop, fw, [t, t])
        verdicts.append(loop.evaluate({"loss": t, "val_loss": v}))
    stops = [v for v in verdicts if v is not None]
    assert stops and stops[0].stop and loop.should_stop
    assert run.points[1]["val_loss"] == 0.5  # logged at the last step of the window
    assert [c.step for c in loop.checkpoints.checkpoints()] == [2]  # type: ignore[union-attr]
    assert loop.evaluate({"val_loss": 0.1}) is None  # stopping: no check, no save
    assert [c.step for c in loop.checkpoints.checkpoints()] == [2]  # type: ignore[union-attr]


def test_evaluate_without_check_only_logs(tmp_path: Path) -> None:
    fw, run = FakeFramework(), Run()
    cm = _manager(tmp_path, metric="val_loss")
    loop = _loop(fw, run, guard=Guard([Rule(Divergence(), "stop")]), checkpoints=cm)
    loop.advance()
    assert loop.evaluate({"val_loss": 0.5}, check=False) is None
    assert run.points == {0: {"val_loss": 0.5}} and cm.checkpoints() == []


def test_resume_loads_the_newest_checkpoint_with_step_and_guard_state(tmp_path: Path) -> None:
    fw = FakeFramework()
    cm = _manager(tmp_path, every=2)
    guard = Guard([Rule(NonFinite(), "restore")], max_restores=5)
    loop = _loop(fw, guard=guard, checkpoints=cm)
    guard.restores, guard.lr_reductions = 2, 1
    loop.state_dict = lambda: {
        **fw.state_dict(),
        "step": loop.global_step,
        "guard": guard.to_dict(),
    }
    _train(loop, fw, [1.0] * 5)
    fresh, guard2 = FakeFramework(), Guard([Rule(NonFinite(), "restore")], max_restores=5)
    again = _loop(fresh, guard=guard2, checkpoints=_manager(tmp_path, every=2))
    found = again.resume(fresh.load_state_dict)
    assert found is not None and found[0].step == 4
    assert again.global_step == 4 and fresh.weight == 4.0
    assert guard2.restores == 2 and guard2.lr_reductions == 1
    empty = _loop(FakeFramework(), checkpoints=_manager(tmp_path / "none"))
    assert empty.resume(fresh.load_state_dict) is None and empty.global_step == 0
    with pytest.raises(InputError, match="checkpoints: resume needs a CheckpointManager"):
        _loop(FakeFramework()).resume(fresh.load_state_dict)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"log_every": 0}, "log_every: expected a positive int, got 0"),
        ({"sync_every": 1.5}, "sync_every: expected a positive int, got 1.5"),
        ({"per_layer_every": 0}, "per_layer_every: expected a positive int or None, got 0"),
        ({"batch_size": True}, "batch_size: expected a positive int or None, got True"),
        ({"guard": "stop"}, "guard: expected a driftline Guard, got str"),
        ({"checkpoints": "ckpt/"}, "checkpoints: expected a CheckpointManager, got str"),
        ({"config": [1]}, "config: expected a mapping, got list"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        TrainingLoop.check_options(**options)
    TrainingLoop.check_options(log_every=3, sync_every=2, per_layer_every=None, batch_size=None)
    if not {"sync_every", "batch_size", "guard", "checkpoints", "config"} & set(options):
        with pytest.raises(InputError, match=message):
            _loop(FakeFramework(), **options)
