"""The ingest hot path's settings: SQLite pragmas and the stored window profile encoding."""

from __future__ import annotations

import uuid
import zlib
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from driftline.profile import DatasetProfile, profile
from driftline.store import IngestService, QueryService, Store
from driftline.store import tables as t
from driftline.store._engine import SQLITE_WAL_AUTOCHECKPOINT_PAGES
from driftline.store.windows import PROFILE_COMPRESS_MAX_BYTES, encode_profile
from driftline.wire import PredictionsBatch

HOUR = 3600


def _batch(rng: np.random.Generator, n: int, t0: float) -> PredictionsBatch:
    score = rng.random(n)
    return PredictionsBatch(
        batch_id=uuid.uuid4().hex,
        project="p",
        model="m",
        version="v1",
        ids=[uuid.uuid4().hex for _ in range(n)],
        timestamps=(t0 + np.sort(rng.uniform(0, 600, n))).tolist(),
        features={"x": rng.normal(size=n).tolist(), "y": rng.gamma(2.0, 1.0, n).tolist()},
        predictions=(score > 0.5).astype(int).tolist(),
        scores=score.tolist(),
    )


def test_sqlite_connections_checkpoint_less_often(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with store.read() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
    finally:
        store.close()
    assert pages == SQLITE_WAL_AUTOCHECKPOINT_PAGES
    assert (mode, sync) == ("wal", 1)  # WAL with synchronous=NORMAL, as before


def test_large_window_profiles_are_stored_uncompressed(rng: np.random.Generator) -> None:
    small = profile({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500).tolist()})
    big = profile({f"f{j}": rng.normal(size=5000) for j in range(25)})
    for prof in (small, big):
        data = encode_profile(prof)
        assert data[:4] == b"DLP1"
        assert zlib.decompress(data[4:]) == zlib.decompress(prof.to_bytes()[4:])
        assert DatasetProfile.from_bytes(data) == prof
    text = zlib.decompress(big.to_bytes()[4:])
    assert len(text) > PROFILE_COMPRESS_MAX_BYTES
    assert len(text) < len(encode_profile(big)) < len(text) * 1.01  # stored blocks
    text = zlib.decompress(small.to_bytes()[4:])
    assert len(text) <= PROFILE_COMPRESS_MAX_BYTES
    assert len(encode_profile(small)) < len(text) / 2  # compressed


def test_window_profile_merges_onto_a_compressed_stored_profile(
    store: Store, rng: np.random.Generator
) -> None:
    """A bucket written by an older version (zlib level 6) is read back and merged."""
    svc = IngestService(store)
    t0 = 100 * HOUR
    first = _batch(rng, 800, t0)
    svc.ingest(first)  # the reference (the first batch) and the bucket's first rows
    second = _batch(rng, 600, t0 + 60)
    svc.ingest(second)
    wp = t.window_profiles
    with store.read() as conn:
        stored = conn.execute(sa.select(wp.c.id, wp.c.profile)).one()
    # rewrite the stored profile at level 6, as DatasetProfile.to_bytes does
    old = DatasetProfile.from_bytes(stored.profile)
    with store.begin() as conn:
        conn.execute(wp.update().where(wp.c.id == stored.id).values(profile=old.to_bytes()))
    third = _batch(rng, 700, t0 + 120)
    IngestService(store).ingest(third)  # a new service: no cached bucket, reads the row
    [window] = QueryService(store).window_series("p", "m", "v1")
    assert window.n_predictions == window.profile.n_rows == 2100
    x = np.concatenate([np.asarray(b.features["x"]) for b in (first, second, third)])
    got = window.profile.numerical("x")
    assert got.n == 2100
    assert got.mean == pytest.approx(x.mean(), rel=1e-12)
    assert got.max == x.max() and got.min == x.min()
    assert got.distinct_count == pytest.approx(2100, rel=0.05)


def test_background_checkpointer_takes_the_wal_off_the_commits(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    import time

    from driftline.store._engine import SQLITE_DEFERRED_CHECKPOINT_FACTOR

    def autocheckpoint(store: Store) -> int:
        with store.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    assert not Store.open("sqlite://").start_checkpointer()  # in memory: no WAL
    store = Store.open(f"sqlite:///{tmp_path}/dl.db")
    try:
        assert store.start_checkpointer(every_s=0.05)
        assert not store.start_checkpointer()  # one thread per store
        deferred = SQLITE_WAL_AUTOCHECKPOINT_PAGES * SQLITE_DEFERRED_CHECKPOINT_FACTOR
        assert autocheckpoint(store) == deferred
        db = tmp_path / "dl.db"
        before = db.stat().st_size
        IngestService(store).ingest(_batch(rng, 2000, 1_700_000_000.0))
        deadline = time.monotonic() + 10
        # the commit left its pages in the WAL; only a checkpoint writes them to the file
        while db.stat().st_size <= before:
            assert time.monotonic() < deadline, "no checkpoint copied the WAL"
            time.sleep(0.05)
        store.stop_checkpointer()
        assert autocheckpoint(store) == SQLITE_WAL_AUTOCHECKPOINT_PAGES  # commits checkpoint again
        assert QueryService(store).window_series("p", "m")[0].n_predictions == 2000
    finally:
        store.close()
