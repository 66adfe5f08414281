"""Every package's ``__all__`` is importable and complete for its public names.

Its order (isort-style: constants, classes, functions) is enforced by ruff's RUF022.
"""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "driftline",
    "driftline.alerts",
    "driftline.alerts.channels",
    "driftline.analysis",
    "driftline.client",
    "driftline.errors",
    "driftline.profile",
    "driftline.schema",
    "driftline.server",
    "driftline.stats",
    "driftline.stats.drift",
    "driftline.stats.metrics",
    "driftline.store",
    "driftline.training",
    "driftline.ui",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member!r}, which is missing"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_exported(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and callable(v)
        and str(getattr(v, "__module__", "")).startswith("driftline")
    }
    missing = public - set(module.__all__)
    assert not missing, f"{name} has public names missing from __all__: {sorted(missing)}"
