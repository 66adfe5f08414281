"""The reference computation of a window series, straight from the bucket profiles.

Test-only: :meth:`driftline.store.QueryService.window_series` reads stored
bucket summaries instead, and the tests check that both agree. Tests get
:func:`summarise_windows` from the ``summarise_windows`` fixture of
``tests/store/conftest.py``.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import datasketches as ds
import sqlalchemy as sa

from driftline.store import LATENCY_QUANTILES, PerformanceCounts, WindowSummary
from driftline.store import tables as t
from driftline.store.windows import merge_bucket_profiles


def _same(value: Any) -> Any:
    return value


def summarise_windows(  # one piece on purpose: the independent computation checked against
    conn: sa.Connection,
    *,
    model_id: int,
    version_ids: list[int],
    include_unattributed_events: bool,
    bucket_seconds: int,
    window_seconds: int,
    start: float | None,
    end: float | None,
    source_of: Callable[[int], str | None],
    align: float = 0.0,
) -> list[WindowSummary]:
    """Merge the buckets of ``version_ids`` into windows of ``window_seconds``.

    Windows start at ``align + k * window_seconds`` (``align`` in ``[0, window_seconds)``).

    The reference computation, from the bucket profiles themselves (about 4 ms
    per bucket); :meth:`QueryService.window_series` reads stored bucket
    summaries instead (:mod:`driftline.store.windows`) and must give the same
    values. ``drift`` is left empty; ``source_of(version_id)`` names the
    reference source of the version whose buckets make a window's profile.
    """

    def window_of(bucket: float) -> float:
        return float(math.floor((bucket - align) / window_seconds) * window_seconds + align)

    def in_range(table: sa.Table) -> list[Any]:
        cond = [table.c.bucket_seconds == bucket_seconds]
        if start is not None:
            cond.append(table.c.bucket_start >= window_of(start))
        if end is not None:
            cond.append(table.c.bucket_start < end)
        return cond

    wp, perf, we = t.window_profiles, t.window_performance, t.window_events
    prof_rows = conn.execute(
        sa.select(
            wp.c.bucket_start,
            wp.c.n_rows,
            wp.c.n_errors,
            wp.c.profile,
            wp.c.latency,
            wp.c.updated_at,
            wp.c.model_version_id,
        )
        .where(wp.c.model_version_id.in_(version_ids), *in_range(wp))
        .order_by(wp.c.bucket_start, wp.c.model_version_id.desc())
    ).all()
    perf_rows = conn.execute(
        sa.select(perf.c.bucket_start, perf.c.state).where(
            perf.c.model_version_id.in_(version_ids), *in_range(perf)
        )
    ).all()
    keys = list(version_ids) + ([0] if include_unattributed_events else [])
    event_rows = conn.execute(
        sa.select(we.c.bucket_start, we.c.name, we.c.n, we.c.value_sum).where(
            we.c.model_id == model_id, we.c.version_key.in_(keys), *in_range(we)
        )
    ).all()

    n_rows: dict[float, int] = defaultdict(int)
    n_errors: dict[float, int] = defaultdict(int)
    profiles: dict[float, list[tuple[int, bytes]]] = defaultdict(list)
    latencies: dict[float, Any] = {}
    for r in prof_rows:
        w = window_of(r.bucket_start)
        n_rows[w] += r.n_rows
        n_errors[w] += r.n_errors
        if r.profile is not None:
            profiles[w].append((r.model_version_id, r.profile))
        if r.latency is not None:
            sketch = ds.kll_doubles_sketch.deserialize(r.latency)
            if w in latencies:
                latencies[w].merge(sketch)
            else:
                latencies[w] = sketch
    counts: dict[float, PerformanceCounts] = {}
    for r in perf_rows:  # type: ignore[assignment]
        w = window_of(r.bucket_start)
        c = PerformanceCounts.from_dict(r.state)
        counts[w] = counts[w].merge(c) if w in counts else c
    events: dict[float, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for r in event_rows:  # type: ignore[assignment]
        w = window_of(r.bucket_start)
        events[w][r.name][0] += r.n
        events[w][r.name][1] += r.value_sum

    out = []
    for w in sorted(set(n_rows) | set(counts) | set(events)):
        if end is not None and w >= end:
            continue
        n = n_rows.get(w, 0)
        parts = profiles.get(w, [])
        prof = merge_bucket_profiles(raw for _, raw in parts)
        base = parts[0][0] if parts else None
        missing: dict[str, float] = {}
        if prof is not None:
            for name, col in prof.columns.items():
                rate = getattr(col, "missing_rate", None)
                if rate is not None and not math.isnan(rate):
                    missing[name] = float(rate)
        c = counts.get(w, PerformanceCounts())
        lat = latencies.get(w)
        q: list[float | None] = [None, None, None]
        if lat is not None and not lat.is_empty():
            q = [float(x) for x in lat.get_quantiles(list(LATENCY_QUANTILES))]
        out.append(
            WindowSummary(
                start=w,
                end=w + window_seconds,
                n_predictions=n,
                missing_rates=missing,
                reference_source=source_of(base) if base is not None else None,
                n_labels=c.n,
                label_coverage=(c.n / n) if n else None,
                label_delay_mean_s=c.mean_delay,
                label_delay_max_s=c.delay_max if c.n else None,
                performance=c.metrics(),
                latency_p50_ms=q[0],
                latency_p95_ms=q[1],
                latency_p99_ms=q[2],
                error_rate=(n_errors.get(w, 0) / n) if n else None,
                events={
                    name: {
                        "count": int(v[0]),
                        "value_sum": float(v[1]),
                        "rate": (v[0] / n) if n else None,
                    }
                    for name, v in sorted(events.get(w, {}).items())
                },
                profile_loader=functools.partial(_same, prof),
            )
        )
    return out
