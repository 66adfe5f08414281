"""Frame normalisation: every input flavour becomes the same light Table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from driftline.errors import EmptyDataError, InputError, SchemaError
from driftline.schema import Table, as_table


def _pandas() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "f": [1.5, None, 3.0],
            "i": pd.array([1, None, 3], dtype="Int64"),
            "s": ["a", None, "c"],
            "c": pd.Categorical(["x", None, "y"]),
            "b": pd.array([True, None, False], dtype="boolean"),
            "t": pd.to_datetime(
                pd.Series(["2024-01-01 01:00", None, "2024-01-03 00:00"])
            ).dt.tz_localize("Europe/Oslo"),
        }
    )


def _check(table: Table) -> None:
    assert table.n_rows == 3
    assert table.names == ("f", "i", "s", "c", "b", "t")
    f, i = table["f"], table["i"]
    assert f.dtype == np.float64 and np.isnan(f[1]) and f[2] == 3.0
    assert i.dtype == np.float64 and np.isnan(i[1]) and i[2] == 3.0
    assert table.dtypes["i"] == "integer" and table.dtypes["f"] == "float"
    assert table["s"].dtype == object and table["s"].tolist() == ["a", None, "c"]
    assert table["c"].tolist() == ["x", None, "y"]
    assert table.dtypes["b"] == "boolean" and table["b"].tolist() == [True, None, False]
    t = table["t"]
    assert t.dtype == np.dtype("datetime64[ns]") and np.isnat(t[1])
    assert t[0] == np.datetime64("2024-01-01T00:00", "ns")  # Oslo 01:00 is 00:00 UTC


def test_pandas_frame() -> None:
    _check(as_table(_pandas()))


def test_arrow_table_and_batch() -> None:
    table = pa.Table.from_pandas(_pandas(), preserve_index=False)
    _check(as_table(table))
    _check(as_table(table.to_batches()[0]))


def test_polars_frame() -> None:
    _check(as_table(pl.from_pandas(_pandas())))


def test_dict_of_sequences_and_numpy_inputs() -> None:
    t = as_table({"n": [1, 2, None], "s": np.array(["a", "b", "c"]), "b": [True, False, True]})
    assert t.dtypes == {"n": "integer", "s": "string", "b": "boolean"}
    assert t["s"].dtype == object and t["b"].dtype == bool
    structured = np.array([(1, 2.5), (3, 4.5)], dtype=[("a", "i4"), ("b", "f8")])
    st = as_table(structured)
    assert st.names == ("a", "b") and st["a"].tolist() == [1.0, 3.0]
    assert as_table(np.ones((4, 2))).names == ("col_0", "col_1")


def test_mixed_object_column_keeps_values() -> None:
    t = as_table({"m": np.array([1, "x", 2.5, None, float("nan")], dtype=object)})
    assert t.dtypes["m"] == "object"
    assert t["m"].tolist() == [1, "x", 2.5, None, None]


def test_non_string_names_warn_and_duplicates_raise() -> None:
    with pytest.warns(UserWarning, match="column name 0 .*'0'"):
        t = as_table(pd.DataFrame({0: [1.0], "b": [2.0]}))
    assert t.names == ("0", "b")
    dup = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(SchemaError, match="duplicate column name 'a'"):
        as_table(dup)
    with (
        pytest.warns(UserWarning, match="is not a string"),
        pytest.raises(SchemaError, match="duplicate column name '1'"),
    ):
        as_table({1: [1.0], "1": [2.0]})


def test_errors() -> None:
    with pytest.raises(EmptyDataError, match="at least one row"):
        as_table({"a": []})
    with pytest.raises(EmptyDataError):
        as_table(pa.table({"a": pa.array([], pa.float64())}))
    with pytest.raises(InputError, match="one length"):
        as_table({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(InputError, match="expected a pandas/polars"):
        as_table([1, 2, 3])
    with pytest.raises(InputError, match="column 'a': expected a sequence"):
        as_table({"a": "abc"})


def test_unicode_and_long_names_in_every_flavour() -> None:
    names = ["ä ö ü", "日本語", "a.b", "x" * 500]
    data = {n: [1.0, 2.0] for n in names}
    for frame in (data, pd.DataFrame(data), pa.table(data), pl.DataFrame(data)):
        assert as_table(frame).names == tuple(names)
