"""A seeded simulator of a screening model in production, built on a real scikit-learn model.

The model is a logistic regression trained on scikit-learn's breast-cancer
dataset (it ships with scikit-learn: nothing is downloaded). It scores cell
nuclei measured from a scan: ``1`` means "likely malignant, refer for biopsy".

Production traffic is simulated hour by hour over the last ``days`` days:
cases are drawn from the held-out part of the dataset with a little
measurement noise, from three hospital sites, more by day than by night. From
``drift_day`` on, a scanner software update makes every site read larger and
coarser nuclei (:data:`SCREENING_DRIFTED_FEATURES`: ``area`` scaled up, ``texture``
shifted) and a fourth site joins, so the model refers more healthy cases.
Biopsy results (the labels) arrive hours to days after each prediction, so the
last days are only partly labelled; radiologists open (``click``) flagged
cases and some become a ``referral``.

Everything here is pure: arrays in, arrays out, no I/O. The demo sends it
through the SDK (see ``driftline demo``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from driftline.errors import InputError

__all__ = [
    "SCREENING_DRIFTED_FEATURES",
    "SCREENING_FEATURES",
    "ScreeningModel",
    "TrafficDay",
    "simulate_screening",
    "train_screening_model",
]

#: The model's inputs: the ten "mean" measurements of the dataset, renamed.
SCREENING_FEATURES: tuple[str, ...] = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
)

#: Columns whose distribution changes from ``drift_day`` on (``site`` gains a category).
SCREENING_DRIFTED_FEATURES: tuple[str, ...] = ("area", "site", "texture")

_SITES = np.array(["riverside", "hillcrest", "lakeview", "harbor"])
_SITE_P_BEFORE = np.array([0.5, 0.3, 0.2, 0.0])
_SITE_P_AFTER = np.array([0.35, 0.2, 0.15, 0.3])

#: Relative measurement noise added to every sampled case (share of the column's std).
NOISE = 0.05
#: After the drift, ``area`` is multiplied by this factor ...
AREA_FACTOR = 1.6
#: ... and ``texture`` shifted by this many of its standard deviations.
TEXTURE_SHIFT_SD = 1.5
#: Hours over which the drift ramps up from nothing to its full size.
DRIFT_RAMP_HOURS = 12.0
#: Share of cases whose biopsy result eventually arrives.
LABEL_SHARE = 0.92
#: Biopsy results arrive ``LABEL_MIN_DELAY_H`` plus a log-normal delay (median 30 h) later.
LABEL_MIN_DELAY_H = 6.0
_LABEL_MEDIAN_H = 30.0
#: Share of predictions that time out upstream (reported as an error).
ERROR_RATE = 0.003


@dataclass(frozen=True)
class ScreeningModel:
    """The fitted model and the data it was made from.

    Attributes
    ----------
    pipeline
        A fitted scikit-learn ``Pipeline`` (standard scaler + logistic regression)
        over :data:`SCREENING_FEATURES`.
    train, holdout : pandas.DataFrame
        Features plus ``site`` and ``malignant`` (the target, 1 = malignant).
    holdout_accuracy : float
        Accuracy on ``holdout`` (higher is better).
    """

    pipeline: Any
    train: pd.DataFrame
    holdout: pd.DataFrame
    holdout_accuracy: float

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of "malignant" for each row of ``features``."""
        x = features.loc[:, list(SCREENING_FEATURES)].to_numpy(dtype=np.float64)
        return np.asarray(self.pipeline.predict_proba(x)[:, 1], dtype=np.float64)

    def reference(self) -> pd.DataFrame:
        """The training frame as the monitor's reference: features, ``site``, prediction, score."""
        ref = self.train.drop(columns=["malignant"]).copy()
        scores = self.score(ref)
        ref["prediction"] = (scores >= 0.5).astype(np.int64)
        ref["score"] = scores
        return ref


def _dataset(seed: int) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x = np.asarray(data.data[:, : len(SCREENING_FEATURES)], dtype=np.float64)
    frame = pd.DataFrame(x, columns=list(SCREENING_FEATURES))
    rng = np.random.default_rng(seed)
    frame["site"] = rng.choice(_SITES, size=len(frame), p=_SITE_P_BEFORE)
    frame["malignant"] = (np.asarray(data.target) == 0).astype(np.int64)
    return frame


