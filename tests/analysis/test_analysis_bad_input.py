"""Bad input never surfaces as a traceback from deep inside numpy: a clear error or a reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from driftline.analysis import Report
from driftline.errors import EmptyDataError, InputError, SchemaError
from driftline.schema import ColumnSpec, Schema


def test_empty_reference_frame() -> None:
    with pytest.raises(EmptyDataError, match=r"reference: .*0 rows"):
        Report(pd.DataFrame({"a": []}), pd.DataFrame({"a": [1.0]})).compute()


def test_empty_current_frame() -> None:
    with pytest.raises(EmptyDataError, match=r"current: .*at least one column"):
        Report(pd.DataFrame({"a": [1.0, 2.0]}), pd.DataFrame()).compute()


def test_no_common_columns() -> None:
    with pytest.raises(EmptyDataError, match=r"no common column.*\['a'\].*\['b'\]"):
        Report({"a": [1.0, 2.0]}, {"b": [1.0, 2.0]}).compute()


def test_numeric_in_reference_strings_in_current(rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"age": rng.normal(40, 5, 100), "ok": rng.normal(size=100)})
    cur = pd.DataFrame({"age": ["abc", "def"] * 50, "ok": rng.normal(size=100)})
    report = Report(ref, cur)
    d = report.column("age")
    assert d.status == "not_computable"
    assert "column 'age'" in d.reason and "numeric" in d.reason and "'abc'" in d.reason
    assert report.column("ok").status in ("drift", "no_drift")
    assert report.quality.columns["age"].type_mismatch_current == 100
    json.dumps(report.to_dict(), allow_nan=False)


def test_strings_in_reference_numbers_in_current(rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"city": rng.choice(["Oslo", "Lima"], 100)})
    cur = pd.DataFrame({"city": rng.integers(0, 3, 100).astype(float) + 0.5})
    d = Report(ref, cur, categorical=["city"]).column("city")
    assert d.status == "not_computable"
    assert "strings in the reference but numbers in the current" in d.reason


def test_mixed_types_count_as_mismatches(rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"x": rng.normal(size=200)})
    values: list[object] = list(rng.normal(size=200))
    values[:5] = ["oops", "n/a", "?", "x", "y"]
    cur = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    report = Report(ref, cur)
    d = report.column("x")
    assert d.status in ("drift", "no_drift") and d.n_current == 195
    q = report.quality.columns["x"]
    assert q.type_mismatch_current == 5
    assert any("not numbers ('oops'" in issue for issue in q.issues)


def test_all_missing_column(rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    cur = pd.DataFrame({"x": [np.nan] * 50, "y": rng.normal(size=50)})
    report = Report(ref, cur)
    d = report.column("x")
    assert d.status == "insufficient_data" and "no non-missing values in current" in d.reason
    assert d.statistic is None
    assert report.quality.columns["x"].issues == ("every current value is missing",)


def test_all_missing_in_reference(rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"x": [None] * 50, "y": rng.normal(size=50)})
    cur = pd.DataFrame({"x": ["a"] * 50, "y": rng.normal(size=50)})
    d = Report(ref, cur).column("x")
    assert d.status == "insufficient_data" and "reference" in d.reason


@pytest.mark.parametrize(
    "name",
    ["naïve 名前", "a b\tc", "", "<script>alert(1)</script>", "x'\"&;--", "1e308"],
)
def test_unicode_and_odd_column_names(name: str, rng: np.random.Generator) -> None:
    ref = {name: rng.normal(size=100), "other": rng.normal(size=100)}
    cur = {name: rng.normal(3, 1, 100), "other": rng.normal(size=100)}
    report = Report(ref, cur)
    assert report.column(name).status == "drift"
    data = json.loads(report.to_json())
    assert data["drift"][0]["column"] == name


def test_huge_values_are_not_computable_with_a_reason() -> None:
    ref = {"big": np.array([1e308, -1e308, 5e307, 0.0] * 50), "ok": np.arange(200.0)}
    cur = {"big": np.array([1e308, -1e308, 1e307, 0.0] * 50), "ok": np.arange(200.0)}
    report = Report(ref, cur, methods="wasserstein")
    d = report.column("big")
    assert d.status == "not_computable"
    assert "not a finite number" in d.reason and "1e+308" in d.reason
    assert report.column("ok").status == "no_drift"
    json.dumps(report.to_dict(), allow_nan=False)
    report.html()  # charts of huge values do not break the page


def test_infinite_values_are_counted_and_left_out(rng: np.random.Generator) -> None:
    ref = rng.normal(size=300)
    cur = rng.normal(size=300)
    cur[:7] = np.inf
    cur[7:9] = -np.inf
    report = Report({"x": ref}, {"x": cur})
    d = report.column("x")
    assert d.n_current == 291 and d.status == "no_drift"
    q = report.quality.columns["x"]
    assert q.inf_current == 9 and any("9 infinite" in i for i in q.issues)


def test_constant_reference_that_moved_is_drift() -> None:
    report = Report({"x": np.ones(200)}, {"x": np.full(200, 2.0)}, methods="wasserstein")
    d = report.column("x")
    assert d.status == "drift" and "inf" in d.reason
    assert d.to_dict()["statistic"] is None  # JSON has no infinity
    json.dumps(report.to_dict(), allow_nan=False)


def test_schema_column_missing_from_reference() -> None:
    schema = Schema(
        (ColumnSpec("a", "feature", "numerical"), ColumnSpec("zz", "feature", "numerical"))
    )
    with pytest.raises(SchemaError, match="'zz'"):
        Report({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}, schema).compute()


def test_unknown_target_column() -> None:
    with pytest.raises(SchemaError, match="target: column 'label' is not in the frame"):
        Report({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}, target="label").compute()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drift_share": 1.5}, "drift_share: expected a number in \\[0, 1\\], got 1.5"),
        ({"exact_limit": -1}, "exact_limit: expected a non-negative integer"),
        ({"methods": 3}, "methods: expected a method name"),
        ({"methods": "magic"}, "method: expected one of .*got 'magic'"),
        ({"methods": {"a": "nope"}}, "got 'nope'"),
        ({"thresholds": "high"}, "thresholds: expected a number"),
        ({"column_mapping": {"labels": "y"}}, "column_mapping: unknown keys \\['labels'\\]"),
    ],
)
def test_bad_parameters_name_themselves(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        Report({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}, **kwargs)  # type: ignore[arg-type]


def test_bad_threshold_value_names_the_column() -> None:
    report = Report({"a": [1.0, 2.0, 3.0]}, {"a": [1.0, 2.0, 3.0]}, thresholds={"a": float("nan")})
    with pytest.raises(InputError, match=r"thresholds\['a'\]: expected a finite number"):
        report.compute()


def test_unsupported_frame_type() -> None:
    with pytest.raises(InputError, match="reference: frame: expected a pandas/polars"):
        Report("not a frame", {"a": [1.0]}).compute()


def test_columns_of_different_lengths() -> None:
    with pytest.raises(InputError, match=r"current: .*one length"):
        Report({"a": [1.0, 2.0]}, {"a": [1.0, 2.0], "b": [1.0]}).compute()


def test_text_columns_are_not_checked_for_drift(rng: np.random.Generator) -> None:
    words = [
        " ".join(rng.choice(["lorem", "ipsum", "dolor", "sit", "amet"], 20)) + str(i)
        for i in range(100)
    ]
    ref = pd.DataFrame({"note": words, "x": rng.normal(size=100)})
    cur = pd.DataFrame({"note": words[::-1], "x": rng.normal(size=100)})
    report = Report(ref, cur)
    d = report.column("note")
    assert d.kind == "text" and d.status == "not_computable" and "not checked" in d.reason
    assert any("inferred text" in n for n in report.notes)


def test_single_row_is_insufficient_for_wasserstein() -> None:
    d = Report({"a": [1.0]}, {"a": [2.0]}, methods="wasserstein").column("a")
    assert d.status == "insufficient_data" and "at least 2" in d.reason


def test_unhashable_cells_give_a_clear_error_or_work_when_declared() -> None:
    ref = pd.DataFrame({"d": [{"a": i % 3} for i in range(100)], "x": np.arange(100.0)})
    cur = pd.DataFrame({"d": [{"a": i % 4} for i in range(100)], "x": np.arange(100.0)})
    try:
        report = Report(ref, cur)
        report.compute()
    except InputError as exc:  # kind inference may refuse unhashable cells: say what to do
        assert "categorical=" in str(exc)
    report = Report(ref, cur, categorical=["d"])
    d = report.column("d")
    assert d.kind == "categorical" and d.status == "drift"
    assert report.quality.columns["d"].new_categories == {"{'a': 3}": 25}
    assert report.quality.dataset.duplicate_rows_current == 0


def test_datetime_columns_are_compared_as_times() -> None:
    ref = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=300, freq="h")})
    cur = pd.DataFrame({"t": pd.date_range("2024-03-01", periods=300, freq="h")})
    d = Report(ref, cur).column("t")
    assert d.kind == "datetime" and d.method == "ks" and d.status == "drift"
    assert d.statistic == 1.0
