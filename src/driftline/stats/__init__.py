"""Pure numeric kernels: drift statistics and model metrics.

numpy arrays in, numbers out; no I/O, no pandas in signatures. See
:mod:`driftline.stats.drift` and :mod:`driftline.stats.metrics`.
"""

from __future__ import annotations
