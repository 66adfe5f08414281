"""``driftline serve`` refuses to listen beyond localhost without auth; ``driftline token``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from driftline.cli import _serve, _token, build_parser


def _parse(module, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with the real ``driftline`` parser (``module`` names the subcommand)."""
    args = build_parser().parse_args(argv)
    assert args.command == module.NAME
    return args


def test_serve_defaults_to_localhost() -> None:
    args = _parse(_serve, ["serve"])
    assert (args.host, args.port, args.auth) == ("127.0.0.1", 8765, False)
    assert args._run is _serve.run


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_serve_refuses_other_interfaces_without_auth(host: str, capsys, monkeypatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    assert _serve.run(_parse(_serve, ["serve", "--host", host])) == 2
    err = capsys.readouterr().err
    assert "--auth" in err and host in err


def test_serve_with_auth_may_bind_anywhere(tmp_path: Path, monkeypatch, capsys) -> None:
    import uvicorn

    seen = {}

    def fake_run(app, host, port, log_level):
        seen.update(host=host, port=port, auth=app.state.driftline.auth_required)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    url = f"sqlite:///{tmp_path / 's.db'}"
    args = _parse(
        _serve, ["serve", "--host", "0.0.0.0", "--port", "9000", "--auth", "--database-url", url]
    )
    assert _serve.run(args) == 0
    assert seen == {"host": "0.0.0.0", "port": 9000, "auth": True}
    assert "no token exists" in capsys.readouterr().err


def test_token_create_list_revoke(tmp_path: Path, capsys) -> None:
    from driftline.store import Store, TokenService

    url = f"sqlite:///{tmp_path / 't.db'}"
    args = _parse(
        _token,
        [
            "token",
            "--database-url",
            url,
            "create",
            "--name",
            "ci",
            "--project",
            "*",
            "--role",
            "admin",
        ],
    )
    assert _token.run(args) == 0
    plaintext = capsys.readouterr().out.strip()
    store = Store.open(url)
    try:
        info = TokenService(store).verify(plaintext)
        assert info is not None and (info.project, info.role) == ("*", "admin")
    finally:
        store.close()
    assert _token.run(_parse(_token, ["token", "--database-url", url, "list"])) == 0
    listed = capsys.readouterr().out
    assert "ci\t*\tadmin" in listed and plaintext not in listed
    token_id = listed.split("\t")[0]
    assert _token.run(_parse(_token, ["token", "--database-url", url, "revoke", token_id])) == 0
    store = Store.open(url)
    try:
        assert TokenService(store).verify(plaintext) is None
    finally:
        store.close()
