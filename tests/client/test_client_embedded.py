"""With no server configured the SDK writes to the embedded store in process."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.client import ModelMonitor, init
from driftline.config import load_settings
from driftline.errors import InputError


def test_embedded_run_and_monitor(tmp_path: Path) -> None:
    from driftline.store import QueryService, Store

    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path)})
    assert settings.server_url is None
    run = init("lab", settings=settings, system_metrics_interval=None, flush_interval=0.02)
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)})
    assert run.finish(timeout=20.0)
    monitor = ModelMonitor("shop", "ranker", "v1", settings=settings, flush_interval=0.02)
    monitor.log_predictions({"x": [1.0, 2.0]}, [0, 1])
    assert monitor.flush(20.0)
    monitor.close()
    assert (tmp_path / "driftline.db").exists()
    store = Store.open(settings.database_url)
    try:
        q = QueryService(store)
        detail = q.get_run(run.run_id)
        assert detail["status"] == "finished" and detail["metrics"][0]["n_points"] == 10
        assert q.window_series("shop", "ranker")[0].n_predictions == 2
    finally:
        store.close()


def test_embedded_rejects_invalid_payload_without_raising(tmp_path: Path) -> None:
    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path)})
    monitor = ModelMonitor("shop", "ranker", "v1", settings=settings, flush_interval=0.02)
    monitor.log_predictions({"x" * 300: [1.0]}, [0])  # the feature name fails wire validation
    assert monitor.flush(20.0)
    assert monitor.stats().dropped == {"rejected": 1}
    monitor.close()


def test_bad_names_raise_at_creation(tmp_path: Path) -> None:
    settings = load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path)})
    with pytest.raises(InputError, match="model: expected a name"):
        ModelMonitor("shop", "bad model", "v1", settings=settings)
    with pytest.raises(InputError, match="project"):
        init("", settings=settings)
    with pytest.raises(InputError, match="url"):
        init("lab", url="ftp://x", settings=settings)


@pytest.mark.parametrize(
    "name", ["ranker", "a.b:c/d@e+f=g-h_i", "9lives", "x" * 200, "x" * 201, "my model", "-a", ""]
)
def test_name_rules_match_the_wire_payloads(name: str) -> None:
    # the SDK's early check (no pydantic) and the payload model accept the same names
    import pydantic

    from driftline import wire

    try:
        wire.check_name("model", name)
        sdk_ok = True
    except ValueError:
        sdk_ok = False
    try:
        wire.LabelsBatch(batch_id="b", project="p", model=name, ids=[], labels=[])
        wire_ok = True
    except pydantic.ValidationError:
        wire_ok = False
    assert sdk_ok == wire_ok
