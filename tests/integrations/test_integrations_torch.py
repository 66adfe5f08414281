"""The PyTorch integration on real (small, CPU) training runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from driftline.errors import InputError  # noqa: E402
from driftline.integrations.torch import TorchSerializer, TorchWatcher, watch  # noqa: E402
from driftline.training import (  # noqa: E402
    CheckpointError,
    CheckpointManager,
    Divergence,
    Guard,
    NonFinite,
    Overfitting,
    Rule,
)

from .conftest import RecordingRun  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n: int, seed: int) -> tuple[Any, Any]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = torch.sin(2 * x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3] + 0.1 * torch.randn(n, 1, generator=g)
    return x, y


X_TRAIN, Y_TRAIN = _data(2048, 1)
X_TEST, Y_TEST = _data(512, 2)


def _model() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
        torch.nn.Linear(32, 1),
    )  # fmt: skip


def _test_loss(model: Any) -> float:
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(model(X_TEST), Y_TEST))


def _train(
    steps: int,
    *,
    watcher_kwargs: dict[str, Any] | None = None,
    run: Any = None,
    inject: Callable[[int, Any, Any], Any] | None = None,
    lr: float = 0.05,
) -> tuple[Any, TorchWatcher | None]:
    """SGD with momentum on mini-batches of 32; ``inject(step, loss, optimizer)`` may alter a step."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    watcher = watch(model, opt, run, **watcher_kwargs) if watcher_kwargs is not None else None
    g = torch.Generator().manual_seed(7)
    order = torch.randperm(len(X_TRAIN), generator=g)
    for step in range(steps):
        idx = order[(step * 32) % len(X_TRAIN) :][:32]
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X_TRAIN[idx]), Y_TRAIN[idx])
        if inject is not None:
            loss = inject(step, loss, opt)
        loss.backward()
        opt.step()
        if watcher is not None:
            watcher.step(loss, batch_size=32)
            if watcher.should_stop:
                break
    if watcher is not None:
        watcher.close()
    return model, watcher


STEPS = 300
_CLEAN: list[float] = []


def _clean_loss() -> float:
    if not _CLEAN:
        _CLEAN.append(_test_loss(_train(STEPS)[0]))
    return _CLEAN[0]


def test_clean_run_learns() -> None:
    baseline = float(
        torch.nn.functional.mse_loss(torch.zeros_like(Y_TEST) + Y_TRAIN.mean(), Y_TEST)
    )
    assert _clean_loss() < 0.5 * baseline


