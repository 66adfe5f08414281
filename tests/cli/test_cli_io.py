"""Reading CSV / TSV / Parquet files for the command line, and the progress line."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from driftline.cli import Progress, read_table
from driftline.errors import EmptyDataError, InputError

FRAME = pd.DataFrame({"a": [1.5, 2.5, None], "名前": ["x", "y", "z"]})


@pytest.mark.parametrize("name", ["d.csv", "d.CSV", "d.csv.gz", "d.tsv", "d.parquet", "d.pq"])
def test_reads_every_supported_format(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    low = name.lower()
    if low.endswith((".parquet", ".pq")):
        FRAME.to_parquet(path, index=False)
    else:
        FRAME.to_csv(path, index=False, sep="\t" if low.endswith(".tsv") else ",")
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_errors_name_the_argument(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"CUR: file not found: '.*nope\.csv'"):
        read_table(tmp_path / "nope.csv", what="CUR")
    with pytest.raises(InputError, match=r"DATA: expected a file ending in one of .*x\.json'"):
        read_table(tmp_path / "x.json")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(EmptyDataError, match=r"REF: the file .* is empty"):
        read_table(tmp_path / "empty.csv", what="REF")
    (tmp_path / "ragged.csv").write_text('a,b\n1,2\n"unclosed,3\n')
    with pytest.raises(InputError, match="cannot read csv file"):
        read_table(tmp_path / "ragged.csv")


def test_progress_lines_and_quiet() -> None:
    out = io.StringIO()
    progress = Progress(out, min_interval=3600.0)
    progress("reading a.csv")
    for i in range(1, 101):
        progress("drift per column", i, 100)
    lines = out.getvalue().splitlines()
    # The first and the last update of a stage always show; the rest are throttled.
    assert lines == [
        "driftline: reading a.csv",
        "driftline: drift per column 1/100",
        "driftline: drift per column 100/100",
    ]
    quiet = io.StringIO()
    Progress(quiet, enabled=False)("anything", 1, 2)
    assert quiet.getvalue() == ""
