"""``driftline monitors apply|list`` and ``driftline alerts list|ack|resolve|silence``.

Against a live server (uvicorn on a loopback port, ``--url``) and against the
store directly (``--database-url``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftline.cli import main
from driftline.client._delivery import INGEST_PATHS

T0 = 1_800_000_000.0

CONFIG = """\
route: {receiver: team, group_wait: 0s}
receivers: [{name: team}]
monitors:
  - name: shop-volume
    project: shop
    model: ranker
    signal: {kind: volume}
    condition: {kind: threshold, op: ">", value: 0}
"""


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DRIFTLINE_URL", "DRIFTLINE_TOKEN", "DRIFTLINE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "alerting.yaml"
    path.write_text(CONFIG)
    return path


def test_apply_and_list_over_http(live_server: Any, config_file: Path, capsys: Any) -> None:
    url = ["--url", live_server.url]
    assert main(["monitors", "apply", str(config_file), *url]) == 0
    out = capsys.readouterr()
    assert "created: shop-volume" in out.out and "1 created" in out.err
    assert main(["monitors", "apply", str(config_file), *url]) == 0
    assert "unchanged: shop-volume" in capsys.readouterr().out
    assert main(["monitors", "list", *url]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split("\t") == ["shop-volume", "shop", "ranker", "volume", "warning", "unknown"]
    assert main(["monitors", "list", "--json", "--project", "shop", *url]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "shop-volume"
    bad = config_file.with_name("bad.yaml")
    bad.write_text(CONFIG.replace("value: 0}", "value: zero}"))
    assert main(["monitors", "apply", str(bad), *url]) == 2
    assert f"{bad}:8:50: monitors[0].condition.value" in capsys.readouterr().err
    assert main(["monitors", "list", "--url", "http://127.0.0.1:9"]) == 2
    assert "did not answer" in capsys.readouterr().err


def test_alert_commands_over_http(live_server: Any, config_file: Path, capsys: Any) -> None:
    import httpx

    url = ["--url", live_server.url]
    assert main(["monitors", "apply", str(config_file), *url]) == 0
    batch = {
        "batch_id": "b1", "project": "shop", "model": "ranker", "version": "v1",
        "ids": ["a", "b"], "timestamps": [T0 + 1, T0 + 2], "features": {"x": [1, 2]},
        "predictions": [0, 1],
    }  # fmt: skip
    assert httpx.post(live_server.url + INGEST_PATHS["predictions"], json=batch).is_success
    live_server.app.state.driftline.alerts.evaluate_due(T0 + 3600 + 5)
    capsys.readouterr()
    assert main(["alerts", "list", "--state", "firing", *url]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    fingerprint, state, name, *_ = line.split("\t")
    assert (state, name) == ("firing", "shop-volume")
    assert main(["alerts", "ack", fingerprint, "--by", "ana", *url]) == 0
    assert capsys.readouterr().out.strip() == f"{fingerprint}: acknowledged (by ana)"
    assert main(["alerts", "silence", "project=shop", "--duration", "30m", *url]) == 0
    silence_id = capsys.readouterr().out.strip()
    (listed,) = httpx.get(live_server.url + "/api/v1/silences").json()
    assert listed["id"] == silence_id and listed["ends_at"] - listed["starts_at"] == 1800
    assert main(["alerts", "resolve", fingerprint, *url]) == 0
    assert "resolved" in capsys.readouterr().out
    assert main(["alerts", "ack", "nope", *url]) == 2


def test_apply_and_list_on_the_store(
    store_url: str, config_file: Path, tmp_path: Path, capsys: Any
) -> None:
    db = ["--database-url", store_url]
    assert main(["monitors", "apply", str(config_file), *db]) == 0
    assert "created: shop-volume" in capsys.readouterr().out
    assert main(["monitors", "list", *db]) == 0
    assert capsys.readouterr().out.startswith("shop-volume\tshop\tranker")
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.replace("value: 0}", "value: zero}"))
    assert main(["monitors", "apply", str(bad), *db]) == 2
    assert f"{bad}:8:50: monitors[0].condition.value" in capsys.readouterr().err
    assert main(["alerts", "list", *db]) == 0
    assert capsys.readouterr().out == ""


def test_test_route_asks_the_server(live_server: Any, config_file: Path, capsys: Any) -> None:
    url = ["--url", live_server.url]
    assert main(["monitors", "apply", str(config_file), *url]) == 0
    capsys.readouterr()
    assert main(["alerts", "silence", "alertname=shop-volume", "--duration", "1h", *url]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert main(["alerts", "test-route", "--monitor", "shop-volume", *url]) == 0
    out = capsys.readouterr().out
    assert 'alertname="shop-volume", model="ranker", project="shop", severity="warning"' in out
    assert "  receiver: team" in out and "timings: group_wait 0s, group_interval 5m" in out
    assert f"silenced: yes, by silence {silence_id}" in out and "nothing was sent" in out
    assert main(["alerts", "test-route", "--monitor", "nope", *url]) == 2
    assert main(["alerts", "test-route", "--label", "a=b"]) == 2  # neither --config nor --url
    assert "--config FILE or --url URL" in capsys.readouterr().err
