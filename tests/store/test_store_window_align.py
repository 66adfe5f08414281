"""Window alignment: ``align`` shifts the window grid of window and drift series.

Values equal a manual aggregation of the buckets for two alignments; stored
window drift is keyed by (start, width), so windows of other alignments never
share or serve a stale result. SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from driftline.errors import InputError
from driftline.profile import DatasetProfile, profile
from driftline.schema import Schema
from driftline.store import IngestService, QueryService, Store
from driftline.store import tables as t
from driftline.store.windows import STATUSES, profile_drift
from driftline.wire import PredictionsBatch, ReferencePayload

HOUR = 3600
DAY = 86_400
T0 = 1_700_000_000.0 - (1_700_000_000.0 % DAY)
HOURS = (0, 5, 7, 23, 24, 30, 31)  # buckets with predictions, hours after T0


def _rows(rng: np.random.Generator, n: int, shift: float) -> dict[str, list[Any]]:
    return {
        "age": rng.normal(40 + shift, 10, n).round(2).tolist(),
        "city": rng.choice(["oslo", "lima", "pune"], n).tolist(),
    }


def _seed(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ref = _rows(rng, 1000, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = Schema.infer(ref)
    svc.ingest(
        ReferencePayload(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            profile=profile(ref, schema).to_dict(), schema=schema.to_dict(),
        )
    )  # fmt: skip
    for h in HOURS:
        n = 20 + h
        r = _rows(rng, n, shift=float(h % 3) * 5)
        svc.ingest(
            PredictionsBatch(
                batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
                ids=[uuid.uuid4().hex for _ in range(n)],
                timestamps=(T0 + h * HOUR + np.sort(rng.uniform(0, HOUR - 1, n))).tolist(),
                features=r, predictions=rng.integers(0, 2, n).tolist(),
            )
        )  # fmt: skip


def _buckets(store: Store) -> dict[float, tuple[int, DatasetProfile]]:
    wp = t.window_profiles
    with store.read() as conn:
        rows = conn.execute(sa.select(wp.c.bucket_start, wp.c.n_rows, wp.c.profile)).all()
    return {float(b): (int(n), DatasetProfile.from_bytes(p)) for b, n, p in rows}


def _by_hand(buckets: dict[float, Any], width: int, align: float) -> dict[float, list[float]]:
    """Bucket starts per window start, grouped here rather than by the store."""
    out: dict[float, list[float]] = {}
    for b in sorted(buckets):
        w = math.floor((b - align) / width) * width + align
        out.setdefault(float(w), []).append(b)
    return out


@pytest.mark.parametrize("align", [0, 6 * HOUR])
def test_align_shifts_the_grid_and_equals_the_buckets_grouped_by_hand(
    store: Store,
    rng: np.random.Generator,
    align: int,
    summarise_windows: Callable[..., list[Any]],
) -> None:
    _seed(store, rng)
    q = QueryService(store)
    buckets = _buckets(store)
    windows = q.window_series("shop", "ranker", window_seconds=DAY, align=align, drift=False)
    groups = _by_hand(buckets, DAY, align)
    assert [w.start for w in windows] == sorted(groups)
    assert all(w.end == w.start + DAY for w in windows)
    assert [w.n_predictions for w in windows] == [
        sum(buckets[b][0] for b in groups[w.start]) for w in windows
    ]
    expected = {6 * HOUR: [T0 - 18 * HOUR, T0 + 6 * HOUR, T0 + 30 * HOUR], 0: [T0, T0 + DAY]}
    assert [w.start for w in windows] == expected[align]
    # the same grid from any equivalent offset (taken modulo the width)
    for same in (align + DAY, align - DAY):
        again = q.window_series("shop", "ranker", window_seconds=DAY, align=same, drift=False)
        assert [w.to_dict() for w in again] == [w.to_dict() for w in windows]
    # drift (cached per window start and width): each window's own rows, on both grids
    for a in (0, 6 * HOUR):
        for w in q.window_series("shop", "ranker", window_seconds=DAY, align=a):
            assert w.drift["age"]["n_current"] == w.n_predictions
    # the reference computation from the bucket profiles agrees
    with store.read() as conn:
        mid, ids = q._version_ids(conn, "shop", "ranker", None)
        slow = summarise_windows(
            conn, model_id=mid, version_ids=ids, include_unattributed_events=True,
            bucket_seconds=HOUR, window_seconds=DAY, start=None, end=None,
            source_of=lambda v: "user", align=float(align),
        )  # fmt: skip
    assert [w.to_dict() for w in slow] == [w.to_dict() for w in windows]
    # a range and a window's profile follow the grid too
    part = q.window_series(
        "shop", "ranker", start=T0 + 7 * HOUR, end=T0 + 30 * HOUR, window_seconds=DAY,
        align=align, drift=False,
    )  # fmt: skip
    first = math.floor((T0 + 7 * HOUR - align) / DAY) * DAY + align
    assert part[0].start == first and all(w.start < T0 + 30 * HOUR for w in part)
    assert part[0].profile.n_rows == sum(buckets[b][0] for b in groups[first] if b < T0 + 30 * HOUR)


def _assert_drift(series: Any, start: float, ref: DatasetProfile, parts: list[Any]) -> None:
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    expected = profile_drift(ref, merged)
    i = int(np.flatnonzero(series.starts == start)[0])
    for j, name in enumerate(expected.columns):
        k = series.columns.index(name)
        np.testing.assert_allclose(series.statistic[i, k], expected.statistic[j], rtol=1e-12)
        assert series.n_current[i, k] == expected.n_current[j]
        assert STATUSES[series.status[i, k]] == STATUSES[expected.status[j]]


def test_drift_series_with_align_are_stored_apart_and_never_stale(
    store: Store, rng: np.random.Generator
) -> None:
    _seed(store, rng)
    q = QueryService(store)
    with store.read() as conn:
        ref = DatasetProfile.from_dict(
            conn.execute(sa.select(t.reference_profiles.c.profile)).scalar_one()
        )

    def check(align: float) -> Any:
        series = q.drift_series("shop", "ranker", window_seconds=DAY, align=align)
        buckets = _buckets(store)
        groups = _by_hand(buckets, DAY, align)
        assert series.starts.tolist() == sorted(groups)
        for w, bs in groups.items():
            _assert_drift(series, w, ref, [buckets[b][1] for b in bs])
        return series

    check(0.0)
    shifted = check(6 * HOUR)
    wd = t.window_drift
    with store.read() as conn:
        stored = sorted(
            float(b) for b in conn.execute(
                sa.select(wd.c.bucket_start).where(wd.c.bucket_seconds == DAY)
            ).scalars()
        )  # fmt: skip
    assert stored == [T0 - 18 * HOUR, T0, T0 + 6 * HOUR, T0 + DAY, T0 + 30 * HOUR]
    # a write into hour 7 changes the 0-aligned window [T0, T0+1d) and the 6h-aligned
    # window [T0+6h, T0+30h): both are recomputed, the others read as stored
    r = _rows(rng, 300, shift=40.0)
    IngestService(store).ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="shop", model="ranker", version="v1",
            ids=[uuid.uuid4().hex for _ in range(300)], timestamps=[T0 + 7 * HOUR + 9] * 300,
            features=r, predictions=[0] * 300,
        )
    )  # fmt: skip
    again = check(6 * HOUR)
    i = int(np.flatnonzero(again.starts == T0 + 6 * HOUR)[0])
    assert not np.array_equal(again.statistic[i], shifted.statistic[i])
    check(0.0)
    # each window against the one before it, on the shifted grid
    prev = q.drift_series("shop", "ranker", window_seconds=DAY, align=6 * HOUR, baseline="previous")
    assert prev.starts.tolist() == [T0 - 18 * HOUR, T0 + 6 * HOUR, T0 + 30 * HOUR]


@pytest.mark.parametrize("align", [1800, 1.5 * HOUR, math.nan, True, "6h"])
def test_align_must_be_a_multiple_of_the_bucket_width(store: Store, align: Any) -> None:
    q = QueryService(store)
    with pytest.raises(InputError, match=r"^align: expected a multiple of the bucket width"):
        q.window_series("shop", "ranker", window_seconds=DAY, align=align)
    with pytest.raises(InputError, match=r"^align: "):
        q.drift_series("shop", "ranker", window_seconds=DAY, align=align)
