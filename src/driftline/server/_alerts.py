"""Alerting endpoints under ``/api/v1``: monitors, alerts, silences, notifications, routing.

Every route delegates to the app's :class:`driftline.alerts.AlertService`
(``ServerContext.alerts``). Roles, as for the rest of the API:

==========================================  =============================================
route                                       role
==========================================  =============================================
``GET`` monitors, alerts, results           viewer on the object's project (lists are
                                            filtered to the projects the token may read)
``PUT``/``DELETE`` one monitor              editor on the monitor's project
``PUT /monitors`` (a whole config)          editor on every project it names; admin on
                                            ``*`` when it changes the routing (route,
                                            receivers, inhibit rules) or prunes
acknowledge, resolve                        editor on the alert's project
silences                                    editor on the ``project`` the matchers pin;
                                            admin on ``*`` for a silence across projects
notifications                               viewer on every project of the notification's alerts
test-route                                  viewer on the labels' ``project`` (none: on ``*``)
==========================================  =============================================

A configuration that does not parse answers 422 ``invalid_config`` whose
message names the line and column (or the field) at fault. A configuration
without ``route``, ``receivers`` and ``inhibit_rules`` keeps the routing
already stored (see :meth:`AlertingConfig.manages_routing`).

Example
-------
>>> from driftline.server import create_app
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> paths = create_app(store).openapi()["paths"]
>>> sorted(paths["/api/v1/monitors"]), "/api/v1/alerts/{fingerprint}/acknowledge" in paths
(['get', 'put'], True)
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import yaml
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from driftline.errors import ConfigError, InputError
from driftline.server._alerting import routing_changes
from driftline.server._middleware import error_body
from driftline.server.context import ServerContext, allowed, context, jsonable, require, token_of
from driftline.store import ALL_PROJECTS as TOKEN_ALL_PROJECTS

__all__ = [
    "ALL_PROJECTS",
    "AlertOut",
    "RouteQueryIn",
    "SilenceIn",
    "SilenceOut",
    "router",
]

router = APIRouter(prefix="/api/v1", tags=["alerts"])

ALL_PROJECTS = TOKEN_ALL_PROJECTS
"""The project that config-wide rights (routes, receivers, cross-project silences) are checked on."""

BODY_SOURCE = "<body>"
"""The file name that configuration errors of a request body carry (``<body>:3:7: ...``)."""


# -- wire models ---------------------------------------------------------------------------------
class AlertOut(BaseModel):
    """An alert, identified by the fingerprint of its labels."""

    model_config = ConfigDict(extra="allow")

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    state: Literal["pending", "firing", "acknowledged", "resolved"]
    started_at: float
    updated_at: float
    fired_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    value: float | None = None
    reason: str = ""


class SilenceIn(BaseModel):
    """A silence to create: it mutes the alerts whose labels match every matcher."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(
        ...,
        min_length=1,
        description='Label matchers such as `project="shop"`, `severity=~"warn.*"`.',
        examples=[['project="shop"', 'alertname="drift"']],
    )
    ends_at: float | None = Field(
        None, allow_inf_nan=False, description="End, epoch seconds (or give `duration_s`)."
    )
    duration_s: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Length from `starts_at` (or now)."
    )
    starts_at: float | None = Field(None, allow_inf_nan=False, description="Default: now.")
    comment: str = Field("", max_length=2000)
    created_by: str | None = Field(None, max_length=200, description="Default: the token's name.")


class SilenceOut(BaseModel):
    """A silence: the alerts matching every matcher are muted from ``starts_at`` to ``ends_at``."""

    model_config = ConfigDict(extra="allow")

    id: str
    matchers: list[str]
    starts_at: float
    ends_at: float
    created_by: str = ""
    comment: str = ""


class ByIn(BaseModel):
    """Who acts (default: the token's name, or ``api``)."""

    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(None, max_length=200)


class RouteQueryIn(BaseModel):
    """The labels of a hypothetical alert."""

    model_config = ConfigDict(extra="forbid")

    labels: dict[str, str] = Field(
        ...,
        description="Alert labels, e.g. `alertname`, `project`, `model`, `severity`.",
        examples=[
            {"alertname": "drift", "project": "shop", "model": "ranker", "severity": "warning"}
        ],
    )


