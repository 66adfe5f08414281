"""Window drift kernels and codecs of the store, without a database."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from driftline.errors import InputError, StoreError
from driftline.profile import DatasetProfile, profile
from driftline.schema import ColumnSpec, Schema
from driftline.store.windows import (
    STATUSES,
    BucketDrift,
    DriftSeries,
    as_column,
    assemble_drift_series,
    drift_between,
    drift_row,
    encode_profile,
    profile_drift,
)


def _profiles(rng: np.random.Generator) -> tuple[Any, Any]:
    ref_rows = {
        "x": rng.normal(0, 1, 3000),
        "c": rng.choice(["a", "b", "c"], 3000).tolist(),
        "flag": rng.random(3000) < 0.3,
        "note": [f"t{i}" for i in range(3000)],
    }
    schema = Schema(
        (
            ColumnSpec("x", "feature", "numerical"),
            ColumnSpec("c", "feature", "categorical"),
            ColumnSpec("flag", "feature", "boolean"),
            ColumnSpec("note", "feature", "text"),
        )
    )
    ref = profile(ref_rows, schema)
    cur_rows = {
        "x": rng.normal(0.7, 1, 800),
        "c": rng.choice(["a", "b", "d"], 800).tolist(),
        "flag": rng.random(800) < 0.6,
        "note": [f"t{i}" for i in range(800)],
    }
    return ref, profile(cur_rows, schema, reference=ref)


def test_profile_drift_equals_the_report_on_profiles() -> None:
    ref, cur = _profiles(np.random.default_rng(1))
    d = profile_drift(ref, cur)
    report = drift_between(ref, cur, "jensen_shannon")
    kinds = dict(zip(d.columns, d.kinds, strict=True))
    assert kinds["x"] == "numerical" and kinds["c"] == "categorical"
    assert "note" not in d.columns  # text columns get no statistic
    for j, name in enumerate(d.columns):
        assert d.status_of(name) == "computed"
        assert d.statistic[j] == pytest.approx(report[name]["statistic"], rel=1e-12)
        assert d.n_current[j] == report[name]["n_current"]
        assert d.n_reference[j] == report[name]["n_reference"]
        assert math.isnan(d.p_value[j])
    # identical inputs give zero
    same = profile_drift(ref, ref)
    np.testing.assert_allclose(same.statistic, 0.0, atol=1e-12)


def test_profile_drift_reports_what_it_cannot_compute() -> None:
    rng = np.random.default_rng(2)
    ref, _ = _profiles(rng)
    other, _ = _profiles(rng)  # own histogram edges: not binned on the reference's
    schema = ref.schema
    empty = profile(
        {"x": [np.nan] * 5, "c": [None] * 5, "flag": [True] * 5, "note": ["a"] * 5},
        schema, reference=ref,
    )  # fmt: skip
    d = profile_drift(ref, other)
    assert d.status_of("x") == "not_computable" and "edges" in d.reasons["x"]
    e = profile_drift(ref, empty)
    assert e.status_of("x") == "insufficient_data"
    assert e.status_of("c") == "insufficient_data"
    assert e.status_of("flag") == "computed"
    with pytest.raises(InputError, match="method"):
        profile_drift(ref, other, "ks")
    with pytest.raises(InputError):
        profile_drift(ref, other, "no_such_method")


def test_bucket_drift_round_trip_and_corruption() -> None:
    ref, cur = _profiles(np.random.default_rng(3))
    d = profile_drift(ref, cur)
    assert d.reasons == {}
    d = BucketDrift(**{**d.__dict__, "reasons": {"x": "why"}})
    assert BucketDrift.decode(*d.encode()) == d
    head, data, reasons = d.encode()
    with pytest.raises(StoreError, match="window_drift"):
        BucketDrift.decode(head, data[:-1], reasons)


def test_assemble_aligns_windows_with_different_columns() -> None:
    ref, cur = _profiles(np.random.default_rng(4))
    full = profile_drift(ref, cur)
    part = BucketDrift(
        columns=("c",), kinds=("categorical",), statistic=np.array([0.5]),
        p_value=np.array([np.nan]), n_reference=np.array([10]), n_current=np.array([0]),
        status=np.array([1], dtype=np.uint8), reasons={"c": "no non-missing values"},
    )  # fmt: skip
    rows = []
    for start, d in [(7200.0, full), (0.0, part), (3600.0, full)]:
        r = drift_row(
            version_id=1, bucket_seconds=3600, start=start, revision=1,
            reference_revision=1, method="jensen_shannon", drift=d,
        )  # fmt: skip
        rows.append((start, r["columns"], r["data"], r["reasons"]))
    s = assemble_drift_series(3600, "jensen_shannon", rows)
    assert s.starts.tolist() == [0.0, 3600.0, 7200.0]
    assert s.columns[0] == "c"
    c = s.columns.index("c")
    x = s.columns.index("x")
    assert STATUSES[s.status[0, x]] == "absent" and math.isnan(s.statistic[0, x])
    assert STATUSES[s.status[0, c]] == "insufficient_data"
    assert s.reasons == {(0.0, "c"): "no non-missing values"}
    for i in (1, 2):
        for j, name in enumerate(full.columns):
            k = s.columns.index(name)
            assert s.statistic[i, k] == full.statistic[j]
            assert s.n_current[i, k] == full.n_current[j]
    out = s.to_dict()
    assert out["columns"]["x"]["statistic"][0] is None
    assert out["columns"]["x"]["status"][0] == "absent"
    assert out["reasons"] == [{"start": 0.0, "column": "c", "reason": "no non-missing values"}]
    empty = assemble_drift_series(3600, "jensen_shannon", [])
    assert isinstance(empty, DriftSeries) and empty.starts.size == 0


def test_batch_arrays_profile_like_the_lists() -> None:
    rng = np.random.default_rng(5)
    cols: dict[str, list[Any]] = {
        "f": rng.normal(size=50).tolist(),
        "i": rng.integers(0, 9, 50).tolist(),
        "b": (rng.random(50) < 0.5).tolist(),
        "s": rng.choice(["x", "y"], 50).tolist(),
        "mixed": [1, "a", None, 2.5, True] * 10,
        "none": [None] * 50,
        "nested": [[1, 2]] * 25 + [[1]] * 25,
    }
    for name, values in cols.items():
        arr = as_column(values)
        assert arr.ndim == 1 and arr.shape[0] == 50
        if name in ("s", "mixed", "none", "nested"):
            assert arr.dtype == object
    frame = {k: v for k, v in cols.items() if k != "nested"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(frame)
    as_lists = profile(frame, schema)
    as_arrays = profile({k: as_column(v) for k, v in frame.items()}, schema)
    assert as_lists == as_arrays


def test_encoded_profiles_read_back_exactly() -> None:
    _, cur = _profiles(np.random.default_rng(6))
    data = encode_profile(cur)
    assert DatasetProfile.from_bytes(data) == cur
    assert len(data) < len(cur.to_bytes()) * 2
