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
from driftline.store._schema import metadata


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