# -- helpers -------------------------------------------------------------------------------------
def _alerts(request: Request) -> Any:
    ctx: ServerContext = context(request)
    return ctx.alerts


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _labels(obj: Any) -> Mapping[str, str]:
    labels = _get(obj, "labels")
    return labels if isinstance(labels, Mapping) else {}


def _project_of(obj: Any) -> str:
    project = _get(obj, "project")
    if project is None:
        project = _labels(obj).get("project")
    return str(project) if project is not None else ALL_PROJECTS


def _actor(request: Request, given: str | None = None) -> str:
    if given:
        return given
    info = token_of(request)
    return str(info.name) if info is not None else "api"


def _visible(request: Request, items: Iterable[Any]) -> list[Any]:
    return [i for i in items if allowed(request, _project_of(i), "viewer")]


def _invalid_config(problems: Sequence[Any]) -> JSONResponse:
    """422 ``invalid_config``: the message and ``problems`` name the line, column and field."""
    lines = [str(p) for p in problems]
    return JSONResponse(
        status_code=422,
        content=error_body(
            "invalid_config",
            "; ".join(lines[:5]),
            problems=[jsonable(p) if not isinstance(p, str) else {"message": p} for p in problems],
        ),
    )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"body: expected UTF-8 text, got bytes that do not decode ({exc})"
        ) from exc


def _check_apply_rights(request: Request, config: Any, prune: bool, routing_changes: bool) -> None:
    if prune or routing_changes:
        require(request, ALL_PROJECTS, "admin")
    for project in sorted({_project_of(m) for m in config.monitors}):
        require(request, project, "editor")


# -- monitors ------------------------------------------------------------------------------------
@router.get("/monitors", summary="List monitors")
def list_monitors(
    request: Request,
    project: str | None = Query(None, description="Only monitors of this project."),
    model: str | None = Query(None, description="Only monitors of this model."),
) -> list[dict[str, Any]]:
    """Monitors (their specs), filtered to the projects the caller may read."""
    if project is not None:
        require(request, project, "viewer")
    monitors = _alerts(request).list_monitors(project=project, model=model)
    return [jsonable(m) for m in _visible(request, monitors)]


