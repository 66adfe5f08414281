"""Per-bucket summaries: the counts a window series needs, read without decoding profiles.

A window's scalar series (volume, error rate, latency quantiles, per-column
missing rates, label counts, performance, business events) needs only counts.
Each bucket of ``window_profiles`` gets a ``window_summaries`` row with the
per-column counts of its profile (``n``, ``n_missing``) and what decides
whether two profiles merge (schema, column kinds, histogram edges,
performance task), stamped with the bucket ``revision`` it was computed from.
A series reads every bucket of its range with its summary in one scan,
recomputes (and stores) only the summaries of buckets written since, and
merges buckets into windows of any width with the same rules
:meth:`driftline.profile.DatasetProfile.merge` applies, so that the values
equal those of merging the bucket profiles themselves.

Example
-------
>>> from driftline.profile import profile
>>> p = profile({"x": [1.0, None, 3.0], "c": ["a", "b", None]})
>>> s = BucketSummary.from_profile_bytes(p.to_bytes())
>>> [(c.name, c.n, c.n_missing) for c in s.columns]
[('x', 3, 1), ('c', 3, 1)]
>>> BucketSummary.decode(s.encode()) == s
True
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.errors import StoreError
from driftline.store import tables as t
from driftline.store._sql import chunks, upsert

__all__ = [
    "BUCKET_KEY",
    "HEAD_PREFIX",
    "BucketSummary",
    "ColumnCounts",
    "summary_row",
    "summary_row_of",
    "upsert_summaries",
    "window_missing_rates",
]

BUCKET_KEY = ("model_version_id", "bucket_seconds", "bucket_start")
"""The key of every per-bucket table (``window_profiles``, ``window_summaries``, ...)."""
_MAGIC = b"DLP1"
_FORMAT = 2
HEAD_PREFIX = f'{{"format":{_FORMAT},'
"""How the text of a current summary row starts (rows of another format are recomputed)."""
#: Sub-profile that holds the histogram a column's merge checks, per kind.
_HISTOGRAM_OF = {"numerical": None, "text": "lengths", "datetime": "seconds"}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def _histogram_key(col: dict[str, Any]) -> str | None:
    """Digest of a column's histogram edges; ``None`` when it has no histogram."""
    kind = col.get("kind")
    if kind not in _HISTOGRAM_OF:
        return None
    sub = _HISTOGRAM_OF[kind]
    num = col if sub is None else (col.get(sub) or {})
    if num.get("edges") is None or num.get("counts") is None:
        return None
    return _digest(num["edges"])


@dataclass(frozen=True, slots=True)
class ColumnCounts:
    """Counts of one profiled column of a bucket.

    Attributes
    ----------
    name, kind : str
        Column name and profile kind.
    histogram : str or None
        Digest of the histogram bin edges (numerical columns, text lengths,
        datetime seconds); ``None`` without a histogram.
    n, n_missing : int
        Rows and missing values.
    """

    name: str
    kind: str
    histogram: str | None
    n: int
    n_missing: int


