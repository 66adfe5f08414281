"""Report: drift per column and for the dataset, BH, both paths, JSON layout, performance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from scipy import stats
from sklearn import metrics as skm

from driftline.analysis import REPORT_FORMAT, ColumnDrift, Report
from driftline.examples import DRIFTED_FEATURES, LoanExample, generate_loans
from driftline.profile import profile
from driftline.schema import ColumnSpec, Schema


@pytest.fixture(scope="module")
def loans_small() -> LoanExample:
    return generate_loans(800, 800, seed=0)


@pytest.fixture(scope="module")
def loans_large() -> LoanExample:
    return generate_loans(4000, 4000, seed=1)


def _report(ex: LoanExample, **kw: Any) -> Report:
    return Report(
        ex.reference,
        ex.current,
        target="default",
        prediction="prediction",
        scores=["score"],
        **kw,
    )


def _num(x: float | None) -> float:
    assert x is not None
    return x


def _drifted_features(report: Report) -> list[str]:
    return sorted(d.column for d in report.drift if d.role == "feature" and d.status == "drift")


@pytest.mark.parametrize("fixture", ["loans_small", "loans_large"])
def test_finds_exactly_the_shifted_columns(fixture: str, request: pytest.FixtureRequest) -> None:
    report = _report(request.getfixturevalue(fixture))
    assert _drifted_features(report) == sorted(DRIFTED_FEATURES)
    roles = {d.column: d.role for d in report.drift}
    assert roles["default"] == "target" and roles["prediction"] == "prediction"
    assert roles["score"] == "score"
    # Features come first, then prediction / score / target.
    assert [d.role for d in report.drift][-3:] == ["prediction", "score", "target"]
    assert all(d.computed_on == "raw" for d in report.drift)


def test_default_methods_follow_sample_size(
    loans_small: LoanExample, loans_large: LoanExample
) -> None:
    small = {d.column: d for d in _report(loans_small).drift}
    large = {d.column: d for d in _report(loans_large).drift}
    assert small["age"].method == "ks" and small["age"].output == "p_value"
    assert small["purpose"].method == "chi_square"
    assert small["prediction"].method == "z_test"
    assert large["age"].method == "wasserstein" and large["age"].output == "distance"
    assert large["purpose"].method == "jensen_shannon"


def test_exact_statistics_match_scipy(rng: np.random.Generator) -> None:
    ref = {"a": rng.normal(0, 1, 400), "b": rng.normal(0, 1, 400)}
    cur = {"a": rng.normal(0.3, 1, 300), "b": rng.normal(0, 1.2, 300)}
    ks_rep = Report(ref, cur)
    for d in ks_rep.drift:
        expected = stats.ks_2samp(ref[d.column], cur[d.column])
        assert d.method == "ks"
        assert d.statistic == pytest.approx(expected.statistic)
        assert d.p_value == pytest.approx(expected.pvalue)
    w_rep = Report(ref, cur, methods="wasserstein")
    for d in w_rep.drift:
        expected = stats.wasserstein_distance(ref[d.column], cur[d.column]) / np.std(ref[d.column])
        assert d.statistic == pytest.approx(expected)
        assert d.p_value is None and d.adjusted_p_value is None


def test_benjamini_hochberg_is_applied(rng: np.random.Generator) -> None:
    n = 200
    ref = {f"c{i}": rng.normal(0, 1, n) for i in range(12)}
    cur = {f"c{i}": rng.normal(0.04 * i, 1, n) for i in range(12)}
    report = Report(ref, cur)
    raw = np.array([d.p_value for d in report.drift])
    adjusted = np.array([d.adjusted_p_value for d in report.drift])
    np.testing.assert_allclose(adjusted, stats.false_discovery_control(raw), rtol=1e-12)
    for d in report.drift:
        assert d.status == ("drift" if _num(d.adjusted_p_value) < 0.05 else "no_drift")
        assert "adjusted p" in d.reason
    # At least one column is significant before the correction and not after it.
    assert any(_num(d.p_value) < 0.05 <= _num(d.adjusted_p_value) for d in report.drift)


def test_thresholds_and_method_overrides(loans_large: LoanExample) -> None:
    report = _report(
        loans_large,
        methods={"age": "psi", "purpose": "total_variation"},
        thresholds={"age": 1e-9, "income": 5.0},
    )
    by = {d.column: d for d in report.drift}
    assert by["age"].method == "psi" and by["age"].threshold == 1e-9
    assert by["age"].status == "drift"  # any positive PSI reaches a tiny threshold
    assert by["income"].threshold == 5.0 and by["income"].status == "no_drift"
    assert by["purpose"].method == "total_variation"
    assert "≥ threshold" in by["purpose"].reason
    glob = _report(loans_large, methods="hellinger", thresholds=0.9)
    assert {d.method for d in glob.drift} == {"hellinger"}
    assert all(d.threshold == 0.9 and d.status == "no_drift" for d in glob.drift)


def test_method_that_does_not_apply_is_not_computable(loans_small: LoanExample) -> None:
    report = _report(loans_small, methods={"purpose": "ks"})
    d = report.column("purpose")
    assert d.status == "not_computable" and "does not apply to categorical" in d.reason
    assert d.statistic is None


def test_dataset_drift_share(loans_large: LoanExample) -> None:
    default = _report(loans_large).dataset_drift
    assert (default.n_columns, default.n_drifted) == (10, 3)
    assert default.share_drifted == pytest.approx(0.3)
    assert default.threshold_share == 0.5 and not default.drifted
    low = _report(loans_large, drift_share=0.3).dataset_drift
    assert low.drifted and low.status == "drift" and "≥ threshold_share 0.3" in low.reason


def test_profile_path_agrees_with_the_exact_path(loans_large: LoanExample) -> None:
    exact = {d.column: d for d in _report(loans_large).drift}
    approx = {d.column: d for d in _report(loans_large, exact_limit=1000).drift}
    for name, d in approx.items():
        assert d.computed_on == "profile"
        assert d.status == exact[name].status, name
        assert d.method == exact[name].method
        if d.method == "jensen_shannon":  # category counts are exact
            assert d.statistic == pytest.approx(exact[name].statistic, rel=1e-9)
        else:  # quantile sketches: within their rank error
            assert d.statistic == pytest.approx(exact[name].statistic, rel=0.1, abs=0.04)


def test_ks_from_profiles_is_close_to_exact(loans_large: LoanExample) -> None:
    exact = {d.column: d for d in _report(loans_large, methods="ks").drift}
    approx = {d.column: d for d in _report(loans_large, methods="ks", exact_limit=10).drift}
    for name in ("age", "income", "credit_score", "score"):
        assert approx[name].statistic == pytest.approx(exact[name].statistic, abs=0.02)


def test_dataset_profiles_as_input(loans_small: LoanExample) -> None:
    ex = loans_small
    direct = _report(ex)
    rp = profile(ex.reference, direct.schema)
    cp = profile(ex.current, direct.schema, reference=rp)
    report = Report(rp, cp)
    assert all(d.computed_on == "profile" for d in report.drift)
    assert _drifted_features(report) == sorted(DRIFTED_FEATURES)
    dq = report.quality.dataset
    assert dq.duplicate_rows_reference is None and dq.duplicate_rows_current is None
    assert "raw rows" in dq.notes[0]
    q = report.quality.columns["income"]
    assert q.below_reference_min is None and any("raw current values" in n for n in q.notes)
    n_crypto = int((ex.current["purpose"] == "crypto").sum())
    assert report.quality.columns["purpose"].new_categories == {"crypto": n_crypto}
    perf = report.performance
    assert perf.status == "computed"
    assert perf.current["accuracy"] == pytest.approx(direct.performance.current["accuracy"])


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow", "dict"])
def test_frame_libraries_give_the_same_report(library: str, rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"x": rng.normal(0, 1, 300), "c": rng.choice(["a", "b", "c"], 300)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 300), "c": rng.choice(["a", "b", "c"], 300)})
    convert: Any = {
        "pandas": lambda f: f,
        "polars": pl.from_pandas,
        "arrow": lambda f: pa.Table.from_pandas(f, preserve_index=False),
        "dict": lambda f: {k: f[k].to_numpy() for k in f.columns},
    }[library]
    base = [d.to_dict() for d in Report(ref, cur).drift]
    other = [d.to_dict() for d in Report(convert(ref), convert(cur)).drift]
    assert other == base


def test_numpy_arrays_are_accepted(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 1, (300, 3)), rng.normal(0, 1, (300, 3))
    cur[:, 2] += 2.0
    report = Report(ref, cur)
    assert [d.column for d in report.drift if d.status == "drift"] == ["col_2"]


def test_given_schema_is_used(rng: np.random.Generator) -> None:
    ref = {"x": rng.integers(0, 5, 400).astype(float), "y": rng.normal(0, 1, 400)}
    cur = {"x": rng.integers(0, 5, 400).astype(float), "y": rng.normal(0, 1, 400)}
    schema = Schema(
        (ColumnSpec("x", "feature", "categorical"), ColumnSpec("y", "feature", "numerical"))
    )
    report = Report(ref, cur, schema)
    assert report.column("x").kind == "categorical" and report.column("x").method == "chi_square"
    as_num = Report(ref, cur, numerical=["x"])
    assert as_num.column("x").kind == "numerical"


def test_column_mapping_is_the_same_as_keywords(loans_small: LoanExample) -> None:
    ex = loans_small
    mapped = Report(
        ex.reference,
        ex.current,
        column_mapping={"target": "default", "prediction": "prediction", "scores": ["score"]},
    )
    assert mapped.to_dict()["drift"] == _report(ex).to_dict()["drift"]


def test_json_layout_is_stable(loans_small: LoanExample, tmp_path: Path) -> None:
    report = _report(loans_small)
    data = report.to_dict()
    assert set(data) == {
        "format", "driftline_version", "title", "summary", "settings", "schema", "notes",
        "dataset_drift", "drift", "quality", "performance", "tests",
    }  # fmt: skip
    assert data["format"] == REPORT_FORMAT
    assert set(data["drift"][0]) == {
        "column", "kind", "role", "method", "output", "statistic", "threshold", "p_value",
        "adjusted_p_value", "n_reference", "n_current", "status", "reason", "computed_on",
    }  # fmt: skip
    assert set(data["dataset_drift"]) == {
        "n_columns", "n_drifted", "share_drifted", "threshold_share", "drifted", "status", "reason"
    }  # fmt: skip
    assert set(data["quality"]) == {"dataset", "n_issues", "columns"}
    assert set(data["performance"]) >= {"task", "status", "reference", "current", "delta"}
    assert data["tests"] is None
    # Inference notes are kept in the report (not raised as warnings).
    assert any("'default'" in note for note in data["notes"])
    path = tmp_path / "r.json"
    text = report.to_json(path)
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text) == data


def test_insufficient_data_is_a_status_not_zero() -> None:
    ref = {"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]}
    cur = {"x": [np.nan, np.nan, np.nan, 2.0], "c": [None, None, None, None]}
    report = Report(ref, cur, methods={"x": "wasserstein"})
    x, c = report.column("x"), report.column("c")
    assert x.status == "insufficient_data" and x.statistic is None
    assert "wasserstein" in x.reason and "n_cur=1" in x.reason
    assert c.status == "insufficient_data" and "no non-missing values in current" in c.reason
    dd = report.dataset_drift
    assert dd.status == "insufficient_data" and dd.share_drifted is None and not dd.drifted


def test_classification_performance_matches_sklearn(loans_small: LoanExample) -> None:
    ex = loans_small
    perf = _report(ex).performance
    assert perf.task == "classification" and perf.status == "computed"
    for side, frame in (("reference", ex.reference), ("current", ex.current)):
        values = getattr(perf, side)
        y, p, s = frame["default"], frame["prediction"], frame["score"]
        assert values["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
        assert values["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro"))
        assert values["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=0.01)
        assert values["log_loss"] == pytest.approx(skm.log_loss(y, s))
    assert perf.delta["accuracy"] == pytest.approx(
        _num(perf.current["accuracy"]) - _num(perf.reference["accuracy"])
    )
    cm = skm.confusion_matrix(ex.current["default"], ex.current["prediction"])
    assert perf.confusion_current == cm.tolist() and perf.labels == ["0", "1"]


def test_regression_performance_matches_sklearn(rng: np.random.Generator) -> None:
    def frame(shift: float) -> pd.DataFrame:
        x = rng.normal(0, 1, 500)
        y = 2 * x + rng.normal(0, 0.5, 500)
        return pd.DataFrame({"x": x, "y": y, "yhat": 2 * x + shift})

    ref, cur = frame(0.0), frame(0.7)
    perf = Report(ref, cur, target="y", prediction="yhat").performance
    assert perf.task == "regression"
    mae = skm.mean_absolute_error(cur["y"], cur["yhat"])
    assert perf.current["mean_absolute_error"] == pytest.approx(mae)
    assert perf.reference["r2"] == pytest.approx(skm.r2_score(ref["y"], ref["yhat"]))
    rmse = skm.root_mean_squared_error(cur["y"], cur["yhat"])
    assert perf.current["root_mean_squared_error"] == pytest.approx(rmse)
    assert _num(perf.delta["mean_absolute_error"]) > 0.3
    assert perf.confusion_current is None


def test_performance_needs_target_and_prediction(rng: np.random.Generator) -> None:
    perf = Report({"x": rng.normal(size=50)}, {"x": rng.normal(size=50)}).performance
    assert perf.status == "not_computable"
    assert "target" in perf.reason and "prediction" in perf.reason


def test_quality_counts(rng: np.random.Generator) -> None:
    ref = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50, "k": [1.0] * 100})
    x = np.arange(100.0)
    x[:3] = [-5.0, 200.0, 300.0]
    x[3:33] = np.nan
    cur = pd.DataFrame({"x": x, "c": ["a", "z"] * 50, "k": [1.0] * 100})
    cur = pd.concat([cur, cur.iloc[[50, 51]]], ignore_index=True)
    q = Report(ref, cur).quality
    qx = q.columns["x"]
    assert (qx.below_reference_min, qx.above_reference_max, qx.missing_current) == (1, 2, 30)
    assert qx.missing_rate_current == pytest.approx(30 / 102)
    assert any("missing rate" in i for i in qx.issues)
    assert any("outside the reference range" in i for i in qx.issues)
    qc = q.columns["c"]
    assert qc.new_categories == {"z": 51} and qc.missing_categories == {"b": 50}
    assert q.columns["k"].constant_reference and q.columns["k"].constant_current
    assert q.dataset.duplicate_rows_reference == 0
    assert q.dataset.duplicate_rows_current == int(cur.duplicated().sum()) == 30


def test_columns_on_one_side_only_are_listed(rng: np.random.Generator) -> None:
    ref = {"a": rng.normal(size=50), "only_ref": rng.normal(size=50)}
    cur = {"a": rng.normal(size=50), "only_cur": rng.normal(size=50)}
    report = Report(ref, cur)
    assert [d.column for d in report.drift] == ["a"]
    assert report.quality.dataset.columns_only_in_reference == ("only_ref",)
    assert report.quality.dataset.columns_only_in_current == ("only_cur",)


def test_progress_is_reported(loans_small: LoanExample) -> None:
    calls: list[tuple[str, int, int]] = []
    _report(loans_small, progress=lambda s, d, t: calls.append((s, d, t))).compute()
    stages = [c[0] for c in calls]
    assert "drift per column" in stages and ("drift per column", 13, 13) in calls


def test_column_drift_severity_orders_results() -> None:
    strong = ColumnDrift(
        "a", "numerical", "feature", "psi", 0.5, 0.1, None, None, 10, 10, "drift", ""
    )
    weak = ColumnDrift(
        "b", "numerical", "feature", "psi", 0.05, 0.1, None, None, 10, 10, "no_drift", ""
    )
    assert strong.severity == pytest.approx(5.0) and weak.severity == pytest.approx(0.5)
    assert strong.drifted and not weak.drifted


def test_multiclass_scores_one_column_per_class(rng: np.random.Generator) -> None:
    def side(n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        p = rng.dirichlet([1.0, 1.0, 1.0], n)
        y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        frame = pd.DataFrame({"x": rng.normal(size=n), "y": y, "pred": p.argmax(axis=1)})
        for k in range(3):
            frame[f"p{k}"] = p[:, k]
        return frame, y, p

    (ref, _, _), (cur, y_cur, p_cur) = side(400), side(400)
    report = Report(
        ref,
        cur,
        target="y",
        prediction="pred",
        scores=["p0", "p1", "p2"],
        categorical=["y", "pred"],
    )
    perf = report.performance
    assert perf.status == "computed" and perf.labels == ["0", "1", "2"]
    assert perf.current["log_loss"] == pytest.approx(skm.log_loss(y_cur, p_cur))
    ovr = skm.roc_auc_score(y_cur, p_cur, multi_class="ovr")
    assert perf.current["roc_auc"] == pytest.approx(ovr, abs=0.01)
    assert [d.role for d in report.drift].count("score") == 3
