"""Benjamini-Hochberg across evaluations, checked against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from driftline.alerts.decisions import Evaluation, control_false_discoveries
from driftline.errors import InputError


def ev(i: int, p: float | None, firing: bool | None = True) -> Evaluation:
    return Evaluation(f"m{i}", 0.0, 0.0, 60.0, 0.2, 0.1, firing, f"check {i}", p_value=p)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_matches_scipy(rng: np.random.Generator, alpha: float) -> None:
    p = np.concatenate([rng.uniform(0, 1, 30), rng.uniform(0, 0.005, 10)])
    out = control_false_discoveries([ev(i, float(x)) for i, x in enumerate(p)], alpha=alpha)
    expected = false_discovery_control(p, method="bh")
    np.testing.assert_allclose([e.p_value for e in out], expected, rtol=1e-12)
    assert [e.firing for e in out] == list(expected <= alpha)


def test_reasons_and_who_counts() -> None:
    evs = [
        ev(0, 0.001),
        ev(1, 0.04),
        ev(2, None),  # no p-value: unchanged, not counted
        ev(3, 0.5, firing=False),  # counted, stays quiet
        ev(4, 0.0001, firing=None),  # undecided: unchanged, not counted
    ]
    out = control_false_discoveries(evs, alpha=0.05)
    assert out[2] is evs[2] and out[4] is evs[4]
    assert out[0].firing is True
    assert out[0].reason == "check 0; p=0.001, BH-adjusted 0.003 <= 0.05 across 3 checks"
    assert out[1].firing is False
    assert out[1].reason == (
        "check 1; not significant after false discovery control: "
        "p=0.04, BH-adjusted 0.06 > 0.05 across 3 checks"
    )
    assert out[3].firing is False and out[3].p_value == pytest.approx(0.5)


def test_condition_must_hold_too() -> None:
    out = control_false_discoveries([ev(0, 0.001, firing=False), ev(1, 0.001)])
    assert [e.firing for e in out] == [False, True]


def test_nothing_to_adjust_and_bad_alpha() -> None:
    evs = [ev(0, None)]
    assert control_false_discoveries(evs) == evs
    assert control_false_discoveries([]) == []
    with pytest.raises(InputError, match="alpha"):
        control_false_discoveries(evs, alpha=1.5)
    with pytest.raises(InputError, match="p_values"):
        control_false_discoveries([ev(0, 1.5)])
