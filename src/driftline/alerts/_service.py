"""The alert service: the monitor configuration, the alert book and the engine, on one store.

:class:`AlertService` is what the server, the scheduler and the CLI hold. It is
a composition of three parts that share the store and the clock:

- ``service.monitors`` (:class:`~driftline.alerts._monitors.MonitorConfig`):
  monitors, a whole config applied, default monitors, ingest marks;
- ``service.book`` (:class:`~driftline.alerts._book.AlertBook`): alerts,
  acknowledgements, silences, the outbox's log, counts, route previews;
- ``service.engine`` (:class:`~driftline.alerts._engine.AlertEngine`): the
  evaluation pass and the delivery pass.

Its methods of the same names delegate to those parts, so callers can keep one
object.

Example
-------
>>> from driftline.alerts._spec import MonitorSpec
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> service = AlertService(store, clock=lambda: 1_800_000_000.0)
>>> spec = MonitorSpec(name="low-volume", project="shop", model="ranker",
...                    signal={"kind": "volume"},
...                    condition={"kind": "threshold", "op": "<", "value": 10})
>>> service.upsert_monitor(spec)
'created'
>>> [m.name for m in service.list_monitors(project="shop")]
['low-volume']
>>> service.evaluate_due().evaluated
1
>>> store.close()
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftline.alerts._book import EVIDENCE_WINDOWS, AlertBook
from driftline.alerts._engine import DEFAULT_CLAIM_SECONDS, DEFAULT_MONITOR_TIMEOUT, AlertEngine
from driftline.alerts._monitors import MonitorConfig

if TYPE_CHECKING:
    from driftline.alerts._model import Matcher, Silence
    from driftline.alerts._results import (
        AlertCount,
        AlertDetail,
        AlertInfo,
        ApplyResult,
        DeliveryRun,
        EvaluationRun,
        MonitorInfo,
        MonitorResult,
        NotificationInfo,
        RoutePreview,
    )
    from driftline.alerts._spec import AlertingConfig, MonitorSpec
    from driftline.alerts.channels import NetworkPolicy
    from driftline.alerts.channels._retry import RetryPolicy
    from driftline.store import QueryService, Store

__all__ = ["DEFAULT_CLAIM_SECONDS", "DEFAULT_MONITOR_TIMEOUT", "EVIDENCE_WINDOWS", "AlertService"]


class AlertService:
    """Monitors, alerts, silences and notifications, kept in the store.

    Parameters are those of :class:`~driftline.alerts._engine.AlertEngine`
    (``store``, ``query``, ``clock``, and the delivery settings ``environ``,
    ``policy``, ``transport``, ``external_url``, ``retry``, ``owner``,
    ``claim_seconds``, ``monitor_timeout``, ``fdr_alpha``, ``rng``); the
    monitor configuration and the alert book share its store, query and clock.

    Attributes
    ----------
    monitors : MonitorConfig
    book : AlertBook
    engine : AlertEngine
    """

    def __init__(
        self,
        store: Store,
        *,
        query: QueryService | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        policy: NetworkPolicy | None = None,
        transport: Any = None,
        external_url: str | None = None,
        retry: RetryPolicy | None = None,
        owner: str | None = None,
        claim_seconds: float = DEFAULT_CLAIM_SECONDS,
        monitor_timeout: float = DEFAULT_MONITOR_TIMEOUT,
        fdr_alpha: float = 0.05,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = AlertEngine(
            store, query=query, clock=clock, environ=environ, policy=policy,
            transport=transport, external_url=external_url, retry=retry, owner=owner,
            claim_seconds=claim_seconds, monitor_timeout=monitor_timeout,
            fdr_alpha=fdr_alpha, rng=rng,
        )  # fmt: skip
        self.monitors = MonitorConfig(store, self.engine.query, clock)
        self.book = AlertBook(store, clock)

    @property
    def store(self) -> Store:
        """The store every part reads and writes."""
        return self.engine.store

    @property
    def query(self) -> QueryService:
        """Reads the window series."""
        return self.engine.query

    @property
    def clock(self) -> Callable[[], float]:
        """Epoch seconds."""
        return self.engine.clock

    @property
    def policy(self) -> NetworkPolicy | None:
        """Where the channels' requests may go (``None``: the channels' default)."""
        return self.engine.policy

    # -- monitors: see MonitorConfig ----------------------------------------------------------

    def upsert_monitor(self, spec: MonitorSpec, *, source: str = "api") -> str:
        """See :meth:`MonitorConfig.upsert_monitor`."""
        return self.monitors.upsert_monitor(spec, source=source)

    def delete_monitor(self, name: str) -> None:
        """See :meth:`MonitorConfig.delete_monitor`."""
        self.monitors.delete_monitor(name)

    def list_monitors(
        self, project: str | None = None, model: str | None = None
    ) -> list[MonitorInfo]:
        """See :meth:`MonitorConfig.list_monitors`."""
        return self.monitors.list_monitors(project, model)

    def get_monitor(self, name: str) -> MonitorInfo:
        """See :meth:`MonitorConfig.get_monitor`."""
        return self.monitors.get_monitor(name)

    def monitor_spec(self, name: str) -> MonitorSpec:
        """See :meth:`MonitorConfig.monitor_spec`."""
        return self.monitors.monitor_spec(name)

    def monitor_results(
        self, name: str, start: float | None = None, end: float | None = None
    ) -> list[MonitorResult]:
        """See :meth:`MonitorConfig.monitor_results`."""
        return self.monitors.monitor_results(name, start, end)

    def mark_ingest(self, project: str, model: str) -> int:
        """See :meth:`MonitorConfig.mark_ingest`."""
        return self.monitors.mark_ingest(project, model)

    def apply(
        self, config: AlertingConfig, *, prune: bool = False, source: str = "api"
    ) -> ApplyResult:
        """See :meth:`MonitorConfig.apply`."""
        return self.monitors.apply(config, prune=prune, source=source)

    def config(self) -> AlertingConfig:
        """See :meth:`MonitorConfig.config`."""
        return self.monitors.config()

    def ensure_default_monitors(self, project: str, model: str) -> list[str]:
        """See :meth:`MonitorConfig.ensure_default_monitors`."""
        return self.monitors.ensure_default_monitors(project, model)

    # -- passes: see AlertEngine --------------------------------------------------------------

    def evaluate_due(self, now: float | None = None) -> EvaluationRun:
        """See :meth:`AlertEngine.evaluate_due`."""
        return self.engine.evaluate_due(now)

    def channels_for(self, receiver: str) -> list[Any] | None:
        """See :meth:`AlertEngine.channels_for`."""
        return self.engine.channels_for(receiver)

    def deliver_due(self, now: float | None = None, *, limit: int = 100) -> DeliveryRun:
        """See :meth:`AlertEngine.deliver_due`."""
        return self.engine.deliver_due(now, limit=limit)

    # -- alerts, silences, outbox: see AlertBook ----------------------------------------------

    def list_alerts(
        self,
        project: str | None = None,
        model: str | None = None,
        state: str | None = None,
        limit: int = 500,
    ) -> list[AlertInfo]:
        """See :meth:`AlertBook.list_alerts`."""
        return self.book.list_alerts(project, model, state, limit)

    def get_alert(self, fingerprint: str) -> AlertDetail:
        """See :meth:`AlertBook.get_alert`."""
        return self.book.get_alert(fingerprint)

    def acknowledge(self, fingerprint: str, by: str) -> AlertDetail:
        """See :meth:`AlertBook.acknowledge`."""
        return self.book.acknowledge(fingerprint, by)

    def resolve(self, fingerprint: str, by: str) -> AlertDetail:
        """See :meth:`AlertBook.resolve`."""
        return self.book.resolve(fingerprint, by)

    def alert_counts(self) -> list[AlertCount]:
        """See :meth:`AlertBook.alert_counts`."""
        return self.book.alert_counts()

    def create_silence(
        self,
        matchers: Sequence[Matcher | str],
        ends_at: float,
        *,
        starts_at: float | None = None,
        created_by: str = "",
        comment: str = "",
    ) -> Silence:
        """See :meth:`AlertBook.create_silence`."""
        return self.book.create_silence(
            matchers, ends_at, starts_at=starts_at, created_by=created_by, comment=comment
        )

    def list_silences(self, active_only: bool = False) -> list[Silence]:
        """See :meth:`AlertBook.list_silences`."""
        return self.book.list_silences(active_only)

    def expire_silence(self, id: str) -> Silence:
        """See :meth:`AlertBook.expire_silence`."""
        return self.book.expire_silence(id)

    def list_notifications(
        self, status: str | None = None, limit: int = 200
    ) -> list[NotificationInfo]:
        """See :meth:`AlertBook.list_notifications`."""
        return self.book.list_notifications(status, limit)

    def test_route(self, labels: Mapping[str, str]) -> RoutePreview:
        """See :meth:`AlertBook.test_route`."""
        return self.book.test_route(labels)
