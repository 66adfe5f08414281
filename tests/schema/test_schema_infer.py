"""Schema inference: kinds, roles, visible warnings, overrides and errors."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from driftline.errors import EmptyDataError, SchemaError
from driftline.schema import (
    ColumnKind,
    ColumnRole,
    ColumnSpec,
    InferenceConfig,
    Schema,
    SchemaInferenceWarning,
)

N = 200


def _frame(rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": rng.normal(50_000, 10_000, N),
            "age": rng.integers(18, 90, N),
            "flag": rng.integers(0, 2, N).astype(bool),
            "city": rng.choice(["Oslo", "Lima", "Pune"], N),
            "when": pd.date_range("2024-01-01", periods=N, freq="h"),
            "label": rng.integers(0, 2, N).astype(bool),
            "pred": rng.integers(0, 2, N).astype(bool),
            "proba": rng.random(N),
        }
    )


def _kinds(schema: Schema) -> dict[str, str]:
    return {c.name: c.kind.value for c in schema}


EXPECTED = {
    "income": "numerical",
    "age": "numerical",
    "flag": "boolean",
    "city": "categorical",
    "when": "datetime",
    "label": "boolean",
    "pred": "boolean",
    "proba": "numerical",
}


@pytest.mark.parametrize("flavour", ["pandas", "polars", "arrow", "batch", "dict", "records"])
def test_infer_kinds_on_every_frame_flavour(rng: np.random.Generator, flavour: str) -> None:
    df = _frame(rng)
    frame: object
    if flavour == "pandas":
        frame = df
    elif flavour == "polars":
        frame = pl.from_pandas(df)
    elif flavour == "arrow":
        frame = pa.Table.from_pandas(df, preserve_index=False)
    elif flavour == "batch":
        frame = pa.RecordBatch.from_pandas(df, preserve_index=False)
    elif flavour == "dict":
        frame = {c: df[c].tolist() for c in df.columns}
    else:
        frame = df.to_records(index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here is a guess worth a warning
        schema = Schema.infer(frame, target="label", prediction="pred", scores=["proba"])
    assert _kinds(schema) == EXPECTED
    assert schema.target == ColumnSpec("label", ColumnRole.TARGET, ColumnKind.BOOLEAN)
    assert schema.prediction is not None and schema.prediction.name == "pred"
    assert [c.name for c in schema.scores] == ["proba"]
    assert [c.name for c in schema.features] == ["income", "age", "flag", "city", "when"]


def test_numpy_2d_array_gets_col_names() -> None:
    arr = np.arange(60.0).reshape(20, 3) / 7
    schema = Schema.infer(arr)
    assert schema.names == ("col_0", "col_1", "col_2")
    assert all(c.kind is ColumnKind.NUMERICAL for c in schema)


def test_integer_with_few_values_is_categorical_with_warning() -> None:
    zip_codes = np.tile([1010, 2020, 3030, 4040], 100)
    with pytest.warns(SchemaInferenceWarning) as record:
        schema = Schema.infer({"zip": zip_codes})
    assert schema["zip"].kind is ColumnKind.CATEGORICAL
    message = str(record[0].message)
    assert "'zip'" in message and "categorical" in message
    assert "4 distinct values" in message
    assert "kinds={'zip': 'numerical'}" in message


def test_declared_kind_overrides_and_silences_inference() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = Schema.infer({"zip": np.tile([1010, 2020], 100)}, kinds={"zip": "numerical"})
    assert schema["zip"].kind is ColumnKind.NUMERICAL


def test_integer_categorical_thresholds_are_parameters() -> None:
    values = np.tile(np.arange(30), 40)  # 30 distinct > 20
    assert Schema.infer({"v": values})["v"].kind is ColumnKind.NUMERICAL
    cfg = InferenceConfig(max_categorical_distinct=50)
    with pytest.warns(SchemaInferenceWarning, match="max_categorical_distinct=50"):
        assert Schema.infer({"v": values}, config=cfg)["v"].kind is ColumnKind.CATEGORICAL


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.tile([0, 1], 50), "0 and 1"),
        (["yes", "no", "yes", "no"] * 10, "'no', 'yes'"),
        (["True", "false"] * 10, "'True', 'false'"),
    ],
)
def test_two_valued_columns_are_boolean_with_warning(values: object, why: str) -> None:
    with pytest.warns(SchemaInferenceWarning, match="inferred boolean") as record:
        schema = Schema.infer({"b": values})
    assert schema["b"].kind is ColumnKind.BOOLEAN
    assert why.replace("'", "") in str(record[0].message).replace("'", "")


def test_long_unique_strings_are_text_with_warning(rng: np.random.Generator) -> None:
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
    reviews = [" ".join(rng.choice(words, 20)) for _ in range(100)]
    with pytest.warns(SchemaInferenceWarning, match="'review': inferred text") as record:
        schema = Schema.infer({"review": reviews})
    assert schema["review"].kind is ColumnKind.TEXT
    assert "kinds={'review': 'categorical'}" in str(record[0].message)
    short = Schema.infer({"city": ["Oslo", "Lima"] * 50})
    assert short["city"].kind is ColumnKind.CATEGORICAL


def test_iso_strings_are_datetime() -> None:
    stamps = ["2024-03-01T10:00:00Z", "2024-03-02 11:30", None, "2024-03-04"] * 5
    assert Schema.infer({"t": stamps})["t"].kind is ColumnKind.DATETIME
    not_dates = ["2024-03-01", "tomorrow"] * 5
    assert Schema.infer({"t": not_dates})["t"].kind is ColumnKind.CATEGORICAL


def test_mixed_object_column_warns_and_keeps_values() -> None:
    mostly_numbers = np.array([1, 2.5, "oops", 4, None] * 10, dtype=object)
    with pytest.warns(SchemaInferenceWarning, match="mixes types") as record:
        schema = Schema.infer({"m": mostly_numbers})
    assert schema["m"].kind is ColumnKind.NUMERICAL
    assert "'oops'" in str(record[0].message)
    mostly_strings = np.array(["a", "b", 3] * 10, dtype=object)
    with pytest.warns(SchemaInferenceWarning, match="mixes types"):
        assert Schema.infer({"m": mostly_strings})["m"].kind is ColumnKind.CATEGORICAL


def test_all_missing_column_is_kept_as_categorical_with_warning() -> None:
    frame = {"x": [1.5, 2.5, 3.5], "empty": [None, None, None]}
    with pytest.warns(SchemaInferenceWarning, match="'empty': inferred categorical.*missing"):
        schema = Schema.infer(frame)
    assert schema.names == ("x", "empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        declared = Schema.infer(frame, kinds={"empty": "numerical"})
    assert declared["empty"].kind is ColumnKind.NUMERICAL


def test_odd_and_unicode_names_survive() -> None:
    names = ["température °C", "a.b.c", "with space", "名前", "x" * 300, ""]
    frame = {n: [1.5, 2.5, 3.5] for n in names}
    schema = Schema.infer(pd.DataFrame(frame))
    assert schema.names == tuple(names)
    assert Schema.infer(pa.table(frame)).names == tuple(names)
    assert Schema.from_dict(schema.to_dict()) == schema


def test_segments_id_timestamp_and_extra_roles() -> None:
    frame = {
        "uid": [f"user-{i:05d}-" + "z" * 60 for i in range(30)],
        "ts": pd.date_range("2024-01-01", periods=30, freq="D"),
        "region": ["eu", "us", "asia"] * 10,
        "model": ["a", "b"] * 15,
        "x": np.linspace(0, 1, 30),
    }
    # an id column of long unique strings is not worth a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = Schema.infer(
            frame, id="uid", timestamp="ts", segments=["region"], roles={"model": "segment"}
        )
    assert schema["uid"].role is ColumnRole.ID
    assert schema["ts"].role is ColumnRole.TIMESTAMP
    assert [c.name for c in schema.by_role("segment")] == ["region", "model"]
    assert [c.name for c in schema.features] == ["x"]


def test_declared_column_not_in_frame_raises_naming_it() -> None:
    frame = {"x": [1.0, 2.0]}
    with pytest.raises(SchemaError, match="target: column 'y' is not in the frame"):
        Schema.infer(frame, target="y")
    with pytest.raises(SchemaError, match="kinds: column 'nope'"):
        Schema.infer(frame, kinds={"nope": "numerical"})
    with pytest.raises(SchemaError, match="declared both target and prediction"):
        Schema.infer({"x": [1.0], "y": [2.0]}, target="y", prediction="y")
    with pytest.raises(SchemaError, match=r"kind of 'x'.*'numerical'"):
        Schema.infer(frame, kinds={"x": "float"})


def test_empty_frame_raises() -> None:
    with pytest.raises(EmptyDataError, match="at least one row"):
        Schema.infer(pd.DataFrame({"x": pd.Series([], dtype=float)}))
    with pytest.raises(EmptyDataError, match="at least one column"):
        Schema.infer({})


def test_schema_validation_and_round_trip() -> None:
    cols = (ColumnSpec("a", "feature", "numerical"), ColumnSpec("b", "target", "categorical"))
    schema = Schema(cols)
    assert Schema.from_dict(schema.to_dict()) == schema
    assert "a" in schema and "zz" not in schema and schema.get("zz") is None
    with pytest.raises(SchemaError, match="duplicate column name 'a'"):
        Schema((*cols, ColumnSpec("a", "feature", "numerical")))
    with pytest.raises(SchemaError, match="at most one target"):
        Schema((*cols, ColumnSpec("c", "target", "numerical")))
    with pytest.raises(SchemaError, match="column 'a': role"):
        ColumnSpec("a", "label", "numerical")
    with pytest.raises(SchemaError, match="schema dict"):
        Schema.from_dict({"cols": []})


def test_public_surface_is_sorted_and_importable() -> None:
    schema_pkg = importlib.import_module("driftline.schema")
    assert schema_pkg.__all__ == sorted(schema_pkg.__all__)
    for name in schema_pkg.__all__:
        assert hasattr(schema_pkg, name)


def test_schema_import_does_not_load_pandas_or_polars() -> None:
    code = "import sys, driftline.schema\nprint('pandas' in sys.modules, 'polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
