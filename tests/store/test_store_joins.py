from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from driftline.store import IngestService, QueryService, Store
from driftline.wire import BusinessEvent, EventsBatch, LabelsBatch, PredictionsBatch

HOUR = 3600


def predictions(ids: list[str], ts: np.ndarray, preds: list[Any], **kw: Any) -> PredictionsBatch:
    fields: dict[str, Any] = {
        "batch_id": uuid.uuid4().hex, "project": "shop", "model": "m", "version": "v1",
        "ids": ids, "timestamps": ts.tolist(), "features": {"x": list(range(len(ids)))},
        "predictions": preds,
    }  # fmt: skip
    fields.update(kw)
    return PredictionsBatch(**fields)


def labels(ids: list[str], values: list[Any], ts: list[float] | None = None) -> LabelsBatch:
    return LabelsBatch(
        batch_id=uuid.uuid4().hex, project="shop", model="m", ids=ids, labels=values, timestamps=ts
    )


def test_labels_join_before_and_after_predictions(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    n = 2000
    ids = [f"p{i}" for i in range(n)]
    ts = np.sort(rng.uniform(0, 2 * HOUR, n))
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1).round(6)
    pred = (score > 0.5).astype(int)
    early = rng.random(n) < 0.4  # labels that arrive before their prediction
    late = ~early & (rng.random(n) < 0.7)  # labels after; the rest never arrive
    label_ts = ts + 600.0
    e = np.flatnonzero(early)
    svc.ingest(labels([ids[i] for i in e], y[e].tolist(), label_ts[e].tolist()))
    svc.ingest(predictions(ids, ts, pred.tolist(), scores=score.tolist()))
    lt = np.flatnonzero(late)
    svc.ingest(labels([ids[i] for i in lt], y[lt].tolist(), label_ts[lt].tolist()))
    # a second label for an already labelled id is ignored (the first label wins)
    ack = svc.ingest(labels([ids[e[0]]], [int(1 - y[e[0]])]))
    assert ack.accepted == 0

    windows = QueryService(store).window_series("shop", "m")
    assert len(windows) == 2
    for w in windows:
        in_w = (ts >= w.start) & (ts < w.end)
        got = in_w & (early | late)
        assert w.n_predictions == int(in_w.sum())
        assert w.n_labels == int(got.sum())
        assert w.label_coverage == pytest.approx(got.sum() / in_w.sum())
        assert w.label_delay_mean_s == pytest.approx(600.0)
        perf = w.performance
        assert perf["accuracy"] == pytest.approx(skm.accuracy_score(y[got], pred[got]))
        assert perf["precision"] == pytest.approx(skm.precision_score(y[got], pred[got]))
        assert perf["recall"] == pytest.approx(skm.recall_score(y[got], pred[got]))
        assert perf["f1"] == pytest.approx(skm.f1_score(y[got], pred[got]))
        assert perf["log_loss"] == pytest.approx(skm.log_loss(y[got], score[got]), rel=1e-9)
        # histogram AUC (200 score bins): within the bound the counts state
        assert perf["roc_auc"] == pytest.approx(skm.roc_auc_score(y[got], score[got]), abs=0.01)


