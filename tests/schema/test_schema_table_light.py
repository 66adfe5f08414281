"""Object columns of plain Python values are classified without pandas, exactly as pandas does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftline.schema._table import LIGHT_OBJECT_MAX_ROWS, _from_object, _light_classify

_POOLS: dict[str, list[Any]] = {
    "int": [0, 3, -5, 2**70],
    "float": [0.5, -1.0, float("inf")],
    "nan": [float("nan")],
    "none": [None],
    "bool": [True, False],
    "str": ["a", "", "nan"],
}


def _object_array(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def test_light_classify_agrees_with_pandas(rng: np.random.Generator) -> None:
    names = list(_POOLS)
    classified = 0
    for _ in range(800):
        chosen = [
            names[i] for i in rng.choice(len(names), size=int(rng.integers(1, 4)), replace=False)
        ]
        pool = [v for name in chosen for v in _POOLS[name]]
        arr = _object_array(
            [pool[int(i)] for i in rng.integers(0, len(pool), size=int(rng.integers(1, 7)))]
        )
        light = _light_classify(arr)
        inferred = pd.api.types.infer_dtype(arr, skipna=True)
        if light is None:
            assert inferred not in ("integer", "floating", "boolean", "string", "empty"), arr
            continue
        missing, kind = light
        assert kind == inferred, arr
        assert missing.tolist() == pd.isna(arr).tolist(), arr
        classified += 1
    assert classified > 400


@pytest.mark.parametrize(
    "values",
    [[np.float64(1.0), None], [dt.date(2024, 1, 1), None], [b"x", None], [1, "a"], [True, 1]],
)
def test_other_values_are_left_to_pandas(values: list[Any]) -> None:
    assert _light_classify(_object_array(values)) is None


def test_large_columns_give_the_same_result_on_both_paths() -> None:
    # Above LIGHT_OBJECT_MAX_ROWS pandas classifies; below, the light path.
    base = ["x", None, "y", float("nan")]
    big = _object_array(base * (LIGHT_OBJECT_MAX_ROWS // 4 + 1))
    small = _object_array(base)
    big_values, big_kind = _from_object(big)
    small_values, small_kind = _from_object(small)
    assert big_kind == small_kind == "string"
    assert big_values[:4].tolist() == small_values.tolist() == ["x", None, "y", None]
