from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from driftline.errors import InputError, StoreError
from driftline.store import IngestService, QueryService, Store
from driftline.store import tables as t
from driftline.wire import (
    EventsBatch,
    LabelsBatch,
    MetricPoint,
    PredictionsBatch,
    RunCreate,
    RunMetricsBatch,
)


def predictions(
    rng: np.random.Generator, n: int, *, start: float = 0.0, batch_id: str | None = None, **kw: Any
) -> PredictionsBatch:
    fields: dict[str, Any] = {
        "batch_id": batch_id or uuid.uuid4().hex,
        "project": "shop",
        "model": "ranker",
        "version": "v1",
        "ids": [uuid.uuid4().hex for _ in range(n)],
        "timestamps": (start + np.sort(rng.uniform(0, 3000, n))).tolist(),
        "features": {
            "age": rng.normal(40, 10, n).round(1).tolist(),
            "city": rng.choice(["oslo", "lima", "pune"], n).tolist(),
        },
        "predictions": rng.integers(0, 2, n).tolist(),
    }
    fields.update(kw)
    return PredictionsBatch(**fields)


def count(store: Store, table: sa.Table) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_same_batch_twice_is_stored_once(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    batch = predictions(rng, 50)
    first = svc.ingest(batch)
    again = svc.ingest(batch)
    assert (first.accepted, first.duplicate) == (50, False)
    assert (again.accepted, again.duplicate) == (0, True)
    assert count(store, t.prediction_ids) == 50
    [w] = QueryService(store).window_series("shop", "ranker")
    assert w.n_predictions == 50
    # a second service (another process) sees the same batch id as a duplicate too
    assert IngestService(store).ingest(batch).duplicate


def test_concurrent_duplicates_are_stored_once(store_url: str, rng: np.random.Generator) -> None:
    batches = [predictions(rng, 200) for _ in range(3)]
    acks: list[Any] = []
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        store = Store.open(store_url)  # one engine per thread, as separate processes would
        try:
            svc = IngestService(store)
            for b in batches if k % 2 else reversed(batches):
                acks.append(svc.ingest(b))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(acks) == 12
    fresh = [a for a in acks if not a.duplicate]
    assert sorted(a.batch_id for a in fresh) == sorted(b.batch_id for b in batches)
    with Store.open(store_url) as store:
        assert count(store, t.prediction_ids) == 600
        assert count(store, t.ingest_batches) == 3
        [w] = QueryService(store).window_series("shop", "ranker")
        assert w.n_predictions == 600
        assert w.profile.n_rows == 600


def test_batch_is_one_transaction(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    svc.ingest(RunCreate(batch_id="r0", project="a", run_id="run-1", started_at=0.0))
    bad = RunMetricsBatch(
        batch_id="m1",
        project="b",  # the run belongs to project 'a'
        run_id="run-1",
        points=[MetricPoint(key="loss", step=0, value=1.0, timestamp=0.0)],
    )
    with pytest.raises(InputError, match="run 'run-1' belongs to project 'a'"):
        svc.ingest(bad)
    # nothing of the failed batch stayed, not even its claim or its project
    assert count(store, t.run_metrics) == 0
    assert count(store, t.ingest_batches) == 1
    assert [p["name"] for p in QueryService(store).list_projects()] == ["a"]


def test_database_failure_is_a_store_error(tmp_path: Any, rng: np.random.Generator) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/x.db")
    with store.begin() as conn:
        conn.execute(sa.text("DROP TABLE prediction_ids"))
    with pytest.raises(StoreError, match="database write failed") as info:
        IngestService(store).ingest(predictions(rng, 3))
    assert isinstance(info.value.__cause__, sa.exc.SQLAlchemyError)
    store.close()


def test_ingest_rejects_unknown_objects(store: Store) -> None:
    with pytest.raises(InputError, match="payload: expected one of"):
        IngestService(store).ingest({"batch_id": "x"})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="bucket_seconds"):
        IngestService(store, bucket_seconds=0)


def test_empty_batches_are_acknowledged(store: Store) -> None:
    svc = IngestService(store)
    ack = svc.ingest(
        PredictionsBatch(
            batch_id="e", project="p", model="m", version="1", ids=[], timestamps=[], predictions=[]
        )
    )
    assert (ack.accepted, ack.duplicate) == (0, False)
    assert (
        svc.ingest(LabelsBatch(batch_id="l", project="p", model="m", ids=[], labels=[])).accepted
        == 0
    )
    assert svc.ingest(EventsBatch(batch_id="v", project="p", model="m", events=[])).accepted == 0


_WORKER = """
import json, sys
from driftline.store import IngestService, Store
from driftline.wire import PredictionsBatch
url, path = sys.argv[1], sys.argv[2]
batches = [PredictionsBatch.model_validate(b) for b in json.load(open(path))]
with Store.open(url) as store:
    svc = IngestService(store)
    print(json.dumps([svc.ingest(b).duplicate for b in batches]))
"""


def test_duplicates_from_several_processes(
    store_url: str, rng: np.random.Generator, tmp_path: Any
) -> None:
    batches = [predictions(rng, 300) for _ in range(2)]
    path = tmp_path / "batches.json"
    path.write_text(json.dumps([b.model_dump(mode="json") for b in batches]))
    Store.open(store_url).close()  # migrate first, as 'driftline db upgrade' would
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, store_url, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    duplicates = [json.loads(out) for out, _ in outs]
    assert sum(not d for flags in duplicates for d in flags) == 2  # each batch stored once
    with Store.open(store_url) as store:
        assert count(store, t.prediction_ids) == 600
        [w] = QueryService(store).window_series("shop", "ranker")
        assert w.n_predictions == 600
