"""merge(profile(a), profile(b)) == profile(a ∪ b), associativity and exact round trips."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftline.errors import IncompatibleProfilesError, InputError, SchemaError
from driftline.profile import DatasetProfile, NumericalProfile, ProfileConfig, profile
from driftline.schema import ColumnSpec, Schema

SCHEMA = Schema(
    (
        ColumnSpec("x", "feature", "numerical"),
        ColumnSpec("color", "feature", "categorical"),
        ColumnSpec("flag", "feature", "boolean"),
        ColumnSpec("note", "feature", "text"),
        ColumnSpec("when", "timestamp", "datetime"),
        ColumnSpec("y", "target", "categorical"),
        ColumnSpec("pred", "prediction", "categorical"),
        ColumnSpec("score", "score", "numerical"),
    )
)
COLORS = ["red", "green", "blue", "grün", "紫"]
_REF_RNG = np.random.default_rng(7)


def _rows(n: int, rng: np.random.Generator) -> dict[str, Any]:
    x = rng.normal(0, 3, n).round(2)
    x[rng.random(n) < 0.1] = np.nan
    x[rng.random(n) < 0.02] = np.inf
    color = np.array(COLORS, dtype=object)[rng.integers(0, len(COLORS), n)]
    color[rng.random(n) < 0.1] = None
    y = rng.integers(0, 2, n)
    score = rng.random(n)
    return {
        "x": x,
        "color": color,
        "flag": rng.random(n) < 0.3,
        "note": np.array(["ab" * int(k) for k in rng.integers(0, 6, n)], dtype=object),
        "when": np.datetime64("2024-01-01", "ns") + rng.integers(0, 10**15, n).astype("m8[ns]"),
        "y": y.astype(float),
        "pred": (score > 0.5).astype(float),
        "score": score,
    }


REFERENCE = profile(_rows(500, _REF_RNG), SCHEMA)


def _split(rows: dict[str, Any], cut: int) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: v[:cut] for k, v in rows.items()}, {k: v[cut:] for k, v in rows.items()}


def _exact_part(d: Any) -> Any:
    """The dict without sketch bytes and float moments (compared separately)."""
    if isinstance(d, dict):
        return {
            k: _exact_part(v)
            for k, v in d.items()
            if k not in ("kll", "hll", "mean", "m2", "sum", "counts_bytes")
        }
    if isinstance(d, list):
        return [_exact_part(v) for v in d]
    return d


def _assert_same(merged: DatasetProfile, whole: DatasetProfile) -> None:
    md, wd = merged.to_dict(), whole.to_dict()
    assert _exact_part({**md, "performance": None}) == _exact_part({**wd, "performance": None})
    for name in ("x", "score"):
        a, b = merged[name], whole[name]
        assert isinstance(a, NumericalProfile) and isinstance(b, NumericalProfile)
        for attr in ("mean", "sum", "m2"):
            va, vb = getattr(a, attr), getattr(b, attr)
            assert (math.isnan(va) and math.isnan(vb)) or va == pytest.approx(
                vb, rel=1e-9, abs=1e-9
            )
        if b.n_finite:
            probs = np.linspace(0, 1, 11)
            # below k values the KLL sketch holds every value, so quantiles are exact
            assert b.n_finite < 200
            np.testing.assert_array_equal(a.quantiles(probs), b.quantiles(probs))
        assert a.distinct_count == pytest.approx(b.distinct_count, rel=0.05, abs=1)
    pa_, pw = merged.performance, whole.performance
    assert (pa_ is None) == (pw is None)
    if pw is not None:
        np.testing.assert_array_equal(pa_.confusion_matrix()[0], pw.confusion_matrix()[0])
        assert pa_.n_scored == pw.n_scored


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 120), cut_fraction=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_merge_equals_profile_of_union(n: int, cut_fraction: float, seed: int) -> None:
    rows = _rows(n, np.random.default_rng(seed))
    cut = min(max(1, int(n * cut_fraction)), n - 1)
    a, b = _split(rows, cut)
    pa_ = profile(a, SCHEMA, reference=REFERENCE)
    pb = profile(b, SCHEMA, reference=REFERENCE)
    whole = profile(rows, SCHEMA, reference=REFERENCE)
    _assert_same(pa_ + pb, whole)
    _assert_same(pb.merge(pa_), whole)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(3, 90), seed=st.integers(0, 2**32 - 1))
def test_merge_is_associative(n: int, seed: int) -> None:
    rows = _rows(n, np.random.default_rng(seed))
    k = n // 3
    parts = [
        {key: v[i * k : (i + 1) * k if i < 2 else n] for key, v in rows.items()} for i in range(3)
    ]
    p1, p2, p3 = (profile(p, SCHEMA, reference=REFERENCE) for p in parts)
    left, right = (p1 + p2) + p3, p1 + (p2 + p3)
    _assert_same(left, right)
    _assert_same(left, profile(rows, SCHEMA, reference=REFERENCE))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 80), seed=st.integers(0, 2**32 - 1), merge=st.booleans())
def test_round_trips_are_exact(n: int, seed: int, merge: bool) -> None:
    p = profile(_rows(n, np.random.default_rng(seed)), SCHEMA, reference=REFERENCE)
    if merge:
        p = p + REFERENCE
    d = p.to_dict()
    text = json.dumps(d, allow_nan=False)  # strict JSON
    back = DatasetProfile.from_dict(json.loads(text))
    assert back == p and back.to_dict() == d
    again = DatasetProfile.from_bytes(p.to_bytes())
    assert again == p and again.to_bytes() == p.to_bytes()
    np.testing.assert_array_equal(
        again.numerical("x").quantiles([0.1, 0.5]), p.numerical("x").quantiles([0.1, 0.5])
    )


def test_large_merge_quantiles_within_rank_error(rng: np.random.Generator) -> None:
    x = rng.gamma(2.0, 1.0, 60_000)
    parts = np.array_split(x, 6)
    ref = NumericalProfile.from_values(parts[0])
    edges = ref.edges
    merged = ref
    for part in parts[1:]:
        merged = merged + NumericalProfile.from_values(part, edges=edges)
    whole = NumericalProfile.from_values(x, edges=edges)
    np.testing.assert_array_equal(merged.histogram[1], whole.histogram[1])
    assert merged.mean == pytest.approx(x.mean(), rel=1e-12)
    assert merged.std == pytest.approx(x.std(ddof=1), rel=1e-9)
    probs = np.linspace(0.01, 0.99, 30)
    ranks = np.searchsorted(np.sort(x), merged.quantiles(probs), side="right") / x.size
    assert np.max(np.abs(ranks - probs)) <= merged.rank_error
    assert merged.distinct_count == pytest.approx(x.size, rel=0.05)


def test_merge_does_not_change_its_inputs(rng: np.random.Generator) -> None:
    a = profile(_rows(50, rng), SCHEMA, reference=REFERENCE)
    b = profile(_rows(50, rng), SCHEMA, reference=REFERENCE)
    before_a, before_b = a.to_dict(), b.to_dict()
    _ = a + b
    assert a.to_dict() == before_a and b.to_dict() == before_b


def test_incompatible_profiles_are_refused(rng: np.random.Generator) -> None:
    a = profile({"x": rng.normal(size=100)}, config=ProfileConfig(n_bins=5))
    b = profile({"x": rng.normal(size=100)}, config=ProfileConfig(n_bins=5))
    with pytest.raises(IncompatibleProfilesError, match="column 'x': cannot merge histograms"):
        a.merge(b)
    c = profile({"x": ["a", "b"]})
    with pytest.raises(IncompatibleProfilesError, match=r"column 'x'.*numerical.*categorical"):
        a.merge(c)
    with pytest.raises(IncompatibleProfilesError, match="column 'x'"):
        a["x"].merge(c["x"], column="x")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="column 'x': expected a categorical or boolean"):
        a.categorical("x")
    with pytest.raises(IncompatibleProfilesError, match="expected a DatasetProfile"):
        a.merge(a["x"])  # type: ignore[arg-type]


def test_profile_without_finite_values_adopts_edges_on_merge(rng: np.random.Generator) -> None:
    ref = profile({"x": rng.normal(size=200)})
    empty = profile({"x": [np.nan, np.nan]}, ref.schema)
    merged = empty + ref
    np.testing.assert_array_equal(
        merged.numerical("x").histogram[0], ref.numerical("x").histogram[0]
    )
    assert merged["x"].n_missing == 2 and merged.n_rows == 202


def test_bad_bytes_and_dicts_are_input_errors() -> None:
    with pytest.raises(InputError, match="DLP1"):
        DatasetProfile.from_bytes(b"not a profile")
    with pytest.raises(InputError, match="corrupt"):
        DatasetProfile.from_bytes(b"DLP1garbage")
    with pytest.raises(InputError, match="format"):
        DatasetProfile.from_dict({"format": "other"})
    d = REFERENCE.to_dict()
    del d["columns"]["x"]["n_missing"]
    with pytest.raises(InputError, match="'n_missing'"):
        DatasetProfile.from_dict(d)


def test_to_bytes_is_compact() -> None:
    assert len(REFERENCE.to_bytes()) < len(json.dumps(REFERENCE.to_dict()))
