"""Stopping runs: POST /runs/{id}/stop, the stop-runs webhook action, and the ingest answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from driftline.alerts import Alert, AlertState, Notification
from driftline.alerts.channels import NetworkPolicy, WebhookChannel, WebhookConfig, sign
from driftline.errors import DeliveryError
from driftline.server import create_app

from .conftest import AppTransport

HOOK = "http://127.0.0.1/api/v1/actions/stop-runs"


def _create_run(c: httpx.Client, run_id: str, *, project: str = "lab", name: str = "") -> None:
    body = {"batch_id": f"c-{run_id}", "project": project, "run_id": run_id, "name": name,
            "started_at": 1_700_000_000.0}  # fmt: skip
    assert c.post("/api/v1/ingest/runs", json=body).status_code == 200


def _metrics(c: httpx.Client, run_id: str, batch: str, project: str = "lab") -> dict[str, Any]:
    body = {"batch_id": batch, "project": project, "run_id": run_id,
            "points": [{"key": "loss", "step": 0, "value": 0.5, "timestamp": 1.0}]}  # fmt: skip
    resp = c.post("/api/v1/ingest/run-metrics", json=body)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def _alert(labels: dict[str, str], *, state: AlertState = AlertState.FIRING) -> Alert:
    now = 1_800_000_000.0
    return Alert(
        fingerprint="fp-" + "-".join(labels.values()),
        labels={"alertname": "loss_high", "project": "lab", **labels},
        state=state,
        started_at=now - 60,
        updated_at=now,
        fired_at=now - 30,
        resolved_at=now if state is AlertState.RESOLVED else None,
        value=3.1,
        reason="loss 3.1 > 2",
    )


def _notification(*alerts: Alert) -> Notification:
    return Notification(
        id="n-1", receiver="trainer", group_key="{}", group_labels={}, status="firing",
        alerts=alerts, created_at=1_800_000_000.0,
    )  # fmt: skip


def _hook(app: Any, now: float, env: dict[str, str], **cfg: Any) -> WebhookChannel:
    """Driftline's own webhook channel, delivering into ``app`` in process."""
    config = WebhookConfig.model_validate({"url": HOOK, "send_resolved": False, **cfg})
    policy = NetworkPolicy(allow=["127.0.0.1/32"])
    return WebhookChannel(
        "trainer/webhook/0", config, policy, env, transport=AppTransport(app), clock=lambda: now
    )


def test_stop_is_recorded_once_and_shown_on_the_run(client: httpx.Client, clock) -> None:
    _create_run(client, "r1")
    assert "stop_requested" not in _metrics(client, "r1", "m1")  # left out until asked
    first = client.post("/api/v1/runs/r1/stop", json={"reason": "diverging, by hand"})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "run_id": "r1", "project": "lab", "status": "running", "requested_at": clock[0],
        "requested_by": "no authentication", "reason": "diverging, by hand", "created": True,
    }  # fmt: skip
    clock[0] += 60
    again = client.post("/api/v1/runs/r1/stop").json()  # no body: idempotent, first kept
    assert (again["created"], again["requested_at"], again["reason"]) == (
        False, clock[0] - 60, "diverging, by hand",
    )  # fmt: skip
    run = client.get("/api/v1/runs/r1").json()
    assert run["stop_requested_at"] == clock[0] - 60
    assert run["stop_reason"] == "diverging, by hand"
    assert run["stop_requested_by"] == "no authentication"
    # the SDK's next batch (and a replayed duplicate) is told
    ack = _metrics(client, "r1", "m2")
    assert (ack["stop_requested"], ack["stop_reason"]) == (True, "diverging, by hand")
    assert _metrics(client, "r1", "m2")["duplicate"] is True
    assert _metrics(client, "r1", "m2")["stop_requested"] is True


def test_stop_of_an_unknown_run_is_404_naming_it(client: httpx.Client) -> None:
    resp = client.post("/api/v1/runs/nope/stop")
    assert resp.status_code == 404
    assert "'nope'" in resp.json()["message"]
    bad = client.post("/api/v1/runs/nope/stop", json={"reason": ""})
    assert bad.status_code == 422


