"""Reading tables for the command line: CSV and Parquet, chosen by extension."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from driftline.errors import EmptyDataError, InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUPPORTED_SUFFIXES", "read_table"]

#: File name endings the CLI reads, and the format each one means.
SUPPORTED_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def _format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUPPORTED_SUFFIXES[suffix]
    return None


def read_table(path: str | Path, *, what: str = "DATA") -> pd.DataFrame:
    """Read a CSV or Parquet file into a data frame, with errors that name the argument.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (``.csv.gz``, ``.tsv``) or ``.parquet`` (``.pq``) file.
    what : str
        The argument's name, used in error messages (e.g. ``"REF"``).

    Raises
    ------
    InputError
        Missing file, unknown extension or a file that does not parse.
    EmptyDataError
        A file without rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "x.csv"
    ...     _ = p.write_text("a,b\\n1,x\\n2,y\\n")
    ...     read_table(p).shape
    (2, 2)
    """
    p = Path(path)
    fmt = _format(p)
    if fmt is None:
        known = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InputError(f"{what}: expected a file ending in one of {known}, got {str(p)!r}")
    if not p.exists():
        raise InputError(f"{what}: file not found: {str(p)!r}")
    if p.is_dir():
        raise InputError(f"{what}: expected a file, got the directory {str(p)!r}")
    import pandas as pd

    try:
        if fmt == "parquet":
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p, sep="\t" if fmt == "tsv" else ",", low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise EmptyDataError(f"{what}: the file {str(p)!r} is empty") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{what}: cannot read {fmt} file {str(p)!r}: {first}") from exc
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{what}: cannot read {fmt} file {str(p)!r}: {first}") from exc
    if len(frame) == 0:
        raise EmptyDataError(f"{what}: the file {str(p)!r} has a header but no rows")
    return frame
