"""The :class:`Store`: one database, its engine and its transactions.

SQLite (the default) runs in WAL mode with ``synchronous=NORMAL`` (an
acknowledged write survives a crash of the server process), checkpoints the
WAL every :data:`SQLITE_WAL_AUTOCHECKPOINT_PAGES` pages, a busy timeout and
foreign keys on; write transactions start with ``BEGIN IMMEDIATE`` so that
writers queue instead of failing on a lock upgrade. PostgreSQL URLs
(``postgresql://``) use the psycopg 3 driver.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from driftline.config import Settings, load_settings
from driftline.errors import ConfigError, StoreError
from driftline.store import _migrate
from driftline.store._sql import dumps

__all__ = [
    "SQLITE_BUSY_TIMEOUT_S",
    "SQLITE_CHECKPOINT_EVERY_S",
    "SQLITE_WAL_AUTOCHECKPOINT_PAGES",
    "Store",
    "normalise_url",
]

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for the lock before failing, in seconds."""
SQLITE_CACHE_KIB = 65_536
"""Page cache of each SQLite connection, in KiB (SQLite's default is 2 MiB).

Inserting prediction rows updates two indexes at scattered places (the id index
takes ids in no order); with the default cache, the pages they touch are read
back from the operating system at every batch once the indexes outgrow it. The
memory is taken only as pages are used.
"""

SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
"""WAL pages (4 KiB) after which a commit checkpoints the WAL into the database.

SQLite's default of 1000 pages checkpoints (and syncs the database file) after
every second or third 10k-row batch (a 10k-row batch with its feature chunk
writes about 1000 pages); 10000 pages (about 40 MiB of WAL) cut the commit
time of such a batch from about 15 ms to 4-9 ms. Durability does not change: a
committed transaction is in the WAL either way.
"""

SQLITE_CHECKPOINT_EVERY_S = 1.0
"""Seconds between the background WAL checkpoints of :meth:`Store.start_checkpointer`."""
SQLITE_DEFERRED_CHECKPOINT_FACTOR = 10
"""While the background checkpointer runs, a commit checkpoints only past this many times
:data:`SQLITE_WAL_AUTOCHECKPOINT_PAGES` (a bound should the thread fall behind)."""

_READ_OPTION = "driftline_read_only"
_log = logging.getLogger("driftline.store")


def _json_dumps(value: Any) -> str:
    # JSON columns hold strict JSON: PostgreSQL rejects NaN, so it becomes null.
    return dumps(value) or "null"


