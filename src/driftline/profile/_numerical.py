"""Mergeable summary of a numerical column (private)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import datasketches as ds
import numpy as np

from driftline.errors import IncompatibleProfilesError, InputError, InsufficientDataError
from driftline.profile._codec import (
    dec_bytes,
    dec_float,
    dec_floats,
    enc_bytes,
    enc_float,
    enc_floats,
    field,
)
from driftline.profile._config import ProfileConfig
from driftline.profile._hll import hll_of_floats
from driftline.stats.drift import bin_counts, quantile_edges

__all__ = ["NumericalProfile", "hll_union", "to_float_values"]


def hll_union(a: ds.hll_sketch, b: ds.hll_sketch) -> ds.hll_sketch:
    """Return the union of two HLL sketches as a new sketch (inputs unchanged)."""
    union = ds.hll_union(max(a.lg_config_k, b.lg_config_k))
    union.update(a)
    union.update(b)
    return union.get_result()


def _hll_of(ordered: np.ndarray, cfg: ProfileConfig) -> ds.hll_sketch:
    """The distinct-count sketch of finite float64 values given in ascending order.

    HLL ignores repeated values, so only the unique values are fed: in sorted
    values they are those that differ from their predecessor (one cheap pass).
    The sketch is built by :func:`~driftline.profile._hll.hll_of_floats`:
    exact feeding while it is small, registers set in numpy once it is in HLL
    mode (then its estimate is the composite one, as after any merge).
    """
    if ordered.size == 0:
        return ds.hll_sketch(cfg.hll_lg_k)
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])  # -0.0 == 0.0: one of them is kept
    return hll_of_floats(ordered[first], cfg.hll_lg_k)


def to_float_values(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Convert a table column to float64; return (values, n_missing, n_type_mismatch).

    Missing values (None, NaN, NaT) become NaN and count as missing; values that
    are not numbers and do not parse as numbers (e.g. ``'abc'``) become NaN and
    count as type mismatches. Booleans count as 0/1.
    """
    kind = values.dtype.kind
    if kind == "f":
        arr = values.astype(np.float64, copy=False)
        return arr, int(np.count_nonzero(np.isnan(arr))), 0
    if kind in "iub":
        return values.astype(np.float64), 0, 0
    if kind == "M":
        nat = np.isnat(values)
        secs = values.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
        secs[nat] = np.nan
        return secs, int(nat.sum()), 0
    import pandas as pd

    obj = values.astype(object, copy=False)
    missing = np.asarray(pd.isna(obj), dtype=bool)
    parsed = pd.to_numeric(pd.Series(obj, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    mismatch = np.isnan(parsed) & ~missing
    return parsed, int(missing.sum()), int(mismatch.sum())


class NumericalProfile:
    """Mergeable summary of a numerical column.

    Holds exact counts (rows, missing, +/-inf, type mismatches, zeros),
    exact min/max/sum/mean and the sum of squared deviations ``m2`` (merged
    with Chan's formula) of the finite values, a KLL quantile sketch, a
    histogram on fixed bin edges and a HyperLogLog distinct-count sketch.
    Infinite values are counted but kept out of the moments, sketches and
    histogram. Build it with :meth:`from_values` (or through
    :func:`~driftline.profile.profile`).

    Examples
    --------
    >>> import numpy as np
    >>> p = NumericalProfile.from_values(np.array([1.0, 2.0, 3.0, np.nan]))
    >>> p.n, p.n_missing, p.mean, p.std
    (4, 1, 2.0, 1.0)
    >>> q = p.merge(NumericalProfile.from_values(np.array([4.0]), edges=p.histogram[0]))
    >>> q.n, q.max, q.mean
    (5, 4.0, 2.5)
    """

    kind = "numerical"

    def __init__(
        self,
        *,
        n: int,
        n_missing: int,
        n_pos_inf: int,
        n_neg_inf: int,
        n_type_mismatch: int,
        n_zero: int,
        min: float,
        max: float,
        sum: float,
        mean: float,
        m2: float,
        kll: ds.kll_doubles_sketch,
        hll: ds.hll_sketch,
        edges: np.ndarray | None,
        counts: np.ndarray | None,
    ) -> None:
        self.n = int(n)
        self.n_missing = int(n_missing)
        self.n_pos_inf = int(n_pos_inf)
        self.n_neg_inf = int(n_neg_inf)
        self.n_type_mismatch = int(n_type_mismatch)
        self.n_zero = int(n_zero)
        self.min = float(min)
        self.max = float(max)
        self.sum = float(sum)
        self.mean = float(mean)
        self.m2 = float(m2)
        self._kll = kll
        self._hll = hll
        self._edges = edges
        self._counts = counts

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_values(
        cls,
        values: np.ndarray,
        *,
        edges: np.ndarray | None = None,
        config: ProfileConfig | None = None,
        n_type_mismatch: int = 0,
    ) -> NumericalProfile:
        """Profile a 1-D array (float, int, bool, datetime or object).

        Parameters
        ----------
        values : numpy.ndarray
            The column; see :func:`to_float_values` for how it is read.
        edges : numpy.ndarray, optional
            Histogram bin edges to count on (a reference's); by default the
            ``config.n_bins`` quantile edges of these values.
        config : ProfileConfig, optional
            Sketch sizes; defaults to ``ProfileConfig()``.
        n_type_mismatch : int, default 0
            Extra type mismatches found by the caller (added to those found here).
        """
        cfg = config if config is not None else ProfileConfig()
        return cls._build(values, edges, cfg, int(n_type_mismatch), distinct=True)

    @classmethod
    def _build(
        cls,
        values: np.ndarray,
        edges: np.ndarray | None,
        cfg: ProfileConfig,
        n_type_mismatch: int,
        *,
        distinct: bool,
    ) -> NumericalProfile:
        """:meth:`from_values`; ``distinct=False`` leaves the HLL sketch empty (faster).

        A profile built without ``distinct`` has a meaningless
        :attr:`distinct_count`; it is only for callers that never read it
        (the report's drift from raw tables).
        """
        arr, n_missing, n_mismatch = to_float_values(np.asarray(values))
        finite_mask = np.isfinite(arr)
        n_pos_inf = n_neg_inf = 0
        finite = arr
        if not finite_mask.all():
            finite = arr[finite_mask]
            n_pos_inf = int(np.count_nonzero(arr == np.inf))
            n_neg_inf = int(np.count_nonzero(arr == -np.inf))
        del finite_mask
        kll = ds.kll_doubles_sketch(cfg.kll_k)
        # One sort serves every order statistic: the KLL sketch takes sorted
        # values about 3x faster (its guarantees hold for any input order),
        # unique values for the HLL sketch, min/max, zeros and the histogram
        # are then binary searches or neighbour comparisons. Sums stay in row
        # order, so that they round exactly as before.
        ordered = np.sort(finite)
        hll = _hll_of(ordered, cfg) if distinct else ds.hll_sketch(cfg.hll_lg_k)
        n_zero = 0
        if finite.size:
            kll.update(ordered)  # a new array: writable and contiguous, as the binding needs
            total = float(finite.sum())
            mean = total / finite.size
            centred = finite - mean
            np.square(centred, out=centred)  # not np.dot: BLAS threads would spin
            m2 = float(centred.sum())
            del centred
            lo, hi = float(ordered[0]), float(ordered[-1])
            if lo == 0.0 or hi == 0.0:  # the sort may swap -0.0 and 0.0: keep numpy's choice
                lo, hi = float(finite.min()), float(finite.max())
            n_zero = int(ordered.searchsorted(0.0, "right") - ordered.searchsorted(0.0, "left"))
            if edges is None:
                edges = quantile_edges(finite, n_bins=cfg.n_bins)
        else:
            total, mean, m2, lo, hi = 0.0, math.nan, 0.0, math.nan, math.nan
        counts = None
        if edges is not None:
            edges = np.asarray(edges, dtype=np.float64)
            counts = (
                bin_counts(ordered, edges, assume_sorted=True)
                if finite.size
                else np.zeros(edges.size - 1, np.int64)
            )
        return cls(
            n=arr.size,
            n_missing=n_missing,
            n_pos_inf=n_pos_inf,
            n_neg_inf=n_neg_inf,
            n_type_mismatch=n_mismatch + n_type_mismatch,
            n_zero=n_zero,
            min=lo,
            max=hi,
            sum=total,
            mean=mean,
            m2=m2,
            kll=kll,
            hll=hll,
            edges=edges,
            counts=counts,
        )

    # -- accessors ------------------------------------------------------------------------
    @property
    def n_finite(self) -> int:
        """Number of finite values (those in the moments, sketches and histogram)."""
        return self.n - self.n_missing - self.n_type_mismatch - self.n_pos_inf - self.n_neg_inf

    @property
    def missing_rate(self) -> float:
        """Fraction of rows that are missing (NaN when there are no rows); lower is better."""
        return self.n_missing / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1) of the finite values; NaN with fewer than two."""
        return self.m2 / (self.n_finite - 1) if self.n_finite > 1 else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1) of the finite values; NaN with fewer than two."""
        return math.sqrt(self.variance) if self.n_finite > 1 else math.nan

    @property
    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edges, counts)`` of the finite values; bins are right-closed.

        Raises
        ------
        InsufficientDataError
            When the profile has no finite value and no reference edges.
        """
        if self._edges is None or self._counts is None:
            raise InsufficientDataError("histogram: the column has no finite value to bin")
        return self._edges.copy(), self._counts.copy()

    @property
    def edges(self) -> np.ndarray | None:
        """Histogram bin edges, or ``None`` when there are none yet."""
        return None if self._edges is None else self._edges.copy()

    @property
    def distinct_count(self) -> float:
        """HyperLogLog estimate of the number of distinct finite values."""
        return float(self._hll.get_estimate())

    @property
    def kll(self) -> ds.kll_doubles_sketch:
        """A copy of the KLL quantile sketch."""
        return ds.kll_doubles_sketch.deserialize(self._kll.serialize())

    @property
    def rank_error(self) -> float:
        """Normalized rank error of :meth:`quantiles` and :meth:`cdf` (99 % confidence)."""
        return float(self._kll.normalized_rank_error(False))

    def _check_quantiles(self, what: str) -> None:
        if self._kll.is_empty():
            raise InsufficientDataError(f"{what}: the column has no finite value")

    def quantiles(self, probabilities: Any) -> np.ndarray:
        """Approximate quantiles of the finite values (within :attr:`rank_error` in rank).

        Raises
        ------
        InsufficientDataError
            When the column has no finite value.
        InputError
            When a probability is outside [0, 1].
        """
        self._check_quantiles("quantiles")
        p = np.atleast_1d(np.asarray(probabilities, dtype=np.float64))
        if p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1):
            raise InputError(f"probabilities: expected values in [0, 1], got {p.tolist()[:6]}")
        return np.asarray(self._kll.get_quantiles(p.tolist()), dtype=np.float64)

    def cdf(self, points: Any) -> np.ndarray:
        """Approximate fraction of finite values ``<= point`` for each point.

        Raises
        ------
        InsufficientDataError
            When the column has no finite value.
        """
        self._check_quantiles("cdf")
        x = np.atleast_1d(np.asarray(points, dtype=np.float64))
        if x.size == 0:
            return np.empty(0)
        if np.isnan(x).any():
            raise InputError(f"points: expected numbers, got NaN in {x.tolist()[:6]}")
        uniq, inverse = np.unique(x, return_inverse=True)
        cdf = np.asarray(self._kll.get_cdf(uniq.tolist(), True), dtype=np.float64)[:-1]
        out = cdf[inverse.ravel()]
        return out

    # -- merge ----------------------------------------------------------------------------
    def merge(self, other: NumericalProfile, *, column: str = "?") -> NumericalProfile:
        """Return the profile of both batches (neither input changes).

        Counts, min/max, sum, mean, m2 and histograms merge exactly; the KLL and
        HLL sketches within their stated errors.

        Raises
        ------
        IncompatibleProfilesError
            When ``other`` is not numerical or its histogram edges differ.
        """
        if not isinstance(other, NumericalProfile):
            raise IncompatibleProfilesError(
                f"column {column!r}: cannot merge a numerical profile with a "
                f"{getattr(other, 'kind', type(other).__name__)} profile"
            )
        edges, counts = self._merge_histograms(other, column)
        na, nb = self.n_finite, other.n_finite
        n = na + nb
        if na == 0:
            mean, m2 = other.mean, other.m2
        elif nb == 0:
            mean, m2 = self.mean, self.m2
        else:
            delta = other.mean - self.mean
            mean = self.mean + delta * nb / n
            m2 = self.m2 + other.m2 + delta * delta * na * nb / n
        kll = self.kll
        kll.merge(other._kll)
        return NumericalProfile(
            n=self.n + other.n,
            n_missing=self.n_missing + other.n_missing,
            n_pos_inf=self.n_pos_inf + other.n_pos_inf,
            n_neg_inf=self.n_neg_inf + other.n_neg_inf,
            n_type_mismatch=self.n_type_mismatch + other.n_type_mismatch,
            n_zero=self.n_zero + other.n_zero,
            min=float(np.fmin(self.min, other.min)),
            max=float(np.fmax(self.max, other.max)),
            sum=self.sum + other.sum,
            mean=mean,
            m2=m2,
            kll=kll,
            hll=hll_union(self._hll, other._hll),
            edges=edges,
            counts=counts,
        )

    def _merge_histograms(
        self, other: NumericalProfile, column: str
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self._edges is None or self._counts is None:
            return other.edges, None if other._counts is None else other._counts.copy()
        if other._edges is None or other._counts is None:
            return self.edges, self._counts.copy()
        if not np.array_equal(self._edges, other._edges):
            raise IncompatibleProfilesError(
                f"column {column!r}: cannot merge histograms on different bin edges "
                f"({self._edges.size} edges {self._edges.tolist()[:4]}... vs {other._edges.size} "
                f"edges {other._edges.tolist()[:4]}...); profile both with the same reference="
            )
        return self.edges, self._counts + other._counts

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; :meth:`from_dict` restores the profile exactly."""
        return {
            "kind": self.kind,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_pos_inf": self.n_pos_inf,
            "n_neg_inf": self.n_neg_inf,
            "n_type_mismatch": self.n_type_mismatch,
            "n_zero": self.n_zero,
            "min": enc_float(self.min),
            "max": enc_float(self.max),
            "sum": enc_float(self.sum),
            "mean": enc_float(self.mean),
            "m2": enc_float(self.m2),
            "kll": enc_bytes(self._kll.serialize()),
            "hll": enc_bytes(self._hll.serialize_updatable()),
            "edges": None if self._edges is None else enc_floats(self._edges),
            "counts": None if self._counts is None else [int(c) for c in self._counts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericalProfile:
        """Rebuild a profile from :meth:`to_dict` output."""
        where = "numerical profile"
        edges = field(data, "edges", where)
        counts = field(data, "counts", where)
        try:
            kll = ds.kll_doubles_sketch.deserialize(dec_bytes(field(data, "kll", where)))
            hll = ds.hll_sketch.deserialize(dec_bytes(field(data, "hll", where)))
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"{where}: the kll/hll sketch bytes do not parse ({exc})") from exc
        return cls(
            n=field(data, "n", where),
            n_missing=field(data, "n_missing", where),
            n_pos_inf=field(data, "n_pos_inf", where),
            n_neg_inf=field(data, "n_neg_inf", where),
            n_type_mismatch=field(data, "n_type_mismatch", where),
            n_zero=field(data, "n_zero", where),
            min=dec_float(field(data, "min", where)),
            max=dec_float(field(data, "max", where)),
            sum=dec_float(field(data, "sum", where)),
            mean=dec_float(field(data, "mean", where)),
            m2=dec_float(field(data, "m2", where)),
            kll=kll,
            hll=hll,
            edges=None if edges is None else dec_floats(edges),
            counts=None if counts is None else np.asarray(counts, dtype=np.int64),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumericalProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: NumericalProfile) -> NumericalProfile:
        return self.merge(other)

    def __repr__(self) -> str:
        return (
            f"NumericalProfile(n={self.n}, n_missing={self.n_missing}, mean={self.mean:.6g}, "
            f"std={self.std:.6g}, min={self.min:.6g}, max={self.max:.6g})"
        )
