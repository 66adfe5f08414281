"""Every public package's ``__all__``: importable, complete, sorted and documented.

One test over every public package and public module of driftline, found by
walking the source tree (a new package is covered without being listed here).
A package is public when no part of its dotted name starts with an underscore;
the integrations' framework modules are checked where their framework is
installed. ``__all__`` is sorted the way ruff's RUF022 keeps it: CONSTANTS,
then Classes, then functions.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "driftline"

SKIP = ("driftline.store.migrations",)
"""Alembic's environment and revision scripts: not a Python API."""

FRAMEWORKS = {
    "driftline.integrations.torch": "torch",
    "driftline.integrations.keras": "keras",
    "driftline.integrations.lightning": "lightning",
    "driftline.integrations.transformers": "transformers",
}
"""Modules that import a framework at module level, and that framework."""


def _public_modules() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if any(p.startswith("_") for p in parts) or name.startswith(SKIP):
            continue
        names.append(name)
    return names


MODULES = _public_modules()


def _import(name: str) -> ModuleType:
    framework = FRAMEWORKS.get(name)
    if framework is not None and importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    return importlib.import_module(name)


def _defined_in(obj: object, name: str) -> bool:
    """Whether ``obj`` comes from module ``name`` or a module inside it (not re-exported)."""
    origin = str(getattr(obj, "__module__", ""))
    return origin == name or origin.startswith(name + ".")


def _order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_the_walk_finds_every_layer() -> None:
    top = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    assert {"wire", "stats", "store", "alerts", "server", "ui", "cli", "examples"} <= top
    assert "driftline" in MODULES and "driftline.integrations" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_importable_complete_and_documented(name: str) -> None:
    module = _import(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    assert exported == sorted(exported, key=_order), f"{name}.__all__ is not in RUF022 order"
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member!r}, which is missing"
        obj = getattr(module, member)
        if callable(obj) and str(getattr(obj, "__module__", "")).startswith("driftline"):
            assert (obj.__doc__ or "").strip(), f"{name}.{member} has no docstring"
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and callable(v)
        and not isinstance(v, ModuleType)
        and _defined_in(v, name)
    }
    missing = public - set(exported)
    assert not missing, f"{name} has public names missing from __all__: {sorted(missing)}"


@pytest.mark.parametrize("name", [m for m in MODULES if m.startswith("driftline.integrations.")])
def test_integration_modules_export_their_own_classes(name: str) -> None:
    """A class an adapter exports is its own or from a private module of ``integrations``."""
    module = _import(name)
    for member in module.__all__:
        obj = getattr(module, member)
        if isinstance(obj, type):
            home = obj.__module__
            own = home == name or home.startswith("driftline.integrations._")
            assert own, f"{name}.{member} comes from {home}"
