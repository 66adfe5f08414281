"""Pure numeric kernels: drift statistics and model metrics.

numpy arrays in, numbers out; no I/O, no pandas in signatures.

- :mod:`driftline.stats.drift`: drift methods (exact on raw arrays, from aligned counts and
  from profile summaries), their registry, binning and Benjamini-Hochberg adjustment.
- :mod:`driftline.stats.metrics`: classification and regression metrics, exact on raw arrays
  and from mergeable counts, with their registry.

>>> from driftline.stats import drift, metrics
>>> "psi" in drift.available_methods() and "accuracy" in metrics.available_metrics()
True
"""

from __future__ import annotations

from driftline.stats import drift, metrics

__all__ = ["drift", "metrics"]
