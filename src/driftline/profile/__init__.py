"""Mergeable data profiles: the unit of scale of driftline.

:func:`profile` summarises a frame per column (counts, missing values,
moments, a KLL quantile sketch, a histogram on reference bins, category counts
with a top-k cap, a HyperLogLog distinct count) plus performance counts for
labelled rows. Profiles of partitions merge into the profile of the whole
(``a + b``), and serialise to JSON-safe dicts or compact bytes.

Examples
--------
>>> from driftline.profile import profile
>>> p = profile({"x": [1.0, 2.0, 3.0]})
>>> p.columns["x"].mean
2.0
"""

from __future__ import annotations

from driftline.profile._categorical import CategoricalProfile
from driftline.profile._config import ProfileConfig
from driftline.profile._dataset import (
    ColumnProfile,
    DatasetProfile,
    column_profile,
    performance_counts,
    profile,
    profile_columns,
    workers_for,
)
from driftline.profile._numerical import NumericalProfile
from driftline.profile._other import DatetimeProfile, TextProfile

__all__ = [
    "CategoricalProfile",
    "ColumnProfile",
    "DatasetProfile",
    "DatetimeProfile",
    "NumericalProfile",
    "ProfileConfig",
    "TextProfile",
    "column_profile",
    "performance_counts",
    "profile",
    "profile_columns",
    "workers_for",
]
