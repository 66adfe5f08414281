"""Conditions and test suites: pass and fail on real reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftline.analysis import (
    Report,
    TestSuite,
    column_not_drifted,
    max_drift_share,
    max_metric_drop,
    max_missing_rate,
    min_metric,
    no_dataset_drift,
    no_new_categories,
)
from driftline.errors import InputError
from driftline.examples import generate_loans


@pytest.fixture(scope="module")
def drifted() -> Report:
    ex = generate_loans(1500, 1500, seed=4)
    return Report(
        ex.reference, ex.current, target="default", prediction="prediction", scores=["score"]
    )


@pytest.fixture(scope="module")
def stable() -> Report:
    ex = generate_loans(1500, 1500, seed=4, drift=False)
    return Report(
        ex.reference, ex.current, target="default", prediction="prediction", scores=["score"]
    )


def test_stable_data_passes_everything(stable: Report) -> None:
    suite = TestSuite(
        stable,
        [
            no_dataset_drift(),
            max_drift_share(0.0),
            column_not_drifted("income"),
            max_missing_rate(0.05),
            no_new_categories(),
            min_metric("accuracy", 0.6),
            max_metric_drop("f1_macro", 0.05),
        ],
    )
    assert suite.passed, [c.reason for c in suite.result.failed]
    assert len(suite.result.checks) == 7
    assert suite.to_dict()["tests"]["passed"] is True


def test_drifted_data_fails_the_right_checks(drifted: Report) -> None:
    result = drifted.check(
        [
            no_dataset_drift(),
            max_drift_share(0.2),
            column_not_drifted("income"),
            column_not_drifted("age"),
            no_new_categories(["purpose", "region"]),
            max_missing_rate(0.01, columns=["employment_years"]),
            max_metric_drop("roc_auc", 0.01),
        ]
    )
    outcome = {c.name: c.passed for c in result.checks}
    assert outcome == {
        "no_dataset_drift()": True,  # 3 of 10 features: below the 0.5 share
        "max_drift_share(0.2)": False,
        "column_not_drifted('income')": False,
        "column_not_drifted('age')": True,
        "no_new_categories(columns=['purpose', 'region'])": False,
        "max_missing_rate(0.01, columns=['employment_years'])": False,
        "max_metric_drop('roc_auc', 0.01)": False,
    }
    assert not result.passed and len(result.failed) == 5
    by = {c.name: c for c in result.checks}
    assert by["max_drift_share(0.2)"].value == pytest.approx(0.3)
    assert by["max_drift_share(0.2)"].reason == "3 of 10 columns drifted: 0.3 > 0.2"
    assert "'crypto'" in by["no_new_categories(columns=['purpose', 'region'])"].reason
    drop = by["max_metric_drop('roc_auc', 0.01)"]
    perf = drifted.performance
    ref_auc, cur_auc = perf.reference["roc_auc"], perf.current["roc_auc"]
    assert ref_auc is not None and cur_auc is not None
    assert drop.value == pytest.approx(ref_auc - cur_auc)


def test_metric_conditions_without_performance() -> None:
    rng = np.random.default_rng(0)
    report = Report({"x": rng.normal(size=100)}, {"x": rng.normal(size=100)})
    result = report.check([min_metric("accuracy", 0.5), max_metric_drop("accuracy", 0.1)])
    assert not result.passed
    assert all("performance not computable" in c.reason and c.value is None for c in result.checks)


def test_unknown_metric_and_column(stable: Report) -> None:
    result = stable.check([min_metric("accuracyy", 0.5), column_not_drifted("nope")])
    assert "metric 'accuracyy' not in report" in result.checks[0].reason
    assert "column 'nope' not in report" in result.checks[1].reason
    assert not result.passed


def test_missing_rate_lists_the_worst_columns() -> None:
    ref = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0)})
    cur = pd.DataFrame({"a": [np.nan] * 4 + list(range(6)), "b": [np.nan, *list(range(9))]})
    check = Report(ref, cur).check([max_missing_rate(0.05)]).checks[0]
    assert not check.passed and check.value == pytest.approx(0.4)
    assert check.reason == "missing rate > 0.05: 'a' 0.4, 'b' 0.1"


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: max_drift_share(1.5), "share"),
        (lambda: max_missing_rate(-0.1), "rate"),
        (lambda: max_metric_drop("f1", -1), "drop"),
        (lambda: column_not_drifted(3), "column"),  # type: ignore[arg-type]
    ],
)
def test_bad_condition_arguments(factory: Callable[[], object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        factory()


def test_suite_rejects_non_conditions(stable: Report) -> None:
    with pytest.raises(InputError, match=r"conditions\[1\]: expected a Condition"):
        TestSuite(stable, [no_dataset_drift(), "no drift"])  # type: ignore[list-item]


def test_check_results_are_json(drifted: Report) -> None:
    result = drifted.check([no_new_categories()])
    data = result.to_dict()
    assert data["checks"][0]["value"]["purpose"]["crypto"] > 0
    assert set(data["checks"][0]) == {"name", "passed", "value", "expected", "reason"}


def test_suite_html_and_json(stable: Report, tmp_path: Path) -> None:
    suite = TestSuite(stable, [max_drift_share(0.0), min_metric("accuracy", 0.99)])
    assert not suite.passed and [c.passed for c in suite.result.checks] == [True, False]
    path = tmp_path / "suite.html"
    suite.save_html(path)
    html = path.read_text(encoding="utf-8")
    assert html.index('id="tests"') < html.index('id="drift"')
    assert "min_metric(&#39;accuracy&#39;, 0.99)" in html
    data = suite.to_dict()
    assert data["tests"]["n_failed"] == 1 and data["format"] == "driftline.report/1"