def train_screening_model(seed: int = 0) -> ScreeningModel:
    """Train the screening model on scikit-learn's breast-cancer dataset (about 0.1 s).

    Three quarters of the 569 cases train, the rest are held out (stratified).

    Examples
    --------
    >>> m = train_screening_model(seed=0)
    >>> len(m.train), len(m.holdout), m.holdout_accuracy > 0.9
    (426, 143, True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = _dataset(seed)
    train, holdout = train_test_split(
        frame, test_size=0.25, random_state=seed, stratify=frame["malignant"]
    )
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(train.loc[:, list(SCREENING_FEATURES)].to_numpy(), train["malignant"].to_numpy())
    model = ScreeningModel(
        pipeline, train.reset_index(drop=True), holdout.reset_index(drop=True), 0.0
    )
    acc = float(np.mean((model.score(model.holdout) >= 0.5) == model.holdout["malignant"]))
    return ScreeningModel(model.pipeline, model.train, model.holdout, acc)


@dataclass(frozen=True)
class TrafficDay:
    """One simulated day of traffic: what the model saw, and what arrived that day.

    Attributes
    ----------
    day : int
        0 for the oldest day.
    start : float
        Epoch seconds of the day's first hour.
    ids : list of str
        Prediction ids of the day's cases.
    features : pandas.DataFrame
        :data:`SCREENING_FEATURES` and ``site``, one row per case.
    timestamps, predictions, scores, latency_ms : numpy.ndarray
        Per case: epoch seconds, 0/1 decision, probability of malignant,
        milliseconds the model took.
    errors : list of str or None
        ``"upstream timeout"`` for the few failed calls, else ``None``.
    malignant : numpy.ndarray
        The true outcome of each case (known to the simulator only).
    label_ids, labels, label_times
        Biopsy results that arrived during the day (for this day's cases or
        earlier ones), with their arrival times.
    events : list of tuple
        ``(name, prediction id, epoch seconds)`` of the day's clicks and referrals.
    drift : float
        Size of the drift at the end of the day, 0 (none) to 1 (full).
    """

    day: int
    start: float
    ids: list[str]
    features: pd.DataFrame
    timestamps: np.ndarray
    predictions: np.ndarray
    scores: np.ndarray
    latency_ms: np.ndarray
    errors: list[str | None]
    malignant: np.ndarray
    label_ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    label_times: list[float] = field(default_factory=list)
    events: list[tuple[str, str, float]] = field(default_factory=list)
    drift: float = 0.0


def _hour_weights() -> np.ndarray:
    """Relative traffic per hour of the (UTC) day: busy by day, quiet at night (mean 1)."""
    hours = np.arange(24)
    w = 0.35 + np.clip(np.sin((hours - 6) / 14 * math.pi), 0.0, None) * 1.3
    return np.asarray(w / w.mean(), dtype=np.float64)


def _check(name: str, value: object, low: int) -> None:
    if type(value) is not int or value < low:
        raise InputError(f"{name}: expected an int >= {low}, got {value!r}")


def _checked_drift_day(end: float, days: int, rows_per_hour: int, drift_day: int | None) -> int:
    """The drift day of :func:`simulate_screening` (default ``days // 2``), arguments checked."""
    _check("days", days, 1)
    _check("rows_per_hour", rows_per_hour, 1)
    if drift_day is None:
        drift_day = days // 2
    _check("drift_day", drift_day, 0)
    if not isinstance(end, int | float) or not math.isfinite(end):
        raise InputError(f"end: expected epoch seconds, got {end!r}")
    return drift_day


def simulate_screening(
    model: ScreeningModel,
    *,
    end: float,
    days: int = 30,
    rows_per_hour: int = 150,
    drift_day: int | None = None,
    seed: int = 0,
) -> Iterator[TrafficDay]:
    """Simulate ``days`` days of screening traffic ending at ``end``, one day at a time.

    Parameters
    ----------
    model
        From :func:`train_screening_model`; its holdout cases are resampled.
    end
        Epoch seconds where the simulation stops (rounded down to the hour).
    days
        Days simulated (default 30).
    rows_per_hour
        Mean predictions per hour (default 150; busier by day, quieter at night).
    drift_day
        Day on which the drift starts (default ``days // 2``); ``days`` or more: no drift.
    seed
        Seed of the simulator; the same seed gives the same traffic.

    Yields
    ------
    TrafficDay
        Oldest first. Labels arriving after ``end`` are never yielded.

    Examples
    --------
    >>> m = train_screening_model()
    >>> days = list(simulate_screening(m, end=1_800_000_000, days=4, rows_per_hour=10))
    >>> [d.day for d in days], days[0].drift, days[-1].drift
    ([0, 1, 2, 3], 0.0, 1.0)
    >>> sorted(set(days[-1].features["site"]))
    ['harbor', 'hillcrest', 'lakeview', 'riverside']
    """
    drift_day = _checked_drift_day(end, days, rows_per_hour, drift_day)
    rng = np.random.default_rng(seed)
    cases = _CasePool.of(model)
    hour_w = _hour_weights()
    end_hour = math.floor(end / 3600) * 3600
    first = end_hour - days * 86400
    drift_at = first + drift_day * 86400
    pending: list[tuple[float, str, int]] = []  # (arrival, id, label): a heap
    counter = 0
    for day in range(days):
        # the order of the draws from ``rng`` is the simulation: keep it
        day_start = first + day * 86400
        ts, pick, features = cases.draw(rng, day_start, rows_per_hour * hour_w, drift_at)
        n = len(ts)
        scores = model.score(features)
        ids = [f"case-{counter + i:07d}" for i in range(n)]
        counter += n
        truth = cases.y[pick]
        latency, errors = _serving(rng, n)
        _queue_labels(rng, pending, ts, ids, truth)
        out = TrafficDay(
            day=day,
            start=float(day_start),
            ids=ids,
            features=features,
            timestamps=ts,
            predictions=(scores >= 0.5).astype(np.int64),
            scores=scores,
            latency_ms=latency,
            errors=errors,
            malignant=truth,
            events=_day_events(rng, ids, ts, scores, truth, end_hour),
            drift=float(
                np.clip((day_start + 86400 - drift_at) / (DRIFT_RAMP_HOURS * 3600.0), 0, 1)
            ),
        )
        _deliver_labels(out, pending, min(day_start + 86400.0, float(end_hour)))
        yield out


@dataclass(frozen=True)
class _CasePool:
    """The cases traffic is resampled from: features, their spread and outcomes."""

    x: np.ndarray
    sd: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, model: ScreeningModel) -> _CasePool:
        pool = pd.concat([model.train, model.holdout], ignore_index=True)
        x_pool = pool.loc[:, list(SCREENING_FEATURES)].to_numpy(dtype=np.float64)
        sd = model.train.loc[:, list(SCREENING_FEATURES)].to_numpy(dtype=np.float64).std(axis=0)
        return cls(x_pool, sd, pool["malignant"].to_numpy(dtype=np.int64))

    def draw(
        self,
        rng: np.random.Generator,
        day_start: float,
        hourly_rows: np.ndarray,
        drift_at: float,
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """A day's case times, pool indices and features (drifted from ``drift_at`` on).

        ``hourly_rows`` is the mean number of cases in each UTC hour of the day (0 to 23).
        """
        utc_hours = (int(day_start // 3600) + np.arange(24)) % 24
        counts = rng.poisson(hourly_rows[utc_hours])
        n = int(counts.sum())
        ts = np.repeat(day_start + np.arange(24) * 3600.0, counts) + rng.uniform(0, 3600, n)
        pick = rng.integers(0, len(self.x), n)
        sd = self.sd
        x = self.x[pick] + rng.normal(0.0, NOISE, (n, len(sd))) * sd
        x = np.abs(x)  # measurements are positive
        ramp = np.clip((ts - drift_at) / (DRIFT_RAMP_HOURS * 3600.0), 0.0, 1.0)
        i_area = SCREENING_FEATURES.index("area")
        i_texture = SCREENING_FEATURES.index("texture")
        x[:, i_area] *= 1.0 + (AREA_FACTOR - 1.0) * ramp
        x[:, i_texture] += TEXTURE_SHIFT_SD * sd[i_texture] * ramp
        after = rng.uniform(size=n) < ramp
        sites = np.where(
            after,
            rng.choice(_SITES, size=n, p=_SITE_P_AFTER),
            rng.choice(_SITES, size=n, p=_SITE_P_BEFORE),
        )
        features = pd.DataFrame(x, columns=list(SCREENING_FEATURES))
        features["site"] = sites
        return ts, pick, features


def _serving(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[str | None]]:
    """Latency in milliseconds of ``n`` calls, and their errors (a few time out)."""
    latency = rng.lognormal(math.log(12.0), 0.35, n)
    failed = rng.uniform(size=n) < ERROR_RATE
    latency[failed] = rng.uniform(800.0, 1500.0, int(failed.sum()))
    return latency, ["upstream timeout" if f else None for f in failed]


def _queue_labels(
    rng: np.random.Generator,
    pending: list[tuple[float, str, int]],
    ts: np.ndarray,
    ids: list[str],
    truth: np.ndarray,
) -> None:
    """Push the biopsy results onto the ``pending`` heap: most cases get one, hours to days later."""
    n = len(ids)
    has_label = rng.uniform(size=n) < LABEL_SHARE
    delay = (LABEL_MIN_DELAY_H + rng.lognormal(math.log(_LABEL_MEDIAN_H), 0.6, n)) * 3600.0
    for i in np.flatnonzero(has_label):
        heapq.heappush(pending, (float(ts[i] + delay[i]), ids[i], int(truth[i])))


def _deliver_labels(out: TrafficDay, pending: list[tuple[float, str, int]], until: float) -> None:
    """Move the results on the ``pending`` heap that arrive before ``until`` into ``out``."""
    while pending and pending[0][0] < until:
        arrival, pid, label = heapq.heappop(pending)
        out.label_ids.append(pid)
        out.labels.append(label)
        out.label_times.append(arrival)


def _day_events(
    rng: np.random.Generator,
    ids: list[str],
    ts: np.ndarray,
    scores: np.ndarray,
    truth: np.ndarray,
    end_hour: float,
) -> list[tuple[str, str, float]]:
    """Radiologists open flagged cases (``click``); some are referred (``referral``)."""
    n = len(ids)
    clicked = rng.uniform(size=n) < 0.05 + 0.45 * scores
    referred = clicked & (rng.uniform(size=n) < np.where(truth == 1, 0.8, 0.05))
    click_t = ts + rng.uniform(60.0, 1800.0, n)
    events = [("click", ids[i], float(click_t[i])) for i in np.flatnonzero(clicked)]
    events += [("referral", ids[i], float(click_t[i] + 600.0)) for i in np.flatnonzero(referred)]
    return [e for e in events if e[2] < end_hour]
