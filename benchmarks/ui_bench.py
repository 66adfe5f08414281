"""Dashboard load time: the model page over a year of hourly windows and 50 features.

Builds the store of ``store_query_bench.py`` (one model version, a reference,
``--hours`` hourly bucket profiles of ``--features`` numerical columns with
their stored drift rows), then, through the real app in process (httpx's ASGI
transport, no socket), times what a browser asks for when it opens the model
page with the range "last year" and 1-hour windows:

* ``page_html``: ``GET /projects/bench/models/m?range=365d&window=1h``;
* ``series``: the chart lines (volume, quality, performance, latency, events),
  downsampled to 600 points per line;
* ``heatmap``: the drift heat map, 50 columns x 8,760 windows, merged to 600;
* ``feature``: the feature page's JSON (distributions, statistics over time);
* ``estimated``: the estimated-accuracy line (reads 200 window profiles);
* ``overview``: the overview's health of every model;
* ``page_total``: the page and its two chart requests, one after the other
  (a browser sends the two in parallel, so it is an upper bound).

Each is measured cold (first request of a fresh app and query service) and
warm (median of ``--repeat`` further requests), for the range "last year" and
then, on a fresh app, "last 7 days" (the page's default). Run from the repository root::

    .venv/bin/python benchmarks/ui_bench.py [--hours 8760] [--features 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from store_query_bench import T0, build

from driftline.store import Store
from driftline.ui import create_dashboard_app


def _requests(hours: int, days: int) -> dict[str, str]:
    start = T0 + 3600.0 * hours - days * 86400
    end = T0 + 3600.0 * hours
    q = f"start={start}&end={end}&window_seconds=3600"
    base = "/api/v1/views/projects/bench/models/m"
    return {
        "page_html": f"/projects/bench/models/m?range={days}d&window=1h",
        "series": f"{base}/series?{q}",
        "heatmap": f"{base}/heatmap?{q}",
        "feature": f"{base}/features/f0?{q}",
        "estimated": f"{base}/estimated?{q}",
        "overview": "/api/v1/views/overview",
    }


async def _measure(url: str, hours: int, repeat: int, days: int) -> dict[str, Any]:
    store = Store.open(url)
    now = T0 + 3600.0 * hours
    app = create_dashboard_app(store, clock=lambda: now)
    out: dict[str, Any] = {"cold_ms": {}, "warm_p50_ms": {}, "bytes": {}}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, path in _requests(hours, days).items():
            t0 = time.perf_counter()
            resp = await client.get(path)
            out["cold_ms"][name] = round((time.perf_counter() - t0) * 1000, 1)
            resp.raise_for_status()
            out["bytes"][name] = len(resp.content)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                (await client.get(path)).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            out["warm_p50_ms"][name] = round(statistics.median(times), 1)
    for key in ("cold_ms", "warm_p50_ms"):
        d = out[key]
        d["page_total"] = round(d["page_html"] + d["series"] + d["heatmap"], 1)
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--hours", type=int, default=8760, help="hourly windows (default a year)")
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--rows", type=int, default=200, help="rows per distinct bucket profile")
    ap.add_argument("--distinct", type=int, default=24, help="distinct bucket profiles")
    ap.add_argument("--repeat", type=int, default=5, help="warm requests per endpoint")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ui.db'}"
        t0 = time.perf_counter()
        build(url, args.hours, args.distinct, args.rows, args.features, True)
        built = time.perf_counter() - t0
        year = asyncio.run(_measure(url, args.hours, args.repeat, 365))
        week = asyncio.run(_measure(url, args.hours, args.repeat, 7))
    out = {"hours": args.hours, "features": args.features, "build_s": round(built, 1)}
    print(json.dumps({**out, "range_365d": year, "range_7d": week}, indent=2))


if __name__ == "__main__":
    main()
