"""The training-overhead benchmark still drives the watcher it measures (a few steps, CPU)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
import training_overhead_bench as bench


def test_micro_runs_the_watcher_with_and_without_a_run(tmp_path: Path) -> None:
    out = bench.micro("mlp", torch.device("cpu"), tmp_path, steps=25)
    assert set(out) == {"watch_us", "watch_run_us"}
    assert all(v > 0 for v in out.values())
