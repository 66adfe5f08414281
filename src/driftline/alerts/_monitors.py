"""The monitor configuration: monitors (CRUD), a whole config applied, default monitors.

:class:`MonitorConfig` keeps monitor specs in the store, from a config file, the
API, or created by default from a model's reference, with the routing tree,
receivers and inhibit rules of the config. It is part of
:class:`~driftline.alerts.AlertService` (``service.monitors``).

Example
-------
>>> from driftline.alerts._spec import MonitorSpec
>>> from driftline.store import Store
>>> store = Store.open("sqlite://")
>>> monitors = MonitorConfig(store, clock=lambda: 1_800_000_000.0)
>>> spec = MonitorSpec(name="low-volume", project="shop", model="ranker",
...                    signal={"kind": "volume"},
...                    condition={"kind": "threshold", "op": "<", "value": 10})
>>> monitors.upsert_monitor(spec)
'created'
>>> [m.name for m in monitors.list_monitors(project="shop")]
['low-volume']
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from driftline.alerts import _repo as repo
from driftline.alerts._duration import checked_now
from driftline.alerts._results import AlertInfo, ApplyResult, MonitorInfo, MonitorResult
from driftline.errors import InputError, NotFoundError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from driftline.alerts._spec import AlertingConfig, MonitorSpec
    from driftline.store import QueryService, Store

__all__ = ["MonitorConfig", "monitor_info", "spec_hash", "spec_json"]

SOURCES = ("file", "api", "default")
"""Where a monitor came from: a config file, the API, or created by default."""


def spec_json(spec: MonitorSpec) -> dict[str, Any]:
    """The JSON form of a monitor spec, as stored."""
    out: dict[str, Any] = spec.model_dump(mode="json", by_alias=True)
    return out


def spec_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a spec: equal specs, equal hashes."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def monitor_values(spec: MonitorSpec, source: str, now: float) -> dict[str, Any]:
    """The ``monitors`` row of a spec, due at ``now``."""
    if source not in SOURCES:
        raise InputError(f"source: expected 'file', 'api' or 'default', got {source!r}")
    data = spec_json(spec)
    return {
        "name": spec.name, "project": spec.project, "model": spec.model or "",
        "spec": data, "spec_hash": spec_hash(data), "enabled": bool(spec.enabled),
        "source": source, "on_ingest": spec.schedule == "on_ingest", "next_due_at": now,
    }  # fmt: skip


def monitor_info(
    conn: sa.Connection,
    row: Mapping[str, Any],
    known: tuple[Mapping[int, Any], Mapping[int, Any]] | None = None,
) -> MonitorInfo:
    """A monitor row with its last result and open alert (``known``: read for many at once)."""
    if known is None:
        results = repo.monitor_results(conn, row["id"], limit=1)
        last = results[-1] if results else None
        open_ = repo.open_alert_of(conn, row["id"])
    else:
        last = known[0].get(row["id"])
        open_ = known[1].get(row["id"])
    return MonitorInfo(
        name=row["name"], project=row["project"], model=row["model"] or None,
        spec=row["spec"], enabled=row["enabled"], source=row["source"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        last_evaluated_at=row["last_evaluated_at"], last_window_end=row["last_window_end"],
        next_due_at=row["next_due_at"], dirty=row["dirty"],
        last_result=None if last is None else MonitorResult.from_row(last),
        open_alert=None if open_ is None else AlertInfo.from_row(open_),
    )  # fmt: skip


class MonitorConfig:
    """Monitors and the stored alerting config.

    Parameters
    ----------
    store : Store
    query : QueryService
        Reads a model's reference (for the default monitors).
    clock : callable, default time.time
        Epoch seconds.
    """

    def __init__(
        self, store: Store, query: QueryService | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        if query is None:
            from driftline.store import QueryService

            query = QueryService(store)
        self.store = store
        self.query = query
        self.clock = clock

    def upsert_monitor(self, spec: MonitorSpec, *, source: str = "api") -> str:
        """Create or update one monitor; ``'created'``, ``'updated'`` or ``'unchanged'``.

        A changed spec is due at once; its results and alerts are kept.
        """
        now = checked_now(self.clock)
        values = monitor_values(spec, source, now)
        with self.store.begin() as conn:
            return repo.save_monitor(conn, values, now)

    def delete_monitor(self, name: str) -> None:
        """Delete a monitor and its results; :class:`NotFoundError` when there is none."""
        with self.store.begin() as conn:
            if not repo.delete_monitor(conn, name):
                raise NotFoundError(f"monitor: no monitor named {name!r}")

    def list_monitors(
        self, project: str | None = None, model: str | None = None
    ) -> list[MonitorInfo]:
        """Monitors with their state: spec, schedule, last result and open alert."""
        with self.store.read() as conn:
            rows = repo.list_monitors(conn, project, model)
            ids = [int(r["id"]) for r in rows]
            known = (repo.latest_results(conn, ids), repo.open_alerts_of(conn, ids))
            return [monitor_info(conn, r, known) for r in rows]

    def get_monitor(self, name: str) -> MonitorInfo:
        """One monitor with its state (see :meth:`list_monitors`)."""
        with self.store.read() as conn:
            row = repo.get_monitor(conn, name)
            if row is None:
                raise NotFoundError(f"monitor: no monitor named {name!r}")
            return monitor_info(conn, row)

    def monitor_spec(self, name: str) -> MonitorSpec:
        """The stored spec of a monitor."""
        from driftline.alerts._spec import MonitorSpec

        return MonitorSpec.model_validate(self.get_monitor(name).spec)

    def monitor_results(
        self, name: str, start: float | None = None, end: float | None = None
    ) -> list[MonitorResult]:
        """The result series of a monitor (``start <= at < end``), oldest first."""
        with self.store.read() as conn:
            row = repo.get_monitor(conn, name)
            if row is None:
                raise NotFoundError(f"monitor: no monitor named {name!r}")
            rows = repo.monitor_results(conn, row["id"], start, end)
        return [MonitorResult.from_row(r) for r in rows]

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
        now = checked_now(self.clock)
        out: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
        values = [monitor_values(m, source, now) for m in config.monitors]
        with self.store.begin() as conn:
            for v in values:
                out[repo.save_monitor(conn, v, now)].append(v["name"])
            if prune:
                out["deleted"] += _prune(conn, config, source)
            revision = _save_routing(conn, config, source, now)
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
            now = checked_now(self.clock)
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
        from driftline.alerts._series import reference_profile

        with self.store.read() as conn:
            if repo.list_monitors(conn, project, model):
                return []
        reference = reference_profile(self.query, project, model)
        if reference is None:
            return []
        profile, has_labels = reference
        specs = default_monitors(project, model, profile, has_labels=has_labels)
        now = checked_now(self.clock)
        created = []
        with self.store.begin() as conn:
            if repo.list_monitors(conn, project, model):
                return []  # another process got there first
            for spec in specs:
                if repo.save_monitor(conn, monitor_values(spec, "default", now), now) == "created":
                    created.append(spec.name)
        return created


def _prune(conn: sa.Connection, config: AlertingConfig, source: str) -> list[str]:
    """Delete the monitors of ``source`` that ``config`` does not name; their names."""
    named = {m.name for m in config.monitors}
    deleted = []
    for row in repo.list_monitors(conn):
        if row["source"] == source and row["name"] not in named:
            repo.delete_monitor(conn, row["name"])
            deleted.append(row["name"])
    return deleted


def _save_routing(conn: sa.Connection, config: AlertingConfig, source: str, now: float) -> int:
    """Store the config's routing (or keep the stored one); the config revision."""
    stored = repo.get_config(conn)
    if not config.manages_routing() and stored is not None:
        return int(stored["revision"])  # a document of monitors (and silences) only
    return int(
        repo.put_config(
            conn,
            route=None if config.route is None
            else config.route.model_dump(mode="json", by_alias=True, exclude_none=True),
            receivers=[r.model_dump(mode="json") for r in config.receivers],
            inhibit_rules=[r.model_dump(mode="json") for r in config.inhibit_rules],
            source=source, now=now,
        )
    )  # fmt: skip
