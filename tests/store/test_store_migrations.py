from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from driftline.config import load_settings
from driftline.errors import ConfigError
from driftline.store import Store
from driftline.store._engine import normalise_url
from driftline.store._migrate import current_revision, head_revision
from driftline.store.tables import metadata


def test_migrates_an_empty_database_to_head(empty_database_url: str) -> None:
    engine = sa.create_engine(normalise_url(empty_database_url))
    assert current_revision(engine) is None
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()

    store = Store.open(empty_database_url)
    try:
        assert current_revision(store.engine) == head_revision()
        tables = set(sa.inspect(store.engine).get_table_names())
        assert set(metadata.tables) <= tables
        # the migrations create exactly what the Core schema describes
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        store.close()
    # opening again is a no-op
    Store.open(empty_database_url).close()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/a/b/dl.db")  # creates the directories
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
    finally:
        store.close()
    assert (tmp_path / "a" / "b" / "dl.db").exists()


def test_default_url_comes_from_settings(tmp_path: Path) -> None:
    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "data")})
    with Store.open(settings=settings) as store:
        assert store.dialect == "sqlite"
    assert (tmp_path / "data" / "driftline.db").exists()


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="url: expected a database URL"):
        Store.open("not a url")


def test_rows_of_0005_move_into_prediction_chunks(empty_database_url: str) -> None:
    """Raw prediction rows stored before 0006 read the same after it, and labels still join."""
    import json
    import zlib

    import numpy as np

    from driftline.store import IngestService, QueryService
    from driftline.store._migrate import upgrade
    from driftline.wire import LabelsBatch

    engine = sa.create_engine(normalise_url(empty_database_url))
    upgrade(engine, "0005")
    # a DLF1 feature chunk, as releases before 0006 wrote them
    blobs = [np.array([1.5, 2.5]).astype("<f8").tobytes(), zlib.compress(b'["a",null]')]
    header = json.dumps([
        {"name": "x", "kind": "<f8", "size": len(blobs[0])},
        {"name": "c", "kind": "json", "size": len(blobs[1])},
    ]).encode()  # fmt: skip
    chunk = b"DLF1" + len(header).to_bytes(4, "little") + header + b"".join(blobs)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 0)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO models (id, project_id, name, created_at) VALUES (1, 1, 'm', 0)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO model_versions (id, model_id, name, created_at) VALUES (1, 1, 'v1', 0)"
        ))  # fmt: skip
        conn.execute(
            sa.text(
                "INSERT INTO feature_chunks (id, model_version_id, first_time, last_time, "
                "n_rows, columns) VALUES (7, 1, 10, 20, 2, :c)"
            ),
            {"c": chunk},
        )
        rows = [
            ("a", 10.0, "1", "0.9", 3.5, None, 7, 0),
            ("b", 20.0, "0", "0.2", None, "timeout", 7, 1),
            ("c", 30.0, '"x"', None, None, None, None, None),
        ]
        for pid, tm, out, score, lat, err, fc, fr in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO predictions (model_id, model_version_id, prediction_id, time, "
                    "output, score, latency_ms, error, feature_chunk_id, feature_row) "
                    "VALUES (1, 1, :pid, :tm, :out, :score, :lat, :err, :fc, :fr)"
                ),
                {"pid": pid, "tm": tm, "out": out, "score": score, "lat": lat, "err": err,
                 "fc": fc, "fr": fr},
            )  # fmt: skip
    engine.dispose()

    store = Store.open(empty_database_url)  # migrates to head
    try:
        assert "predictions" not in sa.inspect(store.engine).get_table_names()
        query = QueryService(store)
        a = query.get_prediction("p", "m", "a")
        assert (a["version"], a["timestamp"], a["prediction"], a["score"]) == ("v1", 10.0, 1, 0.9)
        assert (a["latency_ms"], a["features"]) == (3.5, {"x": 1.5, "c": "a"})
        b = query.get_prediction("p", "m", "b")
        assert (b["error"], b["features"]) == ("timeout", {"x": 2.5, "c": None})
        c = query.get_prediction("p", "m", "c")
        assert (c["prediction"], c["score"], c["features"]) == ("x", None, None)
        labels = LabelsBatch(
            batch_id="l1",
            project="p",
            model="m",
            ids=["a", "b"],
            labels=[1, 1],
            timestamps=[50, 60],
        )
        assert IngestService(store).ingest(labels).accepted == 2
        assert query.get_prediction("p", "m", "b")["label"] == 1
        assert sum(w.n_labels for w in query.window_series("p", "m")) == 2
    finally:
        store.close()


def test_0006_downgrades_with_its_rows_and_upgrades_again(empty_database_url: str) -> None:
    """The rows of the chunks go back into ``predictions`` (as releases before 0006 stored them)."""
    import uuid

    from alembic import command

    from driftline.store import IngestService, QueryService
    from driftline.store._migrate import alembic_config
    from driftline.wire import PredictionsBatch

    store = Store.open(empty_database_url)
    svc = IngestService(store)
    svc.ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="p", model="m", version="v1", ids=["a", "b"],
            timestamps=[10.0, 20.0], features={"x": [1.5, 2.5]}, predictions=[1, 0],
            scores=[0.9, 0.2], latency_ms=[3.5, 4.0], errors=[None, "timeout"],
        )
    )  # fmt: skip
    svc.ingest(
        PredictionsBatch(
            batch_id=uuid.uuid4().hex, project="p", model="m", version="v1", ids=["c"],
            timestamps=[30.0], predictions=["cat"],
        )
    )  # fmt: skip
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
    with store.engine.connect() as conn:
        assert "prediction_chunks" not in sa.inspect(conn).get_table_names()
        rows = conn.execute(
            sa.text(
                "SELECT prediction_id, time, output, score, latency_ms, error, feature_row "
                "FROM predictions ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("a", 10.0, "1", "0.9", 3.5, None, 0),
        ("b", 20.0, "0", "0.2", 4.0, "timeout", 1),
        ("c", 30.0, '"cat"', None, None, None, None),
    ]
    store.close()
    store = Store.open(empty_database_url)  # and up again
    try:
        b = QueryService(store).get_prediction("p", "m", "b")
        assert (b["prediction"], b["score"], b["error"], b["features"]) == (
            0,
            0.2,
            "timeout",
            {"x": 2.5},
        )
        assert QueryService(store).get_prediction("p", "m", "c")["prediction"] == "cat"
    finally:
        store.close()
