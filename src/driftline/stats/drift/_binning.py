"""Reference-quantile bins and one-pass bin counting (private).

Bins are right-closed: bin ``i`` holds ``edges[i] < x <= edges[i + 1]``, except the
first bin, which also holds ``x == edges[0]``. With the outer edges at -inf and
+inf every real value falls into exactly one bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from driftline.errors import InputError

from ._validation import as_1d, as_numeric_1d, check_enough

DEFAULT_N_BINS = 10
"""Default number of reference-quantile bins (deciles)."""

_COMPARE_MAX_EDGES = 64
"""Up to this many edges :func:`bin_counts` compares against each edge instead of searching."""


def quantile_edges(values: np.ndarray, n_bins: int = DEFAULT_N_BINS) -> np.ndarray:
    """Bin edges at the quantiles of ``values``, with open outer bins.

    Parameters
    ----------
    values : numpy.ndarray
        1-D numeric reference values; NaN and +/-inf are ignored.
    n_bins : int, default 10
        Largest number of bins. Interior edges sit at the ``1/n_bins, ...,
        (n_bins-1)/n_bins`` quantiles, taken as observed values (the inverse of
        the empirical CDF, ``method="inverted_cdf"``); tied quantiles are merged,
        so values with few distinct values give fewer bins and no two edges are
        equal. A minimum or maximum that holds a whole quantile's mass is itself
        an edge; values beyond it then get an outer bin that is empty for the
        reference (below the minimum only while fewer than ``n_bins`` bins are
        used), so a constant reference ``c`` gives the bins "below c", "c" and
        "above c" and a new value beyond the reference range still shows.
        Continuous data gives exactly ``n_bins`` bins, none empty.

    Returns
    -------
    numpy.ndarray
        Strictly increasing float64 edges, first ``-inf`` and last ``+inf``;
        ``len(edges) - 1 <= n_bins`` bins, right-closed (see :func:`bin_counts`).

    Raises
    ------
    InputError
        ``values`` is not 1-D numeric, or ``n_bins`` is not an integer >= 1.
    InsufficientDataError
        ``values`` holds no finite value.

    Examples
    --------
    >>> import numpy as np
    >>> quantile_edges(np.arange(1.0, 101.0), n_bins=4).tolist()
    [-inf, 25.0, 50.0, 75.0, inf]
    >>> quantile_edges(np.array([0, 0, 0, 1, 1]), n_bins=10).tolist()
    [-inf, -5e-324, 0.0, 1.0, inf]
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise InputError(f"n_bins: expected an integer >= 1, got {n_bins!r}")
    finite = as_numeric_1d(values, "values")
    check_enough(finite.size, 1, "values", "quantile_edges")
    probabilities = np.arange(1, int(n_bins), dtype=np.float64) / float(n_bins)
    interior = np.empty(0)
    if n_bins > 1:
        # the order statistics that np.quantile(..., method="inverted_cdf") returns
        ranks = np.maximum(np.ceil(finite.size * probabilities).astype(np.int64) - 1, 0)
        found = _order_statistics(finite, ranks)
        if found is None:
            found = np.quantile(finite, probabilities, method="inverted_cdf")
        interior = np.unique(found)
    if 0 < interior.size < n_bins - 1 and interior[0] == finite.min():
        interior = np.concatenate(([np.nextafter(interior[0], -np.inf)], interior))
    return np.concatenate(([-np.inf], interior, [np.inf]))


#: Buckets of :func:`_order_statistics`' first pass, and the most rows it selects from.
_SELECT_BUCKETS = 4096
_SELECT_MIN_ROWS = 50_000
_SELECT_MAX_SHARE = 0.125


