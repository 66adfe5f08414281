"""The core layers must not pull in heavy or server-side libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("sqlalchemy", "fastapi", "uvicorn", "torch", "keras", "tensorflow", "pandas")


@pytest.mark.parametrize("module", ["driftline.stats", "driftline.errors", "driftline.config"])
def test_core_module_imports_stay_light(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_importing_driftline_runs_nothing_heavy() -> None:
    code = "import sys, driftline\nprint('sqlalchemy' in sys.modules, 'fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
