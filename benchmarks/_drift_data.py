"""Synthetic reference/current tables for the drift benchmark, with known shifts.

The table has 20 numeric features (several with missing values), 5 categorical
features with cardinalities 3, 10, 50, 200 and 1,000, a binary ``target`` and a
model ``score`` in (0, 1). The *current* side differs from the *reference* side
in exactly the columns listed in :data:`SHIFTS`; everything else is drawn from
the same distribution on both sides (same missing rates too), so any flag on
it is a false alarm.

``score`` and ``target`` depend only on unshifted features, so they are
unshifted as well.

Only numpy and pyarrow are needed; this module runs in the project venv.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

#: Bump when the generator changes, so cached Parquet files are rebuilt.
DATA_VERSION = 1
#: Seed of the reference side; the current side uses ``SEED + 1``.
SEED = 20240611
#: Rows per Parquet row group (bounds the writer's memory).
ROW_GROUP = 500_000

CATEGORICAL_CARDINALITY = {"cat_a": 3, "cat_b": 10, "cat_c": 50, "cat_d": 200, "cat_e": 1000}
#: Zipf exponent of the category popularity (p_k proportional to 1 / (k + 1) ** s).
CATEGORICAL_ZIPF = {"cat_a": 0.8, "cat_b": 1.0, "cat_c": 1.1, "cat_d": 1.2, "cat_e": 1.0}
CATEGORICAL_MISSING = {"cat_a": 0.0, "cat_b": 0.02, "cat_c": 0.0, "cat_d": 0.05, "cat_e": 0.01}


@dataclass(frozen=True)
class NumericSpec:
    """One numeric column: a sampler per side and a missing rate (same both sides)."""

    name: str
    kind: str
    missing: float
    reference: Callable[[np.random.Generator, int], np.ndarray]
    current: Callable[[np.random.Generator, int], np.ndarray] | None = None


def _normal(mu: float, sd: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.normal(mu, sd, n)


def _lognormal(mu: float, sd: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.lognormal(mu, sd, n)


def _gamma(shape: float, scale: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.gamma(shape, scale, n)


def _exponential(scale: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.exponential(scale, n)


def _uniform(lo: float, hi: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.uniform(lo, hi, n)


def _poisson(lam: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.poisson(lam, n).astype(np.float64)


def _student_t(df: float, scale: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.standard_t(df, n) * scale


def _bimodal(weight: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Mixture of N(-2, 1) (probability ``weight``) and N(2, 1)."""

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        left = rng.random(n) < weight
        return np.where(left, -2.0, 2.0) + rng.normal(0.0, 1.0, n)

    return sample


NUMERIC: tuple[NumericSpec, ...] = (
    # shifted: mean + 0.5 sd
    NumericSpec("num_00", "normal", 0.00, _normal(0.0, 1.0), _normal(0.5, 1.0)),
    NumericSpec("num_01", "normal", 0.02, _normal(10.0, 3.0)),
    NumericSpec("num_02", "lognormal", 0.00, _lognormal(0.0, 0.75)),
    NumericSpec("num_03", "gamma", 0.05, _gamma(2.0, 1.5)),
    # shifted: log-mean + 0.4 (a 0.4 sd shift on the log scale, +49 % on the raw scale)
    NumericSpec("num_04", "lognormal", 0.01, _lognormal(3.0, 1.0), _lognormal(3.4, 1.0)),
    NumericSpec("num_05", "uniform", 0.00, _uniform(0.0, 1.0)),
    NumericSpec("num_06", "exponential", 0.10, _exponential(2.0)),
    NumericSpec("num_07", "poisson", 0.00, _poisson(4.0)),
    # shifted: scale x 1.5, same mean
    NumericSpec("num_08", "normal", 0.03, _normal(50.0, 5.0), _normal(50.0, 7.5)),
    NumericSpec("num_09", "student_t", 0.00, _student_t(5.0, 1.0)),
    NumericSpec("num_10", "normal", 0.20, _normal(-3.0, 0.5)),
    NumericSpec("num_11", "bimodal", 0.00, _bimodal(0.5)),
    # shifted: gamma scale x 1.3 (mean +30 %, a 0.42 reference-sd mean shift)
    NumericSpec("num_12", "gamma", 0.02, _gamma(2.0, 1.0), _gamma(2.0, 1.3)),
    NumericSpec("num_13", "uniform", 0.05, _uniform(-100.0, 100.0)),
    NumericSpec("num_14", "poisson", 0.01, _poisson(30.0)),
    NumericSpec("num_15", "lognormal", 0.00, _lognormal(5.0, 0.3)),
    # shifted: mixture weight 0.5/0.5 -> 0.3/0.7 (shape change, mean +0.8 = 0.36 sd)
    NumericSpec("num_16", "bimodal", 0.04, _bimodal(0.5), _bimodal(0.3)),
    NumericSpec("num_17", "exponential", 0.00, _exponential(0.1)),
    NumericSpec("num_18", "normal", 0.08, _normal(1e6, 2e4)),
    NumericSpec("num_19", "gamma", 0.00, _gamma(0.7, 4.0)),
)


def _zipf(k: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1, dtype=np.float64) ** s
    return p / p.sum()


