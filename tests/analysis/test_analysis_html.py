"""The HTML report: self-contained, offline, escaped, and small enough with 500 columns."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from driftline.analysis import Report, max_drift_share, no_dataset_drift
from driftline.analysis._html import json_for_script
from driftline.examples import generate_loans

DATA_RE = re.compile(r'<script type="application/json" id="driftline-data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def loans_report() -> Report:
    ex = generate_loans(1500, 1500, seed=3)
    return Report(
        ex.reference, ex.current, target="default", prediction="prediction", scores=["score"]
    )


def _blob(html: str) -> Any:
    match = DATA_RE.search(html)
    assert match is not None
    return json.loads(match.group(1))


def test_opens_offline_with_plotly_inlined(loans_report: Report) -> None:
    html = loans_report.html()
    assert html.startswith("<!DOCTYPE html>")
    assert get_plotlyjs()[:2000] in html  # the bundle itself, not a link to it
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"""src=["']?(https?:)?//""", html)
    assert "<link" not in html


def test_summary_sections_and_sorted_rows(loans_report: Report) -> None:
    html = loans_report.html()
    for section in (
        'id="summary"',
        'id="drift"',
        'id="quality"',
        'id="performance"',
        'id="filter"',
    ):
        assert section in html
    assert html.index('id="summary"') < html.index('id="drift"')
    # Rows are sorted by severity: drifted columns first, most severe at the top.
    rows = re.findall(r'<tr class="col-row" data-idx="(\d+)"', html)
    statuses = [loans_report.drift[int(i)].status for i in rows]
    n_drift = statuses.count("drift")
    assert statuses[:n_drift] == ["drift"] * n_drift
    sev = [loans_report.drift[int(i)].severity for i in rows[:n_drift]]
    assert sev == sorted(sev, reverse=True)
    data = _blob(html)
    assert len(data["columns"]) == len(loans_report.drift)
    assert data["confusion"]["labels"] == ["0", "1"]
    income = data["columns"][[d.column for d in loans_report.drift].index("income")]
    assert len(income["labels"]) == len(income["reference"]) == len(income["current"])
    assert sum(income["reference"]) == pytest.approx(1.0, abs=1e-4)


def test_markup_in_column_names_is_escaped() -> None:
    evil = "</script><script>alert('x')</script><!--"
    rng = np.random.default_rng(1)
    ref = {evil: rng.normal(size=200), "<b>bold</b>": rng.choice(["<i>", "&amp;"], 200)}
    cur = {evil: rng.normal(2, 1, 200), "<b>bold</b>": rng.choice(["<i>", "&amp;"], 200)}
    report = Report(ref, cur, title="<img src=x onerror=alert(1)>")
    html = report.html()
    assert evil not in html and "<b>bold</b>" not in html and "<img src=x" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(" in html  # shown as text in the table
    # Exactly our three script elements; nothing in the data closed one early.
    assert html.count("</script>") == 3
    data = _blob(html)
    names = {c["title"] for c in data["columns"]}
    assert names == {evil, "<b>bold</b>"}


def test_json_for_script_escapes_and_round_trips() -> None:
    value = {"a": "</script><!-- & \u2028", "b": [1.5, None]}
    text = json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_suite_is_shown_at_the_top(loans_report: Report) -> None:
    suite = loans_report.check([no_dataset_drift(), max_drift_share(0.1)])
    assert not suite.passed
    html = loans_report.html()
    assert 'id="tests"' in html and html.index('id="tests"') < html.index('id="drift"')
    assert "max_drift_share(0.1)" in html and "FAILED" in html
    assert loans_report.to_dict()["tests"]["n_failed"] == 1


def test_save_html_and_notebook_repr(loans_report: Report, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    loans_report.save_html(path)
    text = path.read_text(encoding="utf-8")
    assert text == loans_report.html() == loans_report._repr_html_()


def test_five_hundred_columns_stay_small_and_fast() -> None:
    rng = np.random.default_rng(5)
    n_rows, n_cols = 2_000, 500
    ref = {f"f{i}": rng.normal(size=n_rows) for i in range(n_cols)}
    cur = {f"f{i}": rng.normal(1.0 if i % 10 == 0 else 0.0, 1, n_rows) for i in range(n_cols)}
    start = time.perf_counter()
    report = Report(ref, cur)
    html = report.html()
    elapsed = time.perf_counter() - start
    assert elapsed < 20.0
    drifted = {d.column for d in report.drift if d.status == "drift"}
    shifted = {f"f{i}" for i in range(0, n_cols, 10)}
    assert shifted <= drifted and len(drifted - shifted) <= 5
    extra = len(html.encode("utf-8")) - len(get_plotlyjs().encode("utf-8"))
    assert extra < 1_500_000, f"report without plotly is {extra} bytes"
    # One row per column, and no chart is drawn up front (one div each, filled on demand).
    assert html.count('class="col-row"') == n_cols
    assert html.count("Plotly.newPlot(") < 10
