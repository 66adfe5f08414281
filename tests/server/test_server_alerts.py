"""The alerting API in process (httpx over ASGI) against the real app, on SQLite and PostgreSQL.

Monitors are applied as YAML and JSON, bad configs answer 422 naming the line,
an alert is raised by a real evaluation pass over ingested data and then
acknowledged, silenced and resolved over HTTP; roles are checked with real
tokens; ``/metrics`` carries the alert gauges; the OpenAPI document lists the routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Client

from driftline.client._delivery import INGEST_PATHS

T0 = 1_800_000_000.0
"""An hour boundary (epoch seconds)."""

CONFIG = """\
route:
  receiver: team
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: team
monitors:
  - name: shop-volume
    project: shop
    model: ranker
    signal: {kind: volume}
    condition: {kind: threshold, op: ">", value: 0}
    severity: critical
  - name: shop-errors
    project: shop
    model: ranker
    signal: {kind: error_rate}
    condition: {kind: threshold, op: ">", value: 0.5}
"""

OTHER = """\
monitors:
  - name: other-volume
    project: other
    model: m
    signal: {kind: volume}
    condition: {kind: threshold, op: ">", value: 0}
"""

YAML = {"Content-Type": "application/yaml"}


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _apply(client: Client, text: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return client.put(
        "/api/v1/monitors", content=text, headers={**YAML, **(headers or {})}, params=params
    )


@pytest.fixture
def app(store: Any, clock: list[float]) -> Any:
    from driftline.server import create_app

    return create_app(store, auth_required=False, clock=lambda: clock[0])


@pytest.fixture
def http(app: Any, make_client: Any) -> Client:
    client: Client = make_client(app)
    return client


def _predictions(batch: str, n: int = 5, project: str = "shop", model: str = "ranker") -> Any:
    return {
        "batch_id": batch,
        "project": project,
        "model": model,
        "version": "v1",
        "ids": [f"{batch}-{i}" for i in range(n)],
        "timestamps": [T0 + 60 + i for i in range(n)],
        "features": {"x": [float(i) for i in range(n)]},
        "predictions": [i % 2 for i in range(n)],
    }


def _fire(http: Client, app: Any, clock: list[float]) -> dict[str, Any]:
    """Apply the config, ingest a batch into the hour after T0, evaluate once that hour ended."""
    assert _apply(http, CONFIG).status_code == 200
    assert http.post(INGEST_PATHS["predictions"], json=_predictions("b1")).status_code == 200
    clock[0] = T0 + 3600 + 5
    app.state.driftline.alerts.evaluate_due(clock[0])
    alerts = http.get("/api/v1/alerts", params={"state": "firing"}).json()
    (alert,) = [a for a in alerts if a["labels"]["alertname"] == "shop-volume"]
    return dict(alert)


def test_apply_yaml_then_json_and_list_get_put_delete(http: Client, clock: list[float]) -> None:
    first = _apply(http, CONFIG)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == ["shop-errors", "shop-volume"]
    again = http.put("/api/v1/monitors", json={"monitors": [], "receivers": [{"name": "team"}]})
    assert again.status_code == 200 and again.json()["created"] == []
    listed = http.get("/api/v1/monitors", params={"project": "shop"}).json()
    assert sorted(m["name"] for m in listed) == ["shop-errors", "shop-volume"]
    assert http.get("/api/v1/monitors", params={"project": "nope"}).json() == []
    one = http.get("/api/v1/monitors/shop-volume").json()
    assert one["spec"]["severity"] == "critical" and one["project"] == "shop"
    # PUT one monitor as JSON without a name: the path names it
    body = {
        "project": "shop",
        "model": "ranker",
        "signal": {"kind": "volume"},
        "condition": {"kind": "threshold", "op": "<", "value": 1},
    }
    assert http.put("/api/v1/monitors/low-volume", json=body).status_code == 200
    assert http.get("/api/v1/monitors/low-volume").json()["spec"]["condition"]["op"] == "<"
    clash = http.put("/api/v1/monitors/low-volume", json={**body, "name": "other"})
    assert clash.status_code == 422 and "name" in clash.json()["message"]
    assert http.delete("/api/v1/monitors/low-volume").status_code == 204
    assert http.get("/api/v1/monitors/low-volume").status_code == 404
    assert http.delete("/api/v1/monitors/low-volume").status_code == 404
    pruned = _apply(http, CONFIG.split("  - name: shop-errors")[0], prune="true")
    assert pruned.json()["deleted"] == ["shop-errors"]


def test_bad_config_is_422_naming_line_column_and_field(http: Client) -> None:
    bad = CONFIG.replace('op: ">", value: 0}', 'op: ">", value: zero}', 1)
    resp = _apply(http, bad)
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "invalid_config"
    (problem,) = body["problems"]
    assert problem["line"] == 13 and problem["path"].startswith("monitors[0].condition")
    assert body["message"].startswith("<body>:13:")
    broken = _apply(http, "monitors: [\n  {name: x\n")
    assert broken.status_code == 422 and broken.json()["message"].startswith("<body>:")
    one = http.put("/api/v1/monitors/x", content="project: p\nsignal: {kind: nope}\n", headers=YAML)
    assert one.status_code == 422 and "signal" in one.json()["message"]
    assert http.get("/api/v1/monitors").json() == []  # nothing half-applied


def test_alert_life_cycle_over_http(http: Client, app: Any, clock: list[float]) -> None:
    alert = _fire(http, app, clock)
    fp = alert["fingerprint"]
    assert alert["labels"]["severity"] == "critical" and alert["state"] == "firing"
    detail = http.get(f"/api/v1/alerts/{fp}").json()
    assert detail["fingerprint"] == fp and detail["events"] and detail["evidence"]
    results = http.get("/api/v1/monitors/shop-volume/results").json()
    assert results[-1]["firing"] is True and results[-1]["value"] == 5
    acked = http.post(f"/api/v1/alerts/{fp}/acknowledge", json={"by": "ana"})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "ana"
    assert [a["fingerprint"] for a in http.get("/api/v1/alerts?state=acknowledged").json()] == [fp]
    resolved = http.post(f"/api/v1/alerts/{fp}/resolve")
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    assert http.post("/api/v1/alerts/nope/acknowledge").status_code == 404
    assert http.get("/api/v1/alerts", params={"state": "bogus"}).status_code == 422
    notes = http.get("/api/v1/notifications").json()
    assert notes and all(n["receiver"] == "team" for n in notes)
    assert http.get("/api/v1/notifications", params={"status": "nope"}).status_code == 422


def test_silences_and_test_route(http: Client, app: Any, clock: list[float]) -> None:
    assert _apply(http, CONFIG).status_code == 200
    made = http.post(
        "/api/v1/silences",
        json={"matchers": ['project="shop"', "alertname=shop-volume"], "duration_s": 3600},
    )
    assert made.status_code == 201, made.text
    silence = made.json()
    assert silence["ends_at"] == clock[0] + 3600 and silence["created_by"] == "api"
    labels = {"alertname": "shop-volume", "project": "shop", "model": "ranker"}
    route = http.post("/api/v1/alerts/test-route", json={"labels": labels})
    assert route.status_code == 200, route.text
    text = str(route.json())
    assert "team" in text and silence["id"] in text
    assert [s["id"] for s in http.get("/api/v1/silences?active=true").json()] == [silence["id"]]
    assert http.delete(f"/api/v1/silences/{silence['id']}").status_code == 204
    assert http.get("/api/v1/silences?active=true").json() == []
    bad = http.post("/api/v1/silences", json={"matchers": ["=x"], "duration_s": 60})
    assert bad.status_code == 422 and "matchers.0" in bad.json()["message"]
    both = http.post("/api/v1/silences", json={"matchers": ["a=b"]})
    assert both.status_code == 422 and "ends_at" in both.json()["message"]
    assert http.delete("/api/v1/silences/nope").status_code == 404


@pytest.fixture
def secure(store: Any, make_client: Any) -> Iterator[tuple[Client, dict[str, str]]]:
    from driftline.server import create_app
    from driftline.store import TokenService

    tokens = TokenService(store)
    made = {
        "viewer": tokens.create("v", "shop", "viewer"),
        "editor": tokens.create("e", "shop", "editor"),
        "root": tokens.create("r", "*", "admin"),
        "other": tokens.create("o", "other", "admin"),
    }
    yield make_client(create_app(store, auth_required=True)), made


def test_roles(secure: tuple[Client, dict[str, str]]) -> None:
    http, tokens = secure
    v, e, root, other = (_h(tokens[k]) for k in ("viewer", "editor", "root", "other"))
    monitors_only = CONFIG.split("monitors:\n", 1)[1]
    monitors_only = "monitors:\n" + monitors_only
    # routes and receivers are config-wide: only a global admin sets them
    assert _apply(http, CONFIG, e).status_code == 403
    assert _apply(http, CONFIG, root).status_code == 200
    # an editor of shop applies shop monitors (the routing stays), not other's; prune and
    # routing changes need a global admin
    assert _apply(http, monitors_only, e).status_code == 200
    labels = {"labels": {"alertname": "shop-volume", "project": "shop"}}
    route = http.post("/api/v1/alerts/test-route", json=labels, headers=e)
    assert route.status_code == 200 and "team" in str(route.json())
    assert _apply(http, CONFIG, e).status_code == 200  # the same routing: no change
    changed = CONFIG.replace("repeat_interval: 1h", "repeat_interval: 2h")
    assert _apply(http, changed, e).status_code == 403
    assert _apply(http, monitors_only, v).status_code == 403
    assert _apply(http, OTHER, e).status_code == 403
    assert _apply(http, monitors_only, e, prune="true").status_code == 403
    assert _apply(http, OTHER, other).status_code == 200
    # reads are filtered to what the token may view
    assert {m["name"] for m in http.get("/api/v1/monitors", headers=v).json()} == {
        "shop-errors",
        "shop-volume",
    }
    assert http.get("/api/v1/monitors/other-volume", headers=v).status_code == 403
    assert http.get("/api/v1/monitors?project=other", headers=v).status_code == 403
    assert len(http.get("/api/v1/monitors", headers=root).json()) == 3
    assert http.delete("/api/v1/monitors/shop-errors", headers=v).status_code == 403
    assert http.delete("/api/v1/monitors/shop-errors", headers=e).status_code == 204
    # silences: pinned to a project needs its editor; across projects a global admin
    body = {"matchers": ['project="shop"'], "duration_s": 60}
    assert http.post("/api/v1/silences", json=body, headers=v).status_code == 403
    assert http.post("/api/v1/silences", json=body, headers=e).status_code == 201
    wide = {"matchers": ["severity=critical"], "duration_s": 60}
    assert http.post("/api/v1/silences", json=wide, headers=e).status_code == 403
    assert http.post("/api/v1/silences", json=wide, headers=root).status_code == 201
    assert len(http.get("/api/v1/silences", headers=e).json()) == 1
    assert len(http.get("/api/v1/silences", headers=root).json()) == 2
    assert http.get("/api/v1/alerts", headers={}).status_code == 401


def test_metrics_expose_alerts_and_monitor_results(
    http: Client, app: Any, clock: list[float]
) -> None:
    _fire(http, app, clock)
    text = http.get("/metrics").text
    assert (
        'driftline_alerts{project="shop",model="ranker",severity="critical",state="firing"} 1.0'
        in text
    )
    assert (
        'driftline_monitor_value{monitor="shop-volume",project="shop",model="ranker"} 5.0' in text
    )
    assert (
        'driftline_monitor_firing{monitor="shop-volume",project="shop",model="ranker"} 1.0' in text
    )
    assert "# TYPE driftline_alerts gauge" in text


def test_ingest_marks_on_ingest_monitors_and_reference_sets_defaults(
    http: Client, app: Any, rng: Any
) -> None:
    import pandas as pd

    from driftline.profile import profile
    from driftline.schema import Schema

    text = CONFIG.replace("severity: critical", "severity: critical\n    schedule: on_ingest")
    assert _apply(http, text).status_code == 200
    assert http.post(INGEST_PATHS["predictions"], json=_predictions("b1")).status_code == 200
    assert app.state.driftline.alerts.get_monitor("shop-volume").dirty
    frame = pd.DataFrame({"age": rng.normal(40, 5, 200)})
    schema = Schema.infer(frame)
    reference = {
        "batch_id": "r1",
        "project": "lab",
        "model": "m",
        "version": "v1",
        "profile": profile(frame, schema).to_dict(),
        "schema": schema.to_dict(),
    }
    assert http.post(INGEST_PATHS["reference"], json=reference).status_code == 200
    assert http.get("/api/v1/monitors", params={"project": "lab"}).json() != []


def test_openapi_lists_the_alerting_routes(app: Any) -> None:
    paths = app.openapi()["paths"]
    for path, methods in {
        "/api/v1/monitors": {"get", "put"},
        "/api/v1/monitors/{name}": {"get", "put", "delete"},
        "/api/v1/monitors/{name}/results": {"get"},
        "/api/v1/alerts": {"get"},
        "/api/v1/alerts/{fingerprint}": {"get"},
        "/api/v1/alerts/{fingerprint}/acknowledge": {"post"},
        "/api/v1/alerts/{fingerprint}/resolve": {"post"},
        "/api/v1/alerts/test-route": {"post"},
        "/api/v1/silences": {"get", "post"},
        "/api/v1/silences/{silence_id}": {"delete"},
        "/api/v1/notifications": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    put = paths["/api/v1/monitors"]["put"]["requestBody"]["content"]
    assert {"application/yaml", "application/json"} <= set(put)


def test_app_runs_the_scheduler_from_startup_to_shutdown(store: Any) -> None:
    import anyio

    from driftline.cli import build_parser
    from driftline.server import create_app

    app = create_app(store, scheduler=True)

    async def lifespan() -> None:
        async with app.router.lifespan_context(app):
            scheduler = app.state.driftline.scheduler
            for _ in range(200):
                if scheduler.last_tick is not None:
                    break
                await anyio.sleep(0.01)
            assert scheduler.last_tick.leader and scheduler.is_leader
        assert app.state.driftline.scheduler is None and not scheduler.is_leader

    anyio.run(lifespan)
    assert create_app(store).state.driftline.scheduler is None  # off unless asked
    args = build_parser().parse_args(["serve", "--no-scheduler"])
    assert args.no_scheduler is True


def test_an_alerting_failure_never_fails_the_ingest(
    store: Any, make_client: Any, tmp_path: Any, caplog: Any
) -> None:
    import sqlalchemy as sa

    from driftline.alerts._service import AlertService
    from driftline.server import create_app
    from driftline.store import QueryService, Store

    with Store.open(f"sqlite:///{tmp_path / 'broken.db'}") as broken:
        with broken.begin() as conn:
            conn.execute(sa.text("DROP TABLE monitors"))  # every alerting call now fails
        http = make_client(create_app(store, alerts=AlertService(broken)))
        resp = http.post(INGEST_PATHS["predictions"], json=_predictions("b1"))
    assert resp.status_code == 200 and resp.json()["accepted"] == 5
    (row,) = QueryService(store).metric_totals()["predictions"]
    assert row["count"] == 5  # stored, acknowledged; the failure is only logged
    assert "alerting: after the ingest of shop/ranker" in caplog.text


def test_a_bad_alert_allow_setting_names_the_variable(store: Any) -> None:
    from driftline.config import load_settings
    from driftline.errors import ConfigError
    from driftline.server import create_app

    settings = load_settings({"DRIFTLINE_DATA_DIR": "/tmp/x", "DRIFTLINE_ALERT_ALLOW": "10.0/99"})
    with pytest.raises(ConfigError, match="DRIFTLINE_ALERT_ALLOW: expected address ranges"):
        create_app(store, settings=settings)
