"""The SDK's hot path stays light: no pandas/pyarrow for plain columns, same JSON as ``as_table``.

``ModelMonitor.log_predictions`` with a dict of lists (or tuples) of plain
Python values builds its JSON columns without numpy conversion or pandas
(``driftline.client._convert._light_columns``); anything else goes through
``driftline.schema.as_table``, which imports pandas/pyarrow/polars only for their
own objects. Only the calling thread's imports are checked here: the
background sender thread may import what it needs (it imports nothing heavy
over HTTP today, which the subprocess test also checks after ``flush``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

from driftline.client._convert import _light_list, _table_columns, feature_columns

HEAVY = ("pandas", "pyarrow", "polars", "scipy", "sqlalchemy")

_SCRIPT = textwrap.dedent(
    """
    import gzip, json, sys, tempfile
    import httpx
    import numpy as np
    from driftline import ModelMonitor
    from driftline.config import load_settings

    HEAVY = {heavy!r}
    accepted = []

    def server(request):
        body = json.loads(gzip.decompress(request.content))
        accepted.append(body["features"])
        return httpx.Response(200, json={{"batch_id": body["batch_id"],
                                          "accepted": len(body["ids"]), "duplicate": False}})

    monitor = ModelMonitor("shop", "ranker", "v1", url="http://test",
                           transport=httpx.MockTransport(server),
                           settings=load_settings({{"DRIFTLINE_DATA_DIR": tempfile.mkdtemp()}}))
    loaded = {{}}
    ids = monitor.log_predictions(
        {{"age": [31, None, 45], "income": [1.5, float("nan"), 2.0], "city": ["Oslo", None, "Rome"],
          "member": [True, False, None], "n": (1, 2, 3)}},
        [0, 1, 0],
    )
    loaded["dict_of_lists"] = [m for m in HEAVY if m in sys.modules]
    monitor.log_predictions({{"age": 31, "city": "Oslo"}}, 1)
    monitor.log_predictions({{"x": np.arange(3.0), "k": np.array([1, 2, 3])}}, [0, 1, 1])
    monitor.log_predictions(np.ones((2, 3)), [1, 1])
    loaded["numpy"] = [m for m in HEAVY if m in sys.modules]
    flushed = monitor.flush(10.0)
    loaded["after_flush"] = [m for m in HEAVY if m in sys.modules]
    monitor.close()
    print(json.dumps({{"ids": len(ids), "loaded": loaded, "flushed": flushed,
                      "rows": monitor.stats().accepted, "first": accepted[0] if accepted else None}}))
    """
)


def test_logging_plain_columns_imports_no_pandas_or_pyarrow() -> None:
    code = _SCRIPT.format(heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == {"dict_of_lists": [], "numpy": [], "after_flush": []}
    assert result["ids"] == 3
    assert result["flushed"] is True
    assert result["rows"] == 3 + 1 + 3 + 2
    assert result["first"] == {
        "age": [31, None, 45],
        "income": [1.5, None, 2.0],
        "city": ["Oslo", None, "Rome"],
        "member": [True, False, None],
        "n": [1, 2, 3],
    }


def _same(a: list[Any], b: list[Any]) -> bool:
    """Equal value for value, with the same Python type (1 is not 1.0 in JSON)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if type(x) is not type(y):
            return False
        if isinstance(x, float) and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y:
            return False
    return True


_POOLS: dict[str, list[Any]] = {
    "int": [0, 1, -7, 2**40, 2**53, -(2**53)],
    "float": [0.0, 1.5, -2.25, float("inf"), 1e300],
    "nan": [float("nan")],
    "none": [None],
    "bool": [True, False],
    "str": ["a", "Oslo", "", "nan"],
}


def _random_columns(rng: np.random.Generator, n_cases: int) -> list[list[Any]]:
    names = list(_POOLS)
    cases = []
    for _ in range(n_cases):
        k = int(rng.integers(1, 4))
        chosen = [names[i] for i in rng.choice(len(names), size=k, replace=False)]
        pool = [v for name in chosen for v in _POOLS[name]]
        n = int(rng.integers(1, 6))
        cases.append([pool[int(i)] for i in rng.integers(0, len(pool), size=n)])
    return cases


def test_light_columns_equal_the_as_table_path(rng: np.random.Generator) -> None:
    checked = 0
    for values in _random_columns(rng, 600):
        light = _light_list(values)
        if light is None:
            continue
        heavy, n = _table_columns({"c": values})
        assert n == len(values)
        assert _same(light, heavy["c"]), (values, light, heavy["c"])
        checked += 1
    assert checked > 300  # most plain combinations take the light path


@pytest.mark.parametrize(
    "values",
    [
        [1, 2**53 + 1],  # rounded through float64 by as_table
        [True, 1],
        [True, float("nan")],
        ["a", 1],
        [np.float64(1.0), 2.0],
        [dt.datetime(2024, 1, 1), None],
        [b"x", None],
    ],
)
def test_values_the_light_path_leaves_to_as_table(values: list[Any]) -> None:
    assert _light_list(values) is None
    cols, n = feature_columns({"c": values})
    assert n == len(values)
    assert _same(cols["c"], _table_columns({"c": values})[0]["c"])


def test_feature_columns_keeps_column_order_and_checks_lengths() -> None:
    cols, n = feature_columns({"b": [1, 2], "a": ("x", "y"), "c": [None, 0.5]})
    assert (list(cols), n) == (["b", "a", "c"], 2)
    assert cols == {"b": [1, 2], "a": ["x", "y"], "c": [None, 0.5]}
    with pytest.raises(ValueError, match="one length"):
        feature_columns({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="at least one row"):
        feature_columns({"a": []})