def test_nan_is_recovered_by_restoring_the_last_good_checkpoint(tmp_path: Path) -> None:
    from driftline.client import init
    from driftline.config import load_settings
    from driftline.store import QueryService, Store

    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "data")})
    run = init("lab", settings=settings, system_metrics_interval=None, flush_interval=0.05)
    cm = CheckpointManager(tmp_path / "ckpt", serializer=TorchSerializer(), every=25, keep_last=2)
    guard = Guard([Rule(NonFinite(), "restore")], run=run)

    model, watcher = _train(
        STEPS,
        run=run,
        watcher_kwargs={"guard": guard, "checkpoints": cm, "sync_every": 10, "log_every": 5},
        inject=_nan_at_163,
    )
    assert run.finish(timeout=30.0) and run.stats().dropped == {}
    assert watcher is not None and not watcher.should_stop
    assert [c.step for c in watcher.restored] == [150]  # last checkpoint before step 163
    assert all(bool(torch.isfinite(p.detach()).all()) for p in model.parameters())
    recovered, clean = _test_loss(model), _clean_loss()
    # the recovered run lost 13 of 300 steps and saw other batches: within 30 % of the clean
    # test loss (0.084 vs 0.070 here), where an unguarded run ends with NaN weights
    assert abs(recovered - clean) <= 0.3 * clean, (recovered, clean)
    store = Store.open(settings.database_url)
    try:
        detail = QueryService(store).get_run(run.run_id)
        series = QueryService(store).run_metric_series(run.run_id, "loss")
    finally:
        store.close()
    events = detail["events"]
    assert [e["kind"] for e in events] == ["non_finite", "guard.restore"]
    assert events[0]["step"] == 163 and events[0]["evidence"]["values"]["loss"] == "nan"
    assert events[1]["evidence"]["restored_step"] == 150
    assert {m["key"] for m in detail["metrics"]} >= {"loss", "grad_norm", "lr", "step_time"}
    assert series["steps"][:3] == [0, 5, 10] and series["n_total"] == STEPS // 5
    assert series["values"][165 // 5] is None  # the NaN loss is logged as it was


def test_lr_spike_divergence_is_caught_and_the_rate_lowered(tmp_path: Path) -> None:
    run = RecordingRun()
    cm = CheckpointManager(tmp_path, serializer=TorchSerializer(), every=20, keep_last=3)
    guard = Guard(
        [Rule(Divergence(), ("restore", "lower_lr"))],
        run=run,
        lr_factor=0.05,
    )

    model, watcher = _train(
        STEPS,
        run=run,
        watcher_kwargs={"guard": guard, "checkpoints": cm, "sync_every": 5},
        inject=_lr_spike_at_120,
    )
    assert watcher is not None and not watcher.should_stop
    kinds = run.kinds()
    assert kinds == ["divergence", "guard.restore", "guard.lower_lr"], kinds
    first = run.events[0]
    assert 121 <= first["step"] <= 123  # two consecutive spikes after the jump at step 120
    assert first["evidence"]["z"] > 6 and first["evidence"]["consecutive"] == 2
    assert [c.step for c in watcher.restored] == [120]  # the state before the spiked update
    # the spiked rate (1.0) was multiplied by lr_factor and stays lowered
    assert watcher.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    assert run.events[2]["evidence"]["learning_rates"] == pytest.approx([0.05])
    assert run.points[first["step"] + 1]["lr"] == pytest.approx(1.0)  # logged before the action
    assert run.points[STEPS - 1]["lr"] == pytest.approx(0.05)
    recovered, clean = _test_loss(model), _clean_loss()
    # 0.068 vs 0.070 here; the unguarded spiked run ends with NaN weights
    assert abs(recovered - clean) <= 0.3 * clean, (recovered, clean)


def _nan_at_163(step: int, loss: Any, opt: Any) -> Any:
    return loss * float("nan") if step == 163 else loss


def _lr_spike_at_120(step: int, loss: Any, opt: Any) -> Any:
    if step == 120:
        for g in opt.param_groups:
            g["lr"] = g["lr"] * 20.0
    return loss


@pytest.mark.parametrize("inject", [_nan_at_163, _lr_spike_at_120])
def test_without_a_guard_the_injected_faults_ruin_the_run(inject: Any) -> None:
    model, _ = _train(STEPS, inject=inject)
    assert not math.isfinite(_test_loss(model))


def test_overfitting_run_is_stopped() -> None:
    torch.manual_seed(3)
    x, y = X_TRAIN[:12], torch.randn(12, 1) + Y_TRAIN[:12]  # tiny, noisy train set
    xv, yv = X_TEST[:256], Y_TEST[:256]
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 1),
    )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    run = RecordingRun()
    guard = Guard([Rule(Overfitting(patience=4), "stop")], run=run)
    watcher = watch(model, opt, run, guard=guard, sync_every=10, per_layer_every=None)
    max_epochs = 3000
    for epoch in range(max_epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        watcher.step(loss)
        if epoch % 10 == 9:
            with torch.no_grad():
                val = float(torch.nn.functional.mse_loss(model(xv), yv))
            watcher.evaluate({"val_loss": val})
        if watcher.should_stop:
            break
    watcher.close()
    assert watcher.should_stop and epoch < max_epochs - 1
    assert run.kinds() == ["overfitting", "guard.stop"]
    ev = run.events[0]["evidence"]
    assert ev["val"] > ev["best_val"] and ev["train"] < ev["train_at_best"]
    assert ev["evaluations_worse"] == 4 and ev["gap"] > 0
    assert run.points[epoch]["val_loss"] == pytest.approx(ev["val"])


def test_logged_metrics_match_manual_computation() -> None:
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = RecordingRun()
    watcher = watch(model, opt, run, log_every=2, per_layer_every=3, sync_every=4, batch_size=16)
    grad_norms, ratios, losses = [], [], []
    for _ in range(10):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X_TRAIN[:16]), Y_TRAIN[:16])
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        grad_norms.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))))
        opt.step()
        ratios.append(
            [
                float(0.1 * g.norm() / p.detach().norm())
                for g, p in zip(grads, model.parameters(), strict=True)
            ]
        )
        losses.append(float(loss.detach()))
        watcher.step(loss)
    assert sorted(run.points) == [0, 2, 4, 6]  # steps 8 and 9 still pending
    watcher.close()
    assert sorted(run.points) == [0, 2, 4, 6, 8]
    names = [n for n, _ in model.named_parameters()]
    for step, point in run.points.items():
        assert point["loss"] == pytest.approx(losses[step], rel=1e-6)
        assert point["grad_norm"] == pytest.approx(grad_norms[step], rel=1e-5)
        assert point["lr"] == 0.1 and point["step_time"] > 0
        assert point["throughput"] == pytest.approx(16 / point["step_time"])
        has_layers = step % 3 == 0
        assert ("update_ratio" in point) == has_layers
        if has_layers:
            for i, n in enumerate(names):
                assert point[f"update_ratio/{n}"] == pytest.approx(ratios[step][i], rel=1e-4)
                assert f"grad_norm/{n}" in point
    assert "gpu_memory_allocated" not in run.points[0]  # CPU model


