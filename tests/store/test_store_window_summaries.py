"""The window series from stored bucket summaries equals the recomputation from profiles."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from driftline.profile import profile
from driftline.schema import Schema
from driftline.store import IngestService, QueryService, Store
from driftline.store import tables as t
from driftline.store.windows import BucketSummary
from driftline.wire import (
    BusinessEvent,
    EventsBatch,
    LabelsBatch,
    PredictionsBatch,
    ReferencePayload,
)

HOUR = 3600
WIDTHS = (HOUR, 2 * HOUR, 6 * HOUR, 24 * HOUR)


def _batch(
    rng: np.random.Generator, n: int, lo: float, hi: float, version: str, *, city: bool = True
) -> PredictionsBatch:
    age = rng.normal(40, 10, n).round(2)
    age[rng.random(n) < 0.2] = np.nan
    features: dict[str, list[Any]] = {"age": [None if np.isnan(a) else float(a) for a in age]}
    if city:
        features["city"] = rng.choice(["oslo", "lima", "pune"], n).tolist()
    return PredictionsBatch(
        batch_id=uuid.uuid4().hex, project="p", model="m", version=version,
        ids=[uuid.uuid4().hex for _ in range(n)],
        timestamps=rng.uniform(lo, hi, n).round(3).tolist(),
        features=features,
        predictions=rng.integers(0, 2, n).tolist(),
        latency_ms=rng.lognormal(2, 0.5, n).round(3).tolist(),
        errors=[("boom" if x < 0.1 else None) for x in rng.random(n)],
    )  # fmt: skip


def _seed(svc: IngestService, rng: np.random.Generator) -> list[str]:
    """Two versions over 30 hours, a reference uploaded halfway, labels and events."""
    ids: list[str] = []
    for i in range(12):
        b = _batch(rng, 6, i * 2.5 * HOUR, (i * 2.5 + 3) * HOUR, "v1", city=i % 4 != 1)
        svc.ingest(b)
        ids += b.ids
        if i == 5:
            ref_rows = {"age": rng.normal(45, 5, 300).tolist(), "city": ["oslo"] * 300}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                schema = Schema.infer(ref_rows)
            svc.ingest(
                ReferencePayload(
                    batch_id=uuid.uuid4().hex, project="p", model="m", version="v1",
                    profile=profile(ref_rows, schema).to_dict(), schema=schema.to_dict(),
                )
            )  # fmt: skip
        if i % 3 == 2:
            svc.ingest(_batch(rng, 5, i * 2.5 * HOUR, (i * 2.5 + 4) * HOUR, "v2"))
    picked = rng.choice(len(ids), 30, replace=False)
    svc.ingest(
        LabelsBatch(
            batch_id=uuid.uuid4().hex, project="p", model="m",
            ids=[ids[i] for i in picked], labels=rng.integers(0, 2, 30).tolist(),
            timestamps=[31 * HOUR] * 30,
        )
    )  # fmt: skip
    svc.ingest(
        EventsBatch(
            batch_id=uuid.uuid4().hex, project="p", model="m",
            events=[BusinessEvent(name="click", prediction_id=ids[i], value=2.0, timestamp=0.0)
                    for i in picked[:12]] + [BusinessEvent(name="visit", timestamp=7 * HOUR)],
        )
    )  # fmt: skip
    return ids


def _slow(
    summarise_windows: Callable[..., list[Any]],
    store: Store,
    query: QueryService,
    version: str | None,
    width: int,
    start: Any,
    end: Any,
) -> list[Any]:
    """The reference computation: every window merged from its bucket profiles."""
    with store.read() as conn:
        mid, ids = query._version_ids(conn, "p", "m", version)
        sources = dict(
            conn.execute(
                sa.select(t.reference_profiles.c.model_version_id, t.reference_profiles.c.source)
            ).all()
        )
        return summarise_windows(
            conn, model_id=mid, version_ids=ids, include_unattributed_events=version is None,
            bucket_seconds=HOUR, window_seconds=width, start=start, end=end,
            source_of=sources.get,
        )  # fmt: skip


def _assert_same(fast: list[Any], slow: list[Any]) -> None:
    assert [w.to_dict() for w in fast] == [w.to_dict() for w in slow]
    for f, s in zip(fast, slow, strict=True):
        if s.profile is None:
            assert f.profile is None
        else:
            assert f.profile.n_rows == s.profile.n_rows
            assert f.profile.schema == s.profile.schema


def test_fast_path_equals_the_recomputation(
    store: Store, summarise_windows: Callable[..., list[Any]]
) -> None:
    rng = np.random.default_rng(7)
    svc = IngestService(store)
    _seed(svc, rng)
    query = QueryService(store)
    cases = [(v, w, None, None) for v in (None, "v1", "v2") for w in WIDTHS]
    cases += [(None, 2 * HOUR, 5 * HOUR + 10, 23 * HOUR), (None, 6 * HOUR, None, 13 * HOUR)]
    for version, width, start, end in cases:
        fast = query.window_series("p", "m", version, start, end, width, drift=False)
        assert fast, (version, width)
        _assert_same(fast, _slow(summarise_windows, store, query, version, width, start, end))
    # some windows straddle the change of reference (their profiles do not all merge)
    assert any(w.n_predictions > w.profile.n_rows for w in fast)


def test_summaries_are_stored_once_and_refreshed_when_a_bucket_changes(
    store: Store, summarise_windows: Callable[..., list[Any]]
) -> None:
    rng = np.random.default_rng(11)
    svc = IngestService(store)
    svc.ingest(_batch(rng, 20, 0, 3 * HOUR, "v1"))
    query = QueryService(store)
    first = query.window_series("p", "m", drift=False)
    with store.read() as conn:
        stored = conn.execute(
            sa.select(t.window_summaries.c.bucket_start, t.window_summaries.c.revision)
        ).all()
    assert sorted(b for b, _ in stored) == [0.0, HOUR, 2 * HOUR]
    assert [w.to_dict() for w in query.window_series("p", "m", drift=False)] == [
        w.to_dict() for w in first
    ]
    svc.ingest(_batch(rng, 10, HOUR, 2 * HOUR, "v1", city=False))  # the city goes missing
    again = query.window_series("p", "m", drift=False)
    _assert_same(again, _slow(summarise_windows, store, query, None, HOUR, None, None))
    assert again[1].missing_rates["city"] > first[1].missing_rates["city"]
    with store.read() as conn:
        revs = dict(
            conn.execute(
                sa.select(t.window_summaries.c.bucket_start, t.window_summaries.c.revision)
            ).all()
        )
    assert revs[HOUR] > dict(stored)[HOUR] and revs[0.0] == dict(stored)[0.0]


def test_drift_and_profiles_are_read_only_when_asked_for(store: Store) -> None:
    rng = np.random.default_rng(3)
    svc = IngestService(store)
    svc.ingest(_batch(rng, 30, 0, 2 * HOUR, "v1"))
    query = QueryService(store, drift_methods="psi")
    [a, b] = query.window_series("p", "m")  # the first batch is the reference
    assert a.drift and {d["method"] for d in a.drift.values()} == {"psi"}
    assert a.profile.n_rows + b.profile.n_rows == 30
    [c, _] = query.window_series("p", "m")
    assert c.drift is a.drift  # cached: no profile was read for it
    assert "profile_loader" not in c.to_dict() and "profile" not in c.to_dict()


def test_bucket_summary_round_trip_and_corrupt_bytes() -> None:
    p = profile({"x": [1.0, 2.0, None], "s": ["a", None, "b"]})
    s = BucketSummary.from_profile_bytes(p.to_bytes())
    assert BucketSummary.decode(s.encode()) == s
    assert s.columns[0].histogram is not None
    from driftline.errors import StoreError

    with pytest.raises(StoreError, match=r"window_profiles\.profile"):
        BucketSummary.from_profile_bytes(b"DLP1not zlib")


def test_rows_written_by_another_writer_are_read_while_current(
    store: Store, summarise_windows: Callable[..., list[Any]]
) -> None:
    from driftline.store.windows import summary_row, upsert_summaries

    rng = np.random.default_rng(5)
    svc = IngestService(store)
    svc.ingest(_batch(rng, 20, 0, HOUR, "v1"))
    wp = t.window_profiles
    with store.read() as conn:
        v, b, rev, raw = conn.execute(
            sa.select(wp.c.model_version_id, wp.c.bucket_start, wp.c.revision, wp.c.profile)
        ).one()
    row = summary_row(version_id=v, bucket_seconds=HOUR, start=b, revision=rev, profile=raw)
    head, counts = row["data"].split("\n")
    k = len(json.loads(counts)) // 2
    row["data"] = head + "\n" + json.dumps([10] * k + [5] * k)  # a marker: every rate 0.5
    with store.begin() as conn:
        upsert_summaries(conn, [row])
    query = QueryService(store)
    [w] = query.window_series("p", "m", drift=False)
    assert set(w.missing_rates.values()) == {0.5}  # read, not recomputed
    svc.ingest(_batch(rng, 5, 0, HOUR, "v1"))  # the bucket's revision moves on
    [w] = query.window_series("p", "m", drift=False)
    _assert_same([w], _slow(summarise_windows, store, query, None, HOUR, None, None))


def test_ingest_writes_each_buckets_summary_in_its_own_transaction(store: Store) -> None:
    rng = np.random.default_rng(5)
    svc = IngestService(store)
    svc.ingest(_batch(rng, 20, 0, 3 * HOUR, "v1"))
    svc.ingest(_batch(rng, 10, HOUR, 2 * HOUR, "v1", city=False))  # a cached bucket, rewritten
    wp, ws = t.window_profiles, t.window_summaries
    with store.read() as conn:
        profiles = {
            r.bucket_start: (r.revision, r.profile)
            for r in conn.execute(sa.select(wp.c.bucket_start, wp.c.revision, wp.c.profile))
        }
        summaries = {
            r.bucket_start: (r.revision, r.data)
            for r in conn.execute(sa.select(ws.c.bucket_start, ws.c.revision, ws.c.data))
        }
    # written by ingest, before any query: current, and what the profile's bytes say
    assert sorted(summaries) == sorted(profiles) == [0.0, HOUR, 2 * HOUR]
    for start, (revision, data) in summaries.items():
        assert revision == profiles[start][0]
        assert data == BucketSummary.from_profile_bytes(profiles[start][1]).encode()
    assert summaries[HOUR][0] == 2  # the second batch bumped it
