"""Training runs: ``driftline.init(...)`` returns a :class:`Run` that logs metrics."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from driftline.client._connect import connect
from driftline.client._delivery import Ack
from driftline.client._pipeline import ClientStats
from driftline.client._system import sample_system_metrics
from driftline.config import Settings
from driftline.errors import InputError
from driftline.wire import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, check_name

if TYPE_CHECKING:
    import httpx  # imported by HttpDelivery, when a monitor or run sends over HTTP

__all__ = ["HEARTBEAT_INTERVAL", "HEARTBEAT_TIMEOUT", "Run", "init"]

SYSTEM_METRICS_INTERVAL = 30.0
"""Default seconds between two samples of system metrics (``None`` turns sampling off)."""

_STATUSES = ("finished", "failed", "crashed")


def _create_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    return dict(items[-1])  # a re-announce (new tags) replaces the earlier one


def _metrics_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    project, run_id = cast(Any, key)
    points = [
        {"key": k, "step": step, "value": v, "timestamp": ts}
        for step, ts, values in items
        for k, v in values.items()
    ]
    return {"project": project, "run_id": run_id, "points": points}


def _update_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    return dict(items[-1])  # each update carries the full status and summary


def _events_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    project, run_id = cast(Any, key)
    return {"project": project, "run_id": run_id, "events": list(items)}


_ENCODERS = {
    "run_create": _create_payload,
    "run_metrics": _metrics_payload,
    "run_update": _update_payload,
    "run_events": _events_payload,
}


class Run:
    """One training run; create it with :func:`init`.

    Every method returns at once and never raises: values are checked cheaply,
    queued, and sent by a background thread (see :mod:`driftline.client`). A bad
    value is dropped, counted in :meth:`stats` under ``invalid`` and logged once.

    While the run is open its thread sends a heartbeat every
    :data:`HEARTBEAT_INTERVAL` seconds (30); the server marks a run ``crashed``
    when it stayed ``running`` without a heartbeat for :data:`HEARTBEAT_TIMEOUT`
    seconds (180). With ``system_metrics_interval`` set, the thread also logs
    ``system/...`` metrics (CPU and memory with ``psutil``, GPU memory with torch).

    A stop requested on the server (``POST /api/v1/runs/{run_id}/stop``, or an
    alert's webhook sent to ``/api/v1/actions/stop-runs``) arrives with the answer
    to the run's next batch: :attr:`stop_requested` turns true, :attr:`stop_reason`
    says why, and a ``run.stop_requested`` event is recorded. A
    :class:`driftline.training.Guard` given this run stops at its next check.

    Example
    -------
    >>> import tempfile
    >>> from driftline.config import load_settings
    >>> from driftline.client._delivery import Ack
    >>> import httpx, json, gzip
    >>> def server(request):
    ...     body = json.loads(gzip.decompress(request.content))
    ...     return httpx.Response(200, json={"batch_id": body["batch_id"], "accepted": 1,
    ...                                      "duplicate": False})
    >>> settings = load_settings({"DRIFTLINE_DATA_DIR": tempfile.mkdtemp()})
    >>> with init("demo", url="http://test", transport=httpx.MockTransport(server),
    ...           settings=settings) as run:
    ...     run.log({"loss": 0.7, "accuracy": 0.61})
    ...     run.log({"loss": 0.5, "accuracy": 0.72})
    >>> run.stats().dropped
    {}
    """

    def __init__(
        self,
        project: str,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        url: str | None = None,
        token: str | None = None,
        run_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
        settings: Settings | None = None,
        store_factory: Callable[[], Any] | None = None,
        system_metrics_interval: float | None = SYSTEM_METRICS_INTERVAL,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        **pipeline_options: Any,
    ) -> None:
        check_name("project", project)
        if config is not None and not isinstance(config, Mapping):
            raise InputError(f"config: expected a mapping, got {type(config).__name__}")
        tag_list = [tags] if isinstance(tags, str) else list(tags)
        for t in tag_list:
            if not isinstance(t, str):
                raise InputError(f"tags: expected strings, got {t!r}")
        self.project = project
        self.run_id = run_id or uuid.uuid4().hex
        self.name = name or self.run_id[:8]
        self.config = dict(config or {})
        self.tags = tag_list
        self.started_at = time.time()
        self.status = "running"
        self.summary: dict[str, Any] = {}
        self._step = 0
        self._status_lock = threading.Lock()
        self._stop_reason: str | None = None
        self._key = (project, self.run_id)
        self._pipe = connect(
            _ENCODERS,
            url=url,
            token=token,
            transport=transport,
            settings=settings,
            store_factory=store_factory,
            **pipeline_options,
        )
        self._pipe.add_ack_listener(self._on_ack)
        self._announce()
        self._pipe.add_periodic(heartbeat_interval, self._heartbeat, at_once=False)
        if system_metrics_interval:
            self._pipe.add_periodic(system_metrics_interval, self._sample_system)

    # -------------------------------------------------------------- hot path
    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metric values at ``step`` (default: the step after the last one logged).

        Values must be numbers (``float(v)`` must work; NaN and infinities are kept).
        """
        try:
            if step is None:
                step = self._step
            elif type(step) is not int or step < 0:
                raise InputError(f"step: expected a non-negative int, got {step!r}")
            values = {}
            for k, v in metrics.items():
                if type(k) is not str:
                    raise InputError(f"metrics: expected string keys, got {k!r}")
                values[k] = float(v)
            self._step = step + 1
            self._pipe.enqueue("run_metrics", self._key, (step, time.time(), values), len(values))
        except Exception as exc:
            self._pipe.count_drop("invalid", f"run.log: {exc}")

    def log_summary(self, summary: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Set summary values of the run (final accuracy, best epoch...), merged into earlier ones."""
        try:
            with self._status_lock:
                self.summary.update(summary or {})
                self.summary.update(values)
                self._send_update(self.status, None)
        except Exception as exc:
            self._pipe.count_drop("invalid", f"run.log_summary: {exc}")

    def add_tags(self, *tags: str) -> None:
        """Add tags to the run (duplicates are ignored)."""
        try:
            for t in tags:
                if not isinstance(t, str):
                    raise InputError(f"tags: expected strings, got {t!r}")
                if t not in self.tags:
                    self.tags.append(t)
            self._announce()
        except Exception as exc:
            self._pipe.count_drop("invalid", f"run.add_tags: {exc}")

    def log_event(
        self,
        kind: str,
        message: str = "",
        *,
        step: int | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a detector event (divergence, plateau, an action taken) at ``step``."""
        try:
            event = {
                "kind": str(kind),
                "step": step,
                "message": str(message),
                "evidence": dict(evidence or {}),
                "timestamp": time.time(),
            }
            self._pipe.enqueue("run_events", self._key, event)
        except Exception as exc:
            self._pipe.count_drop("invalid", f"run.log_event: {exc}")

    # -------------------------------------------------------------- stop requests
    @property
    def stop_requested(self) -> bool:
        """Whether a stop of this run was requested on the server (never raises).

        Learnt from the answer to the run's batches (metrics are sent every
        ``flush_interval``, a heartbeat every 30 s), so it turns true within about a
        second of the request while the run logs.
        """
        return self._stop_reason is not None

    @property
    def stop_reason(self) -> str | None:
        """What asked the run to stop (``"alert 'loss_high' (receiver 'ops'): ..."``), or ``None``."""
        return self._stop_reason

    def _on_ack(self, kind: str, payload: Mapping[str, Any], ack: Ack) -> None:
        """Background thread: note a stop request from the answer to one of this run's batches."""
        if not ack.stop_requested or self._stop_reason is not None:
            return
        if payload.get("run_id") != self.run_id:
            return
        reason = ack.stop_reason or "the server"
        self._stop_reason = reason
        if self.status != "running":  # finishing: the run stops anyway
            return
        self.log_event(
            "run.stop_requested",
            f"stop requested from {reason}",
            step=max(self._step - 1, 0),
            evidence={"reason": reason},
        )

    # -------------------------------------------------------------- life cycle
    def finish(self, status: str = "finished", *, timeout: float | None = 10.0) -> bool:
        """End the run with ``status`` (finished, failed or crashed) and flush.

        Returns ``True`` when everything was acknowledged within ``timeout`` seconds.
        When the server cannot be reached and batches are spooled to disk it returns
        ``False`` at once instead of waiting: a later process replays the spool. A
        second call does nothing and returns ``True``.
        """
        with self._status_lock:
            if self.status != "running":
                return True
            if status not in _STATUSES:
                self._pipe.count_drop(
                    "invalid", f"run.finish: status must be one of {_STATUSES}, got {status!r}"
                )
                status = "finished"
            self.status = status
            self._send_update(status, time.time())
        ok = self._pipe.flush(timeout, until_unreachable=True)
        self._pipe.close(timeout=0.0)
        return ok

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything logged so far was acknowledged; ``False`` on timeout."""
        return self._pipe.flush(timeout)

    def stats(self) -> ClientStats:
        """Counters of what was queued, delivered and dropped (by reason)."""
        return self._pipe.stats()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish("failed" if exc_type is not None else "finished")

    def __repr__(self) -> str:
        return f"Run(project={self.project!r}, run_id={self.run_id!r}, status={self.status!r})"

    # -------------------------------------------------------------- internals
    def _announce(self) -> None:
        self._pipe.enqueue(
            "run_create",
            self._key,
            {
                "project": self.project,
                "run_id": self.run_id,
                "name": self.name,
                "config": self.config,
                "tags": list(self.tags),
                "started_at": self.started_at,
            },
        )

    def _send_update(self, status: str, ended_at: float | None) -> None:
        self._pipe.enqueue(
            "run_update",
            self._key,
            {
                "project": self.project,
                "run_id": self.run_id,
                "status": status,
                "summary": dict(self.summary),
                "ended_at": ended_at,
            },
        )

    def _heartbeat(self) -> None:
        with self._status_lock:  # never a "running" heartbeat after the final update
            if self.status == "running":
                self._send_update("running", None)

    def _sample_system(self) -> None:
        values = sample_system_metrics()
        if values:
            self._pipe.enqueue(
                "run_metrics", self._key, (self._step, time.time(), values), len(values)
            )


def init(
    project: str,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    url: str | None = None,
    token: str | None = None,
    **options: Any,
) -> Run:
    """Start a training run and return its :class:`Run`.

    Parameters
    ----------
    project
        Project the run belongs to (created on first use).
    name
        Display name (default: the first 8 characters of the run id).
    config
        Hyper-parameters and other settings to store with the run.
    tags
        Labels to filter runs by.
    url, token
        Server and API token; default ``DRIFTLINE_URL`` / ``DRIFTLINE_TOKEN``. With no
        URL at all the run is written to the embedded store in this process.
    **options
        Passed to :class:`Run` (``transport``, ``settings``, ``system_metrics_interval``,
        ``heartbeat_interval``, and the pipeline's ``max_queue``, ``flush_interval``...).

    Raises
    ------
    InputError
        When an argument has the wrong type (the only time the SDK raises).

    Example
    -------
    >>> import httpx, tempfile
    >>> from driftline.config import load_settings
    >>> down = httpx.MockTransport(lambda request: httpx.Response(503))
    >>> settings = load_settings({"DRIFTLINE_DATA_DIR": tempfile.mkdtemp()})
    >>> run = init("demo", url="http://test", transport=down, settings=settings)
    >>> run.log({"loss": 0.7})  # returns at once although the server is down
    >>> run.finish(timeout=0.2)
    False
    """
    return Run(project, name=name, config=config, tags=tags, url=url, token=token, **options)
