"""Per-step cost of training monitoring: driftline's watcher against TensorBoard and naive logging.

Two training loops, a small transformer (a 2-layer ``nn.TransformerEncoder``
language model, d_model 128, 4 heads, 64 tokens, vocabulary 1,000, batch 8) and an MLP (784-512-512-10, batch 128), both with AdamW, each timed in four modes:

* ``none``: the bare loop (forward, backward, ``optimizer.step``);
* ``driftline``: ``driftline.integrations.torch.watch(model, optimizer, run,
  guard=Guard([Rule(NonFinite(), "stop")]), batch_size=...)`` with its defaults
  (loss, global gradient norm, learning rate, step time and throughput every
  step; per-layer gradient norms and update ratios every 100 steps; one host copy
  every 20 steps), a real ``driftline.init`` run writing to the embedded SQLite
  store in a temporary directory, and the non-finite guard checking every step;
* ``watch-only``: the same watcher and guard with ``run=None``: what the
  watcher itself costs, without the SDK's queue and delivery thread;
* ``tensorboard``: ``torch.utils.tensorboard.SummaryWriter.add_scalar("loss",
  loss.item(), step)`` every step (one host sync per step);
* ``naive``: the loss and every parameter's gradient norm with ``.item()`` per
  step (one sync per parameter), the global norm from them, kept in a list.

Every (model, mode) pair is measured ``--rounds`` times; within a round the
modes run in a shuffled order (seeded), each from a fresh model with the same
seed, ``--warmup`` untimed steps (40; for driftline, their values are delivered
before the clock starts, so one-time costs of a new run stay out) and then a fixed number of timed steps
chosen so that the bare loop takes about ``--seconds`` seconds (whole windows of
20 steps, at least 100, so a per-layer step falls in the timed window). The overhead of a mode
in a round is its step time over the bare loop's in the same round, minus one;
the table gives the median over rounds and the spread (min-max). The same ratio
is computed from the process's CPU time (``time.process_time``: every thread of
the process, so driftline's delivery thread is counted), which other processes
on a shared machine disturb far less than wall time. Finishing the
driftline run (draining its queue) happens after the clock stops and is
reported apart (``drain_s``).

Run it with the benchmark environment (torch, tensorboard, matplotlib and the
project, see ``requirements-tensorboard-train.txt``)::

    benchmarks/.venvs/train/bin/python benchmarks/training_overhead_bench.py \\
        --out benchmarks/results/training_overhead.json --chart docs/img/training-overhead.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

MODES = ("none", "driftline", "watch-only", "tensorboard", "naive")
MODELS = ("transformer", "mlp")


class TinyLM(torch.nn.Module):
    """A small transformer language model: embeddings, 2 encoder layers, a vocabulary head."""

    def __init__(self, vocab: int = 1000, d_model: int = 128, layers: int = 2) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d_model)
        self.pos = torch.nn.Parameter(torch.zeros(1, 64, d_model))
        layer = torch.nn.TransformerEncoderLayer(
            d_model, nhead=4, dim_feedforward=4 * d_model, dropout=0.0, batch_first=True
        )
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens) + self.pos[:, : tokens.shape[1]]
        return self.head(self.encoder(h))


def make_task(name: str, device: torch.device) -> tuple[torch.nn.Module, Callable[[int], Any], int]:
    """Model, a ``loss(step)`` closure over fixed synthetic batches, and the batch size."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    if name == "transformer":
        model: torch.nn.Module = TinyLM()
        batch, seq = 8, 64
        data = torch.randint(0, 1000, (8, batch, seq + 1), generator=g).to(device)

        def loss(step: int) -> torch.Tensor:
            tok = data[step % len(data)]
            logits = model(tok[:, :-1])
            return torch.nn.functional.cross_entropy(
                logits.reshape(-1, 1000), tok[:, 1:].reshape(-1)
            )

    elif name == "mlp":
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
            torch.nn.ReLU(), torch.nn.Linear(512, 10),
        )  # fmt: skip
        batch = 128
        xs = torch.randn(8, batch, 784, generator=g).to(device)
        ys = torch.randint(0, 10, (8, batch), generator=g).to(device)

        def loss(step: int) -> torch.Tensor:
            return torch.nn.functional.cross_entropy(model(xs[step % 8]), ys[step % 8])

    else:
        raise ValueError(f"model: expected one of {MODELS}, got {name!r}")
    model.to(device)
    return model, loss, batch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    model_name: str, mode: str, steps: int, warmup: int, device: torch.device, tmp: Path
) -> dict[str, Any]:
    """Time ``steps`` training steps of one mode; return seconds per step and extras."""
    model, loss_fn, batch = make_task(model_name, device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    params = [p for p in model.parameters() if p.requires_grad]
    per_step: Callable[[int, torch.Tensor], None]
    finish: Callable[[], dict[str, Any]] = dict
    settle: Callable[[], object] = dict
    if mode == "none":

        def per_step(step: int, loss: torch.Tensor) -> None:
            pass

    elif mode == "driftline":
        from driftline.client import init
        from driftline.config import load_settings
        from driftline.integrations.torch import watch
        from driftline.training import Guard, NonFinite, Rule

        data_dir = tempfile.mkdtemp(dir=tmp)
        settings = load_settings({"DRIFTLINE_DATA_DIR": data_dir})
        run = init("bench", name=f"{model_name}", settings=settings, system_metrics_interval=None)
        guard = Guard([Rule(NonFinite(), "stop")], run=run)
        watcher = watch(model, opt, run, guard=guard, batch_size=batch)
        run.flush(timeout=60.0)  # the embedded store is created and migrated before the clock

        def per_step(step: int, loss: torch.Tensor) -> None:
            watcher.step(loss)

        def settle() -> bool:  # the warmup's values are delivered before the clock starts
            return bool(run.flush(timeout=60.0))

        def finish() -> dict[str, Any]:
            t0 = time.perf_counter()
            watcher.close()
            ok = run.finish(timeout=120.0)
            stats = run.stats()
            return {
                "drain_s": time.perf_counter() - t0,
                "delivered_ok": bool(ok),
                "dropped": dict(stats.dropped),
                "guard_stopped": guard.stopped,
            }

    elif mode == "watch-only":
        from driftline.integrations.torch import watch
        from driftline.training import Guard, NonFinite, Rule

        only = watch(model, opt, None, guard=Guard([Rule(NonFinite(), "stop")]), batch_size=batch)

        def per_step(step: int, loss: torch.Tensor) -> None:
            only.step(loss)

    elif mode == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=tempfile.mkdtemp(dir=tmp))

        def per_step(step: int, loss: torch.Tensor) -> None:
            writer.add_scalar("loss", loss.item(), step)

        def finish() -> dict[str, Any]:
            t0 = time.perf_counter()
            writer.close()
            return {"drain_s": time.perf_counter() - t0}

    elif mode == "naive":
        kept: list[tuple[float, float, list[float]]] = []

        def per_step(step: int, loss: torch.Tensor) -> None:
            norms = [p.grad.norm().item() for p in params if p.grad is not None]
            kept.append((loss.item(), math.sqrt(sum(n * n for n in norms)), norms))

    else:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")

    def train_step(step: int) -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(step)
        loss.backward()
        if mode == "naive":  # gradient norms are read before the update, like the others
            per_step(step, loss)
        opt.step()
        if mode != "naive":
            per_step(step, loss)
        return loss

    for s in range(warmup):
        train_step(s)
    _sync(device)
    settle()
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(warmup, warmup + steps):
        last = train_step(s)
    _sync(device)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    extra = finish()
    return {
        "model": model_name,
        "mode": mode,
        "steps": steps,
        "seconds": elapsed,
        "step_s": elapsed / steps,
        "cpu_step_s": cpu / steps,
        "final_loss": float(last.detach()),
        **extra,
    }


