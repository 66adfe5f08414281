"""The demo's data: the screening simulator and the guarded NumPy training loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftline.errors import InputError
from driftline.examples import (
    SCREENING_FEATURES,
    ScreeningModel,
    TrafficDay,
    simulate_screening,
    train_mlp,
    train_screening_model,
)

END = 1_800_000_000.0


@pytest.fixture(scope="module")
def model() -> ScreeningModel:
    return train_screening_model(seed=0)


@pytest.fixture(scope="module")
def days(model: ScreeningModel) -> list[TrafficDay]:
    return list(simulate_screening(model, end=END, days=6, rows_per_hour=40, seed=3))


def test_the_model_is_a_real_classifier_trained_on_the_dataset(model: ScreeningModel) -> None:
    assert model.holdout_accuracy > 0.9
    ref = model.reference()
    assert list(ref.columns) == [*SCREENING_FEATURES, "site", "prediction", "score"]
    assert set(ref["prediction"]) == {0, 1} and ref["score"].between(0, 1).all()


def test_the_simulation_is_deterministic(model: ScreeningModel, days: list[TrafficDay]) -> None:
    again = list(simulate_screening(model, end=END, days=6, rows_per_hour=40, seed=3))
    other = list(simulate_screening(model, end=END, days=6, rows_per_hour=40, seed=4))
    assert [d.ids for d in again] == [d.ids for d in days]
    assert np.array_equal(again[-1].scores, days[-1].scores)
    assert not np.array_equal(other[0].timestamps[:10], days[0].timestamps[:10])


def test_traffic_covers_the_days_before_end_with_unique_ids(days: list[TrafficDay]) -> None:
    ids = [i for d in days for i in d.ids]
    assert len(ids) == len(set(ids))
    ts = np.concatenate([d.timestamps for d in days])
    assert ts.min() >= END // 3600 * 3600 - 6 * 86400 and ts.max() < END
    n_per_hour = len(ids) / (6 * 24)
    assert 30 < n_per_hour < 50
    for d in days:
        assert len(d.features) == len(d.ids) == len(d.predictions) == len(d.errors)
        assert np.array_equal(d.predictions, (d.scores >= 0.5).astype(int))


def test_the_drift_starts_half_way(days: list[TrafficDay]) -> None:
    before = [d for d in days if d.drift == 0.0]
    after = [d for d in days[4:]]
    assert [d.day for d in before] == [0, 1, 2] and all(d.drift == 1.0 for d in after)
    assert not any("harbor" in set(d.features["site"]) for d in before)
    assert all("harbor" in set(d.features["site"]) for d in after)

    def mean(col: str, ds: list[TrafficDay]) -> float:
        return float(np.mean(np.concatenate([d.features[col].to_numpy() for d in ds])))

    assert mean("area", after) > 1.4 * mean("area", before)
    assert mean("texture", after) > mean("texture", before) + 4.0
    assert abs(mean("radius", after) / mean("radius", before) - 1) < 0.05
    acc_before = np.mean(np.concatenate([d.predictions == d.malignant for d in before]))
    acc_after = np.mean(np.concatenate([d.predictions == d.malignant for d in after]))
    assert acc_before > acc_after + 0.05


def test_labels_arrive_late_and_only_before_end(days: list[TrafficDay]) -> None:
    predicted = {
        i: (t, y) for d in days for i, t, y in zip(d.ids, d.timestamps, d.malignant, strict=True)
    }
    arrivals = [
        (i, y, t)
        for d in days
        for i, y, t in zip(d.label_ids, d.labels, d.label_times, strict=True)
    ]
    assert 0.5 * len(predicted) < len(arrivals) < len(predicted)
    for pid, label, at in arrivals:
        sent_at, truth = predicted[pid]
        assert at >= sent_at + 6 * 3600 and at < END and label == truth
    for d in days:  # a day only carries the labels that arrived that day
        assert all(d.start <= t < d.start + 86400 for t in d.label_times)
    last_ids = set(days[-1].ids)
    assert sum(pid in last_ids for pid, _, _ in arrivals) < 0.3 * len(last_ids)


def test_events_refer_to_predictions_of_the_day(days: list[TrafficDay]) -> None:
    for d in days:
        ids = set(d.ids)
        clicks = [e for e in d.events if e[0] == "click"]
        referrals = [e for e in d.events if e[0] == "referral"]
        assert 0 < len(referrals) < len(clicks) < len(ids)
        assert all(pid in ids and t < END for _, pid, t in d.events)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0}, "days"),
        ({"rows_per_hour": 0}, "rows_per_hour"),
        ({"end": float("nan")}, "end"),
    ],
)
def test_bad_arguments_name_the_field(
    model: ScreeningModel, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"end": END, **kwargs}
    with pytest.raises(InputError, match=field):
        next(simulate_screening(model, **args))


class Recorder:
    """A stand-in run that keeps what the training loop logs."""

    def __init__(self) -> None:
        self.metrics: list[tuple[int | None, dict[str, float]]] = []
        self.events: list[tuple[str, int | None, dict[str, Any]]] = []
        self.summary: dict[str, Any] = {}

    def log(self, metrics: Any, step: int | None = None) -> None:
        self.metrics.append((step, dict(metrics)))

    def log_event(
        self, kind: str, message: str = "", *, step: int | None = None, evidence: Any = None
    ) -> None:
        self.events.append((kind, step, dict(evidence or {})))

    def log_summary(self, summary: Any = None, **values: Any) -> None:
        self.summary.update(summary or {}, **values)


def _data(model: ScreeningModel) -> tuple[np.ndarray, ...]:
    cols = list(SCREENING_FEATURES)
    x = model.train[cols].to_numpy(dtype=float)
    mean, sd = x.mean(axis=0), x.std(axis=0)
    xv = (model.holdout[cols].to_numpy(dtype=float) - mean) / sd
    return (
        (x - mean) / sd,
        model.train["malignant"].to_numpy(float),
        xv,
        model.holdout["malignant"].to_numpy(float),
    )


def test_the_guard_restores_the_last_checkpoint_after_a_corrupt_batch(
    model: ScreeningModel, tmp_path: Path
) -> None:
    run = Recorder()
    result = train_mlp(run, *_data(model), tmp_path, epochs=6, corrupt_step=50, seed=1)
    assert [(k, s) for k, s, _ in run.events] == [("non_finite", 50), ("guard.restore", 50)]
    # checkpoints: every 20 steps and at each epoch's end (14 steps) when val_loss improved;
    # the last one before step 50 is the end of epoch 3
    assert run.events[1][2]["restored_step"] == 42
    losses = {s: m["loss"] for s, m in run.metrics if "loss" in m}
    assert np.isnan(losses[50]) and all(np.isfinite(v) for s, v in losses.items() if s != 50)
    assert result.restores == 1 and not result.stopped and result.val_accuracy > 0.9
    assert run.summary["restores"] == 1
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.suffix == ".npz")


def test_a_clean_run_has_no_events_and_a_corrupt_first_step_stops(
    model: ScreeningModel, tmp_path: Path
) -> None:
    clean = Recorder()
    result = train_mlp(clean, *_data(model), tmp_path / "a", epochs=3, seed=1)
    assert clean.events == [] and result.restores == 0 and result.steps == 3 * 14
    early = Recorder()
    result = train_mlp(early, *_data(model), tmp_path / "b", epochs=3, corrupt_step=0)
    assert [k for k, _, _ in early.events] == ["non_finite", "guard.restore_failed", "guard.stop"]
    assert result.stopped and result.steps == 0
