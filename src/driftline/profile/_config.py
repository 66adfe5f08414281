"""Settings of :func:`~driftline.profile.profile` (private)."""

from __future__ import annotations

from dataclasses import dataclass

from driftline.errors import InputError

__all__ = ["ProfileConfig"]


@dataclass(frozen=True)
class ProfileConfig:
    """How much detail a profile keeps per column.

    Parameters
    ----------
    n_bins : int, default 20
        Number of reference-quantile histogram bins of a numerical column
        (:func:`driftline.stats.drift.quantile_edges`); fewer when the
        reference has few distinct values. Ignored when ``reference=`` is
        given: its edges are reused so the histograms align.
    top_k : int, default 2000
        Most category labels kept per categorical column; the counts of the
        rest go to one ``other`` count. Counts are exact while a column has at
        most ``top_k`` labels.
    kll_k : int, default 200
        Accuracy parameter of the KLL quantile sketch; the normalized rank
        error is about 1.65 / k (1.33 % at 200). Higher is more accurate and larger.
    hll_lg_k : int, default 12
        log2 of the number of HyperLogLog registers of the distinct-count
        sketch (4..21); relative standard error about 1.04 / sqrt(2**lg_k)
        (1.6 % at 12).
    dedup_sample : int, default 10000
        No longer used (still validated, so that existing settings keep
        working): a numerical column is sorted once for all its order
        statistics, and its unique values, found from the sorted values at no
        extra cost, are always what feeds the distinct-count sketch.
    dedup_ratio : float, default 0.5
        No longer used; see ``dedup_sample``.

    Examples
    --------
    >>> ProfileConfig(n_bins=10).top_k
    2000
    """

    n_bins: int = 20
    top_k: int = 2000
    kll_k: int = 200
    hll_lg_k: int = 12
    dedup_sample: int = 10_000
    dedup_ratio: float = 0.5

    def __post_init__(self) -> None:
        for name, low, high in (
            ("n_bins", 1, 10_000),
            ("top_k", 1, 10_000_000),
            ("kll_k", 8, 65_535),
            ("hll_lg_k", 4, 21),
            ("dedup_sample", 1, 10**9),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(
                    f"ProfileConfig.{name}: expected an integer in [{low}, {high}], got {value!r}"
                )
        if not 0.0 <= float(self.dedup_ratio) <= 1.0:
            raise InputError(
                f"ProfileConfig.dedup_ratio: expected a number in [0, 1], got {self.dedup_ratio!r}"
            )
