"""Retry, backoff, spool, drop counters and flush of the SDK pipeline (against a fake server)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from driftline.client import init
from driftline.client._spool import FileSpool
from driftline.config import Settings
from driftline.wire import RunMetricsBatch

URL = "http://driftline.test"


def _run(fake_server, settings, **options):
    options.setdefault("system_metrics_interval", None)
    options.setdefault("flush_interval", 0.02)
    options.setdefault("backoff_base", 0.01)
    return init("proj", url=URL, transport=fake_server.transport(), settings=settings, **options)


def _points(fake_server) -> list[tuple[str, int, float]]:
    out = []
    for body in fake_server.stored_bodies("/run-metrics"):
        RunMetricsBatch.model_validate(body)  # what the SDK sends is a valid wire payload
        out += [(p["key"], p["step"], p["value"]) for p in body["points"]]
    return sorted(out)


def test_metrics_are_delivered_once_with_valid_payloads(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings)
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 50}, step=step)
    assert run.finish(timeout=5.0)
    pts = _points(fake_server)
    assert len(pts) == 100
    assert ("loss", 3, 0.25) in pts
    s = run.stats()
    assert s.delivered == s.enqueued and s.pending == 0 and s.dropped == {}
    paths = [p for _, p, _ in fake_server.requests]
    assert paths[0] == "/api/v1/ingest/runs" and paths[-1] == "/api/v1/ingest/run-updates"
    assert fake_server.requests[-1][2]["status"] == "finished"


def test_4xx_is_dropped_and_never_retried(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings)
    assert run.flush(5.0)
    fake_server.script = [422]
    run.log({"loss": 0.5})
    assert run.flush(timeout=5.0)  # settled: dropped, not pending
    time.sleep(0.1)
    metric_requests = [r for r in fake_server.requests if r[1].endswith("/run-metrics")]
    assert len(metric_requests) == 1
    assert run.stats().dropped == {"rejected": 1}
    run.finish(timeout=5.0)


def test_5xx_is_retried_with_backoff_and_the_same_batch_id(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings, backoff_base=0.05)
    assert run.flush(5.0)
    fake_server.script = [503, 500]
    run.log({"loss": 0.5})
    assert run.flush(timeout=5.0)
    reqs = [r for r in fake_server.requests if r[1].endswith("/run-metrics")]
    assert len(reqs) == 3
    assert len({r[2]["batch_id"] for r in reqs}) == 1  # idempotency key kept across retries
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(reqs)]
    # jittered exponential backoff: 0.05*[0.5,1) then 0.1*[0.5,1)
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05
    assert run.stats().retries == 2 and run.stats().dropped == {}
    assert _points(fake_server) == [("loss", 0, 0.5)]
    run.finish(timeout=5.0)


def test_a_batch_that_keeps_failing_with_500_is_dropped(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings, backoff_base=0.001, max_server_errors=3)
    assert run.flush(5.0)
    fake_server.script = [500, 500, 500]
    run.log({"loss": 0.5})
    assert run.flush(timeout=5.0)
    run.log({"loss": 0.25}, step=1)  # the batches behind it still go through
    assert run.flush(timeout=5.0)
    assert run.stats().dropped == {"server_error": 1}
    assert _points(fake_server) == [("loss", 1, 0.25)]
    run.finish(timeout=5.0)


def test_retry_after_is_honoured(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings, backoff_base=0.001)
    assert run.flush(5.0)
    fake_server.script = [lambda req: httpx.Response(429, headers={"Retry-After": "1"})]
    run.log({"loss": 0.5})
    assert run.flush(timeout=5.0)
    reqs = [r for r in fake_server.requests if r[1].endswith("/run-metrics")]
    assert len(reqs) == 2
    assert reqs[1][0] - reqs[0][0] >= 0.95
    run.finish(timeout=5.0)


@pytest.mark.usefixtures("frozen_heap")
def test_server_down_calls_stay_fast_then_spool_is_delivered(
    fake_server, settings: Settings
) -> None:
    fake_server.down = True
    run = _run(fake_server, settings)
    worst = 0.0
    for step in range(2000):
        t0 = time.perf_counter()
        run.log({"loss": 0.1, "acc": 0.2, "lr": 0.001}, step=step)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.05, f"slowest log call took {worst * 1e3:.2f} ms while the server was down"
    assert not run.flush(timeout=0.3)
    s = run.stats()
    assert s.spooled >= 1 and s.delivered == 0 and s.retries >= 1
    spool_dirs = list((settings.data_dir / "spool").iterdir())
    assert len(spool_dirs) == 1 and list(spool_dirs[0].glob("*.json.gz"))
    fake_server.down = False
    run._pipe.backoff_max = 0.05
    assert run.flush(timeout=10.0)
    assert len(_points(fake_server)) == 6000
    assert run.stats().spooled == 0 and run.stats().dropped == {}
    assert not list(spool_dirs[0].glob("*.json.gz"))
    run.finish(timeout=5.0)


def test_queue_overflow_counts_exact_drops(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings, max_queue=10, flush_interval=60.0)
    # the thread sleeps for flush_interval: nothing drains the queue meanwhile
    for step in range(24):  # run_create already queued: 9 places left
        run.log({"loss": 1.0}, step=step)
    s = run.stats()
    assert s.dropped == {"queue_full": 15}
    assert s.enqueued == 10
    assert run.flush(timeout=5.0)
    assert len(_points(fake_server)) == 9
    run.finish(timeout=5.0)


def test_spool_full_counts_drops(fake_server, settings: Settings) -> None:
    from driftline.client._spool import MemorySpool

    fake_server.down = True
    run = _run(fake_server, settings, spool=MemorySpool(max_bytes=1))
    for step in range(5):
        run.log({"loss": 1.0}, step=step)
    assert run.flush(timeout=2.0)  # everything settled: dropped because the spool is full
    assert run.stats().dropped.get("spool_full", 0) == 6  # run_create + 5 log calls
    run.finish(timeout=0.1)


def test_flush_waits_for_acknowledgement(fake_server, settings: Settings) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.3)
        return fake_server.handler(request)

    fake_server.script = []
    run = init(
        "proj",
        url=URL,
        transport=httpx.MockTransport(slow),
        settings=settings,
        system_metrics_interval=None,
        flush_interval=0.01,
    )
    run.log({"loss": 1.0})
    t0 = time.monotonic()
    assert run.flush(timeout=5.0)
    assert time.monotonic() - t0 >= 0.25
    assert run.stats().pending == 0 and len(_points(fake_server)) == 1
    fake_server.down = True
    run.log({"loss": 2.0})
    t0 = time.monotonic()
    assert run.flush(timeout=0.2) is False
    assert time.monotonic() - t0 < 1.0
    run.finish(timeout=0.1)


def test_invalid_calls_never_raise_and_are_counted(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings)
    run.log({"loss": "high"})
    run.log({1: 0.5})  # type: ignore[dict-item]
    run.log({"loss": 0.5}, step=-1)
    run.log(None)  # type: ignore[arg-type]
    run.log({"loss": float("nan")})  # kept: a NaN loss is worth seeing
    assert run.flush(timeout=5.0)
    assert run.stats().dropped == {"invalid": 4}
    assert len(_points(fake_server)) == 1
    run.finish(timeout=5.0)


def test_context_manager_marks_failed_on_exception(fake_server, settings: Settings) -> None:
    with pytest.raises(RuntimeError), _run(fake_server, settings) as run:
        run.log_summary(best=0.9)
        run.add_tags("a", "b")
        raise RuntimeError("boom")
    updates = [b for _, p, b in fake_server.requests if p.endswith("/run-updates")]
    assert updates[-1]["status"] == "failed" and updates[-1]["ended_at"] is not None
    assert updates[-1]["summary"] == {"best": 0.9}
    creates = [b for _, p, b in fake_server.requests if p.endswith("/runs")]
    assert creates[-1]["tags"] == ["a", "b"]


def test_log_hot_path_is_microseconds(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings, flush_interval=60.0, max_queue=100_000)
    metrics = {f"m{i}": float(i) for i in range(10)}
    times = []
    for step in range(5000):
        t0 = time.perf_counter_ns()
        run.log(metrics, step=step)
        times.append(time.perf_counter_ns() - t0)
    times.sort()
    p50, p99 = times[len(times) // 2] / 1e3, times[int(len(times) * 0.99)] / 1e3
    assert p50 < 20 and p99 < 50, f"run.log p50 {p50:.1f} µs, p99 {p99:.1f} µs"
    assert run.finish(timeout=10.0)


def test_spool_is_replayed_by_a_later_process(fake_server, settings: Settings) -> None:
    fake_server.down = True
    run = _run(fake_server, settings)
    run.log({"loss": 0.25}, step=7)
    assert run.finish(timeout=0.2) is False  # server down: left in the spool file
    spool_dir = next((settings.data_dir / "spool").iterdir())
    assert len(FileSpool(spool_dir)) >= 1
    fake_server.down = False
    later = _run(fake_server, settings)  # a new SDK object finds and replays the files
    assert later.flush(timeout=5.0)
    deadline = time.monotonic() + 5.0
    while len(FileSpool(spool_dir)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ("loss", 7, 0.25) in _points(fake_server)
    later.finish(timeout=5.0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_fork_gives_the_child_a_fresh_queue_and_thread(fake_server, settings: Settings) -> None:
    run = _run(fake_server, settings, flush_interval=60.0)
    run.log({"parent": 1.0})  # queued in the parent, not yet sent
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            fresh = run.stats().enqueued == 0
            run.log({"child": 2.0})
            ok = run.flush(timeout=5.0)
            child_points = [k for k, _, _ in _points(fake_server)]
            code = 0 if fresh and ok and child_points == ["child"] else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert run.flush(timeout=5.0)
    assert [k for k, _, _ in _points(fake_server)] == ["parent"]
    run.finish(timeout=5.0)


def test_exit_flush_is_bounded_and_spools(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        from driftline.client import init
        run = init("proj", url="http://127.0.0.1:9", system_metrics_interval=None,
                   flush_interval=0.01, backoff_base=0.01)
        for step in range(100):
            run.log({"loss": 1.0}, step=step)
        print("logged", flush=True)
        """
    )
    env = {**os.environ, "DRIFTLINE_DATA_DIR": str(tmp_path)}
    env.pop("DRIFTLINE_URL", None)
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    assert "logged" in out.stdout
    assert elapsed < 5.0 + 8.0  # ATEXIT_TIMEOUT plus interpreter start-up
    spooled = list((tmp_path / "spool").rglob("*.json.gz"))
    assert spooled, "unsent batches should wait in the spool for the next process"


def test_413_splits_the_batch_in_idempotent_halves(fake_server, settings: Settings) -> None:
    def small_server(request: httpx.Request) -> httpx.Response:
        import gzip
        import json

        body = json.loads(gzip.decompress(request.content))
        if len(body.get("points", [])) > 30:
            return httpx.Response(413, json={"error": "payload_too_large", "message": "big"})
        return fake_server.handler(request)

    run = init(
        "proj",
        url=URL,
        transport=httpx.MockTransport(small_server),
        settings=settings,
        system_metrics_interval=None,
        flush_interval=60.0,
    )
    for step in range(100):
        run.log({"loss": float(step)}, step=step)
    assert run.flush(timeout=5.0)
    assert sorted(s for _, s, _ in _points(fake_server)) == list(range(100))
    ids = [b["batch_id"] for b in fake_server.stored_bodies("/run-metrics")]
    assert all(i.count(".") >= 2 for i in ids)  # 100 -> 50 -> 25 points per request
    s = run.stats()
    assert s.dropped == {} and s.accepted >= 100
    run.finish(timeout=5.0)
