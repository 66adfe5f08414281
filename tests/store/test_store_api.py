from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import driftline.store
from driftline.store._bulk import decode_columns, encode_columns, json_texts


def test_all_is_sorted_and_importable() -> None:
    names = list(driftline.store.__all__)
    constants = sorted(n for n in names if n.isupper())
    assert names == constants + sorted(n for n in names if not n.isupper())  # ruff's order
    for name in names:
        assert getattr(driftline.store, name) is not None
    assert sorted(dir(driftline.store)) == sorted(names)


def test_payloads_import_no_database_code() -> None:
    code = "import sys, driftline.store.payloads\nprint('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_feature_chunks_round_trip() -> None:
    cols: dict[str, list[Any]] = {
        "f": [1.5, -2.25, 1e300],
        "nan": [math.nan, 1.0, 2.0],
        "i": [1, 2, 3],
        "b": [True, False, True],
        "s": ["a", "b,c", 'q"uote'],
        "mixed": [1, None, "x"],
        "empty": [],
        "lists": [[1, 2], [3, 4], [5, 6]],
    }
    got = decode_columns(encode_columns(cols))
    assert list(got) == list(cols)
    assert got["f"] == cols["f"] and got["i"] == cols["i"] and got["b"] == cols["b"]
    assert math.isnan(got["nan"][0]) and got["nan"][1:] == [1.0, 2.0]
    assert got["s"] == cols["s"] and got["mixed"] == cols["mixed"]
    assert got["empty"] == [] and got["lists"] == cols["lists"]
    assert all(type(v) is int for v in got["i"]) and all(type(v) is bool for v in got["b"])


def test_json_texts() -> None:
    assert json_texts([0, -1.5, math.nan, math.inf, False, None, "é", {"a": [1]}]) == [
        "0", "-1.5", None, None, "false", None, '"\\u00e9"', '{"a":[1]}',
    ]  # fmt: skip