@router.put(
    "/monitors",
    summary="Apply a whole alerting configuration (monitors, routes, receivers)",
    description=(
        "Body: the configuration as YAML (`Content-Type: application/yaml`) or JSON, the same "
        "document `driftline monitors apply` reads. Monitors are created or updated by name; "
        "with `prune=true` monitors the document does not name are deleted. A document that "
        "does not parse answers 422 `invalid_config` naming the line and column."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def apply_config(
    request: Request,
    prune: bool = Query(False, description="Delete monitors the document does not name."),
) -> Any:
    """Create, update (and with ``prune`` delete) monitors; set routes and receivers."""
    body = await request.body()

    def go() -> Any:
        from driftline.alerts import check_config

        config, problems = check_config(BODY_SOURCE, text=_text(body))
        if config is None:
            return _invalid_config(problems)
        service = _alerts(request)
        changes = routing_changes(config, service.config())
        _check_apply_rights(request, config, prune, changes)
        return jsonable(service.apply(config, prune=prune, source="api"))

    return await run_in_threadpool(go)


@router.get("/monitors/{name}", summary="One monitor")
def get_monitor(request: Request, name: str) -> dict[str, Any]:
    """The monitor's spec; 404 when there is none."""
    monitor = _alerts(request).get_monitor(name)
    require(request, _project_of(monitor), "viewer")
    out: dict[str, Any] = jsonable(monitor)
    return out


@router.put(
    "/monitors/{name}",
    summary="Create or replace one monitor",
    description="Body: one monitor as JSON or YAML (`Content-Type: application/yaml`).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def put_monitor(request: Request, name: str) -> Any:
    """Create or replace the monitor ``name`` (the body's ``name``, if any, must agree)."""
    body = await request.body()

    def go() -> Any:
        from driftline.alerts import load_monitor

        text = _text(body)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None  # load_monitor reports it with the line
        if isinstance(data, dict) and "name" not in data:
            text = yaml.safe_dump({"name": name, **data}, sort_keys=False)
        try:
            spec = load_monitor(text, BODY_SOURCE)
        except ConfigError as exc:
            return _invalid_config(str(exc).splitlines())
        if spec.name != name:
            return _invalid_config(
                [f"name: expected {name!r} (the name in the path), got {spec.name!r}"]
            )
        require(request, spec.project, "editor")
        service = _alerts(request)
        try:
            old = service.get_monitor(name)
        except LookupError:
            old = None
        if old is not None:
            require(request, _project_of(old), "editor")
        service.upsert_monitor(spec, source="api")
        return jsonable(service.get_monitor(name))

    return await run_in_threadpool(go)


@router.delete("/monitors/{name}", summary="Delete one monitor", status_code=204)
def delete_monitor(request: Request, name: str) -> Response:
    """Delete the monitor; its open alerts resolve. 404 when there is none."""
    service = _alerts(request)
    require(request, _project_of(service.get_monitor(name)), "editor")
    service.delete_monitor(name)
    return Response(status_code=204)


@router.get("/monitors/{name}/results", summary="A monitor's evaluated series")
def monitor_results(
    request: Request,
    name: str,
    start: float | None = Query(None, allow_inf_nan=False, description="From, epoch seconds."),
    end: float | None = Query(None, allow_inf_nan=False, description="Until, epoch seconds."),
) -> list[dict[str, Any]]:
    """Each evaluation: window, value, threshold, firing (``null``: undecided) and the reason."""
    service = _alerts(request)
    require(request, _project_of(service.get_monitor(name)), "viewer")
    return list(jsonable(service.monitor_results(name, start=start, end=end)))


# -- alerts --------------------------------------------------------------------------------------
@router.get("/alerts", summary="List alerts", response_model=list[AlertOut])
def list_alerts(
    request: Request,
    project: str | None = Query(None, description="Only alerts of this project."),
    model: str | None = Query(None, description="Only alerts of this model."),
    state: Literal["pending", "firing", "acknowledged", "resolved"] | None = Query(
        None, description="Only alerts in this state."
    ),
    limit: int = Query(500, gt=0, le=10_000, description="Most alerts returned, newest first."),
) -> list[Any]:
    """Alerts, newest first, filtered to the projects the caller may read."""
    if project is not None:
        require(request, project, "viewer")
    alerts = _alerts(request).list_alerts(project=project, model=model, state=state, limit=limit)
    return [jsonable(a) for a in _visible(request, alerts)]


def _alert_of(detail: Any) -> Any:
    return _get(detail, "alert", detail)


@router.get("/alerts/{fingerprint}", summary="One alert with its history and evidence")
def get_alert(request: Request, fingerprint: str) -> dict[str, Any]:
    """The alert, its transitions (each with its reason) and the evaluations behind it."""
    detail = _alerts(request).get_alert(fingerprint)
    require(request, _project_of(_alert_of(detail)), "viewer")
    out: dict[str, Any] = jsonable(detail)
    return out


def _act(request: Request, fingerprint: str, action: str, by: str | None) -> Any:
    service = _alerts(request)
    require(request, _project_of(_alert_of(service.get_alert(fingerprint))), "editor")
    return jsonable(getattr(service, action)(fingerprint, by=_actor(request, by)))


@router.post(
    "/alerts/{fingerprint}/acknowledge", summary="Acknowledge an alert", response_model=AlertOut
)
def acknowledge(request: Request, fingerprint: str, body: ByIn | None = None) -> Any:
    """The alert stays open; repeat notifications stop until it resolves."""
    return _act(request, fingerprint, "acknowledge", body.by if body else None)


@router.post("/alerts/{fingerprint}/resolve", summary="Resolve an alert", response_model=AlertOut)
def resolve(request: Request, fingerprint: str, body: ByIn | None = None) -> Any:
    """Close the alert by hand; a resolved notification goes out if the route asks for one."""
    return _act(request, fingerprint, "resolve", body.by if body else None)


@router.post("/alerts/test-route", summary="Where an alert with these labels would go")
def preview_route(request: Request, body: RouteQueryIn) -> dict[str, Any]:
    """The matched route, receiver, group key, timings and whether a silence mutes it; sends nothing."""
    require(request, body.labels.get("project", ALL_PROJECTS), "viewer")
    out: dict[str, Any] = jsonable(_alerts(request).test_route(body.labels))
    return out


# -- silences ------------------------------------------------------------------------------------
def _silence_project(matchers: Iterable[Any]) -> str:
    for m in matchers:
        name, op, value = _get(m, "name"), _get(m, "op"), _get(m, "value")
        if name == "project" and op == "=":
            return str(value)
    return ALL_PROJECTS


@router.get("/silences", summary="List silences", response_model=list[SilenceOut])
def list_silences(
    request: Request,
    active: bool = Query(False, description="Only silences in force now."),
) -> list[Any]:
    """Silences, filtered to those pinned to projects the caller may read (cross-project: admin)."""
    out = []
    for s in _alerts(request).list_silences(active_only=active):
        project = _silence_project(_get(s, "matchers", ()))
        if allowed(request, project, "viewer"):
            out.append(jsonable(s))
    return out


@router.post("/silences", summary="Create a silence", response_model=SilenceOut, status_code=201)
def create_silence(request: Request, body: SilenceIn) -> Any:
    """Mute matching alerts from ``starts_at`` (default now) to ``ends_at`` (or for ``duration_s``)."""
    from driftline.alerts import Matcher

    matchers = []
    for i, text in enumerate(body.matchers):
        try:
            matchers.append(Matcher.parse(text))
        except InputError as exc:
            raise InputError(f"matchers.{i}: {exc}") from exc
    require(request, _silence_project(matchers), "editor")
    starts = body.starts_at if body.starts_at is not None else context(request).clock()
    if (body.ends_at is None) == (body.duration_s is None):
        raise InputError("ends_at: expected exactly one of 'ends_at' and 'duration_s'")
    ends = body.ends_at if body.ends_at is not None else starts + float(body.duration_s or 0.0)
    if ends <= starts:
        raise InputError(f"ends_at: expected a time after starts_at ({starts}), got {ends}")
    silence = _alerts(request).create_silence(
        matchers,
        ends,
        starts_at=starts,
        created_by=_actor(request, body.created_by),
        comment=body.comment,
    )
    return jsonable(silence)


@router.delete("/silences/{silence_id}", summary="Expire a silence", status_code=204)
def expire_silence(request: Request, silence_id: str) -> Response:
    """End the silence now. 404 when there is none."""
    service = _alerts(request)
    found = [
        s for s in service.list_silences(active_only=False) if str(_get(s, "id")) == silence_id
    ]
    project = _silence_project(_get(found[0], "matchers", ())) if found else ALL_PROJECTS
    require(request, project, "editor")
    service.expire_silence(silence_id)
    return Response(status_code=204)


# -- notifications -------------------------------------------------------------------------------
def _notification_projects(n: Any) -> set[str]:
    projects = {str(v) for k, v in (_get(n, "group_labels") or {}).items() if k == "project"}
    payload = _get(n, "notification", n)
    for a in _get(payload, "alerts", None) or ():
        p = _labels(a).get("project")
        if p is not None:
            projects.add(str(p))
    return projects or {ALL_PROJECTS}


@router.get("/notifications", summary="The notification outbox: sent, pending and failed")
def list_notifications(
    request: Request,
    status: str | None = Query(
        None, description="Only this delivery status (e.g. `pending`, `sent`, `failed`)."
    ),
    limit: int = Query(200, gt=0, le=10_000, description="Most notifications, newest first."),
) -> list[dict[str, Any]]:
    """Each notification with its receiver, attempts, last error and next attempt."""
    out = []
    for n in _alerts(request).list_notifications(status=status, limit=limit):
        if all(allowed(request, p, "viewer") for p in _notification_projects(n)):
            out.append(jsonable(n))
    return out
