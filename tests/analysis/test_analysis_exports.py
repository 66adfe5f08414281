"""The shapes of analysis's main public classes (``__all__`` is checked in tests/test_exported_members.py)."""

from __future__ import annotations


def test_report_and_testsuite_signatures() -> None:
    from driftline.analysis import Report, TestSuite

    report = Report({"a": [1.0, 2.0, 3.0]}, {"a": [1.0, 2.0, 3.0]})
    for attr in ("drift", "dataset_drift", "quality", "performance"):
        assert hasattr(report, attr)
    for method in ("to_dict", "to_json", "save_html", "html", "_repr_html_", "check"):
        assert callable(getattr(report, method))
    assert TestSuite(report, []).passed  # no conditions: nothing failed