def test_stop_needs_the_editor_role_on_the_runs_project(store: Any, make_client) -> None:
    from driftline.store import TokenService

    tokens = TokenService(store)
    admin = tokens.create("admin", "*", "admin")
    editor = tokens.create("ci", "lab", "editor")
    viewer = tokens.create("look", "lab", "viewer")
    other = tokens.create("else", "other", "editor")
    app = create_app(store, auth_required=True, clock=lambda: 1_800_000_000.0)
    c = make_client(app)
    c.headers["Authorization"] = f"Bearer {admin}"
    _create_run(c, "r1")
    del c.headers["Authorization"]
    assert c.post("/api/v1/runs/r1/stop").status_code == 401
    for token in (viewer, other):
        resp = c.post("/api/v1/runs/r1/stop", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 403 and "editor" in resp.json()["message"]
    ok = c.post("/api/v1/runs/r1/stop", headers={"Authorization": f"Bearer {editor}"})
    assert ok.status_code == 200 and ok.json()["requested_by"] == "token 'ci'"
    assert ok.json()["reason"] == "the API (token 'ci')"
    # the webhook action: the token is sent from the receiver's headers_env
    hook = _hook(app, 1_800_000_000.0, {"TOK": f"Bearer {viewer}"},
                 headers_env={"Authorization": "TOK"})  # fmt: skip
    with pytest.raises(DeliveryError, match="403"):
        hook.send(_notification(_alert({"run_id": "r1"})))


def test_signed_webhook_stops_the_runs_its_firing_alerts_name(store: Any, make_client) -> None:
    now = 1_800_000_000.0
    app = create_app(store, auth_required=False, clock=lambda: now, action_secret="k3y")
    c = make_client(app)
    for run_id, name in (("a1", "resnet"), ("a2", "resnet"), ("b1", "bert"), ("c1", "vit")):
        _create_run(c, run_id, name=name)
    hook = _hook(app, now, {"HOOK_KEY": "k3y"}, secret_env="HOOK_KEY")
    hook.send(
        _notification(
            _alert({"run": "resnet"}),  # a name: every running run of it in the project
            _alert({"run_id": "b1"}),
            _alert({"run_id": "c1"}, state=AlertState.RESOLVED),  # not sent (send_resolved)
        )
    )
    runs = {r["run_id"]: r for r in c.get("/api/v1/projects/lab/runs").json()}
    assert {k for k, r in runs.items() if r["stop_requested_at"] is not None} == {"a1", "a2", "b1"}
    assert runs["a1"]["stop_reason"] == "alert 'loss_high' (receiver 'trainer'): loss 3.1 > 2"
    assert runs["b1"]["stop_requested_by"] == "webhook receiver 'trainer'"


def test_webhook_signature_is_checked_when_a_secret_is_set(store: Any, make_client) -> None:
    now = 1_800_000_000.0
    app = create_app(store, auth_required=False, clock=lambda: now, action_secret="k3y")
    c = make_client(app)
    _create_run(c, "r1")
    with pytest.raises(DeliveryError, match="401"):  # a wrong key
        _hook(app, now, {"HOOK_KEY": "guess"}, secret_env="HOOK_KEY").send(
            _notification(_alert({"run_id": "r1"}))
        )
    body = json.dumps({"version": "1", "receiver": "x", "alerts": [
        {"status": "firing", "labels": {"run_id": "r1"}}]}).encode()  # fmt: skip
    unsigned = c.post("/api/v1/actions/stop-runs", content=body)
    assert unsigned.status_code == 401 and "X-Driftline-Signature" in unsigned.json()["message"]
    stale = str(int(now) - 3600)
    resp = c.post("/api/v1/actions/stop-runs", content=body, headers={
        "X-Driftline-Timestamp": stale, "X-Driftline-Signature": sign("k3y", stale, body)})  # fmt: skip
    assert resp.status_code == 401
    assert c.get("/api/v1/runs/r1").json()["stop_requested_at"] is None
    fresh = str(int(now))
    resp = c.post("/api/v1/actions/stop-runs", content=body, headers={
        "X-Driftline-Timestamp": fresh, "X-Driftline-Signature": sign("k3y", fresh, body)})  # fmt: skip
    assert resp.status_code == 200
    assert [s["run_id"] for s in resp.json()["stopped"]] == ["r1"]


def test_webhook_without_secret_or_auth_is_local_only(client: httpx.Client, store: Any) -> None:
    _create_run(client, "r1")
    body = {"version": "1", "receiver": "x", "alerts": [
        {"status": "firing", "labels": {"run_id": "r1"}, "reason": "r"},
        {"status": "firing", "labels": {"alertname": "unrelated"}}]}  # fmt: skip
    app = create_app(store, auth_required=False)
    remote = AppTransport(app)
    remote._asgi = httpx.ASGITransport(app=app, client=("10.1.2.3", 4000))
    with httpx.Client(transport=remote, base_url="http://testserver") as far:
        refused = far.post("/api/v1/actions/stop-runs", json=body)
    remote.close()
    assert refused.status_code == 403 and "DRIFTLINE_ACTION_SECRET" in refused.json()["message"]
    resp = client.post("/api/v1/actions/stop-runs", json=body)  # from 127.0.0.1
    assert resp.status_code == 200
    assert resp.json()["ignored_alerts"] == 1 and resp.json()["stopped"][0]["run_id"] == "r1"
    missing = client.post("/api/v1/actions/stop-runs", json={
        "version": "1", "alerts": [{"status": "firing", "labels": {"run": "ghost"}}]})  # fmt: skip
    assert missing.status_code == 404 and "'ghost'" in missing.json()["message"]
    wrong = client.post("/api/v1/actions/stop-runs", json={"version": "2", "alerts": []})
    assert wrong.status_code == 422 and "version" in wrong.json()["message"]
