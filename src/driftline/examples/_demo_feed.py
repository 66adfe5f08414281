"""Send the demo's data through the SDK: production traffic and two training runs.

:func:`feed_screening` trains the screening model, uploads its reference and
replays :func:`~driftline.examples._screening.simulate_screening` day by day
through a :class:`~driftline.client.ModelMonitor` whose clock is the simulated
one; :func:`record_training` logs two NumPy MLP runs (one with a corrupt batch
the guard recovers from) with :func:`driftline.init`. Both go wherever the SDK
is pointed (``url=``: the demo's own server) and check that every record was
acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from driftline.config import Settings
from driftline.errors import DriftlineError
from driftline.examples._demo_training import TrainingResult, train_mlp
from driftline.examples._screening import (
    SCREENING_FEATURES,
    ScreeningModel,
    TrafficDay,
    simulate_screening,
)

if TYPE_CHECKING:
    from driftline.client import ModelMonitor
    from driftline.schema import Schema

__all__ = [
    "DEMO_MODEL",
    "DEMO_PROJECT",
    "DEMO_VERSION",
    "FeedSummary",
    "TrainingSummary",
    "feed_screening",
    "record_training",
]

#: Where the demo's data lives on the server.
DEMO_PROJECT = "clinic"
DEMO_MODEL = "tumor-screen"
DEMO_VERSION = "v1"

#: Seconds to wait for the server to acknowledge one simulated day.
FLUSH_TIMEOUT = 60.0

ProgressFn = Callable[..., None]


class _SimulatedClock:
    """A clock set by hand: the SDK stamps business events with the simulated time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class FeedSummary:
    """What :func:`feed_screening` sent, all of it acknowledged.

    Attributes
    ----------
    start, end, drift_start : float
        Epoch seconds: first simulated hour, end of the traffic, start of the drift.
    days, predictions, labels, events : int
        Days simulated and records acknowledged by the server.
    holdout_accuracy : float
        The model's accuracy on held-out data before deployment (higher is better).
    recent : pandas.DataFrame or None
        The cases of the last ``recent_days`` days with their prediction, score
        and true outcome (``malignant``), for an offline report.
    """

    start: float
    end: float
    drift_start: float
    days: int
    predictions: int
    labels: int
    events: int
    holdout_accuracy: float
    recent: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class TrainingSummary:
    """One training run the demo recorded: its id, name and result."""

    run_id: str
    name: str
    result: TrainingResult


def _unacknowledged(what: str, stats: object) -> DriftlineError:
    return DriftlineError(
        f"{what}: the server did not acknowledge everything within {FLUSH_TIMEOUT:g} s "
        f"(client counters: {stats})"
    )


