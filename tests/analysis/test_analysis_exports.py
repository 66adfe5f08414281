"""The public surface of analysis, cli and examples: explicit, sorted, documented."""

from __future__ import annotations

import importlib

import pytest


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


@pytest.mark.parametrize("module", ["driftline.analysis", "driftline.cli", "driftline.examples"])
def test_all_is_sorted_importable_and_documented(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(mod.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        obj = getattr(mod, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{module}.{name} has no docstring"


def test_report_and_testsuite_signatures() -> None:
    from driftline.analysis import Report, TestSuite

    report = Report({"a": [1.0, 2.0, 3.0]}, {"a": [1.0, 2.0, 3.0]})
    for attr in ("drift", "dataset_drift", "quality", "performance"):
        assert hasattr(report, attr)
    for method in ("to_dict", "to_json", "save_html", "html", "_repr_html_", "check"):
        assert callable(getattr(report, method))
    assert TestSuite(report, []).passed  # no conditions: nothing failed
