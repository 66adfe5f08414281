"""driftline: monitoring for machine-learning models, in training and in production.

The public API, re-exported here:

- offline analysis: :class:`Report`, :class:`TestSuite`, :class:`Schema`, and
  :class:`DatasetProfile` (build one with :func:`driftline.profile.profile`);
- the SDK: :func:`init` (a training run), :class:`Run`, :class:`ModelMonitor`
  (a model in production).

>>> import driftline
>>> callable(driftline.init) and callable(driftline.Report)
True
"""

from __future__ import annotations

from driftline._version import __version__
from driftline.analysis import Report, TestSuite
from driftline.client import ModelMonitor, Run, init
from driftline.profile import DatasetProfile
from driftline.schema import ColumnKind, ColumnRole, ColumnSpec, Schema

__all__ = [
    "ColumnKind",
    "ColumnRole",
    "ColumnSpec",
    "DatasetProfile",
    "ModelMonitor",
    "Report",
    "Run",
    "Schema",
    "TestSuite",
    "__version__",
    "init",
]
