"""The Alertmanager channel against a real ``prometheus-alertmanager`` started by the test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from driftline.alerts import Alert, AlertState, Notification
from driftline.alerts.channels import (
    AlertmanagerChannel,
    AlertmanagerConfig,
    NetworkPolicy,
    ReceiverSpec,
    build_channels,
)
from driftline.alerts.channels._alertmanager import alertmanager_alerts
from driftline.errors import DeliveryError

BINARY = "/usr/bin/prometheus-alertmanager"
CONFIG = """\
route:
  receiver: "null"
  group_wait: 1h
receivers:
  - name: "null"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """Base URL of a real Alertmanager with a null receiver (clustering off)."""
    binary = shutil.which("prometheus-alertmanager") or (BINARY if os.path.exists(BINARY) else None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus-alertmanager is not installed, and CI must run this test")
        pytest.skip(
            "prometheus-alertmanager is not installed (apt install prometheus-alertmanager)"
        )
    (tmp_path / "am.yml").write_text(CONFIG)
    port = free_port()
    log = (tmp_path / "am.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"alertmanager did not start: {(tmp_path / 'am.log').read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def alert(name: str, t0: float, *, resolved_at: float | None = None) -> Alert:
    return Alert(
        fingerprint=f"fp-{name}",
        labels={"alertname": name, "model": "churn", "model.version": "7"},
        state=AlertState.RESOLVED if resolved_at is not None else AlertState.FIRING,
        started_at=t0 - 600,
        updated_at=t0,
        annotations={"summary": f"{name} on churn"},
        fired_at=t0 - 300,
        resolved_at=resolved_at,
        value=0.31,
        reason=f"{name}: 0.31 > 0.2",
    )


def notification(nid: str, *alerts: Alert) -> Notification:
    status = "firing" if any(a.state is not AlertState.RESOLVED for a in alerts) else "resolved"
    return Notification(
        nid, "am", "g", {"model": "churn"}, status, alerts, alerts[0].updated_at,  # type: ignore[arg-type]
        external_url="https://driftline.example.com/alerts",
    )  # fmt: skip


def current(url: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(url + "/api/v2/alerts", timeout=5)
    response.raise_for_status()
    return {a["labels"]["alertname"]: a for a in response.json()}


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_alerts_reach_alertmanager_and_resolve(alertmanager: str) -> None:
    spec = ReceiverSpec.model_validate(
        {"name": "am", "alertmanager": [{"url": alertmanager, "firing_ttl": 3600}]}
    )
    [channel] = build_channels(spec, policy=NetworkPolicy(allow=["127.0.0.1/32"]), environ={})
    t0 = time.time()
    channel.send(notification("n-1", alert("psi_age", t0), alert("latency_p99", t0)))
    got = current(alertmanager)
    assert set(got) == {"psi_age", "latency_p99"}
    psi = got["psi_age"]
    assert psi["labels"] == {"alertname": "psi_age", "model": "churn", "model_version": "7"}
    assert psi["annotations"]["reason"] == "psi_age: 0.31 > 0.2"
    assert psi["annotations"]["summary"] == "psi_age on churn"
    assert psi["generatorURL"] == "https://driftline.example.com/alerts"
    assert ts(psi["startsAt"]) == pytest.approx(t0 - 600, abs=0.01)
    assert ts(psi["endsAt"]) == pytest.approx(t0 + 3600, abs=60)
    assert psi["status"]["state"] == "active"

    t1 = time.time()
    channel.send(
        notification("n-2", alert("psi_age", t1), alert("latency_p99", t1, resolved_at=t1 - 1))
    )
    assert set(current(alertmanager)) == {"psi_age"}  # resolved: endsAt passed, no longer active


def test_resolved_alert_carries_its_resolution_time_as_ends_at() -> None:
    t0 = 1_790_000_000.0
    [firing, resolved] = alertmanager_alerts(
        notification("n", alert("a", t0), alert("b", t0, resolved_at=t0 - 30)),
        [alert("a", t0), alert("b", t0, resolved_at=t0 - 30)],
        now=t0,
        firing_ttl=600.0,
    )
    assert (firing["endsAt"], resolved["endsAt"]) == (
        "2026-09-21T14:23:20Z",
        "2026-09-21T14:12:50Z",
    )


def test_alertmanager_down_is_retryable() -> None:
    channel = AlertmanagerChannel(
        "am/alertmanager/0",
        AlertmanagerConfig(url=f"http://127.0.0.1:{free_port()}"),
        NetworkPolicy(allow=["127.0.0.1/32"]),
        {},
    )
    with pytest.raises(DeliveryError, match="api/v2/alerts failed to connect") as info:
        channel.send(notification("n", alert("a", 1_790_000_000.0)))
    assert info.value.retryable
