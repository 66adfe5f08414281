"""The alert service: monitors, alerts, silences and the notification outbox, in the store.

:class:`AlertService` is what the server, the scheduler and the CLI call. It
keeps monitor specs (from a config file, the API, or created by default from a
model's reference), runs evaluation passes (:meth:`AlertService.evaluate_due`,
see :mod:`driftline.alerts._evaluation`), drains the outbox
(:meth:`AlertService.deliver_due`, see :mod:`driftline.alerts._outbox`) and
answers the questions of the API and the dashboard: which alerts are open and
why, what a monitor's results were, what was sent and what failed.

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
>>> [m["name"] for m in service.list_monitors(project="shop")]
['low-volume']
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftline.alerts import _repo as repo
from driftline.alerts._model import Alert, AlertState, Matcher, Silence
from driftline.alerts._results import ApplyResult, DeliveryRun, EvaluationRun
from driftline.alerts.channels._retry import RetryPolicy
from driftline.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from driftline.alerts._spec import AlertingConfig, MonitorSpec
    from driftline.alerts.channels import NetworkPolicy
    from driftline.store import QueryService, Store

__all__ = ["DEFAULT_CLAIM_SECONDS", "DEFAULT_MONITOR_TIMEOUT", "AlertService"]

log = logging.getLogger("driftline.alerts")

DEFAULT_CLAIM_SECONDS = 60.0
"""How long a worker's claim on an outbox row lasts before another may send it."""
DEFAULT_MONITOR_TIMEOUT = 10.0
"""Seconds one monitor may take in a pass before it is abandoned (and retried later)."""
EVIDENCE_WINDOWS = 24
"""Windows of results shown before and after an alert started, as its evidence."""


def spec_json(spec: MonitorSpec) -> dict[str, Any]:
    """The JSON form of a monitor spec, as stored."""
    out: dict[str, Any] = spec.model_dump(mode="json", by_alias=True)
    return out


def spec_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a spec: equal specs, equal hashes."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _alert_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    out = Alert.from_dict(row).to_dict()
    out["monitor"] = row["monitor"]
    return out


