"""The layers: every arrow between driftline's packages points down, through public names only.

The order, lowest first, is the one of ``docs/architecture.md``. A package may
import only packages of a lower group; packages of one group may not import each
other; and a package reaches another only through its public face (its
``__init__`` or a module whose name has no leading underscore), never
``driftline.<pkg>._<module>``. Every import counts: module level, inside
functions, under ``TYPE_CHECKING``, relative ones, ``importlib.import_module``
and lazy-import tables (a string ``"driftline.<pkg>..."``), and the imports of
doctest examples. The checker is tested on small fake trees, so it can fail.

The heavy third-party libraries are checked too: the core layers must not load
them.
"""

from __future__ import annotations

import ast
import doctest
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "driftline"

ORDER: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("config", "wire"),
    ("stats", "schema"),
    ("profile",),
    ("training", "analysis"),
    ("store",),
    ("client",),
    ("integrations", "alerts"),
    ("server",),
    ("ui",),
    ("examples",),
    ("cli",),
)
"""The layer groups, lowest first (``docs/architecture.md`` explains each)."""

LEAVES = frozenset({"_version"})
"""Top-level modules that import nothing of driftline: any layer may use them."""

_MODULE_STRING = re.compile(r"^driftline(\.\w+)+$")


@dataclass(frozen=True)
class Violation:
    """One bad arrow: where it stands, what it imports and why that is not allowed."""

    path: str
    line: int
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.target}: {self.reason}"


def _rank(order: tuple[tuple[str, ...], ...]) -> dict[str, int]:
    return {pkg: i for i, group in enumerate(order) for pkg in group}


def _module_parts(root: Path, path: Path) -> tuple[list[str], bool]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return (parts[:-1] if is_package else parts), is_package


