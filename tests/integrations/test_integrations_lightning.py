"""The Lightning logger and callback on real (tiny, CPU) Lightning training runs."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from lightning.pytorch import Callback, LightningModule  # noqa: E402

from driftline.errors import InputError  # noqa: E402
from driftline.integrations.lightning import DriftlineCallback, DriftlineLogger  # noqa: E402
from driftline.integrations.torch import TorchSerializer  # noqa: E402
from driftline.training import (  # noqa: E402
    CheckpointManager,
    Divergence,
    Guard,
    NonFinite,
    Overfitting,
    Rule,
)

# Lightning 2.6 with torch 2.13 warns about torch's own deprecations, and about the
# CPU-only, single-process data loading these tiny runs use on purpose.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:`isinstance.treespec, LeafSpec.` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings("ignore:The '.*dataloader' does not have many workers"),
    pytest.mark.filterwarnings("ignore:The number of training batches .* is smaller than"),
    pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no"),
]


@pytest.fixture(autouse=True)
def _one_thread_and_quiet() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    quiet = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    yield
    torch.set_num_threads(before)
    for lg, level in zip(quiet, levels, strict=True):
        lg.setLevel(level)


def _data(n: int, seed: int) -> tuple[Any, Any]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = torch.sin(2 * x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3] + 0.1 * torch.randn(n, 1, generator=g)
    return x, y


X_TRAIN, Y_TRAIN = _data(1024, 1)
X_VAL, Y_VAL = _data(256, 2)


def _loader(x: Any, y: Any, batch_size: int, shuffle: bool = False) -> Any:
    ds = torch.utils.data.TensorDataset(x, y)
    g = torch.Generator().manual_seed(7)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=g)


class Regressor(LightningModule):
    """An MLP; ``nan_at`` multiplies the loss of that global step by NaN."""

    def __init__(
        self, width: int = 32, lr: float = 0.05, nan_at: int | None = None, adam: bool = False
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        act = torch.nn.ReLU if adam else torch.nn.Tanh
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, width), act(), torch.nn.Linear(width, width), act(),
            torch.nn.Linear(width, 1),
        )  # fmt: skip

    def forward(self, x: Any) -> Any:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        if self.hparams["nan_at"] is not None and self.global_step == self.hparams["nan_at"]:
            loss = loss * float("nan")
        self.log("train_loss", loss, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y), on_epoch=True)

    def configure_optimizers(self) -> Any:
        if self.hparams["adam"]:
            return torch.optim.Adam(self.parameters(), lr=self.hparams["lr"])
        return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"], momentum=0.9)


def _trainer(logger: Any, callback: Any, max_epochs: int, **kwargs: Any) -> Any:
    return pl.Trainer(
        accelerator="cpu",
        max_epochs=max_epochs,
        logger=logger,
        callbacks=[callback],
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kwargs,
    )


def _val_loss(model: Any) -> float:
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(model(X_VAL), Y_VAL))


def _logger(tmp_path: Path, name: str) -> DriftlineLogger:
    from driftline.config import load_settings

    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "data")})
    return DriftlineLogger(
        project="lab", name=name, settings=settings, system_metrics_interval=None,
        flush_interval=0.05,
    )  # fmt: skip


def _stored(logger: DriftlineLogger, *keys: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from driftline.store import QueryService, Store

    run = logger.experiment
    store = Store.open(logger._init_options["settings"].database_url)
    try:
        q = QueryService(store)
        return q.get_run(run.run_id), {k: q.run_metric_series(run.run_id, k) for k in keys}
    finally:
        store.close()


EPOCHS = 5  # 32 batches of 32 per epoch: 160 optimizer steps
_CLEAN: list[float] = []


def _clean_val_loss() -> float:
    if not _CLEAN:
        model = Regressor()
        trainer = _trainer(False, DriftlineCallback(), EPOCHS)
        trainer.fit(model, _loader(X_TRAIN, Y_TRAIN, 32), _loader(X_VAL, Y_VAL, 256))
        _CLEAN.append(_val_loss(model))
    return _CLEAN[0]


def test_metrics_and_hyperparameters_arrive_in_the_store(tmp_path: Path) -> None:
    logger = _logger(tmp_path, "clean")
    callback = DriftlineCallback(per_layer_every=50, sync_every=8)
    model = Regressor()
    trainer = _trainer(logger, callback, 2, log_every_n_steps=4)
    trainer.fit(model, _loader(X_TRAIN, Y_TRAIN, 32), _loader(X_VAL, Y_VAL, 256))
    run = logger.experiment
    assert run.status == "finished" and run.stats().dropped == {}
    assert logger.version == run.run_id and logger.name == "clean"
    detail, series = _stored(logger, "loss", "grad_norm", "lr", "train_loss", "val_loss")
    assert detail["status"] == "finished" and detail["name"] == "clean"
    assert detail["config"] == {"width": 32, "lr": 0.05, "nan_at": None, "adam": False}
    keys = {m["key"] for m in detail["metrics"]}
    assert keys >= {"loss", "grad_norm", "lr", "step_time", "throughput", "update_ratio"}
    assert "grad_norm/net.0.weight" in keys and "update_ratio/net.4.bias" in keys
    assert series["loss"]["steps"] == list(range(64))  # every optimizer step of 2 epochs
    assert series["lr"]["values"] == [pytest.approx(0.05)] * 64
    assert all(v > 0 for v in series["grad_norm"]["values"])
    # the logger's own metrics (self.log) at Lightning's steps: every 4th step, and validation
    assert series["train_loss"]["steps"][:3] == [3, 7, 11]
    assert len(series["val_loss"]["steps"]) == 2
    # the callback's loss is the loss training_step returned, as the logger got it
    train = dict(zip(series["train_loss"]["steps"], series["train_loss"]["values"], strict=True))
    loss = dict(zip(series["loss"]["steps"], series["loss"]["values"], strict=True))
    assert all(loss[s] == pytest.approx(v, rel=1e-6) for s, v in train.items())


@pytest.mark.parametrize("accumulate", [1, 3])
def test_gradient_norm_is_measured_after_backward(accumulate: int) -> None:
    """Lightning's backward runs inside ``optimizer.step(closure)``: the norm is of this step.

    With gradient accumulation, one point per optimizer step (not per batch).
    """
    seen: list[float] = []

    class Probe(Callback):
        def on_before_optimizer_step(self, trainer: Any, module: Any, optimizer: Any) -> None:
            grads = [p.grad.norm() for p in module.parameters()]
            seen.append(float(torch.linalg.vector_norm(torch.stack(grads))))

    class Run:
        def __init__(self) -> None:
            self.points: dict[int, dict[str, float]] = {}

        def log(self, metrics: dict[str, float], step: int | None = None) -> None:
            assert step is not None
            self.points.setdefault(step, {}).update(metrics)

    run = Run()
    model = Regressor()
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=12, logger=False, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False,
        callbacks=[Probe(), DriftlineCallback(run=run, sync_every=5, batch_size=32)],
        accumulate_grad_batches=accumulate,
    )  # fmt: skip
    trainer.fit(model, _loader(X_TRAIN, Y_TRAIN, 32))
    assert sorted(run.points) == list(range(12)) and len(seen) == 12
    logged = [run.points[s]["grad_norm"] for s in range(12)]
    assert logged == pytest.approx(seen, rel=1e-5)
    assert all(run.points[s]["throughput"] > 0 for s in range(12))


def test_injected_nan_is_recovered_from_the_last_checkpoint(tmp_path: Path) -> None:
    logger = _logger(tmp_path, "nan")
    cm = CheckpointManager(tmp_path / "ckpt", serializer=TorchSerializer(), every=20, keep_last=2)
    guard = Guard([Rule(NonFinite(), "restore")])
    callback = DriftlineCallback(guard=guard, checkpoints=cm, sync_every=10)
    model = Regressor(nan_at=87)
    trainer = _trainer(logger, callback, EPOCHS)
    trainer.fit(model, _loader(X_TRAIN, Y_TRAIN, 32), _loader(X_VAL, Y_VAL, 256))
    assert callback.watcher is not None and not callback.watcher.should_stop
    assert [c.step for c in callback.watcher.restored] == [80]  # last checkpoint before 87
    assert trainer.global_step == EPOCHS * 32 and not trainer.should_stop
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    recovered, clean = _val_loss(model), _clean_val_loss()
    assert abs(recovered - clean) <= 0.3 * clean, (recovered, clean)
    detail, series = _stored(logger, "loss")
    assert [e["kind"] for e in detail["events"]] == ["non_finite", "guard.restore"]
    assert detail["events"][0]["step"] == 87
    assert detail["events"][1]["evidence"]["restored_step"] == 80
    assert math.isnan(series["loss"]["values"][87] or math.nan)


def test_without_the_guard_the_nan_ruins_the_run() -> None:
    model = Regressor(nan_at=87)
    trainer = _trainer(False, DriftlineCallback(), 3)
    trainer.fit(model, _loader(X_TRAIN, Y_TRAIN, 32))
    assert not math.isfinite(_val_loss(model))


def test_nan_with_a_stop_rule_stops_the_trainer() -> None:
    guard = Guard([Rule(NonFinite(), "stop")])
    callback = DriftlineCallback(guard=guard, sync_every=1)
    trainer = _trainer(False, callback, EPOCHS)
    trainer.fit(Regressor(nan_at=40), _loader(X_TRAIN, Y_TRAIN, 32))
    assert trainer.should_stop and guard.stopped
    assert trainer.global_step == 41  # stopped right after the bad step


def test_overfitting_run_is_stopped() -> None:
    torch.manual_seed(3)
    x, y = X_TRAIN[:12], torch.randn(12, 1) + Y_TRAIN[:12]  # tiny, noisy train set
    events: list[tuple[str, Any]] = []

    class Run:
        def log(self, metrics: dict[str, float], step: int | None = None) -> None:
            pass

        def log_event(self, kind: str, message: str = "", **kw: Any) -> None:
            events.append((kind, kw.get("evidence")))

    guard = Guard([Rule(Overfitting(patience=4), "stop")])
    callback = DriftlineCallback(guard=guard, run=Run(), per_layer_every=None)
    model = Regressor(width=128, lr=3e-3, adam=True)
    max_epochs = 3000
    trainer = _trainer(False, callback, max_epochs, check_val_every_n_epoch=10)
    trainer.fit(model, _loader(x, y, 12), _loader(X_VAL, Y_VAL, 256))
    assert trainer.should_stop and trainer.current_epoch < max_epochs - 1
    assert [k for k, _ in events] == ["overfitting", "guard.stop"]
    ev = events[0][1]  # validation worsened 4 times in a row while training kept improving
    assert ev["val"] > ev["best_val"] and ev["train"] < ev["train_at_best"]
    assert ev["evaluations_worse"] == 4 and guard.stopped


def test_divergence_lowers_the_rate_of_optimizer_and_scheduler(tmp_path: Path) -> None:
    class Spiky(Regressor):
        def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
            if self.global_step == 60:
                for g in self.trainer.optimizers[0].param_groups:
                    g["lr"] = g["lr"] * 20.0

        def configure_optimizers(self) -> Any:
            opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.LambdaLR(
                opt, lambda epoch: 1.0)}  # fmt: skip

    cm = CheckpointManager(tmp_path, serializer=TorchSerializer(), every=10, keep_last=3)
    guard = Guard([Rule(Divergence(), ("restore", "lower_lr"))], lr_factor=0.05)
    callback = DriftlineCallback(guard=guard, checkpoints=cm, sync_every=5, run=None)
    model = Spiky()
    trainer = _trainer(False, callback, EPOCHS)
    trainer.fit(model, _loader(X_TRAIN, Y_TRAIN, 32))
    assert not trainer.should_stop and guard.lr_reductions == 1
    assert callback.watcher is not None and [c.step for c in callback.watcher.restored] == [60]
    # the scheduler's base rate was lowered too, so its epoch steps did not undo the reduction
    assert trainer.lr_scheduler_configs[0].scheduler.base_lrs == [pytest.approx(0.0025)]
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0025)
    assert math.isfinite(_val_loss(model))


def test_logger_finalize_status_and_a_given_run(tmp_path: Path) -> None:
    logger = _logger(tmp_path, "failing")
    logger.log_metrics({"a": torch.tensor(1.5)}, step=0)
    logger.finalize("failed")
    assert logger.experiment.status == "failed"

    given = _logger(tmp_path, "given").experiment
    wrapped = DriftlineLogger(run=given)
    wrapped.log_hyperparams({"nested": {"k": [1, 2]}, "obj": object})
    wrapped.finalize("success")
    assert given.status == "running"  # a run the caller owns is flushed, not finished
    assert given.config == {"nested/k": [1, 2], "obj": repr(object)}
    assert given.finish(timeout=30.0)


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="sync_every: expected a positive int, got 0"):
        DriftlineCallback(sync_every=0)
    with pytest.raises(InputError, match="per_layer_every"):
        DriftlineCallback(per_layer_every=-1)
    with pytest.raises(InputError, match="guard: expected a driftline Guard, got str"):
        DriftlineCallback(guard="stop")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="project: expected a non-empty string"):
        DriftlineLogger(project="")
    with pytest.raises(InputError, match="run: expected a driftline Run, got int"):
        DriftlineLogger(run=3)
