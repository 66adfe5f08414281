"""Safe arithmetic expressions over named signals, for ``expression`` monitors.

An expression is parsed with :mod:`ast` and only numbers, names, ``+ - * /``,
unary minus/plus and calls to ``abs``, ``min`` and ``max`` are allowed. It is
never passed to ``eval``: :func:`compute_expression` walks the tree itself.

Example
-------
>>> tree = parse_expression("clicks / max(predictions, 1)")
>>> sorted(expression_names(tree))
['clicks', 'predictions']
>>> compute_expression(tree, {"clicks": 30.0, "predictions": 600.0})
0.05
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping

from driftline.errors import InputError

__all__ = ["compute_expression", "expression_names", "parse_expression"]

_FUNCTIONS = ("abs", "max", "min")
_MAX_LENGTH = 1000


def parse_expression(text: str, what: str | None = "expression") -> ast.Expression:
    """Parse ``text`` and check that it only uses the allowed syntax.

    Parameters
    ----------
    text : str
        E.g. ``"conversions / predictions"`` or ``"abs(a - b)"``.
    what : str or None
        The field's name, for the error message (``None``: no prefix).

    Returns
    -------
    ast.Expression
        The checked tree, for :func:`compute_expression`.

    Raises
    ------
    InputError
        A syntax error, or anything but numbers, names, ``+ - * /``, unary
        minus and ``abs``/``min``/``max``.

    Examples
    --------
    >>> parse_expression("__import__('os')")
    Traceback (most recent call last):
    ...
    driftline.errors.InputError: expression: '__import__' is not allowed (functions: abs, max, min)
    """
    pre = f"{what}: " if what else ""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{pre}expected a non-empty arithmetic expression, got {text!r}")
    if len(text) > _MAX_LENGTH:
        raise InputError(f"{pre}expected at most {_MAX_LENGTH} characters, got {len(text)}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"{pre}invalid syntax at column {exc.offset}: {text!r}") from exc
    for node in ast.walk(tree):
        _check(node, pre)
    return tree


def _check(node: ast.AST, pre: str) -> None:
    if isinstance(node, ast.Expression | ast.Name | ast.Load):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise InputError(f"{pre}only numbers are allowed as constants, got {node.value!r}")
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            raise InputError(f"{pre}only + - * / are allowed, got {type(node.op).__name__}")
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise InputError(f"{pre}only unary minus is allowed, got {type(node.op).__name__}")
        return
    if isinstance(node, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.USub | ast.UAdd):
        return
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        if name not in _FUNCTIONS:
            raise InputError(f"{pre}{name!r} is not allowed (functions: {', '.join(_FUNCTIONS)})")
        if node.keywords or not node.args:
            raise InputError(f"{pre}{name}() takes positional arguments only, at least one")
        if name == "abs" and len(node.args) != 1:
            raise InputError(f"{pre}abs() takes exactly one argument, got {len(node.args)}")
        return
    raise InputError(f"{pre}{type(node).__name__} is not allowed in an expression")


def expression_names(tree: ast.Expression) -> set[str]:
    """The input names an expression reads (function names excluded).

    Examples
    --------
    >>> sorted(expression_names(parse_expression("abs(a - b) / c")))
    ['a', 'b', 'c']
    """
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def compute_expression(tree: ast.Expression, values: Mapping[str, float]) -> float | None:
    """The expression's value for ``values``; ``None`` on division by zero or a missing input.

    Examples
    --------
    >>> compute_expression(parse_expression("-a + 2 * b"), {"a": 1.0, "b": 3.0})
    5.0
    >>> compute_expression(parse_expression("a / b"), {"a": 1.0, "b": 0.0}) is None
    True
    """
    try:
        out = _compute(tree.body, values)
    except (ZeroDivisionError, KeyError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _compute(node: ast.AST, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(values[node.id])
    if isinstance(node, ast.UnaryOp):
        inner = _compute(node.operand, values)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        a, b = _compute(node.left, values), _compute(node.right, values)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return a / b
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_compute(a, values) for a in node.args]
        if node.func.id == "abs":
            return abs(args[0])
        return max(args) if node.func.id == "max" else min(args)
    raise InputError(f"expression: {type(node).__name__} is not allowed")  # pragma: no cover
