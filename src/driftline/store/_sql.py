"""Small SQL helpers shared by the services: dialect-neutral upserts, chunked IN lists.

Example
-------
>>> list(chunks([1, 2, 3, 4, 5], 2))
[[1, 2], [3, 4], [5]]
>>> bucket_start(7300.0, 3600)
7200.0
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from driftline.errors import StoreError
from driftline.store import tables as t

__all__ = [
    "IN_CHUNK",
    "bucket_start",
    "chunks",
    "dumps",
    "ensure_model",
    "ensure_project",
    "ensure_version",
    "insert_ignore",
    "loads",
    "upsert",
]

IN_CHUNK = 5_000
"""Most values bound in one ``IN (...)`` list (SQLite allows 32766 variables)."""

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """Consecutive slices of ``values`` of at most ``size`` items."""
    for i in range(0, len(values), size):
        yield list(values[i : i + size])


def bucket_start(ts: float, bucket_seconds: int) -> float:
    """Start (epoch seconds) of the fixed bucket that holds ``ts``."""
    return float(math.floor(ts / bucket_seconds) * bucket_seconds)


def dumps(value: Any) -> str | None:
    """JSON text of a value; ``None`` stays SQL NULL. NaN becomes null."""
    if value is None:
        return None
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_nan_to_none(value), separators=(",", ":"))


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    return value


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps`."""
    return None if text is None else json.loads(text)


def insert_ignore(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, index: Sequence[str]
) -> int:
    """Insert rows, skipping those that clash on the unique ``index``.

    Returns the number of rows inserted.
    """
    if not rows:
        return 0
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index))
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index))
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise StoreError(
            f"database: expected SQLite or PostgreSQL, got the {conn.dialect.name!r} dialect"
        )
    # RETURNING gives an exact count on every driver (rowcount does not under psycopg).
    stmt = stmt.returning(*[table.c[k] for k in index])
    return len(conn.execute(stmt, rows).all())


def upsert(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, index: Sequence[str]
) -> None:
    """Insert rows, replacing every other column of those that clash on the unique ``index``."""
    if not rows:
        return
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(index),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in index},
    )
    conn.execute(stmt, rows)


def _ensure(
    conn: sa.Connection,
    table: sa.Table,
    values: dict[str, Any],
    key: Sequence[str],
) -> int:
    where = [table.c[k] == values[k] for k in key]
    found = conn.execute(sa.select(table.c.id).where(*where)).scalar()
    if found is not None:
        return int(found)
    insert_ignore(conn, table, [values], index=key)
    return int(conn.execute(sa.select(table.c.id).where(*where)).scalar_one())


def ensure_project(conn: sa.Connection, name: str, now: float) -> int:
    """Id of project ``name``, created when it does not exist."""
    return _ensure(conn, t.projects, {"name": name, "created_at": now}, ("name",))


def ensure_model(conn: sa.Connection, project_id: int, name: str, now: float) -> int:
    """Id of model ``name`` of a project, created when it does not exist."""
    values = {"project_id": project_id, "name": name, "created_at": now}
    return _ensure(conn, t.models, values, ("project_id", "name"))


def ensure_version(conn: sa.Connection, model_id: int, name: str, now: float) -> int:
    """Id of version ``name`` of a model, created when it does not exist."""
    values = {"model_id": model_id, "name": name, "created_at": now}
    return _ensure(conn, t.model_versions, values, ("model_id", "name"))
