"""API tokens: created once in plain text, stored only as a SHA-256 hash.

A token grants a role on one project, or on every project (``"*"``). Roles are
ordered ``viewer < editor < admin``: a viewer reads, an editor also ingests,
an admin also manages tokens.

Example
-------
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> tokens = TokenService(store)
>>> secret = tokens.create("ci", project="shop", role="editor")
>>> info = tokens.verify(secret)
>>> info.allows("shop", "viewer"), info.allows("shop", "admin"), info.allows("other", "viewer")
(True, False, False)
>>> tokens.verify("dl_wrong") is None
True
>>> store.close()
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from driftline.errors import InputError, NotFoundError
from driftline.store._engine import Store
from driftline.store.tables import tokens as tokens_t

__all__ = ["ALL_PROJECTS", "ROLES", "TOKEN_PREFIX", "TokenInfo", "TokenService", "hash_token"]

ROLES = ("viewer", "editor", "admin")
"""The roles, weakest first."""
ALL_PROJECTS = "*"
"""The project value of a token valid for every project."""
TOKEN_PREFIX = "dl_"
"""Prefix of every plaintext token, so that secret scanners can spot them."""
TOKEN_BYTES = 32
"""Random bytes in a token (256 bits)."""


def hash_token(plaintext: str) -> str:
    """The SHA-256 hex digest under which a token is stored.

    Example
    -------
    >>> len(hash_token("dl_abc"))
    64
    """
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role: expected one of {', '.join(map(repr, ROLES))}, got {role!r}")
    return role


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a verified token grants.

    Example
    -------
    >>> TokenInfo(1, "ops", "*", "admin", 0.0).allows("any", "editor")
    True
    """

    id: int
    name: str
    project: str
    role: str
    created_at: float

    def allows(self, project: str, role: str) -> bool:
        """Whether this token grants at least ``role`` on ``project``."""
        needed = ROLES.index(_check_role(role))
        if self.project not in (ALL_PROJECTS, project):
            return False
        return ROLES.index(self.role) >= needed


class TokenService:
    """Create, verify, list and revoke API tokens.

    Parameters
    ----------
    store : Store
        The database.
    clock : callable, optional
        Returns the current epoch seconds; default :func:`time.time`.
    """

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def create(self, name: str, project: str, role: str) -> str:
        """Create a token and return its plaintext; only its hash is stored."""
        if not name or len(name) > 200:
            raise InputError(f"name: expected 1 to 200 characters, got {name!r}")
        if not project or len(project) > 200:
            raise InputError(f"project: expected a project name or '*', got {project!r}")
        _check_role(role)
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        with self.store.begin() as conn:
            conn.execute(
                tokens_t.insert().values(
                    name=name,
                    project=project,
                    role=role,
                    token_hash=hash_token(plaintext),
                    created_at=self.clock(),
                    revoked=False,
                )
            )
        return plaintext

    def verify(self, plaintext: str) -> TokenInfo | None:
        """The grant of a valid, unrevoked token; ``None`` for anything else."""
        if not plaintext.startswith(TOKEN_PREFIX):
            return None
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(tokens_t).where(
                    tokens_t.c.token_hash == hash_token(plaintext), tokens_t.c.revoked.is_(False)
                )
            ).first()
        if row is None:
            return None
        return TokenInfo(row.id, row.name, row.project, row.role, row.created_at)

    def list(self) -> list[TokenInfo]:
        """Every unrevoked token (without secrets), oldest first."""
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(tokens_t).where(tokens_t.c.revoked.is_(False)).order_by(tokens_t.c.id)
            ).all()
        return [TokenInfo(r.id, r.name, r.project, r.role, r.created_at) for r in rows]

    def revoke(self, token_id: int) -> None:
        """Revoke a token by id; :class:`NotFoundError` when there is none."""
        with self.store.begin() as conn:
            result = conn.execute(
                tokens_t.update().where(tokens_t.c.id == token_id).values(revoked=True)
            )
            if result.rowcount == 0:
                raise NotFoundError(f"token_id: no token with id {token_id}")
