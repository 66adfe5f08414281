"""The database fixtures (SQLite and PostgreSQL) live in tests/conftest.py, shared by
the store, server and client tests; the window-series reference computation is here."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _load_reference() -> Any:
    path = Path(__file__).with_name("_windows_reference.py")
    spec = importlib.util.spec_from_file_location("_store_windows_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REFERENCE = _load_reference()


@pytest.fixture
def summarise_windows() -> Callable[..., list[Any]]:
    """The window series merged from the bucket profiles (see ``_windows_reference.py``)."""
    return _REFERENCE.summarise_windows
