"""The public surface of driftline.training and driftline.integrations.torch."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["driftline.training", "driftline.integrations"])
def test_all_is_sorted_complete_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names missing {member!r}"
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and callable(v)
        and str(getattr(v, "__module__", "")).startswith("driftline")
    }
    assert public <= set(exported), sorted(public - set(exported))


def test_torch_module_exports() -> None:
    pytest.importorskip("torch")
    from driftline.integrations import torch as integration

    assert integration.__all__ == ["TorchSerializer", "TorchWatcher", "watch"]
    for member in integration.__all__:
        assert getattr(integration, member).__module__ == "driftline.integrations.torch"
