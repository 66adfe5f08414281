"""Table-driven tests of each training detector, with pinned steps."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from driftline.errors import InputError
from driftline.training import (
    Detection,
    Detector,
    Divergence,
    ExplodingGradients,
    NonFinite,
    Overfitting,
    Plateau,
    VanishingGradients,
)

NAN, INF = float("nan"), float("inf")


def _fired(detector: Detector, series: list[dict[str, float]]) -> list[int]:
    """Steps (indexes) at which the detector fired."""
    return [s for s, m in enumerate(series) if detector.update(s, m) is not None]


def _noisy_decay(n: int, seed: int = 3) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(1.0 / np.sqrt(np.arange(1, n + 1)) + 0.01 * rng.standard_normal(n))


CASES: list[tuple[str, Callable[[], Detector], list[dict[str, float]], list[int]]] = [
    ("finite stays quiet", NonFinite, [{"loss": 1.0, "grad_norm": 2.0}] * 5, []),
    (
        "nan loss and inf grad",
        NonFinite,
        [{"loss": 1.0}, {"loss": NAN}, {"loss": 0.5, "grad_norm": INF}, {"loss": 0.4}],
        [1, 2],
    ),
    ("absent keys are skipped", NonFinite, [{"acc": NAN}, {}], []),
    (
        "watched keys only",
        lambda: NonFinite(keys=("val_loss",)),
        [{"loss": NAN}, {"val_loss": -INF}],
        [1],
    ),
    (
        "spike against a noisy decay",
        lambda: Divergence(window=30, min_history=10, patience=1),
        [{"loss": v} for v in _noisy_decay(40)] + [{"loss": 5.0}, {"loss": 0.16}],
        [40],
    ),
    (
        "no spike before min_history",
        lambda: Divergence(window=30, min_history=10),
        [{"loss": 1.0}, {"loss": 50.0}] + [{"loss": 1.0}] * 5,
        [],
    ),
    (
        "patience needs consecutive spikes",
        lambda: Divergence(window=20, min_history=5, patience=2),
        [{"loss": 1.0}] * 6 + [{"loss": 9.0}, {"loss": 1.0}, {"loss": 9.0}, {"loss": 9.0}],
        [9],
    ),
    (
        "max mode flags drops",
        lambda: Divergence("acc", mode="max", window=10, min_history=5, patience=1),
        [{"acc": 0.9}] * 6 + [{"acc": 0.2}, {"acc": 0.95}],
        [6],
    ),
    (
        "sustained divergence keeps firing",
        lambda: Divergence(window=10, min_history=5),
        [{"loss": 1.0}] * 5 + [{"loss": 10.0 * k} for k in range(1, 4)],
        [6, 7],  # default patience 2
    ),
    (
        "plateau after patience",
        lambda: Plateau(patience=3),
        [{"loss": v} for v in (1.0, 0.5, 0.5, 0.4999, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3)],
        [4, 8, 11],
    ),
    (
        "plateau absolute delta, max mode",
        lambda: Plateau("acc", mode="max", patience=2, min_delta=0.05, relative=False),
        [{"acc": v} for v in (0.5, 0.6, 0.62, 0.64, 0.7)],
        [3],
    ),
    (
        "overfitting after patience evaluations",
        lambda: Overfitting(patience=2),
        [
            {"loss": 1.0},
            {"loss": 0.9, "val_loss": 1.0},
            {"loss": 0.7},
            {"loss": 0.6, "val_loss": 0.8},
            {"loss": 0.5, "val_loss": 0.85},
            {"loss": 0.4, "val_loss": 0.9},
            {"loss": 0.3, "val_loss": 0.95},
        ],
        [5, 6],
    ),
    (
        "val worse but train worse too is not overfitting",
        lambda: Overfitting(patience=1),
        [
            {"loss": 0.5, "val_loss": 0.5},
            {"loss": 0.6, "val_loss": 0.7},
            {"loss": 0.7, "val_loss": 0.9},
        ],
        [],
    ),
    (
        "an improvement resets the count",
        lambda: Overfitting(patience=2, min_delta=0.01),
        [
            {"loss": 1.0, "val_loss": 1.0},
            {"loss": 0.9, "val_loss": 1.1},
            {"loss": 0.8, "val_loss": 0.9},
            {"loss": 0.7, "val_loss": 0.905},
            {"loss": 0.6, "val_loss": 1.0},
            {"loss": 0.5, "val_loss": 1.1},
        ],
        [5],
    ),
    (
        "absolute gradient ceiling",
        lambda: ExplodingGradients(max_norm=10.0, factor=None),
        [{"grad_norm": v} for v in (1.0, 9.0, 11.0, 2.0)],
        [2],
    ),
    (
        "gradient jump against its median",
        lambda: ExplodingGradients(max_norm=None, factor=10.0, window=10, min_history=3),
        [{"grad_norm": v} for v in (1.0, 1.2, 0.8, 9.0, 12.0, 1.0)],
        [4],
    ),
    (
        "vanishing once per run of tiny norms",
        lambda: VanishingGradients(min_norm=1e-6, patience=3),
        [{"grad_norm": v} for v in (1e-3, 1e-8, 1e-8, 1e-8, 1e-8, 1e-2, 1e-9, 1e-9, 1e-9)],
        [3, 8],
    ),
]


@pytest.mark.parametrize(("label", "make", "series", "expected"), CASES, ids=[c[0] for c in CASES])
def test_detector_fires_at_pinned_steps(
    label: str, make: Callable[[], Detector], series: list[dict[str, float]], expected: list[int]
) -> None:
    assert _fired(make(), series) == expected


def test_detection_carries_reason_and_evidence() -> None:
    d = Divergence(window=10, min_history=5, patience=1)
    for s in range(6):
        assert d.update(s, {"loss": 1.0 + 0.01 * (s % 2)}) is None
    det = d.update(6, {"loss": 3.0})
    assert isinstance(det, Detection)
    assert det.detector == "divergence" and det.step == 6
    assert det.evidence["value"] == 3.0 and det.evidence["median"] == pytest.approx(1.0, abs=0.01)
    assert det.evidence["z"] > det.evidence["threshold"] == 6.0
    assert "robust deviations" in det.reason and "3" in det.reason
    json.dumps(det.evidence)  # plain numbers only


def test_overfitting_uses_the_mean_training_loss_between_evaluations() -> None:
    d = Overfitting(patience=1)
    d.update(0, {"loss": 2.0})
    assert d.update(1, {"loss": 1.0, "val_loss": 1.0}) is None  # train mean 1.5
    for s, t in enumerate((1.2, 1.0, 0.8), start=2):
        d.update(s, {"loss": t})
    det = d.update(5, {"val_loss": 1.2})
    assert det is not None
    assert det.evidence["train"] == pytest.approx(1.0)
    assert det.evidence["train_at_best"] == pytest.approx(1.5)
    assert det.evidence["gap"] == pytest.approx(0.2)


ALL: list[Callable[[], Detector]] = [
    NonFinite,
    lambda: Divergence(window=8, min_history=4, patience=1),
    lambda: Plateau(patience=4),
    lambda: Overfitting(patience=2),
    lambda: ExplodingGradients(window=8, min_history=4),
    lambda: VanishingGradients(patience=3),
]


def _stream(n: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(11)
    out = []
    for s in range(n):
        m = {"loss": float(1 / (s + 1) + 0.05 * rng.random()), "grad_norm": float(rng.random())}
        if s % 3 == 0:
            m["val_loss"] = float(0.5 + 0.01 * s)
        if s % 7 == 6:
            m["loss"] = 30.0
            m["grad_norm"] = 1e-9 if s % 2 else 500.0
        if s % 11 == 10:
            m["loss"] = math.nan
        if 40 <= s < 45:
            m["grad_norm"] = 1e-10
        out.append(m)
    return out


@pytest.mark.parametrize("make", ALL)
def test_state_round_trip_resumes_identically(make: Callable[[], Detector]) -> None:
    stream = _stream(60)
    whole = make()
    expected = [whole.update(s, m) for s, m in enumerate(stream)]
    first = make()
    got = [first.update(s, m) for s, m in enumerate(stream[:25])]
    data = json.loads(json.dumps(first.to_dict()))
    second = Detector.from_dict(data)
    assert type(second) is type(first) and repr(second) == repr(first)
    got += [second.update(s, m) for s, m in enumerate(stream[25:], start=25)]
    assert got == expected
    assert any(d is not None for d in expected), "the stream should exercise the detector"


@pytest.mark.parametrize("make", ALL)
def test_reset_forgets_state(make: Callable[[], Detector]) -> None:
    stream = _stream(40)
    d = make()
    first = [d.update(s, m) for s, m in enumerate(stream)]
    d.reset()
    assert [d.update(s, m) for s, m in enumerate(stream)] == first


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: NonFinite(keys="loss"), "keys"),  # type: ignore[arg-type]
        (lambda: NonFinite(keys=()), "keys"),
        (lambda: Divergence(threshold=0), "threshold"),
        (lambda: Divergence(threshold=math.nan), "threshold"),
        (lambda: Divergence(window=5, min_history=10), "min_history"),
        (lambda: Divergence(mode="up"), "mode"),  # type: ignore[arg-type]
        (lambda: Plateau(patience=0), "patience"),
        (lambda: Plateau(patience=2.5), "patience"),  # type: ignore[arg-type]
        (lambda: Plateau(min_delta=-1), "min_delta"),
        (lambda: Overfitting(val_key=""), "val_key"),
        (lambda: ExplodingGradients(max_norm=-1.0), "max_norm"),
        (lambda: ExplodingGradients(factor=0.0), "factor"),
        (lambda: VanishingGradients(min_norm=0.0), "min_norm"),
    ],
)
def test_bad_parameters_name_the_parameter(make: Callable[[], Any], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        make()


def test_from_dict_rejects_unknown_type_and_state() -> None:
    with pytest.raises(InputError, match="type"):
        Detector.from_dict({"type": "nope", "params": {}, "state": {}})
    data = Plateau().to_dict()
    data["state"]["_evil"] = 1
    with pytest.raises(InputError, match="_evil"):
        Detector.from_dict(data)