@dataclass(frozen=True, slots=True)
class BucketSummary:
    """What a window series needs of one bucket profile.

    Attributes
    ----------
    schema : str
        Digest of the profile's schema (profiles of different schemas never merge).
    task : str or None
        Performance task of the profile's counts, if any.
    columns : tuple of ColumnCounts
        In the profile's column order.
    """

    schema: str
    task: str | None
    columns: tuple[ColumnCounts, ...]

    @classmethod
    def from_profile_bytes(cls, data: bytes) -> BucketSummary:
        """Summarise :meth:`DatasetProfile.to_bytes` output without building the profile."""
        raw = bytes(data)
        if raw[:4] != _MAGIC:
            raise StoreError("window_profiles.profile: expected profile bytes starting b'DLP1'")
        try:
            doc = json.loads(zlib.decompress(raw[4:]))
        except (zlib.error, ValueError) as exc:
            raise StoreError(f"window_profiles.profile: the profile is corrupt ({exc})") from exc
        return cls.from_doc(doc)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> BucketSummary:
        """Summarise a profile's :meth:`DatasetProfile.to_dict` (what its bytes hold)."""
        perf = doc.get("performance")
        return cls(
            schema=_digest(doc.get("schema")),
            task=None if perf is None else str(perf.get("task")),
            columns=tuple(
                ColumnCounts(
                    name=name,
                    kind=str(col.get("kind")),
                    histogram=_histogram_key(col),
                    n=int(col.get("n", 0)),
                    n_missing=int(col.get("n_missing", 0)),
                )
                for name, col in doc.get("columns", {}).items()
            ),
        )

    def encode(self) -> str:
        """Text for a ``window_summaries`` row: a JSON head, a newline, the counts.

        The head (format, schema, task, column names, kinds and histogram
        digests) is the same for most buckets of a version, so that a series
        parses each distinct head once; the counts are ``[n..., n_missing...]``.
        """
        cols = [[c.name, c.kind, c.histogram] for c in self.columns]
        head = json.dumps(
            {"format": _FORMAT, "schema": self.schema, "task": self.task, "columns": cols},
            separators=(",", ":"),
        )
        counts = [c.n for c in self.columns] + [c.n_missing for c in self.columns]
        return head + "\n" + json.dumps(counts, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> BucketSummary:
        """Inverse of :meth:`encode`."""
        head, counts = text.split("\n", 1)
        return _Head.parse(head).summary(json.loads(counts))


@dataclass(frozen=True, slots=True)
class _Head:
    """The parsed head of a summary row (shared by the buckets of a version)."""

    schema: str
    task: str | None
    columns: tuple[tuple[str, str, str | None], ...]

    @classmethod
    def parse(cls, head: str) -> _Head:
        try:
            doc = json.loads(head)
            fmt = doc.get("format")
        except (ValueError, AttributeError) as exc:
            raise StoreError(
                f"window_summaries.data: expected a JSON head, got {head[:40]!r}"
            ) from exc
        if fmt != _FORMAT:
            raise StoreError(f"window_summaries.data: expected format {_FORMAT}, got {fmt!r}")
        cols = tuple((str(a), str(b), c) for a, b, c in doc["columns"])
        return cls(str(doc["schema"]), doc["task"], cols)

    def summary(self, counts: list[int]) -> BucketSummary:
        k = len(self.columns)
        return BucketSummary(
            schema=self.schema,
            task=self.task,
            columns=tuple(
                ColumnCounts(name, kind, hist, int(counts[i]), int(counts[k + i]))
                for i, (name, kind, hist) in enumerate(self.columns)
            ),
        )


class _Merged:
    """Running merge of bucket summaries with :meth:`DatasetProfile.merge`'s rules."""

    __slots__ = ("counts", "histograms", "kinds", "schema", "task")

    def __init__(self, first: BucketSummary) -> None:
        self.schema = first.schema
        self.task = first.task
        self.kinds = {c.name: c.kind for c in first.columns}
        self.histograms = {c.name: c.histogram for c in first.columns}
        self.counts = {c.name: [c.n, c.n_missing] for c in first.columns}

    def merge(self, other: BucketSummary) -> bool:
        """Add ``other`` if the profiles would merge; ``False`` (unchanged) if not."""
        if other.schema != self.schema or len(other.columns) != len(self.kinds):
            return False
        if self.task is not None and other.task is not None and self.task != other.task:
            return False
        for c in other.columns:
            if self.kinds.get(c.name) != c.kind:
                return False
            mine = self.histograms[c.name]
            if mine is not None and c.histogram is not None and mine != c.histogram:
                return False
        for c in other.columns:
            if self.histograms[c.name] is None:
                self.histograms[c.name] = c.histogram
            self.counts[c.name][0] += c.n
            self.counts[c.name][1] += c.n_missing
        if self.task is None:
            self.task = other.task
        return True

    def missing_rates(self) -> dict[str, float]:
        return {name: m / n for name, (n, m) in self.counts.items() if n}


def _missing_rates(parts: list[tuple[str, str]], heads: dict[str, _Head]) -> dict[str, float]:
    """Missing rate per column of the merged profile of ``parts`` (head, counts), in order."""
    for head, _ in parts:
        if head not in heads:
            heads[head] = _Head.parse(head)
    first = heads[parts[0][0]]
    k = len(first.columns)
    if all(h == parts[0][0] for h, _ in parts):  # one head: every part merges
        if len(parts) == 1:
            counts = json.loads(parts[0][1])
        else:
            counts = [sum(x) for x in zip(*(json.loads(c) for _, c in parts), strict=True)]
        return {
            col[0]: counts[k + i] / counts[i] for i, col in enumerate(first.columns) if counts[i]
        }
    merged = _Merged(first.summary(json.loads(parts[0][1])))
    for head, c in parts[1:]:
        merged.merge(heads[head].summary(json.loads(c)))
    return merged.missing_rates()


def window_missing_rates(
    parts: dict[float, list[tuple[str, str]]],
) -> dict[float, dict[str, float]]:
    """Missing rate per column of every window, from its buckets' ``(head, counts)`` texts.

    Windows whose buckets share one head are computed in one numpy pass; the
    others merge their buckets with :meth:`DatasetProfile.merge`'s rules.
    """
    heads: dict[str, _Head] = {}
    rates: dict[float, dict[str, float]] = {}
    alike: dict[str, list[float]] = defaultdict(list)
    for w, ps in parts.items():
        h = ps[0][0]
        if all(p[0] == h for p in ps):
            alike[h].append(w)
        else:
            rates[w] = _missing_rates(ps, heads)
    for h, windows in alike.items():
        if h not in heads:
            heads[h] = _Head.parse(h)
        names = [c[0] for c in heads[h].columns]
        k = len(names)
        texts = [c for w in windows for _, c in parts[w]]
        sums = np.array(json.loads("[" + ",".join(texts) + "]"), dtype=np.float64)
        sums = sums.reshape(len(texts), 2 * k)
        sizes = [len(parts[w]) for w in windows]
        if len(texts) != len(windows):
            sums = np.add.reduceat(sums, np.cumsum([0, *sizes[:-1]]), axis=0)
        n, missing = sums[:, :k], sums[:, k:]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio: list[list[float]] = (missing / n).tolist()  # exact below 2**53 (IEEE)
        full: list[bool] = np.all(n > 0, axis=1).astype(bool).tolist()
        totals: list[list[float]] = n.tolist()
        for w, row, ok, n_row in zip(windows, ratio, full, totals, strict=True):
            if ok:
                rates[w] = dict(zip(names, row, strict=True))
            else:
                rates[w] = {a: b for a, b, c in zip(names, row, n_row, strict=True) if c}
    return rates


def summary_row(
    *, version_id: int, bucket_seconds: int, start: float, revision: int, profile: bytes
) -> dict[str, Any]:
    """A ``window_summaries`` row of one bucket from its stored profile bytes.

    For a writer that holds the bytes anyway (the ingest transaction that merges a
    bucket): with the row written there, the first series over new buckets reads only.
    """
    return {
        "model_version_id": version_id,
        "bucket_seconds": bucket_seconds,
        "bucket_start": float(start),
        "revision": revision,
        "data": BucketSummary.from_profile_bytes(profile).encode(),
    }


def summary_row_of(
    *, version_id: int, bucket_seconds: int, start: float, revision: int, summary: str
) -> dict[str, Any]:
    """A ``window_summaries`` row from an encoded summary (see :meth:`BucketSummary.encode`)."""
    return {
        "model_version_id": version_id,
        "bucket_seconds": bucket_seconds,
        "bucket_start": float(start),
        "revision": revision,
        "data": summary,
    }


def upsert_summaries(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace ``window_summaries`` rows (from :func:`summary_row`)."""
    for part in chunks(rows, 500):
        upsert(conn, t.window_summaries, part, index=BUCKET_KEY)