def test_regression_and_multiclass_performance(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    n = 500
    ids = [uuid.uuid4().hex for _ in range(n)]
    yt = rng.normal(10, 3, n)
    yp = yt + rng.normal(0.5, 1, n)
    svc.ingest(predictions(ids, rng.uniform(0, HOUR, n), yp.tolist()))
    svc.ingest(labels(ids, yt.tolist()))
    [w] = QueryService(store).window_series("shop", "m")
    assert w.performance["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(yt, yp))
    rmse = np.sqrt(skm.mean_squared_error(yt, yp))
    assert w.performance["root_mean_squared_error"] == pytest.approx(rmse)
    assert w.performance["r2"] == pytest.approx(skm.r2_score(yt, yp))

    classes = np.array(["cat", "dog", "owl"])
    ct = rng.choice(classes, n)
    cp = np.where(rng.random(n) < 0.7, ct, rng.choice(classes, n))
    ids2 = [uuid.uuid4().hex for _ in range(n)]
    svc.ingest(labels(ids2, ct.tolist()))
    svc.ingest(predictions(ids2, rng.uniform(0, HOUR, n), cp.tolist(), model="m", version="v2"))
    [w2] = QueryService(store).window_series("shop", "m", version="v2")
    assert w2.performance["accuracy"] == pytest.approx(skm.accuracy_score(ct, cp))
    assert w2.performance["f1_macro"] == pytest.approx(skm.f1_score(ct, cp, average="macro"))
    assert w2.performance["precision_macro"] == pytest.approx(
        skm.precision_score(ct, cp, average="macro")
    )


def test_business_event_rates(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    n = 400
    ids = [f"p{i}" for i in range(n)]
    ts = np.concatenate([rng.uniform(0, HOUR, n // 2), rng.uniform(HOUR, 2 * HOUR, n // 2)])
    clicked = rng.random(n) < 0.3
    converted = clicked & (rng.random(n) < 0.2)

    def events(which: np.ndarray, name: str, value: float = 1.0) -> list[BusinessEvent]:
        return [
            BusinessEvent(name=name, prediction_id=ids[i], value=value, timestamp=9 * HOUR)
            for i in np.flatnonzero(which)
        ]

    half = np.arange(n) < n // 4  # clicks on these arrive before their predictions
    svc.ingest(
        EventsBatch(
            batch_id="e1", project="shop", model="m", events=events(clicked & half, "click")
        )
    )
    svc.ingest(predictions(ids, ts, [0] * n))
    svc.ingest(
        EventsBatch(
            batch_id="e2", project="shop", model="m",
            events=events(clicked & ~half, "click") + events(converted, "conversion", 25.0)
            + [BusinessEvent(name="visit", timestamp=100.0)],  # tied to no prediction
        )
    )  # fmt: skip
    first, second = QueryService(store).window_series("shop", "m")
    for w, part in ((first, slice(0, n // 2)), (second, slice(n // 2, n))):
        assert w.events["click"]["count"] == int(clicked[part].sum())
        assert w.events["click"]["rate"] == pytest.approx(clicked[part].mean())  # click-through
        assert w.events["conversion"]["count"] == int(converted[part].sum())
        assert w.events["conversion"]["value_sum"] == pytest.approx(25.0 * converted[part].sum())
    # events are counted in the window of their prediction, not of the event time
    assert first.events["visit"]["count"] == 1
    # per version, events tied to no prediction are left out
    [v1, _] = QueryService(store).window_series("shop", "m", version="v1")
    assert (
        "visit" not in v1.events and v1.events["click"]["count"] == first.events["click"]["count"]
    )
    totals = QueryService(store).metric_totals()
    got = {(e["name"]): e["count"] for e in totals["events"]}
    assert got == {"click": int(clicked.sum()), "conversion": int(converted.sum()), "visit": 1}


def test_metric_totals(store: Store, rng: np.random.Generator) -> None:
    svc = IngestService(store)
    ids = [f"p{i}" for i in range(300)]
    svc.ingest(predictions(ids, rng.uniform(0, HOUR, 300), rng.integers(0, 2, 300).tolist()))
    svc.ingest(labels(ids[:120], [1] * 120))
    totals = QueryService(store).metric_totals()
    assert totals["predictions"] == [
        {"project": "shop", "model": "m", "version": "v1", "count": 300}
    ]
    assert totals["labels"] == [{"project": "shop", "model": "m", "version": "v1", "count": 120}]
    drift = {d["column"]: d for d in totals["drift"]}
    assert set(drift) == {"x", "prediction"}
    assert all(
        d["status"] in ("drift", "no_drift", "insufficient_data", "not_computable")
        for d in drift.values()
    )
