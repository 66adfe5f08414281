"""The public surface of driftline.client and driftline.server: sorted, importable, documented."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["driftline.client", "driftline.server"])
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)

    # "isort-style" order, as ruff's RUF022 keeps it: CONSTANTS, Classes, functions
    def key(n: str) -> tuple[int, str]:
        return (0 if n.isupper() else 1 if n[0].isupper() else 2, n)

    assert module.__all__ == sorted(module.__all__, key=key)
    for attr in module.__all__:
        obj = getattr(module, attr)
        if callable(obj):
            assert obj.__doc__, f"{name}.{attr} has no docstring"
