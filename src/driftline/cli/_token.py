"""``driftline token create|list|revoke``: manage API tokens directly in the store.

``create`` prints the token once (only its SHA-256 hash is stored); keep it
somewhere safe and pass it to the SDK as ``token=`` or ``DRIFTLINE_TOKEN``.
"""

from __future__ import annotations

import argparse
import sys

from driftline.cli._app_common import EXIT_OK

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "token"
HELP = "Create, list or revoke API tokens (roles viewer < editor < admin, per project)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``create``, ``list`` and ``revoke`` actions to ``parser``."""
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL (default: DRIFTLINE_DATABASE_URL)"
    )
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="who or what uses the token")
    create.add_argument("--project", required=True, help="project name, or '*' for every project")
    create.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    actions.add_parser("list", help="list tokens (without secrets)")
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", type=int, help="id shown by 'driftline token list'")


def run(args: argparse.Namespace) -> int:
    """Carry out the token action; errors (bad role, unknown id) propagate as DriftlineError."""
    from driftline.store import Store, TokenService

    store = Store.open(getattr(args, "database_url", None))
    try:
        tokens = TokenService(store)
        if args.token_action == "create":
            plaintext = tokens.create(args.name, args.project, args.role)
            print(plaintext)
            print(
                f"token {args.name!r}: {args.role} on {args.project!r}; it is shown only once",
                file=sys.stderr,
            )
        elif args.token_action == "list":
            for info in tokens.list():
                print(f"{info.id}\t{info.name}\t{info.project}\t{info.role}")
        else:
            tokens.revoke(args.token_id)
            print(f"token {args.token_id} revoked", file=sys.stderr)
    finally:
        store.close()
    return EXIT_OK
