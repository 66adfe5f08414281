from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from driftline.errors import InputError, NotFoundError
from driftline.store import Store, TokenService
from driftline.store import tables as t


def test_tokens_are_stored_hashed(store: Store) -> None:
    tokens = TokenService(store, clock=lambda: 123.0)
    secret = tokens.create("ci", "shop", "editor")
    assert secret.startswith("dl_") and len(secret) > 40
    with store.read() as conn:
        stored = conn.execute(sa.select(t.tokens.c.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in stored
    info = tokens.verify(secret)
    assert info is not None
    assert (info.name, info.project, info.role, info.created_at) == ("ci", "shop", "editor", 123.0)
    assert tokens.verify(secret + "x") is None
    assert tokens.verify("") is None
    assert tokens.create("ci", "shop", "editor") != secret  # fresh randomness each time


def test_roles_and_projects(store: Store) -> None:
    tokens = TokenService(store)
    viewer = tokens.verify(tokens.create("v", "shop", "viewer"))
    admin = tokens.verify(tokens.create("a", "*", "admin"))
    assert viewer is not None and admin is not None
    assert viewer.allows("shop", "viewer")
    assert not viewer.allows("shop", "editor")
    assert not viewer.allows("bank", "viewer")
    assert admin.allows("bank", "admin") and admin.allows("shop", "viewer")
    with pytest.raises(InputError, match="role: expected one of 'viewer', 'editor', 'admin'"):
        viewer.allows("shop", "owner")
    with pytest.raises(InputError, match="role"):
        tokens.create("x", "shop", "root")


def test_revoke(store: Store) -> None:
    tokens = TokenService(store)
    secret = tokens.create("ci", "shop", "admin")
    [info] = tokens.list()
    tokens.revoke(info.id)
    assert tokens.verify(secret) is None
    assert tokens.list() == []
    with pytest.raises(NotFoundError, match="token_id: no token with id 999"):
        tokens.revoke(999)