def normalise_url(url: str) -> str:
    """Map ``postgresql://`` and ``postgres://`` onto the psycopg 3 driver.

    Example
    -------
    >>> normalise_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(url: sa.URL, echo: bool) -> sa.Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    }
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, echo=echo, json_serializer=_json_dumps, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        # Switching to WAL needs a lock even when the file is in WAL already; only the first
        # connection to a new file has to, so a connection opened during a write never fails.
        if not in_memory and cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA cache_size=-{int(SQLITE_CACHE_KIB)}")
        if not in_memory:
            cur.execute(f"PRAGMA wal_autocheckpoint={int(SQLITE_WAL_AUTOCHECKPOINT_PAGES)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class Store:
    """A driftline database: SQLite by default, PostgreSQL for teams.

    Open one with :meth:`open`; the services (:class:`~driftline.store.IngestService`,
    :class:`~driftline.store.QueryService`, :class:`~driftline.store.TokenService`)
    take it as their first argument.

    Example
    -------
    >>> store = Store.open("sqlite://")
    >>> store.dialect
    'sqlite'
    >>> store.close()
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._checkpointer: tuple[threading.Thread, threading.Event] | None = None

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        upgrade: bool = True,
        echo: bool = False,
    ) -> Store:
        """Connect to ``url`` and migrate the schema to the newest revision.

        Parameters
        ----------
        url
            SQLAlchemy URL. Default: ``settings.database_url`` (SQLite in the
            data directory, created on first use).
        settings
            Settings to read the default URL from; default :func:`load_settings`.
        upgrade
            Run the Alembic migrations to head when the database is behind
            (default ``True``).
        echo
            Log every SQL statement (default ``False``).

        Raises
        ------
        ConfigError
            When ``url`` is not a database URL.
        StoreError
            When the database cannot be reached or migrated.
        """
        if url is None:
            url = (settings or load_settings()).database_url
        try:
            parsed = make_url(normalise_url(url))
        except sa.exc.ArgumentError as exc:
            raise ConfigError(
                f"url: expected a database URL such as 'sqlite:///path.db' or "
                f"'postgresql://host/db', got {url!r}"
            ) from exc
        try:
            if parsed.get_backend_name() == "sqlite":
                engine = _sqlite_engine(parsed, echo)
            else:
                engine = sa.create_engine(
                    parsed, echo=echo, pool_pre_ping=True, json_serializer=_json_dumps
                )
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(f"url: cannot use database URL {parsed!r}: {exc}") from exc
        store = cls(engine)
        if upgrade:
            try:
                if _migrate.current_revision(engine) != _migrate.head_revision():
                    _migrate.upgrade(engine)
            except sa.exc.SQLAlchemyError as exc:
                engine.dispose()
                raise StoreError(f"cannot open the store at {parsed!r}: {exc}") from exc
        return store

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction; database errors come out as :class:`StoreError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc}") from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction; database errors come out as :class:`StoreError`."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{_READ_OPTION: True})
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {exc}") from exc

    def start_checkpointer(self, every_s: float = SQLITE_CHECKPOINT_EVERY_S) -> bool:
        """Checkpoint a SQLite WAL from a background thread every ``every_s`` seconds.

        Without it, the commit that finds the WAL over
        :data:`SQLITE_WAL_AUTOCHECKPOINT_PAGES` copies it into the database file
        itself (about 40 MiB: a latency spike of that request). A ``PASSIVE``
        checkpoint waits for no one: writers go on appending while it copies,
        and SQLite does the copying without Python's lock, on another core.
        Durability is unchanged. The automatic checkpoint stays as a bound
        should this thread fall behind. Returns whether a thread was started
        (not for PostgreSQL or an in-memory database, nor a second time).
        :meth:`stop_checkpointer` and :meth:`close` stop it.
        """
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return False
        if self._checkpointer is not None:
            return False
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every_s):
                try:  # outside any transaction: the raw connection, in autocommit
                    raw = self.engine.raw_connection()
                    try:
                        raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
                    finally:
                        raw.close()
                except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:  # the next round retries
                    _log.warning("background WAL checkpoint failed: %s", exc)

        thread = threading.Thread(target=run, name="driftline-wal-checkpoint", daemon=True)
        self._checkpointer = (thread, stop)
        if not sa.event.contains(self.engine, "checkout", self._defer_checkpoints):
            sa.event.listen(self.engine, "checkout", self._defer_checkpoints)
        thread.start()
        return True

    def _defer_checkpoints(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # A commit checkpoints only when the thread has fallen far behind (it would
        # otherwise sync the database file itself, in the middle of a request).
        pages = SQLITE_WAL_AUTOCHECKPOINT_PAGES
        if self._checkpointer is not None:
            pages *= SQLITE_DEFERRED_CHECKPOINT_FACTOR
        if record.info.get("wal_autocheckpoint") != pages:  # a statement only on a change
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
            record.info["wal_autocheckpoint"] = pages

    def stop_checkpointer(self) -> None:
        """Stop the thread of :meth:`start_checkpointer` (a no-op without one)."""
        if self._checkpointer is not None:
            thread, stop = self._checkpointer
            stop.set()
            thread.join(10.0)
            self._checkpointer = None  # connections checked out from now on checkpoint again

    def close(self) -> None:
        """Stop the checkpointer (if started) and release every pooled connection."""
        self.stop_checkpointer()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