def micro(model_name: str, device: torch.device, tmp: Path, steps: int = 400) -> dict[str, float]:
    """The watcher's own work per step, in microseconds of the calling thread's CPU time.

    After one real backward, the two optimizer hooks and ``watcher.step`` are
    called ``steps`` times (per-layer work every 100 steps and a flush every 20
    included, as in training), without the optimizer's update in between; once
    with ``run=None`` and once with a real run (the caller's side of ``run.log``;
    the delivery thread's work is not in this figure, see ``cpu_step_s``).
    """
    from driftline.client import init
    from driftline.config import load_settings
    from driftline.integrations.torch import watch
    from driftline.training import Guard, NonFinite, Rule

    out: dict[str, float] = {}
    for label in ("watch_us", "watch_run_us"):
        model, loss_fn, batch = make_task(model_name, device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        run = None
        if label == "watch_run_us":
            settings = load_settings({"DRIFTLINE_DATA_DIR": tempfile.mkdtemp(dir=tmp)})
            run = init("bench", settings=settings, system_metrics_interval=None)
            run.flush(timeout=60.0)
        w = watch(model, opt, run, guard=Guard([Rule(NonFinite(), "stop")]), batch_size=batch)
        loss = loss_fn(0)
        loss.backward()
        _sync(device)
        c0 = time.thread_time()
        for _ in range(steps):
            w.capture_gradients()  # what the optimizer pre-step hook runs
            w._post_step(opt, (), {})
            w.step(loss)
        _sync(device)
        out[label] = 1e6 * (time.thread_time() - c0) / steps
        w.close()
        if run is not None:
            run.finish(timeout=120.0)
    return out


def summarise(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per model and mode: median steps/s, and the median/min/max of the per-round overhead."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for model in sorted({r["model"] for r in records}):
        rows = [r for r in records if r["model"] == model]
        base = {r["round"]: r["step_s"] for r in rows if r["mode"] == "none"}
        cpu_base = {r["round"]: r["cpu_step_s"] for r in rows if r["mode"] == "none"}
        out[model] = {}
        for mode in MODES:
            mine = [r for r in rows if r["mode"] == mode]
            if not mine:
                continue
            over = [100.0 * (r["step_s"] / base[r["round"]] - 1.0) for r in mine]
            cpu_over = [100.0 * (r["cpu_step_s"] / cpu_base[r["round"]] - 1.0) for r in mine]
            rate = [1.0 / r["step_s"] for r in mine]
            out[model][mode] = {
                "steps_per_s": statistics.median(rate),
                "steps_per_s_min": min(rate),
                "steps_per_s_max": max(rate),
                "step_ms": 1000.0 * statistics.median(r["step_s"] for r in mine),
                "cpu_step_s_median": statistics.median(r["cpu_step_s"] for r in mine),
                "overhead_pct": statistics.median(over),
                "overhead_pct_min": min(over),
                "overhead_pct_max": max(over),
                "cpu_overhead_pct": statistics.median(cpu_over),
                "cpu_overhead_pct_min": min(cpu_over),
                "cpu_overhead_pct_max": max(cpu_over),
                "rounds": len(mine),
            }
    return out


def markdown(summary: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| model | mode | steps/s (median) | steps/s min-max | step ms | overhead vs none"
        " (median) | overhead min-max | CPU-time overhead (median) | CPU-time overhead min-max |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for model, modes in summary.items():
        for mode, s in modes.items():
            over = "-" if mode == "none" else f"{s['overhead_pct']:+.1f} %"
            spread = (
                "-"
                if mode == "none"
                else f"{s['overhead_pct_min']:+.1f} to {s['overhead_pct_max']:+.1f} %"
            )
            cpu = "-" if mode == "none" else f"{s['cpu_overhead_pct']:+.1f} %"
            cpu_spread = (
                "-"
                if mode == "none"
                else f"{s['cpu_overhead_pct_min']:+.1f} to {s['cpu_overhead_pct_max']:+.1f} %"
            )
            lines.append(
                f"| {model} | {mode} | {s['steps_per_s']:.1f} | {s['steps_per_s_min']:.1f}-"
                f"{s['steps_per_s_max']:.1f} | {s['step_ms']:.2f} | {over} | {spread} | {cpu} |"
                f" {cpu_spread} |"
            )
    return "\n".join(lines)


def chart(records: list[dict[str, Any]], path: Path, title: str) -> None:
    """Per-round overhead of each mode against the bare loop: wall time and CPU time, per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in MODELS if any(r["model"] == m for r in records)]
    kinds = (("step_s", "wall-time"), ("cpu_step_s", "CPU-time"))
    fig, axes = plt.subplots(
        len(kinds), len(models), figsize=(5.5 * len(models), 7.5), squeeze=False
    )
    shown = [m for m in MODES if m != "none" and any(r["mode"] == m for r in records)]
    for row, (key, label) in enumerate(kinds):
        for ax, model in zip(axes[row], models, strict=True):
            rows = [r for r in records if r["model"] == model]
            base = {r["round"]: r[key] for r in rows if r["mode"] == "none"}
            data = [
                [100.0 * (r[key] / base[r["round"]] - 1.0) for r in rows if r["mode"] == m]
                for m in shown
            ]
            ax.boxplot(data, tick_labels=shown, whis=(0, 100))
            for i, d in enumerate(data, start=1):
                ax.scatter([i] * len(d), d, s=12, alpha=0.6, zorder=3)
            ax.axhline(0.0, color="grey", lw=0.8)
            ax.axhline(2.0, color="tab:red", lw=0.8, ls="--", label="2 % target")
            ax.set_title(f"{model}: {label} per step")
            ax.set_ylabel("overhead vs. no monitoring (%)")
            ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def machine(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    try:
        info["cpu"] = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per bare run")
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (CPU)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON results")
    p.add_argument("--chart", type=Path, default=None, help="PNG chart")
    args = p.parse_args(argv)
    if "none" not in args.modes:
        p.error("--modes must include 'none' (the baseline)")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rng = random.Random(args.seed)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        steps: dict[str, int] = {}
        for model in args.models:  # calibrate: steps for about --seconds of the bare loop
            probe = measure(model, "none", 20, args.warmup, device, tmp)
            # whole sync windows (20 steps), and at least 100 steps so that the timed
            # window holds a per-layer step (every 100) of the driftline mode
            steps[model] = max(100, 20 * round(args.seconds / probe["step_s"] / 20))
            print(f"{model}: {1000 * probe['step_s']:.2f} ms/step -> {steps[model]} steps/run")
        records: list[dict[str, Any]] = []
        for rnd in range(args.rounds):
            order = [(m, mode) for m in args.models for mode in args.modes]
            rng.shuffle(order)
            for model, mode in order:
                rec = measure(model, mode, steps[model], args.warmup, device, tmp)
                rec["round"] = rnd
                records.append(rec)
                print(
                    f"round {rnd} {model:11s} {mode:11s} {1000 * rec['step_s']:7.2f} ms/step",
                    flush=True,
                )
        micros = {model: micro(model, device, tmp) for model in args.models}
    summary = summarise(records)
    table = markdown(summary)
    print(table)
    for model, m in micros.items():
        base_us = 1e6 * summary[model]["none"]["cpu_step_s_median"]
        print(
            f"{model}: watcher {m['watch_us']:.0f} us/step, with a run {m['watch_run_us']:.0f}"
            f" us/step (calling thread's CPU time), bare step {base_us:.0f} us CPU"
        )
    info = machine(device)
    result = {
        "machine": info,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "rounds": args.rounds,
        "steps": steps,
        "warmup": args.warmup,
        "wall_s": time.time() - started,
        "summary": summary,
        "micro_us": micros,
        "records": records,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.chart is not None:
        where = info.get("gpu", info["cpu"])
        chart(records, args.chart, f"driftline training overhead, {where}, {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
