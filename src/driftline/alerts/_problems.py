"""Validation problems that name the field they are about, for cross-field checks.

A pydantic model validator can only fail the whole model; raising
:class:`FieldProblems` instead keeps the path of each offending field (relative
to the model), so config errors still point at the right YAML line.

Example
-------
>>> str(FieldProblems([(("window", "step"), "expected 0 < step <= size")]))
'window.step: expected 0 < step <= size'
"""

from __future__ import annotations

__all__ = ["FieldProblems", "Loc", "format_path"]

Loc = tuple[str | int, ...]


def format_path(loc: Loc) -> str:
    """``('monitors', 1, 'condition')`` as ``monitors[1].condition``.

    Examples
    --------
    >>> format_path(("route", "routes", 0, "receiver"))
    'route.routes[0].receiver'
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class FieldProblems(ValueError):
    """One or more problems, each with the path of its field relative to the model checked."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{format_path(p)}: {m}" for p, m in problems))
        self.problems: list[tuple[Loc, str]] = problems
