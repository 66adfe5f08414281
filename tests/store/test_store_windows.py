from __future__ import annotations

import uuid
import warnings
from typing import Any

import numpy as np
import pytest

from driftline.errors import InputError, NotFoundError
from driftline.profile import profile
from driftline.schema import Schema
from driftline.store import IngestService, QueryService, Store
from driftline.wire import PredictionsBatch, ReferencePayload

HOUR = 3600


def frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, list[Any]]:
    age = rng.normal(40 + shift, 10, n).round(2)
    age[rng.random(n) < 0.1] = np.nan
    return {
        "age": [None if np.isnan(a) else float(a) for a in age],
        "city": rng.choice(["oslo", "lima", "pune"], n, p=[0.5, 0.3, 0.2]).tolist(),
        "pred": rng.integers(0, 2, n).tolist(),
        "score": rng.random(n).round(4).tolist(),
    }


def reference(rng: np.random.Generator) -> tuple[Any, Schema]:
    ref = frame(rng, 2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(ref, prediction="pred", scores=["score"])
    return profile(ref, schema), schema


def batch(rows: dict[str, list[Any]], ts: np.ndarray, **kw: Any) -> PredictionsBatch:
    n = len(ts)
    fields: dict[str, Any] = {
        "batch_id": uuid.uuid4().hex,
        "project": "shop",
        "model": "ranker",
        "version": "v1",
        "ids": [uuid.uuid4().hex for _ in range(n)],
        "timestamps": ts.tolist(),
        "features": {"age": rows["age"], "city": rows["city"]},
        "predictions": rows["pred"],
        "scores": rows["score"],
    }
    fields.update(kw)
    return PredictionsBatch(**fields)


def upload(svc: IngestService, ref: Any, schema: Schema, version: str = "v1") -> None:
    svc.ingest(
        ReferencePayload(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version=version,
            profile=ref.to_dict(), schema=schema.to_dict(),
        )
    )  # fmt: skip


QS = [0.1, 0.5, 0.9]


def assert_profiles_agree(got: Any, want: Any, rows: dict[str, list[Any]]) -> None:
    assert got.n_rows == want.n_rows
    assert list(got.columns) == list(want.columns)
    for name, w in want.columns.items():
        g = got.columns[name]
        assert g.n == w.n and g.n_missing == w.n_missing, name
        if w.kind == "numerical":
            assert g.min == w.min and g.max == w.max
            assert g.mean == pytest.approx(w.mean, rel=1e-12)
            assert g.std == pytest.approx(w.std, rel=1e-9)
            np.testing.assert_array_equal(g.histogram[0], w.histogram[0])
            np.testing.assert_array_equal(g.histogram[1], w.histogram[1])
            # quantile sketches merge within their rank error (KLL k=200: about 1.65 %)
            values = np.array([v for v in rows[name] if v is not None], dtype=float)
            for q, x in zip(QS, g.quantiles(QS), strict=True):
                assert np.mean(values <= x) == pytest.approx(q, abs=0.04)
        else:
            assert g.counts == w.counts


def test_window_profile_equals_profile_of_all_rows(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ref, schema = reference(rng)
    upload(svc, ref, schema)
    parts = []
    for _ in range(3):  # three batches, each spread over two hourly buckets
        ts = np.sort(rng.uniform(0, 2 * HOUR, 400)) + 10 * HOUR
        rows = frame(rng, 400)
        parts.append((ts, rows))
        assert svc.ingest(batch(rows, ts)).accepted == 400
    query = QueryService(store)
    hourly = query.window_series("shop", "ranker", "v1")
    assert [w.start for w in hourly] == [10 * HOUR, 11 * HOUR]
    window_schema = Schema(tuple(c for c in schema.columns if c.name != "label"))
    for w in hourly:
        keep = [(ts >= w.start) & (ts < w.end) for ts, _ in parts]
        rows = {
            name: [v for (_, r), m in zip(parts, keep, strict=True) for v, k in zip(r[name], m, strict=True) if k]
            for name in parts[0][1]
        }  # fmt: skip
        want = profile(rows, window_schema, reference=ref)
        assert w.n_predictions == want.n_rows == sum(int(m.sum()) for m in keep)
        assert_profiles_agree(w.profile, want, rows)
        assert w.missing_rates["age"] == pytest.approx(want.columns["age"].missing_rate)
        assert w.reference_source == "user"
    # a two-hour window merges both buckets into the profile of all rows
    [two] = query.window_series("shop", "ranker", window_seconds=2 * HOUR)
    all_rows = {name: [v for _, r in parts for v in r[name]] for name in parts[0][1]}
    assert_profiles_agree(two.profile, profile(all_rows, window_schema, reference=ref), all_rows)
    assert (two.start, two.end, two.n_predictions) == (10 * HOUR, 12 * HOUR, 1200)
    # start / end select windows
    later = query.window_series("shop", "ranker", start=11 * HOUR + 5, end=12 * HOUR)
    assert [w.start for w in later] == [11 * HOUR]


def test_drift_against_the_reference(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ref, schema = reference(rng)
    upload(svc, ref, schema)
    svc.ingest(batch(frame(rng, 1000), rng.uniform(0, HOUR, 1000)))
    svc.ingest(batch(frame(rng, 1000, shift=15.0), rng.uniform(HOUR, 2 * HOUR, 1000)))
    same, shifted = QueryService(store).window_series("shop", "ranker")
    for w in (same, shifted):
        assert {"age", "city", "pred", "score"} <= set(w.drift)
        assert w.drift["age"]["n_current"] == pytest.approx(900, abs=60)
    assert same.drift["age"]["status"] == "no_drift"
    assert shifted.drift["age"]["status"] == "drift"
    assert shifted.drift["age"]["statistic"] > 5 * same.drift["age"]["statistic"]
    assert shifted.drift["city"]["status"] == "no_drift"


def test_first_batch_is_the_reference_until_one_is_uploaded(
    store: Store, rng: np.random.Generator
) -> None:
    svc = IngestService(store)
    svc.ingest(batch(frame(rng, 500), rng.uniform(0, HOUR, 500)))
    svc.ingest(batch(frame(rng, 500), rng.uniform(0, HOUR, 500)))
    [w] = QueryService(store).window_series("shop", "ranker")
    assert w.n_predictions == w.profile.n_rows == 1000  # both batches merged (same bins)
    assert w.reference_source == "first_batch"
    assert set(w.profile.columns) == {"age", "city", "prediction", "score"}
    models = QueryService(store).list_models("shop")
    assert models[0]["versions"][0]["reference_source"] == "first_batch"


def test_latency_errors_and_missing_features(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    n = 3000
    latency = rng.lognormal(3, 0.5, n)
    errors = [("timeout" if rng.random() < 0.05 else None) for _ in range(n)]
    rows = frame(rng, n)
    b = batch(rows, rng.uniform(0, HOUR, n), latency_ms=latency.tolist(), errors=errors)
    svc.ingest(b)
    # a later batch without the 'city' feature: it counts as missing
    rows2 = frame(rng, 1000)
    b2 = batch(rows2, rng.uniform(0, HOUR, 1000), features={"age": rows2["age"]})
    svc.ingest(b2)
    [w] = QueryService(store).window_series("shop", "ranker")
    assert w.error_rate == pytest.approx(sum(e is not None for e in errors) / 4000)
    for q, got in ((0.5, w.latency_p50_ms), (0.95, w.latency_p95_ms), (0.99, w.latency_p99_ms)):
        assert got is not None
        assert np.mean(latency <= got) == pytest.approx(q, abs=0.02)  # KLL rank error
    assert w.missing_rates["city"] == pytest.approx(1000 / 4000)


def test_not_found_and_bad_windows(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    svc.ingest(batch(frame(rng, 10), rng.uniform(0, HOUR, 10)))
    query = QueryService(store)
    with pytest.raises(NotFoundError, match="project: no project named 'nope'"):
        query.window_series("nope", "ranker")
    with pytest.raises(NotFoundError, match="model: project 'shop' has no model named 'x'"):
        query.window_series("shop", "x")
    with pytest.raises(NotFoundError, match="version"):
        query.window_series("shop", "ranker", version="v9")
    with pytest.raises(NotFoundError):
        query.list_models("nope")
    with pytest.raises(InputError, match="window_seconds: expected a positive multiple"):
        query.window_series("shop", "ranker", window_seconds=1800)
    assert query.list_projects()[0]["name"] == "shop"
    assert query.list_models("shop")[0]["name"] == "ranker"


def test_uploaded_reference_replaces_the_first_batch(
    store: Store, rng: np.random.Generator
) -> None:
    svc = IngestService(store)
    svc.ingest(batch(frame(rng, 300), rng.uniform(0, HOUR, 300)))
    ref, schema = reference(rng)
    upload(svc, ref, schema)
    svc.ingest(batch(frame(rng, 300), rng.uniform(HOUR, 2 * HOUR, 300)))
    svc.ingest(batch(frame(rng, 200), rng.uniform(0, HOUR, 200)))  # back into the first hour
    w0, w1 = QueryService(store).window_series("shop", "ranker")
    assert w1.reference_source == "user"
    edges = w1.profile.columns["age"].histogram[0]
    np.testing.assert_array_equal(edges, ref.columns["age"].histogram[0])
    assert set(w1.drift) == {"age", "city", "pred", "score"}
    # the first hour straddles the change of reference: its volume counts every row,
    # its profile restarts with the rows profiled against the new reference
    assert w0.n_predictions == 500
    assert w0.profile.n_rows == 200
    np.testing.assert_array_equal(w0.profile.columns["age"].histogram[0], edges)


def test_drift_is_cached_until_a_bucket_changes(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ref, schema = reference(rng)
    upload(svc, ref, schema)
    svc.ingest(batch(frame(rng, 300), rng.uniform(0, HOUR, 300)))
    query = QueryService(store, drift_methods="psi")
    [first] = query.window_series("shop", "ranker")
    assert {d["method"] for d in first.drift.values()} == {"psi"}
    [again] = query.window_series("shop", "ranker")
    assert again.drift is first.drift  # served from the cache
    svc.ingest(batch(frame(rng, 300, shift=20.0), rng.uniform(0, HOUR, 300)))
    [changed] = query.window_series("shop", "ranker")
    assert changed.drift["age"]["n_current"] > first.drift["age"]["n_current"]
    assert changed.drift["age"]["statistic"] > first.drift["age"]["statistic"]
    [bare] = query.window_series("shop", "ranker", drift=False)
    assert bare.drift == {} and bare.n_predictions == 600


def test_all_versions_together(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ref, schema = reference(rng)
    upload(svc, ref, schema, version="v1")
    svc.ingest(batch(frame(rng, 300), rng.uniform(0, HOUR, 300), version="v1"))
    svc.ingest(batch(frame(rng, 200), rng.uniform(0, 2 * HOUR, 200), version="v2"))
    first, second = QueryService(store).window_series("shop", "ranker")
    v2_first = QueryService(store).window_series("shop", "ranker", version="v2")[0]
    # volume counts every version; the profile and drift are the newest version's
    assert first.n_predictions == 300 + v2_first.n_predictions
    assert first.profile.n_rows == v2_first.n_predictions
    assert first.reference_source == "first_batch"
    assert set(first.drift) == {"age", "city", "prediction", "score"}
    assert second.n_predictions == 200 - v2_first.n_predictions
    [v1] = QueryService(store).window_series("shop", "ranker", version="v1")
    assert v1.reference_source == "user" and v1.profile.n_rows == 300
