"""Raw prediction rows in columnar chunks: reads by id, duplicates, retention trims."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from driftline.store import IngestService, QueryService, RetentionPolicy, Store
from driftline.store import tables as t
from driftline.store._chunks import (
    decode_rows,
    delete_rows_up_to,
    encode_rows,
    nth_newest_time,
    predictions_by_id,
)
from driftline.wire import LabelsBatch, PredictionsBatch


def batch(ids: list[str], ts: list[float], **extra: Any) -> PredictionsBatch:
    fields: dict[str, Any] = {"predictions": [1] * len(ids), **extra}
    return PredictionsBatch(
        batch_id=uuid.uuid4().hex, project="p", model="m", version="v", ids=ids,
        timestamps=ts, features={"x": [float(v) for v in ts]}, **fields,
    )  # fmt: skip


def ids_of(store: Store) -> list[tuple[str, int]]:
    with store.read() as conn:
        pi = t.prediction_ids
        rows = conn.execute(sa.select(pi.c.prediction_id, pi.c.chunk_row)).all()
    return sorted((str(a), int(b)) for a, b in rows)


def test_rows_round_trip_with_class_scores_and_mixed_outputs() -> None:
    data = encode_rows(
        ids=["a", "b", "c"], times=[1.0, 2.0, 3.0], outputs=[1, "cat", None],
        scores=[[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]], latency_ms=[1.5, None, 2.0],
        errors=[None, "timeout", None],
    )  # fmt: skip
    rows = decode_rows(data)
    assert rows["output"] == [1, "cat", None]  # mixed types are kept as JSON, ints stay ints
    assert rows["score"] == [[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]]
    assert rows["latency_ms"] == [1.5, None, 2.0] and rows["error"] == [None, "timeout", None]


def test_an_id_logged_twice_reads_every_row_and_the_newest_first(store: Store) -> None:
    svc = IngestService(store)
    svc.ingest(batch(["a", "b"], [1.0, 2.0], predictions=[0, 0]))
    svc.ingest(batch(["a"], [5.0], predictions=[1]))
    with store.read() as conn:
        mid = conn.execute(sa.select(t.models.c.id)).scalar_one()
        found = predictions_by_id(conn, mid, ["a", "zzz"])
    assert [(m.prediction_id, m.time, m.output) for m in found] == [("a", 1.0, 0), ("a", 5.0, 1)]
    got = QueryService(store).get_prediction("p", "m", "a")
    assert (got["timestamp"], got["prediction"], got["features"]) == (5.0, 1, {"x": 5.0})


def test_nth_newest_time_reads_overlapping_chunks(store: Store) -> None:
    svc = IngestService(store, retention=RetentionPolicy(max_rows_per_version=None))
    svc.ingest(batch(["a", "b", "c"], [10.0, 40.0, 70.0]))
    svc.ingest(batch(["d", "e"], [20.0, 50.0]))  # interleaved with the first batch in time
    svc.ingest(batch(["f"], [5.0]))
    with store.read() as conn:
        vid = conn.execute(sa.select(t.model_versions.c.id)).scalar_one()
        got = [nth_newest_time(conn, vid, n) for n in range(7)]
    assert got == [70.0, 50.0, 40.0, 20.0, 10.0, 5.0, None]


def test_trimmed_rows_are_gone_for_joins_and_reads(store: Store) -> None:
    svc = IngestService(store, retention=RetentionPolicy(max_rows_per_version=None))
    svc.ingest(batch(["a", "b", "c", "d"], [10.0, 20.0, 30.0, 40.0]))
    with store.begin() as conn:
        vid = conn.execute(sa.select(t.model_versions.c.id)).scalar_one()
        assert delete_rows_up_to(conn, vid, 20.0, inclusive=True) is False  # nothing left
    assert ids_of(store) == [("c", 2), ("d", 3)]  # the kept rows keep their positions
    query = QueryService(store)
    assert query.get_prediction("p", "m", "d")["features"] == {"x": 40.0}
    labels = LabelsBatch(
        batch_id="l", project="p", model="m", ids=["a", "c"], labels=[1, 1], timestamps=[50, 50]
    )
    svc.ingest(labels)
    assert sum(w.n_labels for w in query.window_series("p", "m")) == 1  # only c joined
    with store.read() as conn:
        chunk = conn.execute(sa.select(t.prediction_chunks)).one()
    assert (chunk.n_rows, chunk.first_time, chunk.last_time) == (2, 30.0, 40.0)
    rows = decode_rows(chunk.data)
    assert rows["id"] == [None, None, "c", "d"] and rows["time"][:2] == [None, None]
    with store.begin() as conn:  # the rest goes with the whole chunk
        delete_rows_up_to(conn, vid, 40.0, inclusive=True)
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(t.prediction_chunks)).scalar() == 0
        )
    assert ids_of(store) == []


def test_large_batches_keep_rows_in_order(store: Store) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    ids = [uuid.uuid4().hex for _ in range(n)]  # random ids: no order to lean on
    ts = np.sort(rng.uniform(0, 3600, n)).tolist()
    scores = rng.random(n).tolist()
    IngestService(store).ingest(batch(ids, ts, scores=scores))
    with store.read() as conn:
        mid = conn.execute(sa.select(t.models.c.id)).scalar_one()
        picks = [ids[i] for i in (0, 17, 4999)]
        found = {m.prediction_id: m for m in predictions_by_id(conn, mid, picks)}
    for i in (0, 17, 4999):
        m = found[ids[i]]
        assert (m.chunk_row, m.time, m.score) == (i, ts[i], scores[i])


@pytest.mark.parametrize("json_each", [True, False])
def test_id_index_entries_with_and_without_json_each(
    store: Store, json_each: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import driftline.store._chunks as chunks_mod

    monkeypatch.setattr(chunks_mod, "_SQLITE_JSON", json_each)  # old SQLite: executemany
    ids = ['q"uote', "é\u2603", "back\\slash", "a,b", "x" * 256]
    IngestService(store).ingest(batch(ids, [1.0, 2.0, 3.0, 4.0, 5.0]))
    assert ids_of(store) == sorted((pid, i) for i, pid in enumerate(ids))
    with store.read() as conn:
        mid = conn.execute(sa.select(t.models.c.id)).scalar_one()
        found = predictions_by_id(conn, mid, ids)
    assert [(m.prediction_id, m.time) for m in found] == list(
        zip(ids, [1.0, 2.0, 3.0, 4.0, 5.0], strict=True)
    )


@pytest.mark.parametrize("json_each", [True, False])
def test_a_trim_deletes_exactly_the_dropped_rows_of_an_id_logged_twice_in_a_batch(
    store: Store, json_each: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import driftline.store._chunks as chunks_mod

    monkeypatch.setattr(chunks_mod, "_SQLITE_JSON", json_each)
    svc = IngestService(store, retention=RetentionPolicy(max_rows_per_version=None))
    svc.ingest(batch(["a", "b", "a", "c"], [10.0, 20.0, 30.0, 40.0]))
    with store.begin() as conn:
        vid = conn.execute(sa.select(t.model_versions.c.id)).scalar_one()
        delete_rows_up_to(conn, vid, 15.0, inclusive=True)
    assert ids_of(store) == [("a", 2), ("b", 1), ("c", 3)]  # a's later row stays
    got = QueryService(store).get_prediction("p", "m", "a")
    assert got["timestamp"] == 30.0


def test_a_retention_pass_deletes_a_bounded_number_of_chunks_and_the_next_batch_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import driftline.store._retention as retention_mod

    svc = IngestService(store, retention=RetentionPolicy(max_rows_per_version=None))
    for k in range(5):  # five batches of four rows, none pruned
        svc.ingest(batch([f"{k}-{i}" for i in range(4)], [k * 10.0 + i for i in range(4)]))
    monkeypatch.setattr(retention_mod, "MAX_CHUNKS_PER_PASS", 2)
    now = [0.0]
    svc = IngestService(
        store, clock=lambda: now[0],
        retention=RetentionPolicy(max_rows_per_version=4, check_every_s=3600),
    )  # fmt: skip
    counts = []
    for k in range(5, 8):  # within the hour: passes run back to back while rows are left
        svc.ingest(batch([f"{k}-{i}" for i in range(4)], [k * 10.0 + i for i in range(4)]))
        counts.append(len(ids_of(store)))
    # each pass deletes the two oldest chunks past the bound, and the next batch goes on
    assert counts == [16, 12, 8]
    svc.ingest(batch(["8-0"], [80.0]))  # one chunk and one row of the next past the bound
    assert len(ids_of(store)) == 4
    svc.ingest(batch(["9-0"], [90.0]))  # caught up: the next pass waits for the hour
    assert len(ids_of(store)) == 5
