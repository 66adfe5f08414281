"""The one exception tree: the drawing in ``driftline.errors`` is true, and the code raises inside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import driftline.errors as errors

SRC = Path(__file__).resolve().parents[1] / "src" / "driftline"

_NODE = re.compile(r"^(?P<indent>[ │]*)(?:[├└]── )?(?P<name>[A-Z]\w+)(?: \((?P<extra>\w+)\))?\s")


def _drawn_tree() -> dict[str, tuple[str | None, str | None]]:
    """Class -> (parent in the drawing, extra built-in base) from the module docstring."""
    doc = errors.__doc__ or ""
    lines = [line for line in doc.split("::", 1)[1].splitlines() if line.strip()]
    lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("Example"))]
    parents: dict[str, tuple[str | None, str | None]] = {}
    stack: list[tuple[int, str]] = []
    for line in lines:
        match = _NODE.match(line.strip("\n").removeprefix("    ") + " ")
        assert match, f"cannot read the drawing's line {line!r}"
        depth = len(match["indent"])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match["name"]] = (stack[-1][1] if stack else None, match["extra"])
        stack.append((depth, match["name"]))
    return parents


def test_the_drawing_matches_the_classes() -> None:
    drawn = _drawn_tree()
    assert set(drawn) == set(errors.__all__), "the drawing and __all__ name different classes"
    for name, (parent, extra) in drawn.items():
        cls = getattr(errors, name)
        bases = {b.__name__ for b in cls.__bases__}
        expected = {parent or "Exception"} | ({extra} if extra else set())
        assert bases == expected, f"{name}: drawn under {expected}, derives from {bases}"


def test_input_errors_are_value_errors() -> None:
    for name in ("InputError", "SchemaError", "EmptyDataError", "ConfigError"):
        assert issubclass(getattr(errors, name), ValueError)


ALWAYS_OUTSIDE = {"Exception", "RuntimeError", "OSError", "IOError", "AssertionError"}
"""Built-in errors that driftline never raises: its own tree says what went wrong."""


def _raises(tree: ast.AST) -> list[tuple[int, str, list[ast.AST]]]:
    """(line, raised name, enclosing nodes) of every ``raise Name(...)`` in ``tree``."""
    found: list[tuple[int, str, list[ast.AST]]] = []

    def visit(node: ast.AST, stack: list[ast.AST]) -> None:
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name):
                found.append((node.lineno, exc.id, stack))
        for child in ast.iter_child_nodes(node):
            visit(child, [*stack, node])

    visit(tree, [])
    return found


def _allowed(name: str, stack: list[ast.AST], uses_pydantic: bool) -> bool:
    functions = [n for n in stack if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside_try = any(isinstance(n, ast.Try) for n in stack)
    if name == "ValueError":  # pydantic validators report bad values with ValueError
        return uses_pydantic
    if name == "KeyError":  # the mapping protocol
        return bool(functions) and functions[-1].name == "__getitem__"
    if name == "TypeError":  # raised inside a try and translated by its handler
        return inside_try
    return name not in ALWAYS_OUTSIDE


@pytest.mark.parametrize(
    "path", sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts), ids=str
)
def test_raised_errors_are_inside_the_tree(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses_pydantic = "pydantic" in text
    bad = [
        f"{path.relative_to(SRC.parent)}:{line}: raise {name}"
        for line, name, stack in _raises(ast.parse(text))
        if not _allowed(name, stack, uses_pydantic)
    ]
    assert not bad, "errors outside driftline.errors:\n" + "\n".join(bad)


def test_the_checker_catches_a_bare_runtime_error() -> None:
    tree = ast.parse("def f():\n    raise RuntimeError('x')\n")
    assert [(n, _allowed(n, s, False)) for _, n, s in _raises(tree)] == [("RuntimeError", False)]
