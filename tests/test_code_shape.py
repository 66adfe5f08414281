"""Modules and functions stay small enough to read.

No module of ``src/driftline`` is over :data:`MAX_MODULE_LINES` lines, and no
function is over :data:`MAX_FUNCTION_LINES` lines (its docstring included)
unless a comment beside its ``def`` (the line above it or its decorators, or
the ``def`` line itself) starts with ``# long:`` and says why. Alembic's
revision scripts are left out: they are history, never edited.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "driftline"

MAX_MODULE_LINES = 600
"""Most lines in one module."""
MAX_FUNCTION_LINES = 80
"""Most lines in one function without a ``# long:`` reason beside it."""

MODULES = sorted(p for p in SRC.rglob("*.py") if "versions" not in p.parts)


def _long_functions(text: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[int, str, int]]:
    """(line, name, length) of the functions over ``limit`` lines with no ``# long:`` reason."""
    lines = text.splitlines()
    out = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= limit:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        beside = [lines[first - 2] if first >= 2 else "", lines[node.lineno - 1]]
        if not any("# long:" in line for line in beside):
            out.append((node.lineno, node.name, length))
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_is_small(path: Path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_MODULE_LINES, f"{path.relative_to(SRC)}: {n} lines (at most {MAX_MODULE_LINES})"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_functions_are_short_or_say_why(path: Path) -> None:
    bad = _long_functions(path.read_text(encoding="utf-8"))
    assert not bad, "\n".join(
        f"{path.relative_to(SRC)}:{line}: {name} is {length} lines; split it or write "
        f"'# long: <why>' beside its def"
        for line, name, length in bad
    )


def test_the_checker_sees_a_long_function_and_its_reason() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(90))
    assert [n for _, n, _ in _long_functions("def f():\n" + body)] == ["f"]
    assert _long_functions("# long: a table of cases read top to bottom\ndef f():\n" + body) == []
    assert _long_functions("def f():  # long: one SQL statement\n" + body) == []
