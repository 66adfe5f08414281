"""``driftline demo``: the live demo end to end, on a real server over a real socket.

The smoke run starts uvicorn on a free port with SQLite in a temporary data
directory, sends the simulated traffic and training runs through the SDK over
HTTP, and exits; the test then reopens the data directory and asks the API
(the real app, in process) what it holds.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from driftline.cli import EXIT_OK, EXIT_USAGE, main
from driftline.config import load_settings
from driftline.examples import DEMO_MODEL, DEMO_PROJECT, SCREENING_DRIFTED_FEATURES
from driftline.store import Store
from driftline.ui import create_dashboard_app

BASE = f"/api/v1/projects/{DEMO_PROJECT}/models/{DEMO_MODEL}"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``driftline demo --smoke`` run: its exit status, output and data directory."""
    data_dir = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["demo", "--smoke", "--port", "0", "--data-dir", str(data_dir), "--quiet"])
    return {"rc": rc, "lines": buf.getvalue().splitlines(), "data_dir": data_dir}


@pytest.fixture(scope="module")
def api(smoke: dict[str, Any]) -> Iterator[TestClient]:
    """The API and dashboard over the smoke run's data directory (as ``driftline serve``)."""
    settings = load_settings({"DRIFTLINE_DATA_DIR": str(smoke["data_dir"])})
    store = Store.open(settings.database_url)
    try:
        with TestClient(create_dashboard_app(store, settings)) as client:
            yield client
    finally:
        store.close()


def test_smoke_exits_zero_and_prints_the_url_on_its_own_line(smoke: dict[str, Any]) -> None:
    assert smoke["rc"] == EXIT_OK, "\n".join(smoke["lines"])
    urls = [ln for ln in smoke["lines"] if ln.startswith("driftline demo: open http://127.0.0.1:")]
    assert len(urls) == 1 and urls[0].endswith("/")
    checks = [ln for ln in smoke["lines"] if ln.startswith("driftline demo: ok")]
    assert len(checks) >= 6 and not any("FAIL" in ln for ln in smoke["lines"])


def test_the_drifted_columns_drift_after_the_update_only(api: TestClient) -> None:
    days = api.get(f"{BASE}/windows", params={"window_seconds": 86400}).json()
    assert len(days) >= 10

    def drifted(w: dict[str, Any]) -> set[str]:
        return {c for c, d in w["drift"].items() if d["status"] == "drift"}

    first, last = drifted(days[1]), drifted(days[-2])
    assert set(SCREENING_DRIFTED_FEATURES) <= last
    assert not first & set(SCREENING_DRIFTED_FEATURES)
    assert {"radius", "smoothness", "symmetry"}.isdisjoint(last)


def test_labels_arrive_late_and_events_join(api: TestClient) -> None:
    days = api.get(f"{BASE}/windows", params={"window_seconds": 86400}).json()
    assert days[1]["label_coverage"] > 0.85
    assert days[-1]["label_coverage"] < 0.5  # the last day's biopsies are still out
    assert days[1]["label_delay_mean_s"] > 6 * 3600
    for day in days[1:]:
        assert 0.1 < day["events"]["click"]["rate"] < 0.5
        assert day["events"]["referral"]["count"] > 0
    assert days[1]["performance"]["accuracy"] > days[-3]["performance"]["accuracy"]
    assert days[1]["latency_p50_ms"] > 0 and days[1]["error_rate"] < 0.05


def test_the_guarded_run_restored_a_checkpoint_and_finished(api: TestClient) -> None:
    runs = {r["name"]: r for r in api.get(f"/api/v1/projects/{DEMO_PROJECT}/runs").json()}
    assert set(runs) == {"mlp-guarded", "mlp-baseline"}
    guarded = api.get(f"/api/v1/runs/{runs['mlp-guarded']['run_id']}").json()
    baseline = api.get(f"/api/v1/runs/{runs['mlp-baseline']['run_id']}").json()
    assert guarded["status"] == baseline["status"] == "finished"
    kinds = [e["kind"] for e in guarded["events"]]
    assert kinds == ["non_finite", "guard.restore"]
    assert baseline["events"] == []
    assert {"loss", "val_loss", "val_accuracy", "grad_norm"} <= {
        m["key"] for m in guarded["metrics"]
    }
    assert guarded["summary"]["val_accuracy"] > 0.85


def test_the_default_monitors_fire_on_the_drifted_columns(api: TestClient) -> None:
    firing = api.get("/api/v1/alerts", params={"project": DEMO_PROJECT, "state": "firing"}).json()
    by_column = {a["labels"]["column"]: a for a in firing if "column" in a["labels"]}
    # exactly the drifted columns, and the model's outputs that follow them
    assert set(by_column) == {*SCREENING_DRIFTED_FEATURES, "prediction", "score"}
    # and the accuracy that fell with them, against the reference's own accuracy
    others = {a["labels"]["alertname"] for a in firing if "column" not in a["labels"]}
    assert others == {f"{DEMO_MODEL}.accuracy"}
    days = api.get(f"{BASE}/windows", params={"window_seconds": 86400}).json()
    for column in ("texture", "area"):
        alert = by_column[column]
        assert alert["labels"]["model"] == DEMO_MODEL and column in alert["reason"]
        assert alert["value"] > 0.3  # far above the threshold, not noise
        # the drift starts half-way through the ten simulated days, and so does the alert
        assert alert["started_at"] > days[0]["start"] + 4 * 86400
    detail = api.get(f"/api/v1/alerts/{by_column['texture']['fingerprint']}").json()
    assert detail


def test_a_report_is_stored_for_the_reports_page(api: TestClient) -> None:
    reports = api.get("/api/v1/reports").json()
    assert [r["project"] for r in reports] == [DEMO_PROJECT]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_taken_port_is_a_clear_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["demo", "--port", str(port), "--quiet"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err


@pytest.mark.parametrize(
    "args", [["--days", "0"], ["--rows-per-hour", "0"], ["--port", "70000"], ["--data-dir"]]
)
def test_bad_options_are_usage_errors(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if args == ["--data-dir"]:  # a data directory that already holds a database
        (tmp_path / "driftline.db").write_bytes(b"")
        args = ["--data-dir", str(tmp_path)]
    assert main(["demo", *args, "--quiet"]) == EXIT_USAGE
    assert "driftline demo: error: " + args[0] in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_demo_serves_until_interrupted(tmp_path: Path, signum: int) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "driftline", "demo", "--port", str(port), "--days", "2",
         "--rows-per-hour", "20", "--data-dir", str(tmp_path), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("driftline demo: serving until Ctrl-C"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    with proc:
        reader.start()
        try:
            assert ready.wait(120), f"not ready: {lines}"
            assert f"driftline demo: open http://127.0.0.1:{port}/" in lines
            resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert resp.status_code == 200
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/projects", timeout=10).json()
            proc.send_signal(signum)
            rc = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(5)
        assert proc.stderr is not None
        err = proc.stderr.read()
    assert rc == EXIT_OK, err
    # Ctrl-C shuts down cleanly: no traceback, the server thread ended before the interpreter
    assert "KeyboardInterrupt" not in err and "Exception in thread" not in err
    assert "leaked" not in err
    assert lines[-1] == "driftline demo: stopped"
