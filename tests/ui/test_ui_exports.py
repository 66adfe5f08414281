"""The dashboard package's ``__all__`` is importable and names its public callables."""

from __future__ import annotations

import driftline.ui as ui


def test_all_is_importable_and_complete() -> None:
    assert len(set(ui.__all__)) == len(ui.__all__)
    for name in ui.__all__:
        assert hasattr(ui, name), name
    public = {
        n
        for n, v in vars(ui).items()
        if not n.startswith("_")
        and callable(v)
        and str(getattr(v, "__module__", "")).startswith("driftline")
    }
    assert public <= set(ui.__all__), sorted(public - set(ui.__all__))
