"""End to end: an alert's signed webhook stops a real PyTorch training loop watched by a guard."""

from __future__ import annotations

import time
from typing import Any

import pytest

from driftline.alerts import Alert, AlertState, Notification
from driftline.alerts.channels import NetworkPolicy, WebhookChannel, WebhookConfig
from driftline.client import init
from driftline.config import load_settings
from driftline.server import create_app
from driftline.store import QueryService
from driftline.training import Guard, NonFinite, Rule

from .conftest import AppTransport

torch = pytest.importorskip("torch")


def test_signed_webhook_stops_a_torch_training_loop(store: Any, tmp_path) -> None:
    from driftline.integrations.torch import watch

    app = create_app(store, auth_required=False, action_secret="k3y")
    transport = AppTransport(app)
    run = init("lab", name="resnet", url="http://app", transport=transport,
               settings=load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path)}),
               system_metrics_interval=None, flush_interval=0.02)  # fmt: skip
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    guard = Guard([Rule(NonFinite(), "stop")], run=run)
    watcher = watch(model, opt, run, guard=guard, sync_every=1, per_layer_every=None)
    x, y = torch.randn(32, 4), torch.randn(32, 1)

    def train_step() -> None:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        watcher.step(loss)
        time.sleep(0.005)  # a (very) small model's step takes some time too

    for _ in range(5):
        train_step()
    assert not watcher.should_stop
    assert run.flush(20.0)  # the run exists on the server before the alert names it

    now = time.time()
    alert = Alert(
        fingerprint="fp-1", labels={"alertname": "loss_high", "project": "lab", "run": "resnet"},
        state=AlertState.FIRING, started_at=now - 60, updated_at=now, fired_at=now - 30,
        value=3.1, reason="loss 3.1 > 2",
    )  # fmt: skip
    notification = Notification(
        id="n-1", receiver="trainer", group_key="{}", group_labels={}, status="firing",
        alerts=(alert,), created_at=now,
    )  # fmt: skip
    config = WebhookConfig(url="http://127.0.0.1/api/v1/actions/stop-runs", secret_env="KEY")
    hook = WebhookChannel("trainer/webhook/0", config, NetworkPolicy(allow=["127.0.0.1/32"]),
                          {"KEY": "k3y"}, transport=AppTransport(app))  # fmt: skip
    hook.send(notification)

    steps_after, deadline = 0, time.monotonic() + 15.0
    while not watcher.should_stop and time.monotonic() < deadline:
        train_step()
        steps_after += 1
    assert watcher.should_stop and guard.stopped and run.stop_requested
    assert steps_after < 200, steps_after  # a few flush intervals of 20 ms
    assert run.finish(timeout=20.0)
    transport.close()

    detail = QueryService(store).get_run(run.run_id)
    assert detail["status"] == "finished" and detail["stop_requested_at"] is not None
    reason = "stop requested from alert 'loss_high' (receiver 'trainer'): loss 3.1 > 2"
    kinds = {e["kind"]: e["message"] for e in detail["events"]}
    assert kinds["run.stop_requested"] == reason
    assert kinds["stop_request"] == reason
    assert kinds["guard.stop"] == f"stopping the run: {reason}"
    assert run.stats().dropped == {}