def test_host_copies_happen_only_on_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    watcher = watch(model, opt, RecordingRun(), sync_every=8, per_layer_every=None)
    copies: list[int] = []
    real_cpu = torch.Tensor.cpu

    def counting_cpu(self: Any, *args: Any, **kwargs: Any) -> Any:
        copies.append(watcher.global_step)
        return real_cpu(self, *args, **kwargs)

    def forbidden(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a per-step host read")

    monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
    for name in ("item", "tolist", "__float__", "__bool__"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    for _ in range(24):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X_TRAIN[:8]), Y_TRAIN[:8])
        loss.backward()
        opt.step()
        if watcher.global_step % 8 != 7:
            watcher.step(loss)  # must not read a tensor on the host
        else:
            monkeypatch.undo()
            watcher.step(loss)
            monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
            for name in ("item", "tolist", "__float__", "__bool__"):
                monkeypatch.setattr(torch.Tensor, name, forbidden)
    monkeypatch.undo()
    assert copies == []  # every copy happened inside the sync steps, where cpu was unpatched
    assert watcher.global_step == 24


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_no_synchronisation_between_flushes_on_cuda() -> None:
    device = torch.device("cuda")
    model = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    run = RecordingRun()
    watcher = watch(
        model, opt, run, sync_every=10, per_layer_every=5, guard=Guard([Rule(NonFinite(), "stop")])
    )
    x, y = X_TRAIN[:64].to(device), Y_TRAIN[:64].to(device)
    for step in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if step % 10 == 9:
            watcher.step(loss)  # the sync step
        else:
            torch.cuda.set_sync_debug_mode("error")
            try:
                watcher.step(loss)
            finally:
                torch.cuda.set_sync_debug_mode("default")
    watcher.close()
    assert sorted(run.points) == list(range(30))
    assert run.points[29]["gpu_memory_allocated"] > 0
    assert math.isfinite(run.points[29]["grad_norm"])


def test_torch_checkpoints_round_trip_and_never_unpickle(tmp_path: Path) -> None:
    model, _ = _train(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    watcher = watch(model, opt, None)
    cm = CheckpointManager(tmp_path, serializer=TorchSerializer())
    cm.save(5, watcher.state_dict(), {"loss": 0.3})
    fresh = _model()
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.01, momentum=0.9)
    other = watch(fresh, fresh_opt, None)
    info, state = CheckpointManager(tmp_path, serializer=TorchSerializer()).resume()  # type: ignore[misc]
    other.load_state_dict(state)
    assert info.step == 5 and state["step"] == 0
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
    assert fresh_opt.param_groups[0]["lr"] == 0.01  # the current rate is kept
    # a checkpoint that would run code when unpickled is refused by weights_only loading
    path = tmp_path / info.file
    torch.save({"evil": _Evil()}, path)
    import hashlib
    import json

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["checkpoints"][0]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    _Evil.ran = False
    with pytest.raises(CheckpointError, match="deserialize"):
        CheckpointManager(tmp_path, serializer=TorchSerializer()).restore("last")
    assert not _Evil.ran


