"""The Hugging Face integration on real (tiny, CPU, offline) ``Trainer`` runs."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never touch the network
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from driftline.errors import InputError  # noqa: E402
from driftline.integrations.torch import TorchSerializer  # noqa: E402
from driftline.integrations.transformers import DriftlineCallback  # noqa: E402
from driftline.training import CheckpointManager, Guard, NonFinite, Overfitting, Rule  # noqa: E402

from .conftest import RecordingRun  # noqa: E402

SEQ = 8
VOCAB = 100


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(num_labels: int) -> Any:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=VOCAB,
        max_position_embeddings=SEQ,
        num_labels=num_labels,
    )
    return transformers.BertForSequenceClassification(config)


def _rows(n: int, seed: int, *, regression: bool) -> list[dict[str, Any]]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (n, SEQ), generator=g)
    rows = []
    for i in range(n):
        if regression:  # a learnable target: the share of tokens below VOCAB / 2
            label: Any = float((ids[i] < VOCAB // 2).float().mean())
        else:  # random classes: nothing to learn, only to memorise
            label = int(torch.randint(0, 2, (1,), generator=g))
        rows.append({"input_ids": ids[i], "attention_mask": torch.ones(SEQ), "labels": label})
    return rows


def _trainer(
    model: Any,
    train: list[dict[str, Any]],
    cb: DriftlineCallback,
    out: Path,
    eval_dataset: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> Any:
    args = transformers.TrainingArguments(
        output_dir=str(out),
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        per_device_train_batch_size=8,
        per_device_eval_batch_size=32,
        seed=0,
        **{"save_strategy": "no", **kw},
    )
    return transformers.Trainer(
        model=model, args=args, train_dataset=train, eval_dataset=eval_dataset, callbacks=[cb]
    )


def test_trainer_run_is_logged(tmp_path: Path) -> None:
    run = RecordingRun()
    cb = DriftlineCallback(run, per_layer_every=5, sync_every=3, config={"task": "demo"})
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), report_to=[], use_cpu=True, save_strategy="no",
        disable_tqdm=True, per_device_train_batch_size=8, num_train_epochs=2, learning_rate=1e-3,
        max_grad_norm=0.0, eval_strategy="epoch", logging_steps=1, seed=0,
    )  # fmt: skip
    model = _model(1)
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=_rows(64, 1, regression=True),
        eval_dataset=_rows(32, 2, regression=True), callbacks=[cb],
    )  # fmt: skip
    hf_logs: list[dict[str, float]] = []

    base: Any = transformers.TrainerCallback

    class Keep(base):  # type: ignore[misc,unused-ignore]
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            hf_logs.append(dict(logs or {}))

    trainer.add_callback(Keep())
    trainer.train()

    steps = sorted(s for s, p in run.points.items() if "loss" in p)
    assert steps == list(range(16))
    # the step loss and gradient norm agree with the Trainer's own per-step logs
    hf_steps = [h for h in hf_logs if "loss" in h and "grad_norm" in h]
    assert len(hf_steps) == 16
    for s, h in enumerate(hf_steps):
        assert run.points[s]["loss"] == pytest.approx(h["loss"], rel=1e-3, abs=1e-4)
        assert run.points[s]["grad_norm"] == pytest.approx(h["grad_norm"], rel=1e-4)
        assert run.points[s]["lr"] == pytest.approx(h["learning_rate"], rel=1e-6)
    p0 = run.points[0]
    assert p0["throughput"] == pytest.approx(8 / p0["step_time"])
    layer_keys = [k for k in p0 if k.startswith("update_ratio/")]
    assert layer_keys and all(p0[k] > 0 for k in layer_keys)
    assert any(k.startswith("grad_norm/bert.") for k in run.points[5])
    assert not any(k.startswith("grad_norm/") for k in run.points[1])
    # per epoch and per evaluation
    assert run.points[7]["epoch"] == pytest.approx(1.0)
    assert run.points[15]["epoch/loss"] == pytest.approx(
        sum(run.points[s]["loss"] for s in range(8, 16)) / 8, rel=1e-5
    )
    assert "eval_loss" in run.points[7] and "eval_loss" in run.points[15]
    assert "train_runtime" in run.points[15]
    assert run.summary["config"]["learning_rate"] == 1e-3
    assert run.summary["config"]["model.hidden_size"] == 32
    assert run.summary["config"]["task"] == "demo"
    assert cb.watcher is None  # closed at the end of training


def test_gradient_accumulation_logs_one_point_per_optimizer_step(tmp_path: Path) -> None:
    run = RecordingRun()
    cb = DriftlineCallback(run, sync_every=4)
    model = _model(1)
    model.config.hidden_dropout_prob = model.config.attention_probs_dropout_prob = 0.0
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    rows = _rows(64, 1, regression=True)
    trainer = _trainer(
        model, rows, cb, tmp_path,
        num_train_epochs=1, gradient_accumulation_steps=2, learning_rate=0.0,
    )  # fmt: skip
    trainer.train()
    steps = sorted(s for s, p in run.points.items() if "loss" in p)
    assert steps == [0, 1, 2, 3]
    # with a rate of 0 the weights stay put: the step losses (each the mean over two
    # micro-batches of 8) average to the loss of the whole data set
    model.eval()
    with torch.no_grad():
        out = model(
            input_ids=torch.stack([r["input_ids"] for r in rows]),
            attention_mask=torch.stack([r["attention_mask"] for r in rows]),
            labels=torch.tensor([r["labels"] for r in rows]),
        )
    mean = sum(run.points[s]["loss"] for s in steps) / 4
    assert mean == pytest.approx(float(out.loss), rel=1e-5)
    p0 = run.points[0]
    assert p0["throughput"] == pytest.approx(16 / p0["step_time"])


def test_injected_nan_is_restored_and_training_goes_on(tmp_path: Path) -> None:
    train = _rows(64, 1, regression=True)
    train[50]["labels"] = math.nan  # one bad sample: a NaN loss once per epoch (steps 5, 12, 18)
    run = RecordingRun()
    guard = Guard([Rule(NonFinite(), ("restore", "lower_lr"))], run=run, max_restores=5)
    cm = CheckpointManager(tmp_path / "ckpt", serializer=TorchSerializer(), every=2)
    cb = DriftlineCallback(run, guard=guard, checkpoints=cm, sync_every=2)
    model = _model(1)
    trainer = _trainer(model, train, cb, tmp_path / "out", num_train_epochs=3, learning_rate=1e-3)
    trainer.train()

    assert trainer.state.global_step == 24  # the run went on to the end
    restores = [e for e in run.events if e["kind"] == "guard.restore"]
    assert len(restores) == 3 and len(cb.restored) == 3  # one per epoch
    for e, info in zip(restores, cb.restored, strict=True):
        assert info.step < e["step"]
    assert not guard.stopped
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    # the scheduler's base rate was lowered too, so the schedule keeps the reduction
    assert trainer.lr_scheduler.base_lrs[0] == pytest.approx(1e-3 * 0.5**3)
    last = run.points[23]
    assert math.isfinite(last["loss"]) and last["lr"] < 1e-3 * 0.5**3


def test_nan_without_checkpoints_stops_training(tmp_path: Path) -> None:
    train = _rows(64, 1, regression=True)
    train[13]["labels"] = math.nan
    run = RecordingRun()
    guard = Guard([Rule(NonFinite(), "restore")], run=run)
    cb = DriftlineCallback(run, guard=guard, sync_every=1)
    trainer = _trainer(_model(1), train, cb, tmp_path, num_train_epochs=3)
    trainer.train()
    assert trainer.state.global_step < 8  # stopped within the first epoch
    assert guard.stopped and "guard.stop" in run.kinds()


def test_overfitting_run_is_stopped(tmp_path: Path) -> None:
    run = RecordingRun()
    guard = Guard([Rule(Overfitting(val_key="eval_loss", patience=2), "stop")], run=run)
    cm = CheckpointManager(tmp_path / "ckpt", serializer=TorchSerializer(), metric="eval_loss")
    cb = DriftlineCallback(run, guard=guard, checkpoints=cm)
    epochs = 60
    trainer = _trainer(
        _model(2), _rows(32, 3, regression=False), cb, tmp_path / "out",
        eval_dataset=_rows(64, 4, regression=False), num_train_epochs=epochs,
        learning_rate=3e-3, eval_strategy="epoch", warmup_steps=0, lr_scheduler_type="constant",
    )  # fmt: skip
    trainer.train()
    evals = [p["eval_loss"] for _, p in sorted(run.points.items()) if "eval_loss" in p]
    assert "overfitting" in run.kinds() and guard.stopped
    assert trainer.state.global_step < epochs * 4
    assert evals[-1] > min(evals)
    train = [p["epoch/loss"] for _, p in sorted(run.points.items()) if "epoch/loss" in p]
    assert train[-1] < train[0]  # training kept improving while validation got worse
    best = cm.best()
    assert best is not None and best.metrics["eval_loss"] == pytest.approx(min(evals))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="sync_every"):
        DriftlineCallback(None, sync_every=0)
    with pytest.raises(InputError, match="per_layer_every"):
        DriftlineCallback(None, per_layer_every=-2)
    with pytest.raises(InputError, match="guard"):
        DriftlineCallback(None, guard=object())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="config"):
        DriftlineCallback(None, config=[1])  # type: ignore[arg-type]


def test_checkpoints_hold_the_scheduler_and_a_resumed_trainer_goes_on(tmp_path: Path) -> None:
    train = _rows(96, 2, regression=True)
    kw: dict[str, Any] = {"learning_rate": 1e-3, "lr_scheduler_type": "linear", "max_steps": 12}

    # the reference: one uninterrupted run of 12 steps
    whole = RecordingRun()
    _trainer(_model(1), train, DriftlineCallback(whole, sync_every=4), tmp_path / "a", **kw).train()

    # the same run, interrupted after 8 steps (a Trainer checkpoint at step 8) ...
    cm = CheckpointManager(tmp_path / "ckpt", serializer=TorchSerializer(), every=4)
    first = RecordingRun()
    out = tmp_path / "b"
    interrupted = _trainer(
        _model(1), train, DriftlineCallback(first, checkpoints=cm, sync_every=4), out,
        **{**kw, "save_strategy": "steps", "save_steps": 8},
    )  # fmt: skip
    interrupted.train()  # runs to 12 like the reference; keep only what step 8 saved
    saved = cm.restore(8)[1]
    # the scheduler's state is in the checkpoint, taken right after the optimizer's 8th
    # step, before the scheduler's own 8th step
    assert saved["scheduler"]["last_epoch"] == 7
    assert saved["step"] == 8

    # ... resumed by a new Trainer from its step-8 checkpoint: the curves go on at step 8
    second = RecordingRun()
    resumed = _trainer(_model(1), train, DriftlineCallback(second, sync_every=4), out, **kw)
    resumed.train(resume_from_checkpoint=str(out / "checkpoint-8"))
    assert sorted(second.points) == list(range(8, 12))
    for step in range(8, 12):
        assert second.points[step]["lr"] == pytest.approx(whole.points[step]["lr"], rel=1e-6)