def _targets(
    node: ast.AST, parts: list[str], is_package: bool, packages: dict[str, int]
) -> Iterator[str]:
    """Dotted names that ``node`` imports (``a.b._c`` for ``from a.b import _c``)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = parts if is_package else parts[:-1]
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        if module != "driftline":  # ``from driftline import wire`` names the package it imports
            yield module
        for alias in node.names:
            if alias.name != "*":
                yield f"{module}.{alias.name}"
    elif (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _MODULE_STRING.match(node.value)
        and node.value.split(".")[1] in packages
    ):
        # a lazy-import table or import_module("driftline.<pkg>..."); other strings
        # that merely look dotted (an address, a file name) are not imports
        yield node.value


def _doctest_trees(tree: ast.Module) -> Iterator[tuple[int, ast.AST]]:
    """The imports of the doctest examples in the docstrings of ``tree``."""
    parser = doctest.DocTestParser()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node, clean=False)
        if not doc or ">>>" not in doc:
            continue
        start = node.body[0].lineno if node.body else 1
        for example in parser.get_examples(doc):
            try:
                sub = ast.parse(example.source)
            except SyntaxError:
                continue
            for inner in ast.walk(sub):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield start + example.lineno, inner


def _judge(src_pkg: str, target: str, rank: dict[str, int]) -> str | None:
    """Why ``src_pkg`` may not import ``target``, or ``None`` when it may."""
    names = target.split(".")
    if names[0] != "driftline":
        return None
    if len(names) == 1:
        return "imports the top-level package (it sits above every layer)"
    dst = names[1]
    if dst in LEAVES or dst == src_pkg:
        return None
    if dst not in rank:
        if dst.startswith("__"):
            return None
        return "imports a top-level name of driftline (it sits above every layer)"
    if rank[dst] > rank[src_pkg]:
        return f"arrow up: {src_pkg} (layer {rank[src_pkg]}) imports {dst} (layer {rank[dst]})"
    if rank[dst] == rank[src_pkg]:
        return f"arrow across: {src_pkg} and {dst} share layer {rank[dst]}"
    private = [n for n in names[2:] if n.startswith("_") and not n.startswith("__")]
    if private:
        return f"reaches into {dst}'s private module or name {private[0]!r}"
    return None


def check_tree(root: Path, order: tuple[tuple[str, ...], ...] = ORDER) -> list[Violation]:
    """Every import in the package at ``root`` that breaks the layering, with its reason.

    ``root`` is the directory of the top-level package (``src/driftline``).
    Unknown packages (not in ``order``) are reported too, so a new package must
    be given its place.
    """
    rank = _rank(order)
    found: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        parts, is_package = _module_parts(root, path)
        if len(parts) < 2:
            continue  # the top-level package itself: the public face, above every layer
        src_pkg = parts[1]
        rel = str(path.relative_to(root.parent))
        if src_pkg in LEAVES or src_pkg.startswith("__"):
            continue
        if src_pkg not in rank:
            found.append(Violation(rel, 1, ".".join(parts), "a package with no place in ORDER"))
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        nodes: list[tuple[int, ast.AST]] = [(getattr(n, "lineno", 0), n) for n in ast.walk(tree)]
        nodes += list(_doctest_trees(tree))
        for line, node in nodes:
            for target in dict.fromkeys(_targets(node, parts, is_package, rank)):
                reason = _judge(src_pkg, target, rank)
                if reason:
                    found.append(Violation(rel, line, target, reason))
    return found


def test_driftline_has_no_arrow_up_across_or_private() -> None:
    found = check_tree(SRC)
    assert not found, "layering broken:\n" + "\n".join(map(str, found))


def test_every_package_has_a_place_in_the_order() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    packages |= {p.stem for p in SRC.glob("*.py") if not p.name.startswith("_")}
    assert packages == {pkg for group in ORDER for pkg in group}


def _fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "driftline"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


GOOD = {
    "errors.py": "",
    "stats/__init__.py": "from driftline.stats._kernels import mean\nfrom driftline import errors\n",
    "stats/_kernels.py": "from . import _other\nfrom driftline.errors import InputError\n",
    "stats/_other.py": "",
    "store/__init__.py": "from driftline.store._engine import Store\n",
    "store/_engine.py": "def f():\n    from driftline.stats import mean\n",
}


def test_checker_passes_a_good_tree(tmp_path: Path) -> None:
    assert check_tree(_fake_tree(tmp_path, GOOD)) == []


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        # a function-level import up (stats is below store)
        ({"stats/_bad.py": "def f():\n    from driftline.store import Store\n"}, "arrow up"),
        # a module-level import across one layer group
        ({"config.py": "from driftline import wire\n", "wire/__init__.py": ""}, "arrow across"),
        # another package's private module, absolute and as an imported name
        ({"store/_bad.py": "from driftline.stats._kernels import mean\n"}, "private"),
        ({"store/_bad.py": "from driftline.stats import _kernels\n"}, "private"),
        # a relative import that climbs out of the package and up the order
        ({"stats/_bad.py": "from ..store import Store\n"}, "arrow up"),
        # an import under TYPE_CHECKING still counts
        (
            {
                "stats/_bad.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from driftline.store import Store\n"
            },
            "arrow up",
        ),
        # a lazy import table naming another package's private module
        ({"store/_bad.py": "_LAZY = {'mean': 'driftline.stats._kernels'}\n"}, "private"),
        # a doctest example that imports a private module of another package
        (
            {
                "store/_bad.py": 'def f():\n    """\n    >>> from driftline.stats._kernels import mean\n    """\n'
            },
            "private",
        ),
        # the top-level package sits above every layer
        ({"stats/_bad.py": "import driftline\n"}, "top-level"),
        # a package with no place in the order
        ({"newpkg/__init__.py": ""}, "no place"),
    ],
)
def test_checker_fails_a_bad_tree(tmp_path: Path, files: dict[str, str], reason: str) -> None:
    found = check_tree(_fake_tree(tmp_path, {**GOOD, **files}))
    assert found, "the checker missed a bad arrow"
    assert all(reason in v.reason for v in found), [str(v) for v in found]
    assert all("_bad" in v.path or "newpkg" in v.path or "config" in v.path for v in found)


FORBIDDEN = ("sqlalchemy", "fastapi", "uvicorn", "torch", "keras", "tensorflow", "pandas")


@pytest.mark.parametrize(
    "module", ["driftline.stats", "driftline.errors", "driftline.config", "driftline.wire"]
)
def test_core_module_imports_stay_light(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_wire_constants_load_no_pydantic() -> None:
    code = "import sys, driftline.wire\nprint('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_driftline_runs_nothing_heavy() -> None:
    code = "import sys, driftline\nprint('sqlalchemy' in sys.modules, 'fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
