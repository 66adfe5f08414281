"""Bundled examples: a loan-default model with a known drift, and the live demo's data.

* :func:`generate_loans` / :func:`write_loans`: a seeded loan-default model with
  a known drift, for offline reports (``driftline demo --report-only``).
* :func:`train_screening_model` / :func:`simulate_screening`: a real
  scikit-learn model and 30 days of its production traffic, with a drift,
  late labels and business events (``driftline demo``).
* :func:`train_mlp`: a NumPy training loop guarded against non-finite losses.
* :func:`feed_screening` / :func:`record_training`: send all of it through the SDK.
* :func:`seed_demo` / :func:`seed_run`: fill a store directly (through its ingest
  service) with drifting hourly windows and training runs, for the dashboard's
  tests and benchmark; names include markup (:data:`MALICIOUS_NAME`).
"""

from __future__ import annotations

from driftline.examples._demo_feed import (
    DEMO_MODEL,
    DEMO_PROJECT,
    DEMO_VERSION,
    FeedSummary,
    TrainingSummary,
    feed_screening,
    record_training,
)
from driftline.examples._demo_training import TrainingResult, TrainingRunLike, train_mlp
from driftline.examples._loans import (
    DRIFTED_FEATURES,
    FEATURES,
    LoanExample,
    generate_loans,
    write_loans,
)
from driftline.examples._screening import (
    SCREENING_DRIFTED_FEATURES,
    SCREENING_FEATURES,
    ScreeningModel,
    TrafficDay,
    simulate_screening,
    train_screening_model,
)
from driftline.examples._seed import MALICIOUS_NAME, seed_demo, seed_run

__all__ = [
    "DEMO_MODEL",
    "DEMO_PROJECT",
    "DEMO_VERSION",
    "DRIFTED_FEATURES",
    "FEATURES",
    "MALICIOUS_NAME",
    "SCREENING_DRIFTED_FEATURES",
    "SCREENING_FEATURES",
    "FeedSummary",
    "LoanExample",
    "ScreeningModel",
    "TrafficDay",
    "TrainingResult",
    "TrainingRunLike",
    "TrainingSummary",
    "feed_screening",
    "generate_loans",
    "record_training",
    "seed_demo",
    "seed_run",
    "simulate_screening",
    "train_mlp",
    "train_screening_model",
    "write_loans",
]
