"""Checks of the drift benchmark's own parts (data truth, numpy bound, scoring, bounds).

Run with ``.venv/bin/python -m pytest benchmarks/test_drift_bench.py -q -p no:cacheprovider``;
needs only the project environment (no peer is imported).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _drift_child as child
import _drift_data as data
import drift_bench as bench

N = 40_000


@pytest.fixture(scope="module")
def sides() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = data.generate_side(N, "reference").to_pandas()
    cur = data.generate_side(N, "current").to_pandas()
    return ref, cur


def test_generation_is_deterministic_and_shaped() -> None:
    a = data.generate_side(1000, "reference", start=0).to_pandas()
    b = data.generate_side(1000, "reference", start=0).to_pandas()
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(data.ALL_COLUMNS)
    assert a["cat_e"].nunique() > 300
    assert set(a["target"].unique()) <= {0, 1}
    assert a["score"].between(0, 1).all()


def test_shifted_columns_differ_and_unshifted_do_not(
    sides: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ref, cur = sides
    for col in data.NUMERIC_COLUMNS:
        ks = stats.ks_2samp(ref[col].dropna(), cur[col].dropna())
        if col in data.SHIFTS:
            assert ks.statistic > 0.08, col
        else:
            assert ks.statistic < 0.02, col
    for col in data.CATEGORICAL_COLUMNS:
        table = pd.crosstab(
            np.r_[np.zeros(N), np.ones(N)], pd.concat([ref[col], cur[col]]).to_numpy()
        )
        p = stats.chi2_contingency(table).pvalue
        if col in data.SHIFTS:
            assert p < 1e-12, col
        elif col != "cat_e":  # 1,000 sparse categories: chi-square is unreliable there
            assert p > 1e-4, col


def test_missing_rates_match_between_sides(sides: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = sides
    for spec in data.NUMERIC:
        assert abs(ref[spec.name].isna().mean() - spec.missing) < 0.01
        assert abs(cur[spec.name].isna().mean() - spec.missing) < 0.01


def _psi_reference(a: np.ndarray, b: np.ndarray) -> float:
    inner = np.unique(np.quantile(a[~np.isnan(a)], np.linspace(0, 1, 11)[1:-1]))
    edges = np.r_[-np.inf, inner, np.inf]
    ha = np.r_[np.histogram(a[~np.isnan(a)], edges)[0], np.isnan(a).sum()].astype(float)
    hb = np.r_[np.histogram(b[~np.isnan(b)], edges)[0], np.isnan(b).sum()].astype(float)
    p = np.maximum(ha / ha.sum(), 1e-4)
    q = np.maximum(hb / hb.sum(), 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def test_numpy_bound_matches_histogram_psi(sides: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = sides
    details = child.run_numpy(ref, cur, list(data.NUMERIC_COLUMNS), list(data.CATEGORICAL_COLUMNS))
    for col in data.NUMERIC_COLUMNS:
        expected = _psi_reference(ref[col].to_numpy(), cur[col].to_numpy())
        assert details[col]["statistic"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    va = ref["cat_a"].value_counts(normalize=True)
    vb = cur["cat_a"].value_counts(normalize=True).reindex(va.index)
    expected = float(np.sum((vb - va) * np.log(vb / va)))
    assert details["cat_a"]["statistic"] == pytest.approx(expected, rel=1e-9)
    flagged = {c for c, d in details.items() if d["drift"]}
    assert flagged == set(data.SHIFTS)


def test_score_flags_counts_found_missed_false_alarms() -> None:
    r = {"status": "ok", "flagged": ["num_00", "num_01"], "details": {"num_00": {}, "num_01": {}}}
    bench.score_flags(r)
    assert r["found"] == ["num_00"]
    assert r["false_alarms"] == ["num_01"]
    assert set(r["missed"]) == set(data.SHIFTS) - {"num_00"}
    assert "cat_a" in r["not_assessed"]


def _args(**kw: object) -> argparse.Namespace:
    base = {"timeout": 900.0, "max_memory_gb": 16.0, "budget": None, "no_projection": False}
    base.update(kw)
    return argparse.Namespace(**base)


def test_skip_reason_projects_time_memory_and_budget() -> None:
    done = {
        1000: {
            "slow": {"status": "ok", "wall_s": 200.0, "peak_rss_mb": 100.0},
            "big": {"status": "ok", "wall_s": 1.0, "peak_rss_mb": 4096.0},
            "dead": {"status": "timeout"},
            "fine": {"status": "ok", "wall_s": 10.0, "peak_rss_mb": 100.0},
        }
    }
    assert "exceeds the 900 s bound" in str(bench.skip_reason("slow", 5000, done, _args()))
    assert "GiB bound" in str(bench.skip_reason("big", 5000, done, _args()))
    assert "exceeded the timeout bound" in str(bench.skip_reason("dead", 5000, done, _args()))
    assert bench.skip_reason("fine", 5000, done, _args()) is None
    budget = bench.skip_reason("fine", 5000, done, _args(budget=100.0), elapsed_s=60.0)
    assert "budget" in str(budget)
    assert bench.skip_reason("slow", 5000, done, _args(no_projection=True)) is None
    assert bench.skip_reason("fine", 1000, done, _args()) is None


def test_markdown_table_marks_failed_tools() -> None:
    ok = {
        "status": "ok",
        "compute_s": 2.0,
        "compute_peak_rss_mb": 300.0,
        "import_rss_mb": 100.0,
        "input_mb": 100.0,
        "found": sorted(data.SHIFTS),
        "missed": [],
        "false_alarms": ["cat_e"],
    }
    slow = {"status": "timeout", "error": "did not finish within the 900 s bound"}
    per_tool = {"driftline": dict(ok), "evidently": slow}
    bench.add_ratios(per_tool)
    table = bench.markdown_table({"sizes": {"1000": per_tool}})
    assert (
        "| 1,000 | driftline | 2.00 | 1.00 | 300 | 1.00 | 3.00 | 2.00 | 7/7 | - | cat_e |" in table
    )
    assert "did not finish within the 900 s bound" in table
