"""Alembic environment: migrations run on a connection handed over by the store.

:func:`driftline.store._migrate.upgrade` puts an open SQLAlchemy connection
into ``config.attributes["connection"]``; this script runs the revisions on it.
Imported outside Alembic (by the doctest collector, say) it does nothing.
"""

from __future__ import annotations

from alembic import context

from driftline.store.tables import metadata


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - the CLI always passes one
        import sqlalchemy as sa

        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("driftline migrations need a connection or sqlalchemy.url")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _configure_and_run(conn)
        engine.dispose()
        return
    _configure_and_run(connection)


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _in_alembic() -> bool:
    try:
        context.config  # noqa: B018
    except (NameError, AttributeError):
        return False
    return True


if _in_alembic():
    _run_online()
