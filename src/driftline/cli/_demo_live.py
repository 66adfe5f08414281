"""The live part of ``driftline demo``: the store and app, the data, the alert, the checks.

:class:`LiveDemo` owns the demo's store and app; :meth:`LiveDemo.populate`
sends the data through the SDK to the running server and evaluates the
monitors; :meth:`LiveDemo.verify` asks the HTTP API whether everything
arrived and returns :class:`DemoChecks`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftline.errors import DriftlineError

__all__ = ["DemoCheck", "DemoChecks", "LiveDemo"]

ProgressFn = Callable[..., None]

#: The simulated last day must have at most this share of its predictions labelled ...
MAX_LAST_DAY_COVERAGE = 0.9
#: ... and the first days at least this share.
MIN_EARLY_COVERAGE = 0.8
#: The monitors are evaluated once a simulated day from this many days before the drift.
DAYS_BEFORE_DRIFT = 2
#: Seconds past midnight UTC of the daily evaluation passes (12:30).
DAILY_PASS_SECONDS = 12.5 * 3600


@dataclass(frozen=True)
class DemoCheck:
    """One verified fact: its name, whether it holds, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass
class DemoChecks:
    """The checks of ``driftline demo --smoke``; ``ok`` when every one holds."""

    checks: list[DemoCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Record a check."""
        self.checks.append(DemoCheck(name, bool(ok), detail))

    @property
    def ok(self) -> bool:
        """Whether every check holds (and there is at least one)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        """One line per check: ``driftline demo: ok   name: detail`` (or ``FAIL``).

        Examples
        --------
        >>> c = DemoChecks(); c.add("runs", True, "2 finished")
        >>> c.lines()
        ['driftline demo: ok   runs: 2 finished']
        """
        return [
            f"driftline demo: {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}"
            for c in self.checks
        ] + [f"driftline demo: note {n}" for n in self.notes]


class DemoClock:
    """The demo's clock: pinned to a simulated time while the data goes in, then real.

    Examples
    --------
    >>> clock = DemoClock()
    >>> clock.pinned = 1_800_000_000.0
    >>> clock()
    1800000000.0
    >>> clock.pinned = None
    >>> clock() > 1_700_000_000
    True
    """

    def __init__(self) -> None:
        self.pinned: float | None = None

    def __call__(self) -> float:
        return self.pinned if self.pinned is not None else time.time()


class LiveDemo:
    """The demo's store, app and data.

    Parameters
    ----------
    data_dir
        Where the SQLite database, the spool, checkpoints and reports go.
    auth
        Require a bearer token on the API; an admin token is created (:attr:`token`).
    progress
        Called with one line per stage (and ``done, total`` counts).
    """

    def __init__(
        self, data_dir: Path, *, auth: bool = False, progress: ProgressFn | None = None
    ) -> None:
        from driftline.alerts import AlertService
        from driftline.config import load_settings
        from driftline.store import QueryService, Store, TokenService
        from driftline.ui import create_dashboard_app

        self.data_dir = data_dir
        self.clock = DemoClock()
        self.settings = load_settings({"DRIFTLINE_DATA_DIR": str(data_dir)})
        self.store = Store.open(self.settings.database_url)
        self.token: str | None = None
        if auth:
            self.token = TokenService(self.store).create("demo", "*", "admin")
        # the alert service runs on simulated time while the demo replays the past
        self.alerts = AlertService(self.store, query=QueryService(self.store), clock=self.clock)
        self.app = create_dashboard_app(
            self.store, self.settings, auth_required=auth, alerts=self.alerts
        )
        self.progress: ProgressFn = progress if progress is not None else (lambda *a: None)
        self.feed: Any = None
        self.runs: list[Any] = []
        self.alert_note = ""
        self.report_id = ""

    def start_scheduler(self) -> None:
        """Evaluate monitors and send notifications live from now on (the server stops it)."""
        from driftline.alerts import Scheduler

        ctx = self.app.state.driftline
        ctx.scheduler = Scheduler(self.alerts, clock=self.clock)
        ctx.scheduler.start()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # ----------------------------------------------------------------------------- data
    def populate(
        self,
        url: str,
        *,
        days: int = 30,
        rows_per_hour: int = 100,
        epochs: int = 20,
        seed: int = 0,
        end: float | None = None,
    ) -> None:
        """Send everything to the server at ``url`` and let the monitors evaluate."""
        from driftline.examples import feed_screening, record_training, train_screening_model

        end = time.time() if end is None else end
        started = time.monotonic()
        self.clock.pinned = end - days * 86400.0  # monitors are created in the simulated past
        self.progress("training the screening model (scikit-learn, breast-cancer dataset)")
        model = train_screening_model(seed)
        self.progress(
            f"model trained: holdout accuracy {model.holdout_accuracy:.3f}; "
            f"simulating {days} days of traffic, drift from day {days // 2 + 1}"
        )
        self.feed = feed_screening(
            model,
            url=url,
            token=self.token,
            settings=self.settings,
            end=end,
            days=days,
            rows_per_hour=rows_per_hour,
            seed=seed,
            progress=self.progress,
        )
        self.progress(
            f"sent {self.feed.predictions} predictions, {self.feed.labels} labels, "
            f"{self.feed.events} events"
        )
        self.progress("training runs: an MLP hit by a corrupt batch, and a clean one")
        self.runs = record_training(
            model,
            url=url,
            token=self.token,
            settings=self.settings,
            checkpoint_root=self.data_dir / "checkpoints",
            epochs=epochs,
            seed=seed,
        )
        for r in self.runs:
            self.progress(
                f"run {r.name}: val_accuracy {r.result.val_accuracy:.3f}, "
                f"{r.result.restores} checkpoint restore(s)"
            )
        try:
            self.alert_note = self._evaluate_alerts(end)
        finally:
            self.clock.pinned = None
        self.progress(self.alert_note)
        self.progress("offline report of the last week, stored on the Reports page")
        self.report_id = self._upload_report(url, model)
        self.progress(f"ready in {time.monotonic() - started:.0f} s")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _upload_report(self, url: str, model: Any) -> str:
        """Compute the report of the last week against the training data and POST it."""
        import httpx

        from driftline.analysis import Report
        from driftline.examples import DEMO_PROJECT

        reference = model.reference()
        reference["malignant"] = model.train["malignant"].to_numpy()
        report = Report(
            reference,
            self.feed.recent,
            target="malignant",
            prediction="prediction",
            scores=["score"],
        )
        report.compute()
        body = {
            "project": DEMO_PROJECT,
            "name": "last week vs training data",
            "html": report.html(),
            "report": report.to_dict(),
        }
        resp = httpx.post(f"{url}/api/v1/reports", json=body, headers=self._headers(), timeout=120)
        if resp.status_code != 201:
            raise DriftlineError(
                f"POST /api/v1/reports: HTTP {resp.status_code}: {resp.text[:200]}"
            )
        return str(resp.json().get("id", ""))

    def _evaluate_alerts(self, end: float) -> str:
        """Evaluate the default monitors at simulated times, as the scheduler would have.

        Each pass pins ``now`` (see :func:`evaluation_times`), so alerts go through
        their life cycle at the simulated times they would have live.
        """
        from driftline.examples import DEMO_MODEL, DEMO_PROJECT

        service = self.alerts
        service.ensure_default_monitors(DEMO_PROJECT, DEMO_MODEL)
        failed: dict[str, str] = {}
        # the replay's failures are summed up below instead of logged once per pass
        with _quiet("driftline.alerts"):
            for t in evaluation_times(self.feed.start, self.feed.drift_start, end):
                self.clock.pinned = t
                run = service.evaluate_due(now=t)
                failed.update({o.monitor: o.reason for o in run.outcomes if o.status == "failed"})
        for name, reason in sorted(failed.items()):
            self.progress(f"alerts: monitor {name} could not be evaluated: {reason}")
        alerts = service.list_alerts(project=DEMO_PROJECT, model=DEMO_MODEL)
        firing = [a for a in alerts if _field(a, "state") == "firing"]
        names = sorted({str(_field(a, "labels", {}).get("alertname", "?")) for a in firing})
        return f"alerts: {len(firing)} firing ({', '.join(n.split('.', 1)[-1] for n in names)})"

    # ----------------------------------------------------------------------------- checks
    def verify(self, url: str) -> DemoChecks:
        """Ask the API at ``url`` whether every part of the demo arrived."""
        import httpx

        from driftline.examples import DEMO_MODEL, DEMO_PROJECT

        if self.feed is None:
            raise DriftlineError("verify: populate() has not run")
        checks = DemoChecks()
        with httpx.Client(base_url=url, headers=self._headers(), timeout=60.0) as client:

            def get(path: str, **params: Any) -> Any:
                resp = client.get(path, params=params)
                if resp.status_code != 200:
                    raise DriftlineError(f"GET {path}: HTTP {resp.status_code}: {resp.text[:200]}")
                return resp.json()

            base = f"/api/v1/projects/{DEMO_PROJECT}/models/{DEMO_MODEL}"
            days = get(f"{base}/windows", window_seconds=86400, start=self.feed.start)
            _check_traffic(checks, self.feed, days)
            _check_drift(checks, self.feed, days)
            runs = get(f"/api/v1/projects/{DEMO_PROJECT}/runs")
            details = [get(f"/api/v1/runs/{r['run_id']}") for r in runs]
            _check_runs(checks, details)
            alerts = get("/api/v1/alerts", project=DEMO_PROJECT, state="firing")
            _check_alerts(checks, alerts)
            reports = get("/api/v1/reports")
            checks.add(
                "report",
                any(r.get("id") == self.report_id for r in reports),
                f"{len(reports)} stored (Reports page)",
            )
        return checks


def evaluation_times(start: float, drift_start: float, end: float) -> list[float]:
    """When the demo evaluates the monitors: daily from a few days before the drift, and at ``end``.

    The daily passes fall at :data:`DAILY_PASS_SECONDS` past midnight UTC, so
    what is judged does not depend on the time of day the demo runs; they start
    :data:`DAYS_BEFORE_DRIFT` days before the drift (earlier days add nothing but time).

    Examples
    --------
    >>> day = 86400.0
    >>> [t / 3600 for t in evaluation_times(0.0, 5 * day, 8 * day)]
    [84.5, 108.5, 132.5, 156.5, 180.5, 192.0]
    """
    first = max(start, drift_start - DAYS_BEFORE_DRIFT * 86400.0)
    t = (first // 86400.0) * 86400.0 + DAILY_PASS_SECONDS
    out = []
    while t < end:
        if t > start:
            out.append(t)
        t += 86400.0
    return [*out, end]


def _check_traffic(checks: DemoChecks, feed: Any, days: list[dict[str, Any]]) -> None:
    n = sum(int(d["n_predictions"]) for d in days)
    checks.add(
        "predictions",
        n == feed.predictions and len(days) >= feed.days,
        f"{n} of {feed.predictions} sent, in {len(days)} daily windows",
    )
    labelled = sum(int(d["n_labels"]) for d in days)
    first = days[0]["label_coverage"] if days else None
    last = days[-1]["label_coverage"] if days else None
    checks.add(
        "labels",
        labelled == feed.labels
        and first is not None
        and first >= MIN_EARLY_COVERAGE
        and last is not None
        and last <= MAX_LAST_DAY_COVERAGE,
        f"{labelled} joined; coverage {_pct(first)} on the first day, {_pct(last)} on the last",
    )
    clicks = sum(int(d["events"].get("click", {}).get("count", 0)) for d in days)
    referrals = sum(int(d["events"].get("referral", {}).get("count", 0)) for d in days)
    checks.add(
        "events",
        clicks + referrals == feed.events and clicks > 0 and referrals > 0,
        f"{clicks} clicks (rate {_pct(clicks / max(n, 1))}), {referrals} referrals",
    )
    labelled_days = [
        (d, d["performance"].get("accuracy"))
        for d in days
        if (d.get("label_coverage") or 0.0) >= MIN_EARLY_COVERAGE / 2 and d.get("performance")
    ]  # days with half their labels in or more: realised accuracy is meaningful there
    before = [a for d, a in labelled_days if a is not None and d["end"] <= feed.drift_start]
    after = [a for d, a in labelled_days if a is not None and d["start"] >= feed.drift_start]
    checks.add(
        "performance",
        bool(before) and bool(after) and min(before) > max(after),
        f"accuracy {_num(min(before, default=None))}..{_num(max(before, default=None))} before "
        f"the drift, {_num(min(after, default=None))}..{_num(max(after, default=None))} after",
    )


def _check_drift(checks: DemoChecks, feed: Any, days: list[dict[str, Any]]) -> None:
    from driftline.examples import SCREENING_DRIFTED_FEATURES

    def drifted(window: dict[str, Any]) -> set[str]:
        return {c for c, d in window.get("drift", {}).items() if d.get("status") == "drift"}

    before = [drifted(d) for d in days if d["end"] <= feed.drift_start]
    after = [drifted(d) for d in days if d["start"] >= feed.drift_start + 86400]
    expected = set(SCREENING_DRIFTED_FEATURES)
    early = set().union(*before) if before else set()
    late = set.intersection(*after) if after else set()
    checks.add(
        "drift",
        bool(after) and expected <= late and not (early & expected),
        f"drifting after the update: {', '.join(sorted(late)) or 'none'}; "
        f"before it: {', '.join(sorted(early)) or 'none'}",
    )


def _check_alerts(checks: DemoChecks, alerts: list[dict[str, Any]]) -> None:
    from driftline.examples import SCREENING_DRIFTED_FEATURES

    columns = sorted({str(a["labels"].get("column")) for a in alerts if "column" in a["labels"]})
    caught = sorted(set(columns) & set(SCREENING_DRIFTED_FEATURES))
    checks.add(
        "alerts",
        bool(caught),
        f"{len(alerts)} firing; drift alerts on the drifted columns {', '.join(caught) or 'none'}",
    )
    follow = {*SCREENING_DRIFTED_FEATURES, "prediction", "score"}  # the outputs follow the inputs
    others = [c for c in columns if c not in follow]
    if others:
        checks.notes.append(
            f"drift alerts also fire on columns that did not drift ({', '.join(others)}): "
            "their threshold is within the sampling noise of their windows"
        )


def _check_runs(checks: DemoChecks, runs: list[dict[str, Any]]) -> None:
    finished = [r for r in runs if r.get("status") == "finished"]
    restored = [
        r for r in runs if any(e.get("kind") == "guard.restore" for e in r.get("events", []))
    ]
    checks.add(
        "training runs",
        len(finished) >= 2 and bool(restored),
        f"{len(finished)} finished; guard restores in: "
        f"{', '.join(str(r.get('name')) for r in restored) or 'none'}",
    )


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Only critical messages from ``logger`` while the block runs."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _field(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` or ``obj.key`` (alerts come as dicts or records)."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"
