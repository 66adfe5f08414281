"""``import driftline`` stays fast: heavy libraries load on first use, never at import.

What is still imported: numpy and datasketches (``driftline.profile`` builds
sketches with it at module level).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

NOT_AT_IMPORT = (
    "alembic",
    "fastapi",
    "httpx",
    "jinja2",
    "pandas",
    "plotly",
    "polars",
    "pyarrow",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "starlette",
    "uvicorn",
)


def _loaded_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps([m for m in {NOT_AT_IMPORT!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "module", ["driftline", "driftline.stats", "driftline.schema", "driftline.client"]
)
def test_import_loads_no_heavy_library(module: str) -> None:
    assert _loaded_after(f"import {module}") == []


def test_scipy_is_imported_by_the_first_kernel_that_needs_it() -> None:
    code = (
        "from driftline.stats.drift import ks, psi_from_counts\n"
        "assert 'scipy' not in sys.modules\n"
        "psi_from_counts([5, 5], [4, 6])\n"  # numpy only
        "assert 'scipy' not in sys.modules\n"
        "r = ks([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])\n"
        "assert (r.statistic, round(r.p_value, 4)) == (0.5, 0.7714), r"
    )
    assert _loaded_after(code) == ["scipy"]


def test_as_table_of_plain_columns_needs_no_pandas() -> None:
    code = (
        "import numpy as np\n"
        "from driftline.schema import as_table\n"
        "t = as_table({'a': [1, None], 's': ['x', None], 'f': np.array([1.0, 2.0])})\n"
        "assert t.dtypes == {'a': 'integer', 's': 'string', 'f': 'float'}, t.dtypes"
    )
    assert _loaded_after(code) == []
