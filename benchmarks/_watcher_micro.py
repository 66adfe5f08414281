"""The watcher's own CPU time per step (``training_overhead_bench.micro``), for one source tree.

Usage (alternate two trees by hand, each with its own ``src`` on ``PYTHONPATH``)::

    PYTHONPATH=TREE/src .venv/bin/python benchmarks/_watcher_micro.py TREE

Prints ``{"watch_us": ..., "watch_run_us": ...}``: microseconds of the watcher per step of
the ``mlp`` task on the CPU (2,000 steps), without and with a run delivering to the
embedded store.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch

tree = sys.argv[1]
sys.path.insert(0, tree + "/benchmarks")
torch.set_num_threads(1)

import training_overhead_bench as bench

with tempfile.TemporaryDirectory() as tmp:
    out = bench.micro("mlp", torch.device("cpu"), Path(tmp), steps=2000)
print(json.dumps(out))
