"""Shared fixtures: a seeded RNG, the Hypothesis profile, and the databases.

Every test that touches the store runs on SQLite and on a real PostgreSQL (the ``store`` and
``store_url`` fixtures are parametrised over both). PostgreSQL comes from
``DRIFTLINE_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each test session creates its own uniquely named database there (``CREATE DATABASE``) and drops
it at the end, so parallel runs and reruns never collide; tests start from empty tables. When the
server cannot be reached the PostgreSQL tests are skipped, or fail when the ``CI`` environment
variable is set.
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from driftline.store import Store
from driftline.store._engine import normalise_url
from driftline.store.tables import metadata

# Hypothesis: no per-example deadline (the CI machine has two shared cores) and a fixed
# derandomised search, so a run is reproducible.
hypothesis_settings.register_profile("driftline", deadline=None, derandomize=True)
hypothesis_settings.load_profile("driftline")


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """Keep the objects the test session already holds out of garbage collection.

    By the time the latency tests run, the session has imported torch, transformers, keras and
    lightning: a full collection of that heap, triggered by any allocation, stalls whichever
    thread allocates for a few hundred milliseconds. ``gc.freeze`` moves those objects to the
    permanent generation, so a timed call measures the SDK, not the test session's heap.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test that draws random numbers is deterministic."""
    return np.random.default_rng(20261125)


DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgres"]


def _server_url() -> sa.URL:
    raw = os.environ.get("DRIFTLINE_TEST_POSTGRES_URL", "").strip() or DEFAULT_POSTGRES_URL
    return sa.make_url(normalise_url(raw))


def _admin_engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def postgres_server() -> sa.URL:
    """The PostgreSQL server URL, checked to be reachable."""
    url = _server_url()
    engine = _admin_engine(url.update_query_dict({"connect_timeout": "3"}))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        msg = (
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable "
            f"(set DRIFTLINE_TEST_POSTGRES_URL): {exc.orig}"
        )
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def make_postgres_database(postgres_server: sa.URL) -> Iterator[Callable[[], str]]:
    """A factory of fresh, uniquely named databases; all are dropped at the end."""
    created: list[str] = []
    admin = _admin_engine(postgres_server)

    def make() -> str:
        name = f"driftline_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return postgres_server.set(database=name).render_as_string(hide_password=False)

    yield make
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    with admin.connect() as conn:
        for name in created:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_database(make_postgres_database: Callable[[], str]) -> str:
    """One migrated database for the session; tests empty its tables first."""
    url = make_postgres_database()
    Store.open(url).close()
    return url


_ENGINES: dict[str, sa.Engine] = {}


def _truncate(url: str) -> None:
    """Empty every table and restart the sequences.

    ``DELETE`` in reverse dependency order, not ``TRUNCATE``: the tables of a
    test hold a few rows, and ``TRUNCATE`` of some thirty tables costs about
    0.6 s per test (new files, fsync) against 0.06 s.
    """
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = sa.create_engine(url, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(
            sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).scalars()
        for name in sequences.all():
            conn.execute(sa.text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file, copied for each test (migrating one costs ~0.15 s)."""
    path = tmp_path_factory.mktemp("template") / "driftline.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database: a SQLite file, or the session's PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "driftline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """URL of a database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on an empty database, closed after the test."""
    s = Store.open(store_url)
    yield s
    s.close()
