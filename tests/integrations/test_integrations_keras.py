"""The Keras 3 integration on real (small, CPU) ``model.fit`` runs, torch backend."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from driftline.errors import InputError  # noqa: E402
from driftline.integrations.keras import DriftlineCallback, KerasSerializer  # noqa: E402
from driftline.training import CheckpointManager, Guard, NonFinite, Overfitting, Rule  # noqa: E402

from .conftest import RecordingRun  # noqa: E402

if keras.backend.backend() != "torch":  # pragma: no cover - another backend was set
    pytest.skip("these tests need KERAS_BACKEND=torch", allow_module_level=True)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (np.sin(2 * x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]).astype("float32")
    return x, y + 0.1 * rng.normal(size=y.shape).astype("float32")


def _mlp(lr: float, hidden: int = 32) -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hidden, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse", metrics=["mae"])
    return model


def _finite(model: Any) -> bool:
    return all(bool(torch.isfinite(w.value).all()) for w in model.weights)


def test_step_values_match_a_manual_computation() -> None:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    lr = 0.05
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    x, y = _data(64, 3)
    w0 = [w.value.detach().numpy().astype(np.float64) for w in model.weights]  # kernel, bias
    run = RecordingRun()
    cb = DriftlineCallback(run, batch_size=16, per_layer_every=1, config={"lr": lr})
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, callbacks=[cb], verbose=0,
              validation_data=_data(32, 4))  # fmt: skip

    # step 0: loss, gradient and update from the initial weights, by hand
    xb, yb = x[:16].astype(np.float64), y[:16].astype(np.float64)
    resid = xb @ w0[0] + w0[1] - yb
    g_kernel, g_bias = 2 * xb.T @ resid / 16, 2 * resid.sum(0) / 16
    p0 = run.points[0]
    assert p0["loss"] == pytest.approx(float(np.mean(resid**2)), rel=1e-5)
    gnorm = math.sqrt(float(np.sum(g_kernel**2) + np.sum(g_bias**2)))
    assert p0["grad_norm"] == pytest.approx(gnorm, rel=1e-4)
    kernel = model.weights[0].path
    assert p0[f"grad_norm/{kernel}"] == pytest.approx(float(np.linalg.norm(g_kernel)), rel=1e-4)
    w1 = w0[0] - lr * g_kernel
    expected_ratio = lr * np.linalg.norm(g_kernel) / np.linalg.norm(w1)
    assert p0[f"update_ratio/{kernel}"] == pytest.approx(float(expected_ratio), rel=1e-3)
    assert p0["lr"] == pytest.approx(lr)
    assert p0["throughput"] == pytest.approx(16 / p0["step_time"])

    # the per-step loss is each batch's own loss, not Keras' running mean: replay with lr=0
    model.optimizer.learning_rate.assign(0.0)
    run2 = RecordingRun()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, callbacks=[DriftlineCallback(run2)],
              verbose=0)  # fmt: skip
    for i in range(4):
        batch_loss = model.evaluate(x[16 * i : 16 * i + 16], y[16 * i : 16 * i + 16], verbose=0)
        assert run2.points[i]["loss"] == pytest.approx(float(batch_loss), rel=1e-4)

    # per epoch: the epoch means and validation metrics at the epoch's last step
    assert cb.global_step == 8
    assert set(run.points[3]) >= {"epoch", "epoch/loss", "val_loss"}
    assert run.points[7]["epoch"] == 1.0
    assert run.summary["config"] == {"optimizer": "SGD", "epochs": 2, "steps": 4, "lr": lr}
    # per-layer values only every per_layer_every steps (default 100)
    assert f"grad_norm/{kernel}" in run2.points[0] and "update_ratio" in run2.points[0]
    assert not any(k.startswith(("grad_norm/", "update_ratio")) for k in run2.points[1])


def test_injected_nan_is_restored_and_training_goes_on(tmp_path: Path) -> None:
    x, y = _data(512, 1)
    x[192:224] = np.nan  # batch 6 of each epoch (batch_size 32, no shuffling)
    run = RecordingRun()
    guard = Guard([Rule(NonFinite(), "restore")], run=run, max_restores=5)
    cm = CheckpointManager(tmp_path, serializer=KerasSerializer(), every=4)
    model = _mlp(1e-2)
    cb = DriftlineCallback(run, guard=guard, checkpoints=cm, batch_size=32)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, callbacks=[cb], verbose=0)

    assert cb.global_step == 32  # nothing stopped the run
    assert [r.step for r in cb.restored] == [4, 20]  # last checkpoint before each NaN
    assert [e["step"] for e in run.events if e["kind"] == "guard.restore"] == [6, 22]
    assert _finite(model)
    assert not guard.stopped and not model.stop_training
    losses = [run.points[s]["loss"] for s in range(32)]
    assert math.isnan(losses[6]) and all(math.isfinite(v) for v in losses[7:22])
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    # the restored weights are the checkpoint's (the NaN batch left no trace)
    xt, yt = _data(128, 2)
    assert float(model.evaluate(xt, yt, verbose=0)[0]) < 1.0


def test_restore_with_lower_lr_keeps_the_lowered_rate(tmp_path: Path) -> None:
    x, y = _data(256, 1)
    x[96:128] = np.nan  # batch 3
    run = RecordingRun()
    guard = Guard([Rule(NonFinite(), ("restore", "lower_lr"))], run=run, lr_factor=0.5)
    cm = CheckpointManager(tmp_path, serializer=KerasSerializer(), every=2)
    model = _mlp(1e-2)
    cb = DriftlineCallback(run, guard=guard, checkpoints=cm)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, callbacks=[cb], verbose=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(5e-3)
    assert run.points[7]["lr"] == pytest.approx(5e-3)
    assert {"guard.restore", "guard.lower_lr"} <= set(run.kinds())
    assert _finite(model)


def test_nan_without_a_checkpoint_stops_the_fit() -> None:
    x, y = _data(256, 1)
    x[64:96] = np.nan  # batch 2
    run = RecordingRun()
    guard = Guard([Rule(NonFinite(), "restore")], run=run)  # no checkpoints: restore fails
    cb = DriftlineCallback(run, guard=guard)
    model = _mlp(1e-2)
    model.fit(x, y, batch_size=32, epochs=3, shuffle=False, callbacks=[cb], verbose=0)
    assert cb.global_step == 3
    assert guard.stopped
    assert "guard.restore_failed" in run.kinds() and "guard.stop" in run.kinds()


def test_overfitting_run_is_stopped_and_best_checkpoint_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    xv, yv = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    run = RecordingRun()
    guard = Guard([Rule(Overfitting(patience=3), "stop")], run=run)
    cm = CheckpointManager(tmp_path, serializer=KerasSerializer(), metric="val_loss")
    model = _mlp(3e-2, hidden=64)
    cb = DriftlineCallback(run, guard=guard, checkpoints=cm)
    hist = model.fit(x, y, batch_size=16, epochs=200, validation_data=(xv, yv), callbacks=[cb],
                     verbose=0)  # fmt: skip
    epochs = len(hist.history["val_loss"])
    assert epochs < 200
    assert "overfitting" in run.kinds() and guard.stopped
    val = [float(v) for v in hist.history["val_loss"]]
    best = cm.best()
    assert best is not None and best.metrics["val_loss"] == pytest.approx(min(val), rel=1e-6)
    assert val[-1] > min(val)
    # the best checkpoint loads back into the model
    _, state = cm.restore("best")
    cb.load_state_dict(state)
    assert float(model.evaluate(xv, yv, verbose=0)[0]) == pytest.approx(min(val), rel=1e-4)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="log_every"):
        DriftlineCallback(None, log_every=0)
    with pytest.raises(InputError, match="per_layer_every"):
        DriftlineCallback(None, per_layer_every=0)
    with pytest.raises(InputError, match="batch_size"):
        DriftlineCallback(None, batch_size=-1)
    with pytest.raises(InputError, match="guard"):
        DriftlineCallback(None, guard="stop")  # type: ignore[arg-type]
    model = _mlp(1e-2)
    model.fit(*_data(32, 1), epochs=1, verbose=0)
    cb = DriftlineCallback(None)
    cb.set_model(model)
    with pytest.raises(InputError, match="weight arrays"):
        cb.load_state_dict({"weights/00000": np.ones(2)})


def _arrays(variables: Any) -> list[np.ndarray]:
    return [v.value.detach().cpu().numpy().copy() for v in variables]


def _scalar(variable: Any) -> float:
    return float(variable.value.detach().cpu())


def test_an_interrupted_fit_resumes_from_its_newest_checkpoint(tmp_path: Path) -> None:
    x, y = _data(256, seed=3)
    root = tmp_path / "ckpt"
    first = _mlp(0.01)
    cb = DriftlineCallback(
        RecordingRun(),
        checkpoints=CheckpointManager(root, every=8, keep_last=2, serializer=KerasSerializer()),
    )
    first.fit(x, y, batch_size=32, epochs=2, shuffle=False, callbacks=[cb], verbose=0)
    saved_weights = _arrays(first.weights)
    saved_iterations = _scalar(first.optimizer.iterations)
    assert cb.global_step == 16

    # a new process: the same architecture, fresh weights and an unbuilt optimizer
    second = _mlp(0.5, hidden=32)
    keras.utils.set_random_seed(7)
    resumed = DriftlineCallback(
        RecordingRun(),
        checkpoints=CheckpointManager(root, every=8, keep_last=2, serializer=KerasSerializer()),
    )
    initial_epoch = resumed.resume(second)
    assert initial_epoch == 2
    assert resumed.global_step == 16
    for got, want in zip(_arrays(second.weights), saved_weights, strict=True):
        np.testing.assert_array_equal(got, want)
    assert _scalar(second.optimizer.iterations) == saved_iterations
    assert math.isclose(_scalar(second.optimizer.learning_rate), 0.01, rel_tol=1e-6)

    second.fit(
        x, y, batch_size=32, epochs=3, initial_epoch=initial_epoch, shuffle=False,
        callbacks=[resumed], verbose=0,
    )  # fmt: skip
    assert resumed.global_step == 24
    assert min(resumed.run.points) == 16  # steps go on where the interrupted run stopped


def test_resume_without_a_checkpoint_starts_fresh(tmp_path: Path) -> None:
    model = _mlp(0.01)
    cb = DriftlineCallback(
        RecordingRun(), checkpoints=CheckpointManager(tmp_path, serializer=KerasSerializer())
    )
    assert cb.resume(model) == 0
    assert cb.global_step == 0
    with pytest.raises(InputError, match="checkpoints"):
        DriftlineCallback(RecordingRun()).resume(model)


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path: Path) -> None:
    x, y = _data(64, seed=1)
    small = _mlp(0.01, hidden=8)
    cm = CheckpointManager(tmp_path, every=2, serializer=KerasSerializer())
    small.fit(x, y, batch_size=32, epochs=1, callbacks=[DriftlineCallback(None, checkpoints=cm)],
              verbose=0)  # fmt: skip
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    other.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    cb = DriftlineCallback(
        None, checkpoints=CheckpointManager(tmp_path, serializer=KerasSerializer())
    )
    with pytest.raises(InputError, match="weight arrays"):
        cb.resume(other)
