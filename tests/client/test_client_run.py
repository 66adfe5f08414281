"""Run extras: heartbeats and system metrics from the background thread."""

from __future__ import annotations

import sys
import time
import types

from driftline.client import init
from driftline.client._system import sample_system_metrics
from driftline.config import Settings

URL = "http://driftline.test"


def test_heartbeats_while_running_and_none_after_finish(fake_server, settings: Settings) -> None:
    run = init(
        "proj",
        url=URL,
        transport=fake_server.transport(),
        settings=settings,
        system_metrics_interval=None,
        heartbeat_interval=0.05,
        flush_interval=0.01,
    )
    time.sleep(0.4)
    assert run.finish(timeout=5.0)
    updates = [b for _, p, b in fake_server.requests if p.endswith("/run-updates")]
    assert len(updates) >= 3
    assert all(u["status"] == "running" for u in updates[:-1])
    assert updates[-1]["status"] == "finished"
    time.sleep(0.15)
    after = [b for _, p, b in fake_server.requests if p.endswith("/run-updates")]
    assert len(after) == len(updates)  # the thread stopped: no heartbeat after the end


def _fake_psutil() -> types.ModuleType:
    mod = types.ModuleType("psutil")
    mod.cpu_percent = lambda interval=None: 12.5  # type: ignore[attr-defined]
    mod.virtual_memory = lambda: types.SimpleNamespace(percent=40.0)  # type: ignore[attr-defined]
    mod.Process = lambda: types.SimpleNamespace(  # type: ignore[attr-defined]
        memory_info=lambda: types.SimpleNamespace(rss=1024)
    )
    return mod


def _fake_torch() -> types.ModuleType:
    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: 1,
        memory_allocated=lambda i: 2048,
        memory_reserved=lambda i: 4096,
    )
    mod = types.ModuleType("torch")
    mod.cuda = cuda  # type: ignore[attr-defined]
    return mod


def test_system_metrics_use_psutil_and_torch_when_present(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed
    assert sample_system_metrics() == {}
    monkeypatch.setitem(sys.modules, "psutil", _fake_psutil())
    monkeypatch.setitem(sys.modules, "torch", _fake_torch())
    assert sample_system_metrics() == {
        "system/cpu_percent": 12.5,
        "system/memory_percent": 40.0,
        "system/process_rss_bytes": 1024.0,
        "system/gpu0_memory_allocated_bytes": 2048.0,
        "system/gpu0_memory_reserved_bytes": 4096.0,
    }


def test_run_samples_system_metrics_in_the_background(fake_server, settings, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", _fake_psutil())
    run = init(
        "proj",
        url=URL,
        transport=fake_server.transport(),
        settings=settings,
        system_metrics_interval=0.05,
        flush_interval=0.01,
    )
    time.sleep(0.3)
    assert run.finish(timeout=5.0)
    keys = [p["key"] for b in fake_server.stored_bodies("/run-metrics") for p in b["points"]]
    assert keys.count("system/cpu_percent") >= 2
