"""String columns from arrow keep their dictionary codes, equal to pandas.factorize."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from driftline.schema import Schema, SchemaInferenceWarning, as_table
from driftline.schema._table import string_codes


@pytest.mark.parametrize(
    "column",
    [
        pa.array(["b", None, "a", "b", ""], pa.string()),
        pa.array(["x", None, "y"], pa.large_string()),
        pa.chunked_array([["p", None], ["q", "p"], []]),
    ],
)
def test_arrow_string_codes_equal_factorize(column: pa.Array) -> None:
    values = as_table(pa.table({"s": column}))["s"]
    assert values.dtype == object
    assert values.tolist() == column.to_pylist()
    known = string_codes(values)
    assert known is not None
    codes, uniques = pd.factorize(np.asarray(column.to_pylist(), dtype=object))
    assert known[0].tolist() == codes.tolist()
    assert known[1].tolist() == list(uniques)


def test_pandas_arrow_strings_keep_codes_and_missing_values(rng: np.random.Generator) -> None:
    raw = rng.choice(["u", "v", "w"], 1000).astype(object)
    raw[::7] = None
    series = pd.Series(raw, dtype="string[pyarrow]")
    values = as_table(pd.DataFrame({"s": series}))["s"]
    assert values.tolist() == raw.tolist()
    known = string_codes(values)
    assert known is not None and int((known[0] == -1).sum()) == int(series.isna().sum())


def test_other_arrays_have_no_codes() -> None:
    table = as_table(pd.DataFrame({"o": pd.Series(["a", None], dtype=object), "f": [1.0, 2.0]}))
    assert string_codes(table["o"]) is None
    assert string_codes(table["f"]) is None
    assert string_codes(np.array(["a"], dtype=object)) is None


def test_inference_with_codes_matches_inference_without(rng: np.random.Generator) -> None:
    cols = {
        "cat": rng.choice(["a", "b", "c"], 500).tolist(),
        "flag": rng.choice(["yes", "no"], 500).tolist(),
        "when": [f"2024-01-0{i % 9 + 1}" for i in range(500)],
        "empty": [None] * 500,
    }
    arrow = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
    objects = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    with pytest.warns(SchemaInferenceWarning) as with_warned:
        with_codes = Schema.infer(as_table(arrow))
    with pytest.warns(SchemaInferenceWarning) as plain_warned:
        plain = Schema.infer(as_table(objects))
    assert [str(w.message) for w in with_warned] == [str(w.message) for w in plain_warned]
    assert [c.kind for c in with_codes] == [c.kind for c in plain]
    assert [c.kind.value for c in with_codes][:3] == ["categorical", "boolean", "datetime"]
