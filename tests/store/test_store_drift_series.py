"""Stored window drift: equals drift from the merged profiles, recomputed when stale, idempotent."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from scipy.spatial import distance

from driftline.errors import InputError
from driftline.profile import DatasetProfile, profile
from driftline.schema import Schema
from driftline.store import QueryService, Store
from driftline.store import tables as t
from driftline.store._engine import normalise_url
from driftline.store._ingest import IngestService
from driftline.store._migrate import upgrade
from driftline.store.windows import STATUSES, BucketDrift, drift_between, profile_drift
from driftline.store.windows import _drift as ds_mod
from driftline.wire import PredictionsBatch, ReferencePayload

HOUR = 3600
T0 = 1_700_000_000.0 - (1_700_000_000.0 % 86_400)


def frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, list[Any]]:
    age = rng.normal(40 + shift, 10, n).round(2)
    age[rng.random(n) < 0.1] = np.nan
    p = [0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5]
    return {
        "age": [None if np.isnan(a) else float(a) for a in age],
        "city": rng.choice(["oslo", "lima", "pune"], n, p=p).tolist(),
        "pred": rng.integers(0, 2, n).tolist(),
        "score": rng.random(n).round(4).tolist(),
    }


def make_batch(
    rng: np.random.Generator, n: int, start: float, shift: float = 0.0, version: str = "v1"
) -> PredictionsBatch:
    rows = frame(rng, n, shift)
    return PredictionsBatch(
        batch_id=uuid.uuid4().hex, project="shop", model="ranker", version=version,
        ids=[uuid.uuid4().hex for _ in range(n)],
        timestamps=(start + np.sort(rng.uniform(0, HOUR - 1, n))).tolist(),
        features={"age": rows["age"], "city": rows["city"]},
        predictions=rows["pred"], scores=rows["score"],
    )  # fmt: skip


def upload(svc: IngestService, rng: np.random.Generator, version: str = "v1") -> Any:
    ref = frame(rng, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(ref, prediction="pred", scores=["score"])
    prof = profile(ref, schema)
    svc.ingest(
        ReferencePayload(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version=version,
            profile=prof.to_dict(), schema=schema.to_dict(),
        )
    )  # fmt: skip
    return prof


def bucket_profiles(store: Store, version: str = "v1") -> dict[float, DatasetProfile]:
    wp, mv = t.window_profiles, t.model_versions
    with store.read() as conn:
        rows = conn.execute(
            sa.select(wp.c.bucket_start, wp.c.profile)
            .select_from(wp.join(mv, mv.c.id == wp.c.model_version_id))
            .where(mv.c.name == version)
        ).all()
    return {float(b): DatasetProfile.from_bytes(p) for b, p in rows}


def drift_rows(store: Store) -> dict[float, tuple[int, int]]:
    wd = t.window_drift
    with store.read() as conn:
        rows = conn.execute(
            sa.select(wd.c.bucket_start, wd.c.revision, wd.c.reference_revision).where(
                wd.c.bucket_seconds == HOUR
            )
        ).all()
    return {float(b): (int(r), int(rr)) for b, r, rr in rows}


def assert_matches(series: Any, start: float, ref: Any, current: Any) -> None:
    """The series' window ``start`` equals the drift computed now from the two profiles."""
    i = int(np.flatnonzero(series.starts == start)[0])
    expected = profile_drift(ref, current)
    for j, name in enumerate(expected.columns):
        k = series.columns.index(name)
        np.testing.assert_allclose(series.statistic[i, k], expected.statistic[j], rtol=1e-12)
        assert series.n_current[i, k] == expected.n_current[j]
        assert STATUSES[series.status[i, k]] == STATUSES[expected.status[j]]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_stored_series_equals_drift_of_the_merged_profiles(
    store: Store, rng: np.random.Generator
) -> None:
    svc = IngestService(store)
    ref = upload(svc, rng)
    for h, shift in [(0, 0.0), (0, 0.0), (1, 5.0), (2, 0.0)]:
        svc.ingest(make_batch(rng, 400, T0 + h * HOUR, shift))
    series = QueryService(store).drift_series("shop", "ranker")
    assert series.starts.tolist() == [T0, T0 + HOUR, T0 + 2 * HOUR]
    assert set(series.columns) == {"age", "city", "pred", "score"}
    assert series.method == "jensen_shannon"
    merged = bucket_profiles(store)
    assert merged[T0].n_rows == 800
    for start, cur in merged.items():
        assert_matches(series, start, ref, cur)
    # the same statistic as the Report computes from the two profiles
    report = drift_between(ref, merged[T0 + HOUR], "jensen_shannon")
    k = series.columns.index("age")
    assert series.statistic[1, k] == pytest.approx(report["age"]["statistic"], rel=1e-12)
    # and as scipy on the histogram counts (the window binned on the reference's edges)
    ref_counts = ref.numerical("age").histogram[1]
    cur_counts = merged[T0 + HOUR].numerical("age").histogram[1]
    assert series.statistic[1, k] == pytest.approx(
        distance.jensenshannon(ref_counts, cur_counts, base=2), rel=1e-9
    )
    city = series.columns.index("city")
    assert series.statistic[1, city] > 5 * series.statistic[0, city]  # the shifted hour drifts
    # written by the ingest transactions, one row per bucket, at the bucket's revision
    assert sorted(drift_rows(store)) == [T0, T0 + HOUR, T0 + 2 * HOUR]
    assert drift_rows(store)[T0] == (2, 1)
    d = series.to_dict()
    assert d["columns"]["age"]["status"] == ["computed"] * 3
    assert len(d["columns"]["age"]["statistic"]) == 3


