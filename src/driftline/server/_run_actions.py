"""Stop training runs: by hand (``POST /api/v1/runs/{run_id}/stop``) or from an alert's webhook.

``POST /api/v1/actions/stop-runs`` accepts driftline's own webhook body (see
:func:`driftline.alerts.channels.webhook_payload`) and stops every run named by a
firing alert's ``run_id`` label, or its ``run`` label (a run id, else the running
runs of that name in the alert's ``project``). Who may call it:

- with ``DRIFTLINE_ACTION_SECRET`` set, only a request signed with it
  (``X-Driftline-Signature``, see :func:`driftline.alerts.channels.verify_signature`),
  else 401;
- with authentication on, a token with the editor role on every run's project
  (the webhook sends it from ``headers_env``), else 401/403;
- with neither, only a request from the local machine, else 403.

A run learns of the request from the acknowledgement of its next batch
(``IngestAck.stop_requested``); a :class:`driftline.training.Guard` then stops it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from driftline.errors import AuthError, InputError, NotFoundError, PermissionDeniedError
from driftline.server.context import context, require, token_of

__all__ = ["StopBody", "router", "stop_reason_for"]

router = APIRouter(tags=["actions"])

SIGNATURE_HEADER = "X-Driftline-Signature"
TIMESTAMP_HEADER = "X-Driftline-Timestamp"


class StopBody(BaseModel):
    """Optional body of ``POST /api/v1/runs/{run_id}/stop``."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, min_length=1, max_length=1000, description="Why (shown on the run)."
    )


class _WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    reason: str = ""


class _WebhookBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str
    receiver: str = ""
    alerts: list[_WebhookAlert] = Field(default_factory=list, max_length=10_000)


def _who(request: Request) -> str:
    info = token_of(request)
    return "no authentication" if info is None else f"token {info.name!r}"


def _stops(request: Request) -> Any:
    from driftline.store import RunStopService

    ctx = context(request)
    return RunStopService(ctx.store, clock=ctx.clock)


@router.post("/api/v1/runs/{run_id}/stop", summary="Ask a training run to stop")
def stop_run(request: Request, run_id: str, body: StopBody | None = None) -> dict[str, Any]:
    """Record a stop request on the run (editor role on its project); 404 when unknown.

    Idempotent: a second request keeps the first one's time, author and reason
    (``created`` is then ``false``). The run's SDK sees it in the answer to its next
    batch and sets ``run.stop_requested``.
    """
    stops = _stops(request)
    require(request, stops.project_of(run_id), "editor")
    who = _who(request)
    reason = body.reason if body is not None and body.reason else f"the API ({who})"
    result: dict[str, Any] = stops.request(run_id, reason=reason, by=who).to_dict()
    return result


def stop_reason_for(alert: Mapping[str, Any], receiver: str) -> str:
    """The stop reason recorded for a run that ``alert`` (a webhook alert dict) named.

    Example
    -------
    >>> stop_reason_for({"labels": {"alertname": "loss_high"}, "reason": "loss 3.1 > 2"}, "ops")
    "alert 'loss_high' (receiver 'ops'): loss 3.1 > 2"
    """
    labels = alert.get("labels") or {}
    text = f"alert {labels.get('alertname', '?')!r} (receiver {receiver!r})"
    reason = str(alert.get("reason") or "").strip()
    return f"{text}: {reason}" if reason else text


def _is_local(request: Request) -> bool:
    host = request.client.host if request.client is not None else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _authenticate(request: Request, body: bytes) -> None:
    """Raise unless the caller may use the action routes (see the module docstring)."""
    from driftline.alerts.channels import verify_signature

    ctx = context(request)
    secret = getattr(ctx, "action_secret", None)
    if secret:
        stamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not stamp or not signature:
            raise AuthError(
                f"{SIGNATURE_HEADER}: expected driftline's webhook signature (the server has "
                "DRIFTLINE_ACTION_SECRET set), got none"
            )
        if not verify_signature(secret, stamp, body, signature, now=ctx.clock()):
            raise AuthError(
                f"{SIGNATURE_HEADER}: expected a signature made with DRIFTLINE_ACTION_SECRET "
                f"over this body and a {TIMESTAMP_HEADER} within 300 s, got a wrong or stale one"
            )
    elif not ctx.auth_required and not _is_local(request):
        raise PermissionDeniedError(
            "actions: a request from another machine needs authentication (driftline serve "
            "--auth) or a signature (DRIFTLINE_ACTION_SECRET); got neither"
        )


def _parse(body: bytes) -> _WebhookBody:
    try:
        parsed = _WebhookBody.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise InputError(f"{where}: expected driftline's webhook payload, {first['msg']}") from exc
    if parsed.version != "1":
        raise InputError(f"version: expected webhook payload version '1', got {parsed.version!r}")
    return parsed


def _stop_from_webhook(request: Request, body: bytes) -> dict[str, Any]:
    _authenticate(request, body)
    payload = _parse(body)
    stops = _stops(request)
    targets: dict[str, str] = {}  # run id -> reason (the first alert naming it)
    not_found: list[str] = []
    ignored = 0
    for alert in payload.alerts:
        labels = alert.labels
        name = labels.get("run_id") or labels.get("run")
        if alert.status != "firing" or not name:
            ignored += 1
            continue
        if labels.get("run_id"):
            found = stops.find_runs(name)
        else:
            found = stops.find_runs(name, labels.get("project"))
        if not found:
            not_found.append(name)
        reason = stop_reason_for(alert.model_dump(), payload.receiver)
        for run_id in found:
            targets.setdefault(run_id, reason)
    if not_found and not targets:
        raise NotFoundError(
            "labels.run: no run named " + ", ".join(repr(n) for n in sorted(set(not_found)))
        )
    for run_id in targets:  # every permission first: all runs are stopped, or none
        require(request, stops.project_of(run_id), "editor")
    by = f"webhook receiver {payload.receiver!r}" if payload.receiver else "webhook"
    stopped = [stops.request(run_id, reason=r, by=by).to_dict() for run_id, r in targets.items()]
    return {"stopped": stopped, "not_found": sorted(set(not_found)), "ignored_alerts": ignored}


@router.post(
    "/api/v1/actions/stop-runs",
    summary="Stop the runs named by the firing alerts of a driftline webhook",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def stop_runs(request: Request) -> dict[str, Any]:
    """Point a webhook receiver here; see the module docstring for who may call it.

    Answers ``{"stopped": [...], "not_found": [...], "ignored_alerts": n}``; 404 when
    the alerts name runs and none exists (the notification shows why).
    """
    body = await request.body()
    result: dict[str, Any] = await run_in_threadpool(_stop_from_webhook, request, body)
    return result
