"""The app's alert service, the ingest hook, and whether an applied config changes the routing.

Example
-------
>>> from driftline.alerts import AlertingConfig
>>> routing_changes(AlertingConfig(), AlertingConfig())
False
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from driftline.config import Settings
from driftline.errors import ConfigError
from driftline.server.context import ServerContext
from driftline.wire import ReferencePayload

__all__ = ["after_ingest", "alert_service", "routing_changes"]

_log = logging.getLogger("driftline.server.alerts")


def _routing(config: Any) -> list[Any]:
    return [
        None if config.route is None else config.route.model_dump(mode="json", by_alias=True),
        [r.model_dump(mode="json") for r in config.receivers],
        [r.model_dump(mode="json") for r in config.inhibit_rules],
    ]


def routing_changes(config: Any, stored: Any) -> bool:
    """Whether applying ``config`` changes the ``stored`` routing (route, receivers, inhibit rules).

    A config that manages monitors only (:meth:`AlertingConfig.manages_routing` is
    false) keeps the stored routing, so it changes nothing there.

    Example
    -------
    >>> from driftline.alerts import AlertingConfig
    >>> stored = AlertingConfig.model_validate(
    ...     {"route": {"receiver": "team"}, "receivers": [{"name": "team"}]})
    >>> routing_changes(AlertingConfig(), stored), routing_changes(stored, AlertingConfig())
    (False, True)
    """
    return bool(config.manages_routing()) and _routing(config) != _routing(stored)


def alert_service(
    store: Any, query: Any, clock: Callable[[], float], settings: Settings | None = None
) -> Any:
    """The :class:`AlertService` of an app: its network policy allows ``settings.alert_allow``.

    Without ``settings`` the channels' default policy applies (loopback and private
    ranges blocked).

    Example
    -------
    >>> from driftline.config import load_settings
    >>> from driftline.store import Store
    >>> store = Store.open("sqlite://")
    >>> s = load_settings({"DRIFTLINE_DATA_DIR": "/tmp/x", "DRIFTLINE_ALERT_ALLOW": "127.0.0.1/32"})
    >>> alert_service(store, None, lambda: 0.0, s).policy.allow
    ['127.0.0.1/32']
    >>> store.close()
    """
    import pydantic

    from driftline.alerts import AlertService
    from driftline.alerts.channels import NetworkPolicy

    policy = None
    if settings is not None and settings.alert_allow:
        try:
            policy = NetworkPolicy(allow=list(settings.alert_allow))
        except pydantic.ValidationError as exc:
            problems = "; ".join(e["msg"] for e in exc.errors())
            raise ConfigError(
                f"DRIFTLINE_ALERT_ALLOW: expected address ranges or host names, got "
                f"{','.join(settings.alert_allow)!r} ({problems})"
            ) from exc
    return AlertService(store, query=query, clock=clock, policy=policy)


def after_ingest(ctx: ServerContext, payload: Any) -> None:
    """Tell alerting that ``payload`` was stored: mark the model, wake the scheduler.

    The scheduler is woken only when ``on_ingest`` monitors of the model were
    flagged (a tick per batch would otherwise contend with ingest for the writer).

    A reference sets up the model's default monitors. Never raises: the batch is
    already committed and acknowledged, so a failure here is logged and the
    scheduler's next tick catches up.
    """
    service = getattr(ctx, "alerts", None)
    project, model = getattr(payload, "project", None), getattr(payload, "model", None)
    if service is None or not project or not model:
        return
    try:
        if isinstance(payload, ReferencePayload):
            service.ensure_default_monitors(project, model)
        flagged = service.mark_ingest(project, model)
    except Exception:  # the ingest is committed; alerting catches up at the next tick
        _log.exception("alerting: after the ingest of %s/%s", project, model)
        return
    wake = getattr(getattr(ctx, "scheduler", None), "wake", None)
    if flagged and callable(wake):  # nothing to judge now: the periodic tick suffices
        wake()