def _order_statistics(finite: np.ndarray, ranks: np.ndarray) -> np.ndarray | None:
    """The values of rank ``ranks`` (0-based) of the finite ``finite``, or ``None`` to sort.

    One pass puts every value into one of :data:`_SELECT_BUCKETS` equal-width
    buckets between the minimum and the maximum (the bucket of ``x`` never
    decreases as ``x`` grows, float rounding included, so buckets hold
    consecutive ranks), counts them, and keeps only the values of the buckets
    that hold a wanted rank; those few are partitioned. Several times faster
    than a partition of every value, and exact. ``None`` for small inputs and
    when the wanted buckets hold more than :data:`_SELECT_MAX_SHARE` of the values.
    """
    n = finite.size
    if n < _SELECT_MIN_ROWS:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    scale = _SELECT_BUCKETS / (hi - lo) if hi > lo else 0.0
    if not np.isfinite(scale) or scale <= 0.0 or not np.isfinite(hi - lo):
        return None
    with np.errstate(all="ignore"):
        position = finite - lo
        position *= scale
    bucket = position.astype(np.intp)
    del position
    np.minimum(bucket, _SELECT_BUCKETS - 1, out=bucket)
    counts = np.bincount(bucket, minlength=_SELECT_BUCKETS)
    ends = np.cumsum(counts)  # ranks below the end of each bucket
    where = np.searchsorted(ends, ranks, side="right")
    wanted = np.zeros(_SELECT_BUCKETS, dtype=bool)
    wanted[where] = True
    if counts[wanted].sum() > _SELECT_MAX_SHARE * n:
        return None
    keep = wanted[bucket]
    values, kept_bucket = finite[keep], bucket[keep]
    out = np.empty(ranks.size, dtype=np.float64)
    for b in np.unique(where).tolist():
        chosen = where == b
        inside = values[kept_bucket == b]
        local = ranks[chosen] - (ends[b] - counts[b])
        out[chosen] = np.partition(inside, np.unique(local))[local]
    return out


def bin_counts(values: np.ndarray, edges: np.ndarray, *, assume_sorted: bool = False) -> np.ndarray:
    """Count ``values`` per bin in one ``searchsorted`` + ``bincount`` pass.

    Parameters
    ----------
    values : numpy.ndarray
        1-D numeric values. NaN is not counted; values outside
        ``[edges[0], edges[-1]]`` are not counted (with infinite outer edges, as
        from :func:`quantile_edges`, +/-inf land in the outer bins).
    edges : numpy.ndarray
        Strictly increasing bin edges, at least two.
    assume_sorted : bool, default False
        ``values`` is float64 in ascending order (NaN last, as from
        :func:`numpy.sort`): the edges are then searched in the values, which
        is much faster. Unsorted values give wrong counts; nothing checks.

    Returns
    -------
    numpy.ndarray
        ``len(edges) - 1`` int64 counts; bin ``i`` counts ``edges[i] < x <=
        edges[i + 1]`` and the first bin also counts ``x == edges[0]``.

    Raises
    ------
    InputError
        ``values`` is not 1-D numeric, or ``edges`` is not strictly increasing.

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.array([-np.inf, 1.0, 2.0, np.inf])
    >>> bin_counts(np.array([0.5, 1.0, 1.5, 2.0, 7.0, np.nan]), edges).tolist()
    [2, 2, 1]
    """
    edge_arr = _check_edges(edges)
    arr = as_1d(values, "values")
    if assume_sorted and arr.dtype == np.float64:
        at_most = arr.searchsorted(edge_arr, side="right")  # values <= each edge
        counts = np.diff(at_most)
        counts[0] += at_most[0] - arr.searchsorted(edge_arr[0], side="left")
        return counts.astype(np.int64, copy=False)
    if arr.dtype.kind not in "biuf":
        arr = as_numeric_1d(arr, "values", nan_policy="omit")
    n_edges = edge_arr.size
    if n_edges <= _COMPARE_MAX_EDGES:
        # one vectorised comparison per edge: several times faster than a binary
        # search per value (whose branches the CPU cannot predict) for few edges
        below = np.empty(arr.size, dtype=bool)
        at_most = np.empty(n_edges, dtype=np.int64)  # values <= each edge (NaN never is)
        for j, edge in enumerate(edge_arr.tolist()):
            np.less_equal(arr, edge, out=below)
            at_most[j] = np.count_nonzero(below)
        counts = np.diff(at_most)
    else:
        index = np.searchsorted(edge_arr, arr, side="left")
        counts = np.bincount(index, minlength=n_edges + 1)[1:n_edges].astype(np.int64, copy=False)
    counts[0] += np.count_nonzero(arr == edge_arr[0])
    return counts


def _check_edges(edges: Any) -> np.ndarray:
    arr = as_1d(edges, "edges")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"edges: expected numeric bin edges, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size < 2:
        raise InputError(f"edges: expected at least 2 bin edges, got {arr.size}")
    if np.isnan(arr).any() or not (np.diff(arr) > 0).all():
        raise InputError(f"edges: expected strictly increasing edges, got {arr.tolist()[:12]}")
    return arr
