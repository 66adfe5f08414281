"""The drift method registry, the default-method rule and the public surface."""

from __future__ import annotations

import inspect

import pytest

import driftline.stats.drift as drift
from driftline.errors import InputError
from driftline.stats.drift import (
    DEFAULT_METHOD_SAMPLE_CUTOFF,
    DriftMethod,
    available_methods,
    default_method,
    get_method,
)

EXPECTED = (
    "anderson_darling",
    "chi_square",
    "hellinger",
    "jensen_shannon",
    "kl",
    "ks",
    "psi",
    "total_variation",
    "wasserstein",
    "z_test",
)


def test_all_is_sorted_and_complete() -> None:
    assert list(drift.__all__) == sorted(drift.__all__)
    for name in drift.__all__:
        assert hasattr(drift, name), name
    public = {
        n for n, v in vars(drift).items() if not n.startswith("_") and not inspect.ismodule(v)
    }
    assert public - {"annotations"} == set(drift.__all__)


def test_available_methods() -> None:
    assert available_methods() == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_registered_method_is_consistent(name: str) -> None:
    m = get_method(name)
    assert isinstance(m, DriftMethod)
    assert m.name == name
    assert m.kinds and m.kinds <= {"numerical", "categorical", "boolean"}
    assert ("numerical" in m.kinds) == (m.numerical is not None)
    assert ("categorical" in m.kinds) == (m.categorical is not None)
    assert m.default_threshold == (0.05 if m.output == "p_value" else 0.1)
    assert m.min_samples >= 1
    assert m.description and "\n" not in m.description
    with pytest.raises(AttributeError):
        m.name = "other"  # type: ignore[misc]


def test_get_method_unknown_lists_valid_names() -> None:
    with pytest.raises(
        InputError, match=r"method: expected one of anderson_darling, .*z_test, got 'psy'"
    ):
        get_method("psy")


@pytest.mark.parametrize(
    ("kind", "n_ref", "n_cur", "n_categories", "expected"),
    [
        ("numerical", 1000, 1000, None, "ks"),
        ("numerical", 1000, 1001, None, "wasserstein"),
        ("numerical", 50_000, 10, None, "wasserstein"),
        ("boolean", 10, 20, None, "z_test"),
        ("categorical", 500, 500, 2, "z_test"),
        ("categorical", 500, 500, 5, "chi_square"),
        ("categorical", 500, 500, None, "chi_square"),
        ("categorical", 5000, 500, 2, "jensen_shannon"),
        ("boolean", 1001, 5, None, "jensen_shannon"),
    ],
)
def test_default_method(
    kind: str, n_ref: int, n_cur: int, n_categories: int | None, expected: str
) -> None:
    assert DEFAULT_METHOD_SAMPLE_CUTOFF == 1000
    assert default_method(kind, n_ref, n_cur, n_categories=n_categories) == expected
    assert kind in get_method(expected).kinds


def test_default_method_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="kind: expected one of boolean, categorical, numerical"):
        default_method("text", 1, 1)
    with pytest.raises(InputError, match="n_current: expected a non-negative integer"):
        default_method("numerical", 1, -1)
