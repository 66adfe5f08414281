"""A real Prometheus scrapes a live driftline server's ``/metrics``.

The server (uvicorn on a loopback port, SQLite in ``tmp_path``) receives
predictions, labels and a reference through the SDK; a ``prometheus`` process
scrapes it every second, and the series are read back through Prometheus' own
query API. Without the ``prometheus`` binary the test is skipped, or fails when
the ``CI`` environment variable is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from driftline.client import ModelMonitor
from driftline.config import load_settings

from .conftest import LiveServer, free_port

T0 = 1_800_000_000.0
SCRAPE_WAIT_S = 30.0
"""Longest wait for a series to appear in Prometheus."""
START_WAIT_S = 20.0
"""Longest wait for Prometheus to answer ``/-/ready``."""


def _prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        msg = "the 'prometheus' binary is not installed (apt-get install -y prometheus)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return found


class Prometheus:
    """A ``prometheus`` server process scraping one target, stopped by :meth:`stop`."""

    def __init__(self, binary: str, workdir: Path, target: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: driftline\n"
            "    metrics_path: /metrics\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = workdir / "prometheus.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"prometheus exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready after {START_WAIT_S} s")

    def query(self, expr: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5.0)
        resp.raise_for_status()
        body = resp.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, n: int) -> list[dict[str, Any]]:
        """Poll ``expr`` until it gives ``n`` series (bounded by :data:`SCRAPE_WAIT_S`)."""
        deadline = time.monotonic() + SCRAPE_WAIT_S
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if len(result) >= n:
                return result
            time.sleep(0.2)
        targets = httpx.get(f"{self.url}/api/v1/targets", timeout=5.0).json()
        raise AssertionError(
            f"{expr}: expected {n} series within {SCRAPE_WAIT_S} s, got {result}; targets {targets}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log_file.close()


@pytest.fixture
def prometheus_binary() -> str:
    return _prometheus_binary()


@pytest.fixture
def monitored_server(tmp_path: Path, store: Any) -> Iterator[LiveServer]:
    """A live server holding 200 predictions (120 labelled) of shop/ranker/v1, with a reference."""
    from driftline.schema import ColumnSpec, Schema
    from driftline.server import create_app

    server = LiveServer(create_app(store, auth_required=False), free_port())
    server.start()
    try:
        rng = np.random.default_rng(9)
        ref = pd.DataFrame({"age": rng.normal(40, 5, 300), "city": rng.choice(["a", "b"], 300)})
        schema = Schema(
            (
                ColumnSpec("age", "feature", "numerical"),
                ColumnSpec("city", "feature", "categorical"),
            )
        )
        monitor = ModelMonitor(
            "shop",
            "ranker",
            "v1",
            schema=schema,
            reference=ref,
            url=server.url,
            settings=load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path / "sdk")}),
            flush_interval=0.02,
            clock=lambda: T0,
        )
        cur = pd.DataFrame({"age": rng.normal(60, 5, 200), "city": rng.choice(["a", "b"], 200)})
        ids = monitor.log_predictions(cur, (cur["age"] > 50).astype(int))
        monitor.log_labels(ids[:120], [1] * 120)
        assert monitor.flush(15.0)
        monitor.close()
        assert monitor.stats().dropped == {}
        yield server
    finally:
        server.stop()


def test_prometheus_scrapes_counts_and_drift(
    prometheus_binary: str, monitored_server: LiveServer, store: Any, tmp_path: Path
) -> None:
    from driftline.store import QueryService

    # what the exposition says must be what Prometheus stores
    exposition = httpx.get(f"{monitored_server.url}/metrics", timeout=10.0).text
    assert 'driftline_predictions_total{project="shop",model="ranker",version="v1"} 200.0' in (
        exposition
    )
    workdir = tmp_path / "prom"
    workdir.mkdir()
    prom = Prometheus(prometheus_binary, workdir, f"127.0.0.1:{monitored_server.port}")
    try:
        prom.wait_ready()
        (preds,) = prom.wait_for("driftline_predictions_total", 1)
        assert preds["metric"] == {
            "__name__": "driftline_predictions_total",
            "job": "driftline",
            "instance": f"127.0.0.1:{monitored_server.port}",
            "project": "shop",
            "model": "ranker",
            "version": "v1",
        }
        assert float(preds["value"][1]) == 200.0

        (labels,) = prom.wait_for("driftline_labels_total", 1)
        assert {k: labels["metric"][k] for k in ("project", "model", "version")} == {
            "project": "shop",
            "model": "ranker",
            "version": "v1",
        }
        assert float(labels["value"][1]) == 120.0

        drift = prom.wait_for("driftline_column_drift", 2)
        by_column = {d["metric"]["column"]: d for d in drift}
        assert sorted(by_column) == ["age", "city"]
        totals = QueryService(store).metric_totals()
        expected = {d["column"]: d for d in totals["drift"]}
        for column, series in by_column.items():
            labels_of = series["metric"]
            assert (labels_of["project"], labels_of["model"], labels_of["version"]) == (
                "shop",
                "ranker",
                "v1",
            )
            assert labels_of["method"] == expected[column]["method"]
            assert float(series["value"][1]) == pytest.approx(expected[column]["statistic"])
        # the age distribution moved from mean 40 to mean 60: its drift is large
        assert float(by_column["age"]["value"][1]) > 0.1

        # an up-to-date scrape: the target is healthy
        (up,) = prom.query('up{job="driftline"}')
        assert float(up["value"][1]) == 1.0
    finally:
        prom.stop()
