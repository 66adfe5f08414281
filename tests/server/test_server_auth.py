"""Bearer tokens: 401 without a valid one, 403 without the role on the project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Client

from driftline.client._delivery import INGEST_PATHS


@pytest.fixture
def secure(store: Any, make_client: Any) -> Iterator[tuple[Client, dict[str, str]]]:
    from driftline.server import create_app
    from driftline.store import TokenService

    tokens = TokenService(store)
    made = {
        "viewer": tokens.create("v", "shop", "viewer"),
        "editor": tokens.create("e", "shop", "editor"),
        "admin": tokens.create("a", "shop", "admin"),
        "root": tokens.create("r", "*", "admin"),
        "other": tokens.create("o", "other", "admin"),
    }
    yield make_client(create_app(store, auth_required=True)), made


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _labels(project: str = "shop", batch_id: str = "l1") -> dict[str, Any]:
    return {"batch_id": batch_id, "project": project, "model": "m", "ids": ["a"], "labels": [1]}


def test_missing_or_wrong_token_gives_401(secure) -> None:
    client, _ = secure
    resp = client.post(INGEST_PATHS["labels"], json=_labels())
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["error"] == "unauthorized"
    assert client.get("/api/v1/projects", headers=_h("dl_not-a-token")).status_code == 401
    assert client.get("/api/v1/projects", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/healthz").status_code == 200  # liveness stays open


def test_401_comes_before_reading_a_huge_body(secure) -> None:
    client, _ = secure
    resp = client.post(INGEST_PATHS["labels"], content=b"x" * (40 * 2**20))
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("who", "ingest", "read", "admin"),
    [
        ("viewer", 403, 200, 403),
        ("editor", 200, 200, 403),
        ("admin", 200, 200, 201),
        ("root", 200, 200, 201),
        ("other", 403, 403, 403),
    ],
)
def test_roles_per_project(secure, who: str, ingest: int, read: int, admin: int) -> None:
    client, tokens = secure
    h = _h(tokens[who])
    assert (
        client.post(
            INGEST_PATHS["labels"], json=_labels(batch_id=f"l-{who}"), headers=h
        ).status_code
        == ingest
    )
    if ingest == 403:
        assert (
            client.post(
                INGEST_PATHS["labels"], json=_labels(), headers=_h(tokens["editor"])
            ).status_code
            == 200
        )
    assert client.get("/api/v1/projects/shop/models", headers=h).status_code == read
    resp = client.post(
        "/api/v1/tokens", json={"name": "n", "project": "shop", "role": "viewer"}, headers=h
    )
    assert resp.status_code == admin
    if admin == 403:
        assert resp.json()["error"] == "forbidden" and "shop" in resp.json()["message"]


def test_only_global_admins_make_global_tokens_and_revocation_works(secure) -> None:
    client, tokens = secure
    body = {"name": "ci", "project": "*", "role": "editor"}
    assert client.post("/api/v1/tokens", json=body, headers=_h(tokens["admin"])).status_code == 403
    made = client.post("/api/v1/tokens", json=body, headers=_h(tokens["root"]))
    assert made.status_code == 201
    new = made.json()
    assert new["token"].startswith("dl_") and new["role"] == "editor"
    h = _h(new["token"])
    assert (
        client.post(INGEST_PATHS["labels"], json=_labels("anywhere", "l9"), headers=h).status_code
        == 200
    )
    listed = client.get("/api/v1/tokens", headers=_h(tokens["admin"])).json()
    assert {t["project"] for t in listed} == {"shop"}  # a shop admin sees only shop tokens
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert (
        client.delete(f"/api/v1/tokens/{new['id']}", headers=_h(tokens["admin"])).status_code == 403
    )
    assert (
        client.delete(f"/api/v1/tokens/{new['id']}", headers=_h(tokens["root"])).status_code == 204
    )
    assert (
        client.post(INGEST_PATHS["labels"], json=_labels("anywhere", "l10"), headers=h).status_code
        == 401
    )
    assert client.delete("/api/v1/tokens/99999", headers=_h(tokens["root"])).status_code == 404


def test_bad_token_request_names_the_field(secure) -> None:
    client, tokens = secure
    resp = client.post(
        "/api/v1/tokens",
        json={"name": "n", "project": "shop", "role": "boss"},
        headers=_h(tokens["root"]),
    )
    assert resp.status_code == 422 and "role" in [f["path"] for f in resp.json()["fields"]]


def test_project_list_is_filtered(secure) -> None:
    client, tokens = secure
    for project in ("shop", "other"):
        assert (
            client.post(
                INGEST_PATHS["labels"],
                json=_labels(project, f"p-{project}"),
                headers=_h(tokens["root"]),
            ).status_code
            == 200
        )
    seen = client.get("/api/v1/projects", headers=_h(tokens["viewer"])).json()
    assert "shop" in str(seen) and "other" not in str(seen)
