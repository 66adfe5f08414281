"""Mergeable summaries of text and datetime columns (private)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import datasketches as ds
import numpy as np

from driftline.errors import IncompatibleProfilesError, InputError
from driftline.profile._codec import dec_bytes, enc_bytes, field
from driftline.profile._config import ProfileConfig
from driftline.profile._numerical import NumericalProfile, hll_union

__all__ = ["DatetimeProfile", "TextProfile"]


def _incompatible(column: str, mine: str, other: object) -> IncompatibleProfilesError:
    theirs = getattr(other, "kind", type(other).__name__)
    return IncompatibleProfilesError(
        f"column {column!r}: cannot merge a {mine} profile with a {theirs} profile"
    )


class TextProfile:
    """Mergeable summary of a free-text column.

    Row, missing and type-mismatch counts (values that are not strings), a
    :class:`NumericalProfile` of the string lengths (in characters) and a
    HyperLogLog sketch of the distinct strings.

    Examples
    --------
    >>> import numpy as np
    >>> p = TextProfile.from_values(np.array(["ab", "abcd", None], dtype=object))
    >>> p.n, p.n_missing, p.lengths.mean
    (3, 1, 3.0)
    """

    kind = "text"

    def __init__(
        self,
        *,
        n: int,
        n_missing: int,
        n_type_mismatch: int,
        lengths: NumericalProfile,
        hll: ds.hll_sketch,
    ) -> None:
        self.n = int(n)
        self.n_missing = int(n_missing)
        self.n_type_mismatch = int(n_type_mismatch)
        self.lengths = lengths
        self._hll = hll

    @classmethod
    def from_values(
        cls,
        values: np.ndarray,
        *,
        length_edges: np.ndarray | None = None,
        config: ProfileConfig | None = None,
    ) -> TextProfile:
        """Profile a 1-D array of strings; ``length_edges`` are a reference's length bins."""
        import pandas as pd

        cfg = config if config is not None else ProfileConfig()
        obj = np.asarray(values).astype(object)
        missing = np.asarray(pd.isna(obj), dtype=bool)
        is_str = np.fromiter((isinstance(v, str) for v in obj), dtype=bool, count=obj.size)
        strings = obj[is_str]
        lengths = np.fromiter((len(s) for s in strings), dtype=np.float64, count=strings.size)
        hll = ds.hll_sketch(cfg.hll_lg_k)
        deque(map(hll.update, pd.unique(strings).tolist()), maxlen=0)
        return cls(
            n=obj.size,
            n_missing=int(missing.sum()),
            n_type_mismatch=int(obj.size - missing.sum() - is_str.sum()),
            lengths=NumericalProfile.from_values(lengths, edges=length_edges, config=cfg),
            hll=hll,
        )

    @property
    def missing_rate(self) -> float:
        """Fraction of rows that are missing (NaN when there are no rows); lower is better."""
        return self.n_missing / self.n if self.n else math.nan

    @property
    def distinct_count(self) -> float:
        """HyperLogLog estimate of the number of distinct strings."""
        return float(self._hll.get_estimate())

    def merge(self, other: TextProfile, *, column: str = "?") -> TextProfile:
        """Return the profile of both batches (neither input changes)."""
        if not isinstance(other, TextProfile):
            raise _incompatible(column, self.kind, other)
        return TextProfile(
            n=self.n + other.n,
            n_missing=self.n_missing + other.n_missing,
            n_type_mismatch=self.n_type_mismatch + other.n_type_mismatch,
            lengths=self.lengths.merge(other.lengths, column=f"{column} (lengths)"),
            hll=hll_union(self._hll, other._hll),
        )

    def __add__(self, other: TextProfile) -> TextProfile:
        return self.merge(other)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; :meth:`from_dict` restores the profile exactly."""
        return {
            "kind": self.kind,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_type_mismatch": self.n_type_mismatch,
            "lengths": self.lengths.to_dict(),
            "hll": enc_bytes(self._hll.serialize_updatable()),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextProfile:
        """Rebuild a profile from :meth:`to_dict` output."""
        where = "text profile"
        try:
            hll = ds.hll_sketch.deserialize(dec_bytes(field(data, "hll", where)))
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"{where}: the hll sketch bytes do not parse ({exc})") from exc
        return cls(
            n=field(data, "n", where),
            n_missing=field(data, "n_missing", where),
            n_type_mismatch=field(data, "n_type_mismatch", where),
            lengths=NumericalProfile.from_dict(field(data, "lengths", where)),
            hll=hll,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TextProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TextProfile(n={self.n}, n_missing={self.n_missing})"


class DatetimeProfile:
    """Mergeable summary of a datetime column (UTC).

    Row, missing and type-mismatch counts (values that do not parse as
    datetimes), exact min/max as nanoseconds since the epoch, and a
    :class:`NumericalProfile` of the epoch seconds (quantiles, histogram).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array(["2024-01-01", "2024-01-03", "NaT"], dtype="datetime64[ns]")
    >>> p = DatetimeProfile.from_values(t)
    >>> p.n, p.n_missing, str(p.min), str(p.max)
    (3, 1, '2024-01-01T00:00:00.000000000', '2024-01-03T00:00:00.000000000')
    """

    kind = "datetime"

    def __init__(
        self,
        *,
        n: int,
        n_missing: int,
        n_type_mismatch: int,
        min_ns: int | None,
        max_ns: int | None,
        seconds: NumericalProfile,
    ) -> None:
        self.n = int(n)
        self.n_missing = int(n_missing)
        self.n_type_mismatch = int(n_type_mismatch)
        self.min_ns = None if min_ns is None else int(min_ns)
        self.max_ns = None if max_ns is None else int(max_ns)
        self.seconds = seconds

    @classmethod
    def from_values(
        cls,
        values: np.ndarray,
        *,
        seconds_edges: np.ndarray | None = None,
        config: ProfileConfig | None = None,
    ) -> DatetimeProfile:
        """Profile datetimes (datetime64, ISO-8601 strings or epoch seconds).

        Strings parse as ISO-8601 (time zones converted to UTC); those that do
        not parse are type mismatches. Numbers are read as epoch seconds.
        ``seconds_edges`` are a reference's histogram edges of epoch seconds.
        """
        import pandas as pd

        arr = np.asarray(values)
        mismatch = 0
        if arr.dtype.kind in "fiu":
            secs = arr.astype(np.float64)
            ns = np.where(np.isnan(secs), np.iinfo(np.int64).min, np.round(secs * 1e9)).astype(
                np.int64
            )
            stamps = ns.view("datetime64[ns]")
        elif arr.dtype.kind == "M":
            stamps = arr.astype("datetime64[ns]")
        else:
            obj = arr.astype(object)
            missing_in = np.asarray(pd.isna(obj), dtype=bool)
            parsed = pd.to_datetime(
                pd.Series(obj, dtype=object), format="ISO8601", utc=True, errors="coerce"
            )
            stamps = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            mismatch = int(np.count_nonzero(np.isnat(stamps) & ~missing_in))
        nat = np.isnat(stamps)
        ints = stamps.view(np.int64)[~nat]
        secs_out = stamps.view(np.int64).astype(np.float64) / 1e9
        secs_out[nat] = np.nan
        return cls(
            n=arr.size,
            n_missing=int(nat.sum()) - mismatch,
            n_type_mismatch=mismatch,
            min_ns=int(ints.min()) if ints.size else None,
            max_ns=int(ints.max()) if ints.size else None,
            seconds=NumericalProfile.from_values(
                secs_out, edges=seconds_edges, config=cfg_or(config)
            ),
        )

    @property
    def min(self) -> np.datetime64 | None:
        """Earliest datetime (UTC), or ``None`` when there is none."""
        return None if self.min_ns is None else np.datetime64(self.min_ns, "ns")

    @property
    def max(self) -> np.datetime64 | None:
        """Latest datetime (UTC), or ``None`` when there is none."""
        return None if self.max_ns is None else np.datetime64(self.max_ns, "ns")

    @property
    def missing_rate(self) -> float:
        """Fraction of rows that are missing (NaN when there are no rows); lower is better."""
        return self.n_missing / self.n if self.n else math.nan

    def merge(self, other: DatetimeProfile, *, column: str = "?") -> DatetimeProfile:
        """Return the profile of both batches (neither input changes)."""
        if not isinstance(other, DatetimeProfile):
            raise _incompatible(column, self.kind, other)
        lows = [v for v in (self.min_ns, other.min_ns) if v is not None]
        highs = [v for v in (self.max_ns, other.max_ns) if v is not None]
        return DatetimeProfile(
            n=self.n + other.n,
            n_missing=self.n_missing + other.n_missing,
            n_type_mismatch=self.n_type_mismatch + other.n_type_mismatch,
            min_ns=min(lows) if lows else None,
            max_ns=max(highs) if highs else None,
            seconds=self.seconds.merge(other.seconds, column=f"{column} (epoch seconds)"),
        )

    def __add__(self, other: DatetimeProfile) -> DatetimeProfile:
        return self.merge(other)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; :meth:`from_dict` restores the profile exactly."""
        return {
            "kind": self.kind,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_type_mismatch": self.n_type_mismatch,
            "min_ns": self.min_ns,
            "max_ns": self.max_ns,
            "seconds": self.seconds.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatetimeProfile:
        """Rebuild a profile from :meth:`to_dict` output."""
        where = "datetime profile"
        return cls(
            n=field(data, "n", where),
            n_missing=field(data, "n_missing", where),
            n_type_mismatch=field(data, "n_type_mismatch", where),
            min_ns=field(data, "min_ns", where),
            max_ns=field(data, "max_ns", where),
            seconds=NumericalProfile.from_dict(field(data, "seconds", where)),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatetimeProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DatetimeProfile(n={self.n}, n_missing={self.n_missing}, min={self.min}, max={self.max})"


def cfg_or(config: ProfileConfig | None) -> ProfileConfig:
    """Return ``config`` or the default :class:`ProfileConfig`."""
    return config if config is not None else ProfileConfig()
