"""A seeded demo store for the dashboard: drifting hourly windows, labels, events and a run.

Used by the dashboard's tests, its benchmark and the screenshot script. The data
goes in through the store's :class:`~driftline.store.IngestService`, as the
ingest API would send it. The names include markup (a feature called
``<script>alert(1)</script>``) so that every page shows it as text.

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from driftline.store import IngestService, Store
    from driftline.wire import EventsBatch, LabelsBatch, PredictionsBatch, RunEventsBatch

__all__ = ["MALICIOUS_NAME", "seed_demo", "seed_run"]

MALICIOUS_NAME = "<script>alert(1)</script>"
"""A feature and run name that must render as text."""

_CITIES = np.array(["Oslo", "Lima", "Pune", "Kyiv"])
_V2_SHARE = 0.85
"""Version ``v2`` takes over after this share of the hours."""
_LABEL_LAG_HOURS = 6
"""The last hours get no labels (labels arrive late)."""
_CLICK_RATE = 0.12
"""Share of predictions followed by a ``click`` event."""


@dataclass(frozen=True)
class _Traffic:
    """What every hour of :func:`seed_demo` shares."""

    project: str
    model: str
    hours: int
    drift_after: float
    names: list[str]
    v2_from: int


def seed_demo(
    store: Store,
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
        ``project``, ``model``, ``hours``, ``start``, ``features``, ``run_id``
        (``None`` without ``with_run``).

    Example
    -------
    >>> from driftline.store import Store
    >>> store = Store.open("sqlite://")
    >>> info = seed_demo(store, now=1_800_000_000.0, hours=3, n_features=2, with_run=False)
    >>> info["features"], info["run_id"]
    (['<script>alert(1)</script>', 'city'], None)
    >>> store.close()
    """
    from driftline.store import IngestService

    rng = np.random.default_rng(seed)
    ingest = IngestService(store, clock=lambda: now)
    names = [MALICIOUS_NAME] + [f"f{i}" for i in range(max(0, n_features - 2))] + ["city"]
    traffic = _Traffic(project, model, hours, drift_after, names, int(hours * _V2_SHARE))
    start = math.floor(now / 3600) * 3600 - hours * 3600
    n_reference = reference_rows or max(rows_per_hour * 5, 300)
    ingest.ingest(_predictions(rng, traffic, -1, start - 3600, n_reference))
    for i in range(hours):
        _seed_hour(ingest, rng, traffic, i, start + i * 3600, rows_per_hour, n_reference)
    run_id = seed_run(store, now=now, project=project, seed=seed) if with_run else None
    return {
        "project": project,
        "model": model,
        "hours": hours,
        "start": float(start),
        "features": names,
        "run_id": run_id,
    }


def _seed_hour(
    ingest: IngestService,
    rng: np.random.Generator,
    traffic: _Traffic,
    i: int,
    t: float,
    rows: int,
    n_reference: int,
) -> None:
    """Hour ``i``: its predictions, then its labels (unless late), then its clicks."""
    first_of_v2 = i == traffic.v2_from
    b = _predictions(rng, traffic, i, t, n_reference if first_of_v2 else rows, first_of_v2)
    ingest.ingest(b)
    if i < traffic.hours - _LABEL_LAG_HOURS:
        ingest.ingest(_labels(rng, traffic, i, b))
    clicks = _clicks(rng, traffic, i, b)
    if clicks is not None:
        ingest.ingest(clicks)


def _predictions(
    rng: np.random.Generator, traffic: _Traffic, i: int, t: float, n: int, reference: bool = False
) -> PredictionsBatch:
    """``n`` predictions of hour ``i`` from ``t`` on; drifted late in the hours unless ``reference``."""
    from driftline.wire import PredictionsBatch

    late = i >= traffic.drift_after * traffic.hours and not reference  # a reference is undrifted
    shift = 1.5 * (i - traffic.drift_after * traffic.hours) / traffic.hours + 0.8 if late else 0.0
    features: dict[str, list[Any]] = {}
    for name in traffic.names:
        if name == "city":
            p = [0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.2, 0.2, 0.2, 0.4]
            features[name] = _CITIES[rng.choice(4, size=n, p=p)].tolist()
        else:
            moved = shift if name in (MALICIOUS_NAME, "f0") else 0.0
            x = rng.normal(moved, 1.0, size=n)
            x[rng.random(n) < 0.02] = np.nan
            features[name] = [None if math.isnan(v) else float(v) for v in x]
    scores = rng.random(n)
    model = traffic.model
    return PredictionsBatch(
        batch_id=f"p-{model}-{i}",
        project=traffic.project,
        model=model,
        version="v2" if i >= traffic.v2_from else "v1",
        ids=[f"{model}-{i}-{j}" for j in range(n)],
        timestamps=(t + rng.random(n) * 3500).tolist(),
        features=features,
        predictions=(scores > 0.5).astype(int).tolist(),
        scores=scores.tolist(),
        latency_ms=rng.gamma(2.0, 6.0 + 4.0 * (shift > 0), size=n).tolist(),
        errors=[("timeout" if e else None) for e in (rng.random(n) < 0.01)],
    )