class AlertService:
    """Monitors, alerts, silences and notifications, kept in the store.

    Parameters
    ----------
    store : Store
    query : QueryService, optional
        Reads the window series (default: a new one on ``store``).
    clock : callable, default time.time
        Epoch seconds; every decision takes ``now`` from it unless given one.
    environ : mapping, optional
        Where channel secrets (``*_env``) are looked up (default ``os.environ``).
    policy : NetworkPolicy, optional
        Where webhook, Slack and Alertmanager requests may go (default: the
        channels' default, which blocks private and loopback ranges).
    transport : httpx.BaseTransport, optional
        HTTP transport for the channels.
    external_url : str, optional
        The dashboard's URL, linked from notifications.
    retry : RetryPolicy, optional
        When a failed notification is tried again, and when given up.
    owner : str, optional
        This process's identity in outbox claims (default: random).
    claim_seconds : float, default :data:`DEFAULT_CLAIM_SECONDS`
    monitor_timeout : float, default :data:`DEFAULT_MONITOR_TIMEOUT`
        Seconds one monitor may spend fetching and evaluating in a pass.
    fdr_alpha : float, default 0.05
        False discovery rate controlled (Benjamini-Hochberg) across the
        p-value checks of one pass.
    rng : random.Random, optional
        Jitter of retry delays (seed it in tests).
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
        if query is None:
            from driftline.store import QueryService

            query = QueryService(store)
        if not claim_seconds > 0:
            raise InputError(f"claim_seconds: expected a positive number, got {claim_seconds!r}")
        if not monitor_timeout > 0:
            raise InputError(
                f"monitor_timeout: expected a positive number, got {monitor_timeout!r}"
            )
        self.store = store
        self.query = query
        self.clock = clock
        self.environ = environ
        self.policy = policy
        self.transport = transport
        self.external_url = external_url
        self.retry = retry or RetryPolicy()
        self.owner = owner or f"outbox-{uuid.uuid4().hex[:12]}"
        self.claim_seconds = float(claim_seconds)
        self.monitor_timeout = float(monitor_timeout)
        self.fdr_alpha = float(fdr_alpha)
        self.rng = rng or random.Random()

    def _now(self, now: float | None) -> float:
        t = self.clock() if now is None else float(now)
        if not math.isfinite(t):
            raise InputError(f"now: expected finite epoch seconds, got {t!r}")
        return t

    # -- monitors ------------------------------------------------------------------------------

    def _monitor_values(self, spec: MonitorSpec, source: str, now: float) -> dict[str, Any]:
        if source not in ("file", "api", "default"):
            raise InputError(f"source: expected 'file', 'api' or 'default', got {source!r}")
        data = spec_json(spec)
        return {
            "name": spec.name, "project": spec.project, "model": spec.model or "",
            "spec": data, "spec_hash": spec_hash(data), "enabled": bool(spec.enabled),
            "source": source, "on_ingest": spec.schedule == "on_ingest", "next_due_at": now,
        }  # fmt: skip

    def upsert_monitor(self, spec: MonitorSpec, *, source: str = "api") -> str:
        """Create or update one monitor; ``'created'``, ``'updated'`` or ``'unchanged'``.

        A changed spec is due at once; its results and alerts are kept.
        """
        now = self._now(None)
        values = self._monitor_values(spec, source, now)
        with self.store.begin() as conn:
            return repo.save_monitor(conn, values, now)

    def delete_monitor(self, name: str) -> None:
        """Delete a monitor and its results; :class:`NotFoundError` when there is none."""
        with self.store.begin() as conn:
            if not repo.delete_monitor(conn, name):
                raise NotFoundError(f"monitor: no monitor named {name!r}")

    def _monitor_state(
        self,
        conn: Any,
        row: Mapping[str, Any],
        known: tuple[Mapping[int, Any], Mapping[int, Any]] | None = None,
    ) -> dict[str, Any]:
        if known is None:
            results = repo.monitor_results(conn, row["id"], limit=1)
            open_ = repo.open_alert_of(conn, row["id"])
        else:  # read for many monitors at once
            last = known[0].get(row["id"])
            results = [] if last is None else [last]
            open_ = known[1].get(row["id"])
        return {
            "name": row["name"], "project": row["project"], "model": row["model"] or None,
            "spec": row["spec"], "enabled": row["enabled"], "source": row["source"],
            "created_at": row["created_at"], "updated_at": row["updated_at"],
            "last_evaluated_at": row["last_evaluated_at"],
            "last_window_end": row["last_window_end"], "next_due_at": row["next_due_at"],
            "dirty": row["dirty"], "last_result": results[-1] if results else None,
            "open_alert": None if open_ is None else _alert_dict(open_),
        }  # fmt: skip

    def list_monitors(
        self, project: str | None = None, model: str | None = None
    ) -> list[dict[str, Any]]:
        """Monitors with their state: spec, schedule, last result and open alert."""
        with self.store.read() as conn:
            rows = repo.list_monitors(conn, project, model)
            ids = [int(r["id"]) for r in rows]
            known = (repo.latest_results(conn, ids), repo.open_alerts_of(conn, ids))
            return [self._monitor_state(conn, r, known) for r in rows]

    def get_monitor(self, name: str) -> dict[str, Any]:
        """One monitor with its state (see :meth:`list_monitors`)."""
        with self.store.read() as conn:
            row = repo.get_monitor(conn, name)
            if row is None:
                raise NotFoundError(f"monitor: no monitor named {name!r}")
            return self._monitor_state(conn, row)

    def monitor_spec(self, name: str) -> MonitorSpec:
        """The stored spec of a monitor."""
        from driftline.alerts._spec import MonitorSpec

        return MonitorSpec.model_validate(self.get_monitor(name)["spec"])

    def monitor_results(
        self, name: str, start: float | None = None, end: float | None = None
    ) -> list[dict[str, Any]]:
        """The result series of a monitor (``start <= at < end``), oldest first."""
        with self.store.read() as conn:
            row = repo.get_monitor(conn, name)
            if row is None:
                raise NotFoundError(f"monitor: no monitor named {name!r}")
            return repo.monitor_results(conn, row["id"], start, end)

    def mark_ingest(self, project: str, model: str) -> int:
        """Flag the ``on_ingest`` monitors of a model for the next pass.

        Returns how many of them wait for a pass now (flagged by this call or
        before it): 0 means there is nothing to wake the scheduler for. Cheap,
        so the server calls it after every ingest: a model without such
        monitors costs one read, one with them also an UPDATE that touches only
        the clean ones.
        """
        with self.store.read() as conn:
            n = repo.count_on_ingest(conn, project, model)
        if n:
            with self.store.begin() as conn:
                repo.mark_dirty(conn, project, model)
        return n

    # -- config --------------------------------------------------------------------------------

    def apply(
        self, config: AlertingConfig, *, prune: bool = False, source: str = "api"
    ) -> ApplyResult:
        """Store a config: upsert its monitors, routes, receivers, inhibit rules and silences.

        A config without ``route``, ``receivers`` and ``inhibit_rules`` manages
        monitors (and silences) only: the stored routing is kept as it is.

        Parameters
        ----------
        config : AlertingConfig
        prune : bool, default False
            Delete the monitors of the same ``source`` that the config does not name.
        source : {'api', 'file', 'default'}
            Where the config came from (kept with each monitor).

        Returns
        -------
        ApplyResult
            Monitor names created, updated, unchanged and deleted.
        """
        now = self._now(None)
        out: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
        values = [self._monitor_values(m, source, now) for m in config.monitors]
        with self.store.begin() as conn:
            for v in values:
                out[repo.save_monitor(conn, v, now)].append(v["name"])
            if prune:
                named = {m.name for m in config.monitors}
                for row in repo.list_monitors(conn):
                    if row["source"] == source and row["name"] not in named:
                        repo.delete_monitor(conn, row["name"])
                        out["deleted"].append(row["name"])
            stored = repo.get_config(conn)
            if config.manages_routing() or stored is None:
                revision = repo.put_config(
                    conn,
                    route=None if config.route is None
                    else config.route.model_dump(mode="json", by_alias=True, exclude_none=True),
                    receivers=[r.model_dump(mode="json") for r in config.receivers],
                    inhibit_rules=[r.model_dump(mode="json") for r in config.inhibit_rules],
                    source=source, now=now,
                )  # fmt: skip
            else:  # a document of monitors (and silences) only keeps the stored routing
                revision = int(stored["revision"])
            new_silences = sum(
                repo.save_silence(conn, s, source="file" if source == "file" else "api", now=now)
                for s in config.runtime_silences()
            )
        return ApplyResult(
            created=tuple(sorted(out["created"])), updated=tuple(sorted(out["updated"])),
            unchanged=tuple(sorted(out["unchanged"])), deleted=tuple(sorted(out["deleted"])),
            config_revision=revision, silences_created=new_silences,
        )  # fmt: skip

    def config(self) -> AlertingConfig:
        """The stored config: every monitor, the routing tree, receivers, rules and the
        silences that have not ended."""
        from driftline.alerts._spec import AlertingConfig

        with self.store.read() as conn:
            monitors = [r["spec"] for r in repo.list_monitors(conn)]
            stored = repo.get_config(conn) or {}
            now = self._now(None)
            silences = [s.to_dict() for s in repo.list_silences(conn) if s.ends_at > now]
        return AlertingConfig.model_validate({
            "monitors": monitors, "route": stored.get("route"),
            "receivers": stored.get("receivers") or [],
            "inhibit_rules": stored.get("inhibit_rules") or [], "silences": silences,
        })  # fmt: skip

    def ensure_default_monitors(self, project: str, model: str) -> list[str]:
        """Create the default monitors of a model that has a reference and no monitors yet.

        Returns the names created (empty when the model already has monitors or
        no reference yet). See ``driftline.alerts.default_monitors``.
        """
        from driftline.alerts._defaults import default_monitors
        from driftline.alerts._signals import reference_profile

        with self.store.read() as conn:
            if repo.list_monitors(conn, project, model):
                return []
        reference = reference_profile(self.query, project, model)
        if reference is None:
            return []
        profile, has_labels = reference
        specs = default_monitors(project, model, profile, has_labels=has_labels)
        now = self._now(None)
        created = []
        with self.store.begin() as conn:
            if repo.list_monitors(conn, project, model):
                return []  # another process got there first
            for spec in specs:
                if repo.save_monitor(conn, self._monitor_values(spec, "default", now), now) == (
                    "created"
                ):
                    created.append(spec.name)
        return created

    # -- evaluation and delivery ---------------------------------------------------------------

    def evaluate_due(self, now: float | None = None) -> EvaluationRun:
        """Evaluate the monitors that are due or that ingest marked, and update alerts.

        See :mod:`driftline.alerts._evaluation` for the pass (catch-up policy,
        time budget, false discovery control, silences, grouping, outbox).
        """
        from driftline.alerts._evaluation import evaluate_due

        return evaluate_due(self, self._now(now))

    def channels_for(self, receiver: str) -> list[Any] | None:
        """The channels of a receiver of the stored config (``None``: no such receiver)."""
        from driftline.alerts.channels import NetworkPolicy, ReceiverSpec
        from driftline.alerts.channels._channel import build_channels

        with self.store.read() as conn:
            stored = repo.get_config(conn) or {}
        for r in stored.get("receivers") or []:
            if r.get("name") == receiver:
                spec = ReceiverSpec.model_validate(r)
                return list(
                    build_channels(spec, policy=self.policy or NetworkPolicy(),
                                   environ=self.environ, transport=self.transport,
                                   clock=self.clock)
                )  # fmt: skip
        return None

    def deliver_due(self, now: float | None = None, *, limit: int = 100) -> DeliveryRun:
        """Claim due notifications of the outbox and send them (see :mod:`._outbox`)."""
        from driftline.alerts._outbox import deliver_due

        if limit < 1:
            raise InputError(f"limit: expected a positive integer, got {limit!r}")
        return deliver_due(
            self.store, owner=self.owner, now=self._now(now), limit=limit,
            claim_seconds=self.claim_seconds, channels_for=self.channels_for,
            retry=self.retry, rng=self.rng,
        )  # fmt: skip

    # -- alerts --------------------------------------------------------------------------------

    def list_alerts(
        self,
        project: str | None = None,
        model: str | None = None,
        state: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Alerts, most recently updated first; filter by project, model and state."""
        if state is not None:
            try:
                AlertState(state)
            except ValueError:
                states = ", ".join(s.value for s in AlertState)
                raise InputError(f"state: expected one of {states}, got {state!r}") from None
        with self.store.read() as conn:
            rows = repo.list_alerts(conn, project=project, model=model, state=state, limit=limit)
        return [_alert_dict(r) for r in rows]

    def get_alert(self, fingerprint: str) -> dict[str, Any]:
        """One alert with its history (events with reasons), its monitor and evidence.

        ``evidence`` is the monitor's result series around the alert: up to
        :data:`EVIDENCE_WINDOWS` results before it started and everything since.
        """
        with self.store.read() as conn:
            row = repo.get_alert(conn, fingerprint)
            if row is None:
                raise NotFoundError(f"fingerprint: no alert with fingerprint {fingerprint!r}")
            events = repo.alert_events(conn, row["id"])
            monitor = evidence = None
            if row["monitor_id"] is not None:
                m = repo.get_monitor(conn, row["monitor"])
                monitor = None if m is None else self._monitor_state(conn, m)
                before = repo.monitor_results(
                    conn, row["monitor_id"], end=row["started_at"], limit=EVIDENCE_WINDOWS
                )
                since = repo.monitor_results(conn, row["monitor_id"], start=row["started_at"])
                evidence = before + since
        out = _alert_dict(row)
        out["events"] = [
            {k: e[k] for k in ("at", "event", "from_state", "to_state", "reason", "value")}
            for e in events
        ]
        out["monitor_state"] = monitor
        out["evidence"] = evidence or []
        return out

    def _manual(self, fingerprint: str, by: str, action: str) -> dict[str, Any]:
        from driftline.alerts import _state

        if not by or not by.strip():
            raise InputError(f"by: expected who {action} the alert, got {by!r}")
        now = self._now(None)
        with self.store.begin() as conn:
            row = repo.get_alert(conn, fingerprint)
            if row is None:
                raise NotFoundError(f"fingerprint: no alert with fingerprint {fingerprint!r}")
            alert = Alert.from_dict(row)
            now = max(now, alert.updated_at)
            fn = _state.acknowledge if action == "acknowledged" else _state.resolve_manually
            tr = fn(alert, by=by, now=now)
            if tr.changed and tr.alert is not None:
                repo.save_alert(
                    conn, tr.alert, monitor_id=row["monitor_id"], monitor=row["monitor"]
                )
                repo.add_alert_event(
                    conn, row["id"], at=now, event=tr.event or action,
                    from_state=alert.state.value, to_state=tr.alert.state.value,
                    reason=tr.reason, value=tr.alert.value,
                )  # fmt: skip
        log.info("alert %s %s by %s: %s", fingerprint, action, by, tr.reason)
        return self.get_alert(fingerprint)

    def acknowledge(self, fingerprint: str, by: str) -> dict[str, Any]:
        """Acknowledge an open alert (repeats stop; it stays open until it resolves)."""
        return self._manual(fingerprint, by, "acknowledged")

    def resolve(self, fingerprint: str, by: str) -> dict[str, Any]:
        """Resolve an alert by hand (it opens again if its monitor fires again)."""
        return self._manual(fingerprint, by, "resolved")

    def alert_counts(self) -> list[dict[str, Any]]:
        """Alerts counted by project, model, severity and state (for ``driftline_alerts``)."""
        with self.store.read() as conn:
            return repo.alert_counts(conn)

    # -- silences ------------------------------------------------------------------------------

    def create_silence(
        self,
        matchers: Sequence[Matcher | str],
        ends_at: float,
        *,
        starts_at: float | None = None,
        created_by: str = "",
        comment: str = "",
    ) -> Silence:
        """Mute the alerts matching every matcher from ``starts_at`` (default now) to ``ends_at``."""
        parsed = tuple(m if isinstance(m, Matcher) else Matcher.parse(m) for m in matchers)
        if not parsed:
            raise InputError("matchers: expected at least one matcher, got none")
        now = self._now(None)
        start = now if starts_at is None else float(starts_at)
        if not float(ends_at) > start:
            raise InputError(f"ends_at: expected a time after starts_at ({start}), got {ends_at!r}")
        silence = Silence(
            id=uuid.uuid4().hex, matchers=parsed, starts_at=start, ends_at=float(ends_at),
            created_by=created_by, comment=comment,
        )  # fmt: skip
        with self.store.begin() as conn:
            repo.save_silence(conn, silence, source="api", now=now)
        return silence

    def list_silences(self, active_only: bool = False) -> list[Silence]:
        """Every silence, or only those in force now."""
        with self.store.read() as conn:
            return repo.list_silences(conn, active_at=self._now(None) if active_only else None)

    def expire_silence(self, id: str) -> Silence:
        """End a silence now; :class:`NotFoundError` when there is none with ``id``."""
        now = self._now(None)
        with self.store.begin() as conn:
            found = [s for s in repo.list_silences(conn) if s.id == id]
            if not found:
                raise NotFoundError(f"id: no silence with id {id!r}")
            s = found[0]
            ended = Silence(
                id=s.id, matchers=s.matchers, starts_at=min(s.starts_at, now),
                ends_at=min(s.ends_at, now), created_by=s.created_by, comment=s.comment,
            )  # fmt: skip
            repo.save_silence(conn, ended, source="api", now=now)
        return ended

    # -- outbox --------------------------------------------------------------------------------

    def list_notifications(
        self, status: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Outbox rows, newest first, each with its attempts (``status``: pending,
        sending, delivered or failed)."""
        if status is not None and status not in ("pending", "sending", "delivered", "failed"):
            raise InputError(
                f"status: expected one of pending, sending, delivered, failed, got {status!r}"
            )
        with self.store.read() as conn:
            rows = repo.list_notifications(conn, status=status, limit=limit)
            for r in rows:
                r["attempt_log"] = [
                    {k: a[k] for k in ("at", "channel", "ok", "error", "retryable")}
                    for a in repo.notification_attempts(conn, r["id"])
                ]
        return rows

    def test_route(self, labels: Mapping[str, str]) -> dict[str, Any]:
        """Where an alert with ``labels`` would go: receivers, group keys, silences, inhibition."""
        from driftline.alerts._evaluation import route_preview

        return route_preview(self, dict(labels), self._now(None))
