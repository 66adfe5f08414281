"""The vectorised report paths give what the row-by-row ones gave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import driftline.profile._dataset as dataset_module
from driftline.analysis import Report
from driftline.analysis._drift import aligned_counts, category_counts
from driftline.analysis._inputs import LabelValues, label_values
from driftline.analysis._parallel import Runner, runner
from driftline.analysis._quality import duplicate_rows, table_duplicate_rows
from driftline.schema import as_table


def _slow_label(v: Any) -> str:
    """The original per-row labelling."""
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    return str(v)


def _slow_labels(values: np.ndarray) -> list[str]:
    obj = values.astype(object)
    return [_slow_label(v) for v in obj[~np.asarray(pd.isna(obj), dtype=bool)]]


@pytest.mark.parametrize(
    "values",
    [
        np.array(["a", None, 1.0, 2, 1, np.nan, "b", 2.5, -0.0, np.float64(3.0)], dtype=object),
        np.array([True, False, 1, 0, 1.0, None], dtype=object),
        np.array([True, None, False], dtype=object),
        np.array(["x", "y", "x", None] * 50, dtype=object),
        np.array([0.5, np.nan, 2.0, 1e20, np.inf, -3.0]),
        np.array([1.0, 0.0, np.nan, 1.0, 7.0, -2.0]),
        np.array([], dtype=object),
    ],
)
def test_label_values_match_the_row_by_row_labels(values: np.ndarray) -> None:
    got = label_values(values, "object")
    expected = _slow_labels(values)
    assert got.labels.tolist() == expected
    assert got.n_labels == len(expected)
    assert got.n_missing == values.size - len(expected)
    assert got.label_counts() == dict(pd.Series(expected, dtype=object).value_counts())


def test_label_values_of_a_table_string_column_use_its_codes(rng: np.random.Generator) -> None:
    raw = rng.choice(np.array(["lo", "mid", "hi", None], dtype=object), size=5000).tolist()
    col = as_table(pa.table({"s": pa.array(raw, pa.string())}))["s"]
    got = label_values(col, "string")
    present = [v for v in raw if v is not None]
    assert got.labels.tolist() == present
    assert got.n_missing == raw.count(None)
    assert got.label_counts() == {k: present.count(k) for k in set(present)}


def test_label_values_of_unhashable_cells_fall_back_to_text() -> None:
    got = label_values(np.array([[1], None, [1]], dtype=object), "object")
    assert got.labels.tolist() == ["[1]", "[1]"]
    assert got.label_counts() == {"[1]": 2}


def test_label_counts_without_precounted_labels() -> None:
    v = LabelValues(np.array(["b", "a", "b"], dtype=object), 4, 1)
    assert v.label_counts() == {"b": 2, "a": 1}
    assert v.n_labels == 3


def test_category_counts_and_aligned_counts_agree() -> None:
    ref = np.array(["a", "b", "a", "c"], dtype=object)
    cur = np.array(["c", "c", "d"], dtype=object)
    cats, r, c = category_counts(ref, cur)
    assert cats == ["a", "c", "b", "d"]
    assert r.tolist() == [2, 1, 1, 0] and c.tolist() == [0, 2, 0, 1]
    again = aligned_counts({"a": 2, "b": 1, "c": 1}, {"c": 2, "d": 1})
    assert again[0] == cats and again[1].tolist() == r.tolist() and again[2].tolist() == c.tolist()


def test_table_duplicates_match_pandas_hashing(rng: np.random.Generator) -> None:
    n = 20_000
    frame = pd.DataFrame(
        {
            "i": rng.integers(0, 3, n),
            "f": rng.choice([1.5, np.nan, 0.0, 2.0], n),
            "s": pd.Series(
                rng.choice(np.array(["x", "y", None], dtype=object), n), dtype="string[pyarrow]"
            ),
            "b": rng.random(n) < 0.5,
            "t": pd.to_datetime(rng.integers(0, 3, n), unit="D"),
        }
    )
    fast = table_duplicate_rows(as_table(frame))
    assert fast == duplicate_rows(frame)
    assert fast == int(frame.duplicated().sum())


def test_table_duplicates_decline_columns_they_cannot_hash_exactly() -> None:
    assert table_duplicate_rows(as_table(pd.DataFrame({"o": [1, "a", 1]}))) is None
    assert table_duplicate_rows(as_table(pd.DataFrame({"big": [2**60, 2**60 + 1]}))) is None


def test_runner_runs_inline_for_small_inputs_and_in_threads_for_large() -> None:
    with runner(100, 5) as run:
        assert run.pool is None
    with runner(10**6, 5) as run:
        assert run.pool is not None or dataset_module.workers_for(10**6, 5) == 1
        assert run.submit(sum, [1, 2]).result() == 3
    failed = Runner(None).submit(int, "x")
    with pytest.raises(ValueError):
        failed.result()


def _frames(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    def side(shift: float) -> pd.DataFrame:
        x = rng.normal(shift, 1.0, n)
        x[rng.random(n) < 0.05] = np.nan
        cats = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.3, 0.3, 0.4])
        return pd.DataFrame(
            {
                "x": x,
                "y": rng.normal(0.0, 1.0, n),
                "c": pd.Series(cats, dtype="string[pyarrow]"),
                "target": rng.integers(0, 2, n),
            }
        )

    return side(0.0), side(0.5)


def test_profile_path_in_threads_matches_the_serial_one(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, cur = _frames(rng, 30_000)
    threaded = Report(ref, cur, target="target", exact_limit=1000).compute()
    monkeypatch.setattr(dataset_module, "PARALLEL_MIN_ROWS", 10**12)
    serial = Report(ref, cur, target="target", exact_limit=1000).compute()
    assert [d.column for d in threaded.drift] == [d.column for d in serial.drift]
    assert {d.column: d.status for d in threaded.drift} == {
        d.column: d.status for d in serial.drift
    }
    assert {d.column for d in threaded.drift if d.status == "drift"} == {"x", "c"}
    assert threaded.quality.columns == serial.quality.columns
    assert threaded.quality.dataset == serial.quality.dataset
    binned = {d.column: d for d in threaded.drift if d.column == "c"}
    assert binned["c"].statistic == pytest.approx(
        next(d.statistic for d in serial.drift if d.column == "c")
    )


def test_table_duplicates_give_up_on_a_hash_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    import driftline.analysis._quality as quality_module

    table = as_table(pd.DataFrame({"a": [1.0, 2.0, 1.0], "s": ["x", "y", "x"]}))
    assert table_duplicate_rows(table) == 1
    monkeypatch.setattr(quality_module, "_MIX", np.uint64(0))  # every row hashes alike
    assert table_duplicate_rows(table) is None
    same = as_table(pd.DataFrame({"a": [1.0, 1.0, 1.0]}))
    assert table_duplicate_rows(same) == 2  # all candidates check out


def test_table_duplicates_read_signed_zeros_and_nans_as_pandas_does() -> None:
    frame = pd.DataFrame({"f": [0.0, -0.0, np.nan, -np.nan, 1.0]})
    assert table_duplicate_rows(as_table(frame)) == duplicate_rows(frame) == 2
