"""Default monitors for a new model, from a column mapping or a reference profile."""

from __future__ import annotations

import numpy as np

from driftline.alerts import AlertingConfig, default_monitors, dump_config, load_config
from driftline.profile import profile
from driftline.schema import ColumnSpec, Schema


def test_from_a_mapping() -> None:
    specs = default_monitors(
        "loans",
        "Scorer V2",
        {"income": "numerical", "Income": "categorical", "notes": "text", "ok": "boolean"},
        has_labels=True,
        task="classification",
    )
    names = [s.name for s in specs]
    assert names == [
        "scorer_v2.drift.income",
        "scorer_v2.drift.income-2",
        "scorer_v2.drift.ok",
        "scorer_v2.dataset-drift",
        "scorer_v2.missing-rate",
        "scorer_v2.volume",
        "scorer_v2.error-rate",
        "scorer_v2.latency-p99",
        "scorer_v2.accuracy",
    ]
    drift = specs[0]
    assert drift.signal.kind == "drift" and drift.signal.column == "income"
    assert drift.signal.method == "jensen_shannon" and drift.for_seconds == 0
    assert drift.condition.kind == "threshold" and drift.condition.value == 0.1
    assert drift.window.size == 86400 and drift.severity == "warning"
    assert drift.min_samples == 1000
    assert specs[1].signal.column == "Income" and specs[1].labels == {"column": "Income"}
    by = {s.name.split(".", 1)[1]: s for s in specs}
    assert by["volume"].min_samples == 0 and by["volume"].condition.kind == "anomaly"
    assert by["error-rate"].severity == "critical" and by["error-rate"].window.size == 3600
    # a p99 of a few hundred requests is one or two slow ones: judged from 1,000 on
    assert by["latency-p99"].min_samples == 1000 and by["latency-p99"].window.size == 3600
    acc = by["accuracy"]
    assert acc.min_label_coverage == 0.5 and acc.baseline.kind == "reference"
    assert acc.condition.kind == "change" and acc.condition.direction == "down"
    assert all(s.project == "loans" and s.model == "Scorer V2" for s in specs)
    # they validate as one config and round-trip through YAML
    cfg = AlertingConfig(monitors=specs)
    assert load_config("d.yaml", text=dump_config(cfg)) == cfg


def test_no_labels_no_performance_and_regression() -> None:
    names = [s.name for s in default_monitors("p", "m", {"x": "numerical"}, has_labels=False)]
    assert not any(n.endswith(("accuracy", "mae")) for n in names)
    reg = default_monitors("p", "m", {}, has_labels=True, task="regression", version="v1")
    assert reg[-1].name == "m.mae" and reg[-1].signal.metric == "mean_absolute_error"
    assert reg[-1].condition.direction == "up" and all(s.version == "v1" for s in reg)


def test_from_a_reference_profile(rng: np.random.Generator) -> None:
    n = 200
    schema = Schema(
        (
            ColumnSpec("age", "feature", "numerical"),
            ColumnSpec("city", "feature", "categorical"),
            ColumnSpec("score", "score", "numerical"),
            ColumnSpec("pred", "prediction", "boolean"),
            ColumnSpec("label", "target", "boolean"),
        )
    )
    frame = {
        "age": rng.normal(40, 10, n),
        "city": rng.choice(["a", "b"], n).tolist(),
        "score": rng.uniform(0, 1, n),
        "pred": (rng.uniform(0, 1, n) > 0.5).tolist(),
        "label": (rng.uniform(0, 1, n) > 0.5).tolist(),
    }
    ref = profile(frame, schema)
    names = [s.name for s in default_monitors("p", "m", ref, has_labels=True)]
    assert names[:4] == ["m.drift.age", "m.drift.city", "m.drift.score", "m.drift.pred"]
    assert names[-2:] == ["m.accuracy", "m.roc_auc"]  # classification inferred, scores exist
