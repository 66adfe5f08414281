"""A seeded demo store for the dashboard: drifting hourly windows, labels, events and a run.

Used by the dashboard's tests, its benchmark and the screenshot script. The
names include markup (a feature called ``<script>alert(1)</script>``) so that
every page shows it as text.

Example
-------
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> summary = seed_demo(store, now=1_800_000_000.0, hours=6, n_features=3)
>>> summary["project"], summary["hours"]
('shop', 6)
>>> store.close()
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["MALICIOUS_NAME", "seed_demo", "seed_run"]

MALICIOUS_NAME = "<script>alert(1)</script>"
"""A feature and run name that must render as text."""


def seed_demo(
    store: Any,
    *,
    now: float,
    hours: int = 14 * 24,
    n_features: int = 8,
    rows_per_hour: int = 60,
    drift_after: float = 0.6,
    seed: int = 0,
    project: str = "shop",
    model: str = "ranker",
    with_run: bool = True,
    reference_rows: int | None = None,
) -> dict[str, Any]:
    """Fill ``store`` with ``hours`` hourly windows of ``model`` ending at ``now``.

    Features ``f0..`` are normal; from ``drift_after`` of the way on, ``f0`` and
    the markup-named feature shift. Labels arrive for most windows, a business
    event (``click``) for some predictions; latency and a few errors are sent.
    Version ``v1`` runs first, ``v2`` takes over for the last 15 % of the hours; the
    first batch of each version (``reference_rows``, default ``5 * rows_per_hour``,
    at least 300, undrifted) becomes its reference.

    Returns
    -------
    dict
        ``project``, ``model``, ``hours``, ``start``, ``features``, ``run_id``.
    """
    from driftline.store import IngestService
    from driftline.store.payloads import BusinessEvent, EventsBatch, LabelsBatch, PredictionsBatch

    rng = np.random.default_rng(seed)
    ingest = IngestService(store, clock=lambda: now)
    names = [MALICIOUS_NAME] + [f"f{i}" for i in range(max(0, n_features - 2))] + ["city"]
    start = math.floor(now / 3600) * 3600 - hours * 3600
    cities = np.array(["Oslo", "Lima", "Pune", "Kyiv"])
    n_reference = reference_rows or max(rows_per_hour * 5, 300)
    v2_from = int(hours * 0.85)

    def batch(i: int, t: float, n: int, reference: bool = False) -> PredictionsBatch:
        late = i >= drift_after * hours and not reference  # a reference is undrifted data
        shift = 1.5 * (i - drift_after * hours) / hours + 0.8 if late else 0.0
        features: dict[str, list[Any]] = {}
        for name in names:
            if name == "city":
                p = [0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.2, 0.2, 0.2, 0.4]
                features[name] = cities[rng.choice(4, size=n, p=p)].tolist()
            else:
                moved = shift if name in (MALICIOUS_NAME, "f0") else 0.0
                x = rng.normal(moved, 1.0, size=n)
                x[rng.random(n) < 0.02] = np.nan
                features[name] = [None if math.isnan(v) else float(v) for v in x]
        scores = rng.random(n)
        return PredictionsBatch(
            batch_id=f"p-{model}-{i}",
            project=project,
            model=model,
            version="v2" if i >= v2_from else "v1",
            ids=[f"{model}-{i}-{j}" for j in range(n)],
            timestamps=(t + rng.random(n) * 3500).tolist(),
            features=features,
            predictions=(scores > 0.5).astype(int).tolist(),
            scores=scores.tolist(),
            latency_ms=rng.gamma(2.0, 6.0 + 4.0 * (shift > 0), size=n).tolist(),
            errors=[("timeout" if e else None) for e in (rng.random(n) < 0.01)],
        )

    ingest.ingest(batch(-1, start - 3600, n_reference))
    for i in range(hours):
        t = start + i * 3600
        first_of_v2 = i == v2_from
        b = batch(i, t, n_reference if first_of_v2 else rows_per_hour, reference=first_of_v2)
        ingest.ingest(b)
        if i < hours - 6:  # labels lag the last hours
            keep = [k for k in range(len(b.ids)) if rng.random() < 0.7]
            right = rng.random(len(keep)) < (0.85 if i < drift_after * hours else 0.7)
            labels = [
                b.predictions[k] if ok else 1 - b.predictions[k]
                for k, ok in zip(keep, right, strict=True)
            ]
            ingest.ingest(
                LabelsBatch(
                    batch_id=f"l-{model}-{i}",
                    project=project,
                    model=model,
                    ids=[b.ids[k] for k in keep],
                    labels=labels,
                )
            )
        clicks = [k for k in range(len(b.ids)) if rng.random() < 0.12]
        if clicks:
            ingest.ingest(
                EventsBatch(
                    batch_id=f"e-{model}-{i}",
                    project=project,
                    model=model,
                    events=[
                        BusinessEvent(
                            name="click", prediction_id=b.ids[k], timestamp=b.timestamps[k]
                        )
                        for k in clicks
                    ],
                )
            )
    run_id = seed_run(store, now=now, project=project, seed=seed) if with_run else None
    return {
        "project": project,
        "model": model,
        "hours": hours,
        "start": float(start),
        "features": names,
        "run_id": run_id,
    }


def seed_run(
    store: Any, *, now: float, project: str = "shop", seed: int = 0, steps: int = 400
) -> str:
    """Two training runs with loss, accuracy and learning rate, detector events and checkpoints.

    Returns the id of the first run (the one with events).
    """
    from driftline.store import IngestService
    from driftline.store.payloads import (
        MetricPoint,
        RunCreate,
        RunEvent,
        RunEventsBatch,
        RunMetricsBatch,
        RunUpdate,
    )

    rng = np.random.default_rng(seed + 1)
    ingest = IngestService(store, clock=lambda: now)
    first = ""
    for r, (name, lr) in enumerate([(MALICIOUS_NAME, 0.01), ("baseline", 0.003)]):
        run_id = f"run-{r}"
        first = first or run_id
        t0 = now - 7200 + r * 60
        ingest.ingest(
            RunCreate(
                batch_id=f"rc-{r}",
                project=project,
                run_id=run_id,
                name=name,
                config={"lr": lr, "batch_size": 64, "optimizer": "adam"},
                tags=["demo"],
                started_at=t0,
            )
        )
        step = np.arange(steps)
        loss = 2.0 * np.exp(-step / (80 + 60 * r)) + 0.2 + rng.normal(0, 0.03, steps)
        if r == 0:
            loss[250:] += np.linspace(0, 0.4, steps - 250)  # overfitting
            loss[180] = 6.0  # a spike the downsampling must keep
        acc = 1 - loss / 2.5
        points = []
        for s in range(steps):
            ts = t0 + s * 5.0
            cur_lr = lr * (0.5 if r == 0 and s >= 260 else 1.0)
            for key, value in (("loss", loss[s]), ("accuracy", acc[s]), ("lr", cur_lr)):
                points.append(MetricPoint(key=key, step=s, value=float(value), timestamp=ts))
        ingest.ingest(
            RunMetricsBatch(batch_id=f"rm-{r}", project=project, run_id=run_id, points=points)
        )
        if r == 0:
            events = [
                {"kind": "checkpoint_saved", "step": 100, "message": "checkpoint at step 100",
                 "evidence": {"path": "ckpt-100.pt", "loss": float(loss[100])}, "timestamp": t0 + 500},
                {"kind": "loss_spike", "step": 180, "message": "loss jumped to 6.0",
                 "evidence": {"value": 6.0}, "timestamp": t0 + 900},
                {"kind": "overfitting", "step": 255, "message": "validation gap above 0.2",
                 "evidence": {"gap": 0.24}, "timestamp": t0 + 1275},
                {"kind": "guard_lr_reduced", "step": 260, "message": "learning rate halved",
                 "evidence": {"lr": lr / 2}, "timestamp": t0 + 1300},
                {"kind": "checkpoint_restored", "step": 300, "message": "restored step 100",
                 "evidence": {"path": "ckpt-100.pt"}, "timestamp": t0 + 1500},
            ]  # fmt: skip
            ingest.ingest(
                RunEventsBatch(
                    batch_id=f"re-{r}",
                    project=project,
                    run_id=run_id,
                    events=[RunEvent.model_validate(e) for e in events],
                )
            )
        ingest.ingest(
            RunUpdate(
                batch_id=f"ru-{r}",
                project=project,
                run_id=run_id,
                status="finished",
                summary={"loss": float(loss[-1]), "accuracy": float(acc[-1])},
                ended_at=t0 + steps * 5.0,
            )
        )
    return first
