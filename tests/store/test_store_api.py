from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

import driftline.store
from driftline.errors import StoreError
from driftline.store._bulk import decode_columns, encode_columns


def test_all_is_sorted_and_importable() -> None:
    names = list(driftline.store.__all__)
    constants = sorted(n for n in names if n.isupper())
    assert names == constants + sorted(n for n in names if not n.isupper())  # ruff's order
    for name in names:
        assert getattr(driftline.store, name) is not None
    assert sorted(dir(driftline.store)) == sorted(names)


def test_payloads_import_no_database_code() -> None:
    code = "import sys, driftline.wire\nprint('sqlalchemy' in sys.modules)"
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
        "lists": [[1, 2], [3, 4], [5, 6]],
        "nested": [{"a": 1}, None, [1, "b"]],
    }
    got = decode_columns(encode_columns(cols))
    assert list(got) == list(cols)
    assert got["f"] == cols["f"] and got["i"] == cols["i"] and got["b"] == cols["b"]
    assert math.isnan(got["nan"][0]) and got["nan"][1:] == [1.0, 2.0]
    assert got["s"] == cols["s"] and got["mixed"] == cols["mixed"]
    assert got["lists"] == cols["lists"] and got["nested"] == cols["nested"]
    assert all(type(v) is int for v in got["i"]) and all(type(v) is bool for v in got["b"])
    assert decode_columns(encode_columns({"empty": []})) == {"empty": []}


def test_feature_chunks_from_arrays_and_arrow_tables() -> None:
    import numpy as np
    import pyarrow as pa

    arrays = {
        "x": np.array([1.5, np.nan, 3.0]),
        "k": np.array([1, 2, 3]),
        "s": np.array(["a", None, "b"], dtype=object),
    }
    got = decode_columns(encode_columns(arrays))
    assert got["k"] == [1, 2, 3] and got["s"] == ["a", None, "b"]
    assert got["x"][0] == 1.5 and math.isnan(got["x"][1])
    # an Arrow body's columns are kept as they came: nulls stay None, types stay
    table = pa.table({"age": pa.array([30, None, 41], pa.int32()), "c": ["u", "v", None]})
    assert decode_columns(encode_columns(table)) == {"age": [30, None, 41], "c": ["u", "v", None]}


def test_feature_chunks_of_earlier_releases_still_decode() -> None:
    import json
    import zlib

    import numpy as np

    # the DLF1 layout: magic, header length, JSON header, binary or zlib JSON blobs
    blobs = [np.array([1.5, 2.0]).astype("<f8").tobytes(), zlib.compress(b'["a",null]')]
    header = json.dumps([
        {"name": "x", "kind": "<f8", "size": len(blobs[0])},
        {"name": "c", "kind": "json", "size": len(blobs[1])},
    ]).encode()  # fmt: skip
    data = b"DLF1" + len(header).to_bytes(4, "little") + header + b"".join(blobs)
    assert decode_columns(data) == {"x": [1.5, 2.0], "c": ["a", None]}
    with pytest.raises(StoreError, match="DLF2"):
        decode_columns(b"XXXX")
    with pytest.raises(StoreError, match="corrupt"):
        decode_columns(b"DLF2not an arrow stream")
    with pytest.raises(StoreError, match="corrupt"):
        decode_columns(data[:-3])