def test_a_changed_bucket_is_recomputed_and_the_rest_reused(
    store: Store, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = IngestService(store)
    ref = upload(svc, rng)
    for h in range(3):
        svc.ingest(make_batch(rng, 300, T0 + h * HOUR))
    q = QueryService(store)
    before = q.drift_series("shop", "ranker")
    svc.ingest(make_batch(rng, 300, T0 + HOUR, shift=8.0))  # bucket 1 changes
    after = q.drift_series("shop", "ranker")
    merged = bucket_profiles(store)
    assert_matches(after, T0 + HOUR, ref, merged[T0 + HOUR])
    age = after.columns.index("age")
    assert after.statistic[1, age] > before.statistic[1, age]
    np.testing.assert_array_equal(after.statistic[[0, 2]], before.statistic[[0, 2]])

    # stale rows (a writer that stored no drift) are recomputed lazily, once
    wd = t.window_drift
    with store.begin() as conn:
        conn.execute(wd.update().values(revision=0))
    calls: list[int] = []
    real = ds_mod.profile_drift

    def counting(*args: Any, **kw: Any) -> BucketDrift:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(ds_mod, "profile_drift", counting)
    again = q.drift_series("shop", "ranker")
    assert len(calls) == 3
    np.testing.assert_allclose(again.statistic, after.statistic, rtol=1e-12)
    assert {r for r, _ in drift_rows(store).values()} == {1, 2}  # stored at the bucket revisions
    q.drift_series("shop", "ranker")
    assert len(calls) == 3  # fresh now: a pure read


def test_idempotent_queries_and_duplicate_batches(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    upload(svc, rng)
    b = make_batch(rng, 300, T0)
    svc.ingest(b)
    q = QueryService(store)
    first = q.drift_series("shop", "ranker").to_dict()
    rows = drift_rows(store)
    assert svc.ingest(b).duplicate
    assert IngestService(store).ingest(b).duplicate
    assert q.drift_series("shop", "ranker").to_dict() == first
    assert drift_rows(store) == rows
    with store.begin() as conn:
        conn.execute(t.window_drift.delete())
    assert q.drift_series("shop", "ranker").to_dict() == first  # recomputed: the same


def test_a_new_reference_makes_every_window_stale(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    upload(svc, rng)
    svc.ingest(make_batch(rng, 300, T0))
    q = QueryService(store)
    q.drift_series("shop", "ranker")
    ref2 = upload(svc, np.random.default_rng(99))
    series = q.drift_series("shop", "ranker")
    assert drift_rows(store)[T0] == (1, 2)
    # the window was binned on the old reference's edges: numerical drift is not computable
    age = series.columns.index("age")
    assert STATUSES[series.status[0, age]] == "not_computable"
    assert "reference" in series.reasons[(T0, "age")]
    city = series.columns.index("city")
    assert_matches(series, T0, ref2, bucket_profiles(store)[T0])
    assert STATUSES[series.status[0, city]] == "computed"


def test_daily_windows_merge_bucket_profiles(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ref = upload(svc, rng)
    for h in (0, 5, 23, 24, 30):
        svc.ingest(make_batch(rng, 200, T0 + h * HOUR, shift=float(h % 2)))
    q = QueryService(store)
    series = q.drift_series("shop", "ranker", window_seconds=86_400)
    assert series.starts.tolist() == [T0, T0 + 86_400]
    buckets = bucket_profiles(store)
    day1 = buckets[T0].merge(buckets[T0 + 5 * HOUR]).merge(buckets[T0 + 23 * HOUR])
    assert_matches(series, T0, ref, day1)
    assert series.n_current[0, series.columns.index("city")] == 600
    # a write into day 2 restamps that window only
    svc.ingest(make_batch(rng, 200, T0 + 30 * HOUR, shift=6.0))
    again = q.drift_series("shop", "ranker", window_seconds=86_400)
    buckets = bucket_profiles(store)
    assert_matches(again, T0 + 86_400, ref, buckets[T0 + 24 * HOUR].merge(buckets[T0 + 30 * HOUR]))
    np.testing.assert_array_equal(again.statistic[0], series.statistic[0])
    # the range filters by window
    part = q.drift_series("shop", "ranker", start=T0 + 86_400 + 5, window_seconds=86_400)
    assert part.starts.tolist() == [T0 + 86_400]
    # a window cut by ``end`` holds the buckets before it, and is not stored
    wd = t.window_drift
    with store.begin() as conn:
        conn.execute(wd.delete().where(wd.c.bucket_seconds == 86_400))
    cut = q.drift_series("shop", "ranker", end=T0 + 6 * HOUR, window_seconds=86_400)
    assert_matches(cut, T0, ref, buckets[T0].merge(buckets[T0 + 5 * HOUR]))
    with store.read() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(wd).where(wd.c.bucket_seconds == 86_400)
            ).scalar()
            == 0
        )


def test_all_versions_take_the_newest_version_per_window(
    store: Store, rng: np.random.Generator
) -> None:
    svc = IngestService(store)
    upload(svc, rng, "v1")
    ref2 = upload(svc, rng, "v2")
    svc.ingest(make_batch(rng, 200, T0, version="v1"))
    svc.ingest(make_batch(rng, 200, T0 + HOUR, version="v1"))
    svc.ingest(make_batch(rng, 200, T0 + HOUR, shift=3.0, version="v2"))
    q = QueryService(store)
    both = q.drift_series("shop", "ranker")
    assert both.starts.tolist() == [T0, T0 + HOUR]
    assert_matches(both, T0 + HOUR, ref2, bucket_profiles(store, "v2")[T0 + HOUR])
    only1 = q.drift_series("shop", "ranker", version="v1")
    np.testing.assert_array_equal(only1.statistic[0], both.statistic[0])


def test_two_services_writing_one_bucket_merge_everything(
    store: Store, rng: np.random.Generator
) -> None:
    a, b = IngestService(store), IngestService(store)
    upload(a, rng)
    batches = [make_batch(rng, 150, T0) for _ in range(5)]
    for i, x in enumerate(batches):
        (a if i % 2 else b).ingest(x)  # each service's cached bucket goes stale in turn
    merged = bucket_profiles(store)[T0]
    assert merged.n_rows == 750
    assert merged.columns["city"].n == 750
    series = QueryService(store).drift_series("shop", "ranker")
    assert_matches(series, T0, a._versions._cache[1].reference, merged)
    with store.read() as conn:
        rev = conn.execute(sa.select(t.window_profiles.c.revision)).scalar_one()
    assert rev == 5 and drift_rows(store)[T0][0] == 5


def test_a_failed_transaction_does_not_poison_the_bucket_cache(
    store: Store, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftline.store import _ingest

    svc = IngestService(store)
    upload(svc, rng)
    kept = [make_batch(rng, 100, T0), make_batch(rng, 100, T0), make_batch(rng, 100, T0)]
    svc.ingest(kept[0])

    def boom(*args: Any, **kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(_ingest, "upsert_drift", boom)
    with pytest.raises(RuntimeError):
        svc.ingest(make_batch(rng, 100, T0, shift=9.0))  # rolled back
    monkeypatch.undo()
    IngestService(store).ingest(kept[1])  # another writer takes the bucket to revision 2
    svc.ingest(kept[2])
    stored = bucket_profiles(store)[T0]
    cities: dict[str, int] = {}
    for b in kept:
        for c in b.features["city"]:
            cities[c] = cities.get(c, 0) + 1
    assert stored.n_rows == 300
    assert {str(k): v for k, v in stored.categorical("city").counts.items()} == cities


def test_migrating_a_0001_database_keeps_its_windows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = sa.create_engine(normalise_url(url))
    upgrade(engine, "0001")
    rng = np.random.default_rng(3)
    rows = frame(rng, 500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(rows, prediction="pred", scores=["score"])
    ref = profile(rows, schema)
    cur = profile(frame(rng, 200, 4.0), schema, reference=ref)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO projects (id, name, created_at) VALUES (1, 'shop', 0)")
        conn.exec_driver_sql(
            "INSERT INTO models (id, project_id, name, created_at) VALUES (1, 1, 'ranker', 0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO model_versions (id, model_id, name, created_at) VALUES (1, 1, 'v1', 0)"
        )
        conn.execute(
            t.reference_profiles.insert(),
            [{"model_version_id": 1, "profile": ref.to_dict(), "schema": schema.to_dict(),
              "source": "user", "revision": 1, "updated_at": 0.0}],
        )  # fmt: skip
        conn.exec_driver_sql(
            "INSERT INTO window_profiles (model_version_id, bucket_seconds, bucket_start, "
            "n_rows, n_errors, profile, latency, updated_at) VALUES (1, 3600, ?, 200, 0, ?, "
            "NULL, 0)",
            (T0, cur.to_bytes()),
        )
    engine.dispose()
    with Store.open(url) as store:
        series = QueryService(store).drift_series("shop", "ranker")
        assert_matches(series, T0, ref, cur)
        assert drift_rows(store) == {T0: (0, 1)}


def test_previous_window_baseline(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store, clock=lambda: T0)
    upload(svc, rng)
    svc.ingest(make_batch(rng, 3000, T0))  # like the reference
    svc.ingest(make_batch(rng, 3000, T0 + HOUR, shift=15.0))  # the drift starts
    svc.ingest(make_batch(rng, 3000, T0 + 2 * HOUR, shift=15.0))  # and stays
    q = QueryService(store)
    vs_ref = q.drift_series("shop", "ranker", window_seconds=HOUR)
    vs_prev = q.drift_series("shop", "ranker", window_seconds=HOUR, baseline="previous")
    assert vs_prev.starts.tolist() == vs_ref.starts.tolist() == [T0, T0 + HOUR, T0 + 2 * HOUR]
    j = vs_prev.columns.index("age")
    assert [STATUSES[s] for s in vs_prev.status[:, j]] == ["absent", "computed", "computed"]
    assert vs_prev.reasons[(T0, "age")] == "the first window has no previous window"
    profiles = bucket_profiles(store)
    expected = profile_drift(profiles[T0], profiles[T0 + HOUR])
    assert vs_prev.statistic[1, j] == pytest.approx(
        expected.statistic[expected.columns.index("age")]
    )
    # against the reference the third window still drifts; against the second it does not
    jr = vs_ref.columns.index("age")
    assert vs_ref.statistic[2, jr] > 0.3 and vs_prev.statistic[2, j] < vs_ref.statistic[2, jr] / 4
    with pytest.raises(ValueError, match="baseline"):
        q.drift_series("shop", "ranker", baseline="yesterday")


def test_drift_computed_at_most_once_a_second_per_bucket_and_owed_rows_are_paid(
    store: Store, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import driftline.store._ingest as ingest_mod

    now = [T0 + 2 * HOUR]
    svc = IngestService(store, clock=lambda: now[0], drift_every_s=1.0)
    ref = upload(svc, rng)
    calls: list[int] = []
    real = ingest_mod.profile_drift

    def counting(*args: Any, **kw: Any) -> BucketDrift:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(ingest_mod, "profile_drift", counting)
    for k in range(5):  # five batches into the same hour within one second
        svc.ingest(make_batch(rng, 200, T0, shift=4.0 * (k % 2)))
        now[0] += 0.1
    assert len(calls) == 1  # the first batch's; the others are owed
    assert drift_rows(store)[T0] == (1, 1)  # one revision of five
    # a query computes what the stored row lacks: the drift of all five batches
    series = QueryService(store).drift_series("shop", "ranker")
    assert_matches(series, T0, ref, bucket_profiles(store)[T0])
    # the next batch after the interval, into another hour, pays the owed row
    now[0] += 1.0
    svc.ingest(make_batch(rng, 200, T0 + HOUR))
    assert drift_rows(store)[T0] == (5, 1) and drift_rows(store)[T0 + HOUR] == (1, 1)
    assert len(calls) == 3


def test_drift_every_batch_by_default(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    upload(svc, rng)
    for _ in range(3):
        svc.ingest(make_batch(rng, 100, T0))
    assert drift_rows(store)[T0] == (3, 1)
    with pytest.raises(InputError, match="drift_every_s"):
        IngestService(store, drift_every_s=-1)