def feed_screening(
    model: ScreeningModel,
    *,
    url: str,
    settings: Settings,
    end: float,
    token: str | None = None,
    days: int = 30,
    rows_per_hour: int = 100,
    seed: int = 0,
    recent_days: int = 7,
    progress: ProgressFn | None = None,
) -> FeedSummary:
    """Upload the reference, then ``days`` days of traffic, labels and events, day by day.

    Each day is flushed before the next, so the server holds the days in order
    (labels that arrive later join predictions already stored). The cases of the
    last ``recent_days`` days come back in :attr:`FeedSummary.recent`. Raises
    :class:`~driftline.errors.DriftlineError` when the server does not
    acknowledge a day, or dropped any record.
    """
    from driftline.client import ModelMonitor

    clock = _SimulatedClock(end - days * 86400.0)
    reference, schema = _reference_and_schema(model)
    monitor = ModelMonitor(
        DEMO_PROJECT,
        DEMO_MODEL,
        DEMO_VERSION,
        schema=schema,
        url=url,
        token=token,
        settings=settings,
        clock=clock,
        max_queue=100_000,
    )
    try:
        monitor.set_reference(reference)
        if not monitor.flush(FLUSH_TIMEOUT):
            raise _unacknowledged("reference", monitor.stats())
        n_pred = n_labels = n_events = 0
        first = drift_start = end
        recent: list[pd.DataFrame] = []
        for day in simulate_screening(
            model, end=end, days=days, rows_per_hour=rows_per_hour, seed=seed
        ):
            if day.day == 0:
                first = day.start
                drift_start = day.start + (days // 2) * 86400.0
            _send_day(monitor, clock, day)
            if day.day >= days - recent_days:
                recent.append(_recent_frame(day))
            n_pred += len(day.ids)
            n_labels += len(day.label_ids)
            n_events += len(day.events)
            if progress is not None and ((day.day + 1) % 10 == 0 or day.day + 1 == days):
                progress("production traffic: days", day.day + 1, days)
        stats = monitor.stats()
        if stats.dropped:
            raise DriftlineError(f"production traffic: the SDK dropped records: {stats.dropped}")
    finally:
        monitor.close()
    return FeedSummary(
        start=first,
        end=end,
        drift_start=drift_start,
        days=days,
        predictions=n_pred,
        labels=n_labels,
        events=n_events,
        holdout_accuracy=model.holdout_accuracy,
        recent=pd.concat(recent, ignore_index=True) if recent else None,
    )


def _reference_and_schema(model: ScreeningModel) -> tuple[pd.DataFrame, Schema]:
    """The monitor's reference (with labels, for realised performance) and its schema."""
    from driftline.schema import Schema

    reference = model.reference()
    reference["malignant"] = model.train["malignant"].to_numpy()  # labels: realised performance
    schema = Schema.infer(
        reference,
        target="malignant",
        prediction="prediction",
        scores=["score"],
        kinds={"site": "categorical", "prediction": "boolean", "malignant": "boolean"},
    )
    return reference, schema


def _send_day(monitor: ModelMonitor, clock: _SimulatedClock, day: TrafficDay) -> None:
    """Log a day's predictions, labels and events, and wait until the server has them all."""
    monitor.log_predictions(
        day.features,
        day.predictions,
        scores=day.scores,
        ids=day.ids,
        timestamps=day.timestamps,
        latency_ms=day.latency_ms,
        errors=day.errors,
    )
    if day.label_ids:
        monitor.log_labels(day.label_ids, day.labels, timestamps=day.label_times)
    for name, pid, at in day.events:
        clock.now = at
        monitor.log_event(name, prediction_id=pid)
    if not monitor.flush(FLUSH_TIMEOUT):
        raise _unacknowledged(f"day {day.day + 1}", monitor.stats())


def _recent_frame(day: TrafficDay) -> pd.DataFrame:
    """A day's cases with their prediction, score and true outcome."""
    frame = day.features.copy()
    frame["prediction"] = day.predictions
    frame["score"] = day.scores
    frame["malignant"] = day.malignant
    return frame


def record_training(
    model: ScreeningModel,
    *,
    url: str,
    settings: Settings,
    checkpoint_root: Path,
    token: str | None = None,
    epochs: int = 20,
    corrupt_step: int = 90,
    seed: int = 0,
) -> list[TrainingSummary]:
    """Train the next model version twice, as two runs: one hit by a corrupt batch, one clean.

    The first run (``mlp-guarded``) gets a NaN in the batch of ``corrupt_step`` (or
    half-way through, when the run is shorter);
    its guard restores the last good checkpoint and the run finishes. The second
    (``mlp-baseline``) trains on clean batches, for comparison.
    """
    from driftline.client import init

    cols = list(SCREENING_FEATURES)
    x_train = model.train.loc[:, cols].to_numpy(dtype=np.float64)
    mean, sd = x_train.mean(axis=0), x_train.std(axis=0)
    x_train = (x_train - mean) / sd
    x_val = (model.holdout.loc[:, cols].to_numpy(dtype=np.float64) - mean) / sd
    y_train = model.train["malignant"].to_numpy(dtype=np.float64)
    y_val = model.holdout["malignant"].to_numpy(dtype=np.float64)
    steps = epochs * -(-len(x_train) // 32)  # batches of 32
    corrupt_step = min(corrupt_step, steps // 2)  # always inside the run
    out = []
    for name, corrupt in (("mlp-guarded", corrupt_step), ("mlp-baseline", None)):
        config = {"model": "mlp", "hidden": 16, "lr": 0.1, "batch_size": 32, "epochs": epochs}
        run = init(
            DEMO_PROJECT,
            name=name,
            config={**config, "corrupt_step": corrupt},
            tags=["demo", "numpy"],
            url=url,
            token=token,
            settings=settings,
            system_metrics_interval=None,
        )
        result = train_mlp(
            run,
            x_train,
            y_train,
            x_val,
            y_val,
            checkpoint_root / name,
            hidden=16,
            lr=0.1,
            batch_size=32,
            epochs=epochs,
            corrupt_step=corrupt,
            seed=seed,
        )
        if not run.finish("failed" if result.stopped else "finished", timeout=FLUSH_TIMEOUT):
            raise _unacknowledged(f"training run {name!r}", run.stats())
        if run.stats().dropped:
            raise DriftlineError(f"training run {name!r}: dropped {run.stats().dropped}")
        out.append(TrainingSummary(run.run_id, name, result))
    return out