def categorical_probabilities(name: str, side: str) -> np.ndarray:
    """Category probabilities of ``name`` on ``side`` ('reference' or 'current')."""
    p = _zipf(CATEGORICAL_CARDINALITY[name], CATEGORICAL_ZIPF[name])
    if side == "current" and name == "cat_a":
        # mix change: 0.18 of probability moves from the first category to the last
        p = p.copy()
        p[0] -= 0.18
        p[2] += 0.18
    elif side == "current" and name == "cat_d":
        # mix change: the two most popular categories swap places (0.26 <-> 0.11)
        p = p.copy()
        p[[0, 1]] = p[[1, 0]]
    return p


#: The ground truth: column -> the shift applied to the current side.
SHIFTS: dict[str, str] = {
    "num_00": "normal, mean +0.5 sd",
    "num_04": "lognormal, log-mean +0.4 (raw mean +49 %)",
    "num_08": "normal, sd x1.5 (same mean)",
    "num_12": "gamma, scale x1.3 (mean +0.42 sd)",
    "num_16": "bimodal mixture weights 0.5/0.5 -> 0.3/0.7",
    "cat_a": "3 categories, mix (0.50, 0.29, 0.21) -> (0.32, 0.29, 0.39)",
    "cat_d": "200 categories, the top two swap shares (0.26 <-> 0.11)",
}

FEATURES: tuple[str, ...] = tuple(s.name for s in NUMERIC) + tuple(CATEGORICAL_CARDINALITY)
#: Every column a tool can flag (features, score, target).
ALL_COLUMNS: tuple[str, ...] = (*FEATURES, "score", "target")
NUMERIC_COLUMNS: tuple[str, ...] = (*(s.name for s in NUMERIC), "score")
CATEGORICAL_COLUMNS: tuple[str, ...] = (*CATEGORICAL_CARDINALITY, "target")


def _labels(name: str, k: int) -> np.ndarray:
    width = len(str(k - 1))
    prefix = name.split("_")[1]
    return np.array([f"{prefix}_{i:0{width}d}" for i in range(k)], dtype=object)


def generate_side(n: int, side: str, start: int = 0) -> pa.Table:
    """Rows ``start .. start + n`` of one side as an Arrow table (deterministic)."""
    import pyarrow as pa

    seed = SEED if side == "reference" else SEED + 1
    rng = np.random.default_rng([seed, start])
    columns: dict[str, pa.Array] = {}
    for spec in NUMERIC:
        sampler = (
            spec.current if (side == "current" and spec.current is not None) else spec.reference
        )
        values = sampler(rng, n)
        if spec.missing > 0:
            values[rng.random(n) < spec.missing] = np.nan
        columns[spec.name] = pa.array(values, from_pandas=True)
    for name, k in CATEGORICAL_CARDINALITY.items():
        p = categorical_probabilities(name, side)
        codes = rng.choice(k, size=n, p=p).astype(np.int32)
        mask = rng.random(n) < CATEGORICAL_MISSING[name] if CATEGORICAL_MISSING[name] else None
        dictionary = pa.array(_labels(name, k), type=pa.string())
        indices = pa.array(codes, mask=mask)
        # stored as plain strings: what a warehouse export gives most users
        columns[name] = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
    # the model only sees unshifted features, so score and target are unshifted too
    x1 = np.nan_to_num((columns["num_01"].to_numpy(zero_copy_only=False) - 10.0) / 3.0)
    x2 = np.log(columns["num_02"].to_numpy(zero_copy_only=False)) / 0.75
    x5 = columns["num_05"].to_numpy(zero_copy_only=False) - 0.5
    logit = 0.9 * x1 - 0.6 * x2 + 1.5 * x5 - 1.0 + rng.normal(0.0, 0.5, n)
    score = 1.0 / (1.0 + np.exp(-logit))
    columns["score"] = pa.array(score)
    columns["target"] = pa.array((rng.random(n) < score).astype(np.int64))
    return pa.table(columns)


def dataset_paths(rows: int, data_dir: Path) -> tuple[Path, Path]:
    """Paths of the cached reference and current Parquet files for ``rows`` per side."""
    stem = f"drift_v{DATA_VERSION}_{rows}"
    return data_dir / f"{stem}_reference.parquet", data_dir / f"{stem}_current.parquet"


def ensure_dataset(
    rows: int, data_dir: Path, log: Callable[[str], None] = print
) -> tuple[Path, Path]:
    """Generate (once) and cache both sides as Parquet; return their paths."""
    import pyarrow.parquet as pq

    data_dir.mkdir(parents=True, exist_ok=True)
    paths = dataset_paths(rows, data_dir)
    for side, path in zip(("reference", "current"), paths, strict=True):
        if path.exists():
            continue
        log(f"  generating {side} data, {rows:,} rows -> {path}")
        tmp = path.with_suffix(".parquet.tmp")
        writer: pq.ParquetWriter | None = None
        try:
            for start in range(0, rows, ROW_GROUP):
                table = generate_side(min(ROW_GROUP, rows - start), side, start)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        tmp.replace(path)
    return paths


def main() -> None:
    """``python _drift_data.py ROWS DATA_DIR``: generate and cache one size."""
    import sys

    rows, data_dir = int(sys.argv[1]), Path(sys.argv[2])
    ensure_dataset(rows, data_dir, log=lambda msg: print(msg, flush=True))


if __name__ == "__main__":
    main()
