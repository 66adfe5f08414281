"""``driftline report --publish``: to a server's Reports page, or to the local data directory."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from driftline.cli import EXIT_OK, EXIT_USAGE, main
from driftline.examples import generate_loans
from driftline.ui import ReportStore

from .conftest import LiveServer


@pytest.fixture
def loan_csvs(tmp_path: Path) -> tuple[str, str]:
    ex = generate_loans(300, 300, seed=2)
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ex.reference.to_csv(ref, index=False)
    ex.current.to_csv(cur, index=False)
    return str(ref), str(cur)


def test_a_report_is_published_to_the_server_and_locally(
    live_dashboard_server: LiveServer,
    loan_csvs: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live_server = live_dashboard_server  # the reports API comes with the dashboard
    monkeypatch.delenv("DRIFTLINE_URL", raising=False)
    monkeypatch.delenv("DRIFTLINE_TOKEN", raising=False)
    monkeypatch.setenv("DRIFTLINE_DATA_DIR", str(tmp_path / "server"))
    args = ["report", *loan_csvs, "--target", "default", "--quiet", "--project", "loans"]
    assert main([*args, "--publish", "weekly", "--url", live_server.url]) == EXIT_OK
    assert "published: weekly (" in capsys.readouterr().out
    [meta] = httpx.get(f"{live_server.url}/api/v1/reports", timeout=10).json()
    assert (meta["project"], meta["name"], meta["has_json"]) == ("loans", "weekly", True)
    stored = httpx.get(f"{live_server.url}/api/v1/reports/{meta['id']}", timeout=10).json()
    assert {d["column"] for d in stored["drift"]} >= {"income", "age"}

    monkeypatch.setenv("DRIFTLINE_DATA_DIR", str(tmp_path / "local"))  # no server: local
    assert main([*args, "--publish", "offline"]) == EXIT_OK
    assert [m["name"] for m in ReportStore(tmp_path / "local" / "reports").list()] == ["offline"]


def test_publish_needs_a_project_and_a_reachable_server(
    loan_csvs: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DRIFTLINE_URL", raising=False)
    base = ["report", *loan_csvs, "--target", "default", "--quiet", "--publish", "x"]
    assert main(base) == EXIT_USAGE
    assert "--publish needs --project" in capsys.readouterr().err
    assert main([*base, "--project", "p", "--url", "http://127.0.0.1:9"]) == EXIT_USAGE
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err
