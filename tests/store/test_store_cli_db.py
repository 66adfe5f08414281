from __future__ import annotations

import pytest

from driftline.cli import main
from driftline.store._migrate import head_revision


def test_db_upgrade_and_current(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "--database-url", empty_database_url, "current"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"database at revision (empty) (newest {head_revision()})"
    )
    assert main(["db", "--database-url", empty_database_url, "upgrade"]) == 0
    head = head_revision()
    assert capsys.readouterr().out.strip() == f"database at revision {head} (newest {head})"
    assert main(["db", "--database-url", empty_database_url, "current"]) == 0
    assert head in capsys.readouterr().out


def test_db_bad_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "--database-url", "nonsense", "upgrade"]) == 2
    assert "url: expected a database URL" in capsys.readouterr().err