def _labels(
    rng: np.random.Generator, traffic: _Traffic, i: int, b: PredictionsBatch
) -> LabelsBatch:
    """Labels for about 70 % of ``b``; fewer are right once the drift starts."""
    from driftline.wire import LabelsBatch

    keep = [k for k in range(len(b.ids)) if rng.random() < 0.7]
    right = rng.random(len(keep)) < (0.85 if i < traffic.drift_after * traffic.hours else 0.7)
    predictions = b.predictions
    labels = [
        predictions[k] if ok else 1 - predictions[k] for k, ok in zip(keep, right, strict=True)
    ]
    return LabelsBatch(
        batch_id=f"l-{traffic.model}-{i}",
        project=traffic.project,
        model=traffic.model,
        ids=[b.ids[k] for k in keep],
        labels=labels,
    )


def _clicks(
    rng: np.random.Generator, traffic: _Traffic, i: int, b: PredictionsBatch
) -> EventsBatch | None:
    """``click`` events for some predictions of ``b`` (``None`` when none clicked)."""
    from driftline.wire import BusinessEvent, EventsBatch

    clicks = [k for k in range(len(b.ids)) if rng.random() < _CLICK_RATE]
    if not clicks:
        return None
    return EventsBatch(
        batch_id=f"e-{traffic.model}-{i}",
        project=traffic.project,
        model=traffic.model,
        events=[
            BusinessEvent(name="click", prediction_id=b.ids[k], timestamp=b.timestamps[k])
            for k in clicks
        ],
    )


def seed_run(
    store: Store, *, now: float, project: str = "shop", seed: int = 0, steps: int = 400
) -> str:
    """Two training runs with loss, accuracy and learning rate, detector events and checkpoints.

    Returns the id of the first run (the one with events).

    Example
    -------
    >>> from driftline.store import QueryService, Store
    >>> store = Store.open("sqlite://")
    >>> seed_run(store, now=1_800_000_000.0, steps=300)
    'run-0'
    >>> [r["status"] for r in QueryService(store).list_runs("shop")]
    ['finished', 'finished']
    >>> store.close()
    """
    from driftline.store import IngestService

    rng = np.random.default_rng(seed + 1)
    ingest = IngestService(store, clock=lambda: now)
    for r, (name, lr) in enumerate([(MALICIOUS_NAME, 0.01), ("baseline", 0.003)]):
        _seed_one_run(ingest, rng, project, r, name, lr, t0=now - 7200 + r * 60, steps=steps)
    return "run-0"


def _seed_one_run(
    ingest: IngestService,
    rng: np.random.Generator,
    project: str,
    r: int,
    name: str,
    lr: float,
    *,
    t0: float,
    steps: int,
) -> None:
    """Run ``run-<r>``: created at ``t0``, ``steps`` steps of metrics, events (run 0), finished."""
    from driftline.wire import MetricPoint, RunCreate, RunMetricsBatch, RunUpdate

    run_id = f"run-{r}"
    config = {"lr": lr, "batch_size": 64, "optimizer": "adam"}
    ingest.ingest(
        RunCreate(
            batch_id=f"rc-{r}",
            project=project,
            run_id=run_id,
            name=name,
            config=config,
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
        ingest.ingest(_guard_events(f"re-{r}", project, run_id, t0, float(loss[100]), lr))
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


def _guard_events(
    batch_id: str, project: str, run_id: str, t0: float, loss_at_100: float, lr: float
) -> RunEventsBatch:
    """A checkpoint, a loss spike, overfitting, a lowered learning rate and a restore."""
    from driftline.wire import RunEvent, RunEventsBatch

    events = [
        {"kind": "checkpoint_saved", "step": 100, "message": "checkpoint at step 100",
         "evidence": {"path": "ckpt-100.pt", "loss": loss_at_100}, "timestamp": t0 + 500},
        {"kind": "loss_spike", "step": 180, "message": "loss jumped to 6.0",
         "evidence": {"value": 6.0}, "timestamp": t0 + 900},
        {"kind": "overfitting", "step": 255, "message": "validation gap above 0.2",
         "evidence": {"gap": 0.24}, "timestamp": t0 + 1275},
        {"kind": "guard_lr_reduced", "step": 260, "message": "learning rate halved",
         "evidence": {"lr": lr / 2}, "timestamp": t0 + 1300},
        {"kind": "checkpoint_restored", "step": 300, "message": "restored step 100",
         "evidence": {"path": "ckpt-100.pt"}, "timestamp": t0 + 1500},
    ]  # fmt: skip
    return RunEventsBatch(
        batch_id=batch_id,
        project=project,
        run_id=run_id,
        events=[RunEvent.model_validate(e) for e in events],
    )
