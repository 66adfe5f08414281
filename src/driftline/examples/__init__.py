"""Bundled example data: a seeded loan-default model with a known drift.

See :func:`generate_loans` and :func:`write_loans`.
"""

from __future__ import annotations

from driftline.examples._loans import (
    DRIFTED_FEATURES,
    FEATURES,
    LoanExample,
    generate_loans,
    write_loans,
)

__all__ = [
    "DRIFTED_FEATURES",
    "FEATURES",
    "LoanExample",
    "generate_loans",
    "write_loans",
]
