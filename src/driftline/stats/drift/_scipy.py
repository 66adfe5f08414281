"""Lazy access to scipy (private).

``import scipy.stats`` costs several hundred milliseconds, most of the start-up
time of ``import driftline``. The kernels that need it call these helpers, so
scipy is imported on the first such call, not when the package is imported.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def scipy_stats() -> ModuleType:
    """Return ``scipy.stats``, importing it on first use."""
    return importlib.import_module("scipy.stats")


def scipy_special() -> ModuleType:
    """Return ``scipy.special``, importing it on first use."""
    return importlib.import_module("scipy.special")
