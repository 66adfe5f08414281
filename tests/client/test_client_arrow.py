"""Which predictions payloads the SDK sends as Arrow, and what the stream holds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from driftline.client._convert import arrow_predictions


def payload(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ids": ["a", "b", "c"],
        "timestamps": [1.5, 2.5, 3],
        "predictions": ["yes", "no", None],
        "features": {"age": [31, None, 40], "ok": [True, False, None], "x": [0.5, np.nan, 1.0]},
    }
    out.update(changes)
    return out


def test_columns_types_and_compression() -> None:
    body = arrow_predictions(payload(scores=[[0.1, 0.9], [0.5, 0.5], [1, 0]], errors=[None] * 3))
    assert body is not None
    table = pa.ipc.open_stream(body).read_all()
    assert table.column_names == ["__id", "__timestamp", "__prediction", "__score", "__error",
                                  "age", "ok", "x"]  # fmt: skip
    assert table.column("__timestamp").type == pa.float64()
    assert table.column("age").to_pylist() == [31, None, 40]
    assert np.isnan(table.column("x").to_pylist()[1])  # NaN stays a value, not a null
    assert table.column("__score").to_pylist()[2] == [1.0, 0.0]
    no_nan = payload(features={"age": list(range(3000))}, ids=[str(i) for i in range(3000)],
                     timestamps=[1.0] * 3000, predictions=[1] * 3000)  # fmt: skip
    plain, lz4 = arrow_predictions(no_nan, compression=None), arrow_predictions(no_nan)
    assert plain is not None and lz4 is not None and len(lz4) < len(plain)
    assert pa.ipc.open_stream(plain).read_all().equals(pa.ipc.open_stream(lz4).read_all())


@pytest.mark.parametrize(
    "changes",
    [
        {"features": {"__id": [1, 2, 3]}},  # a feature named like a reserved column
        {"features": {"mixed": [1, "a", None]}},
        {"features": {"nested": [{"k": 1}, None, None]}},
        {"features": {"when": [np.datetime64("2026-01-01")] * 3}},
        {"predictions": [[1, 2], [3], None]},
        {"timestamps": ["t1", "t2", "t3"]},
        {"features": {"huge": [2**70, 1, 2]}},
    ],
)
def test_non_columnar_payloads_are_left_to_json(changes: dict[str, Any]) -> None:
    assert arrow_predictions(payload(**changes)) is None
