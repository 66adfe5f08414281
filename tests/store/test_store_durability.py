from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from driftline.store import IngestService, QueryService, Store
from driftline.store import tables as t
from driftline.wire import PredictionsBatch

_CHILD = """
import json, os, signal, sys
from driftline.store import IngestService, Store
from driftline.wire import PredictionsBatch
store = Store.open(sys.argv[1])
batch = PredictionsBatch.model_validate_json(sys.argv[2])
ack = IngestService(store).ingest(batch)
print(json.dumps(ack.model_dump(exclude_defaults=True)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # die without closing anything
"""


def test_an_acknowledged_batch_survives_a_killed_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/dl.db"
    n = 500
    batch = PredictionsBatch(
        batch_id="durable-1", project="p", model="m", version="v",
        ids=[f"id{i}" for i in range(n)], timestamps=[float(i) for i in range(n)],
        features={"x": [float(i % 7) for i in range(n)]}, predictions=[i % 2 for i in range(n)],
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, url, batch.model_dump_json()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == -9, proc.stderr
    ack = json.loads(proc.stdout)
    assert ack == {"batch_id": "durable-1", "accepted": n, "duplicate": False}
    with Store.open(url) as store:
        with store.read() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(t.prediction_ids)).scalar()
        assert count == n
        [w] = QueryService(store).window_series("p", "m")
        assert w.n_predictions == n
        assert IngestService(store).ingest(batch).duplicate  # the retry is recognised