class _Evil:
    ran = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_mark, ())


def _mark() -> None:
    _Evil.ran = True


def test_bad_arguments() -> None:
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(InputError, match="model"):
        watch("model", opt, None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="optimizer"):
        watch(model, "sgd", None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="sync_every"):
        watch(model, opt, None, sync_every=0)
    with pytest.raises(InputError, match="per_layer_every"):
        watch(model, opt, None, per_layer_every=0)


def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    def guard() -> Guard:
        return Guard([Rule(NonFinite(), "restore"), Rule(Divergence(), "lower_lr")], max_restores=2)

    def cm() -> CheckpointManager:
        return CheckpointManager(tmp_path, serializer=TorchSerializer(), every=25, keep_last=2)

    def nan_at_30(step: int, loss: Any, opt: Any) -> Any:
        return loss * float("nan") if step == 30 else loss

    first_guard = guard()
    _, watcher = _train(
        110,
        watcher_kwargs={"guard": first_guard, "checkpoints": cm(), "sync_every": 10},
        inject=nan_at_30,
    )  # "crashes" after step 109: the last checkpoint is the one of step 100
    assert watcher is not None and first_guard.restores == 1
    fresh = _model()
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.05, momentum=0.9)
    second_guard = guard()
    resumed = watch(fresh, fresh_opt, None, guard=second_guard, checkpoints=cm())
    info = resumed.resume()
    assert info is not None and info.step == 100 and resumed.global_step == 100
    assert second_guard.restores == 1  # the retry budget survives the restart
    saved = CheckpointManager(tmp_path, serializer=TorchSerializer()).restore(100)[1]
    for name, p in fresh.state_dict().items():
        assert torch.equal(p, saved["model"][name])
    assert fresh_opt.state_dict()["state"][0]["momentum_buffer"].abs().sum() > 0
    # the divergence baseline came back too: a full window of the last 50 finite losses
    window = second_guard.rules[1].detector.to_dict()["state"]["_window"]
    assert len(window) == 50 and window == saved["guard"]["detectors"][1]["state"]["_window"]
    assert all(math.isfinite(v) for v in window)
    empty = watch(_model(), fresh_opt, None, checkpoints=CheckpointManager(tmp_path / "none"))
    assert empty.resume() is None and empty.global_step == 0
    with pytest.raises(InputError, match="checkpoints"):
        watch(_model(), fresh_opt, None).resume()


def test_a_skipped_optimizer_step_logs_no_gradient_norm() -> None:
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    run = RecordingRun()
    guard = Guard([Rule(NonFinite(), "stop")], run=run)
    watcher = watch(model, opt, run, guard=guard, sync_every=4)
    for step in range(4):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X_TRAIN[:8]), Y_TRAIN[:8])
        loss.backward()
        if step != 2:  # like a GradScaler that skips a step with overflowing gradients
            opt.step()
        watcher.step(loss)
    assert "grad_norm" not in run.points[2] and run.points[3]["grad_norm"] > 0
    assert run.events == [] and not watcher.should_stop


def test_long_parameter_names_give_keys_the_server_accepts() -> None:
    model = torch.nn.Sequential()
    model.add_module("block" * 50, torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = RecordingRun()
    watcher = watch(model, opt, run, per_layer_every=1, sync_every=1)
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(X_TRAIN[:4]), Y_TRAIN[:4]).backward()
    opt.step()
    watcher.step(torch.tensor(1.0))
    layer_keys = [k for k in run.points[0] if k.startswith(("grad_norm/", "update_ratio/"))]
    assert len(layer_keys) == 4 and all(len(k) <= 200 for k in layer_keys)
    assert len({k[-10:] for k in layer_keys if k.startswith("grad_norm/")}) == 2  # weight, bias
