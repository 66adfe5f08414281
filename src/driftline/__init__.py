"""driftline: monitoring for machine-learning models, in training and in production."""

from __future__ import annotations

from driftline._version import __version__

__all__ = ["__version__"]
