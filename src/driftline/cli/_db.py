"""``driftline db upgrade|current``: migrate the store's schema, or show its revision.

``upgrade`` runs the Alembic migrations shipped inside the package up to the
newest revision (the server and the SDK also do this on first open); run it
once before starting several server processes on a new PostgreSQL database.
"""

from __future__ import annotations

import argparse

from driftline.cli._app_common import EXIT_OK

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "db"
HELP = "Migrate the store's database schema to the newest revision, or show its revision."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``upgrade`` and ``current`` actions to ``parser``."""
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL (default: DRIFTLINE_DATABASE_URL, else SQLite in the data dir)",
    )
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="run the migrations up to the newest revision")
    actions.add_parser("current", help="print the database's revision and the newest one")


def run(args: argparse.Namespace) -> int:
    """Carry out the action; a database failure propagates as :class:`StoreError`.

    Examples
    --------
    >>> import tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/dl.db"
    >>> run(argparse.Namespace(db_action="upgrade", database_url=url))
    database at revision 0006 (newest 0006)
    0
    """
    from driftline.store import Store, current_revision, head_revision

    store = Store.open(args.database_url, upgrade=args.db_action == "upgrade")
    try:
        current = current_revision(store.engine)
    finally:
        store.close()
    print(f"database at revision {current or '(empty)'} (newest {head_revision()})")
    return EXIT_OK
