"""Thin adapters between ML frameworks and driftline; each imports its framework lazily.

* :mod:`driftline.integrations.torch`: ``watch(model, optimizer, run)`` logs loss,
  gradient norms, update ratios, learning rate, throughput and GPU memory from a
  PyTorch training loop without a host-device synchronisation per step, and runs
  a :class:`~driftline.training.Guard` on them.

Importing this package imports no framework.

Example
-------
>>> import sys, driftline.integrations
>>> "torch" in sys.modules or "driftline.integrations.torch" not in sys.modules
True
"""

from __future__ import annotations

__all__: list[str] = []
