"""Settings, read from the environment in this one place.

Nothing here runs at import: call :func:`load_settings` (optionally with an
explicit mapping instead of ``os.environ``) and pass the result down.

Environment variables
---------------------
``DRIFTLINE_DATA_DIR``
    Where the embedded SQLite database, spool files and reports live.
    Default: the user's data directory (``platformdirs.user_data_dir("driftline")``).
``DRIFTLINE_DATABASE_URL``
    SQLAlchemy URL of the store. Default: ``sqlite:///<data dir>/driftline.db``.
    ``postgresql://...`` selects PostgreSQL (needs the ``postgres`` extra).
``DRIFTLINE_URL``
    Base URL of a driftline server for the SDK. Unset: the SDK writes to the
    embedded store in process.
``DRIFTLINE_TOKEN``
    API token the SDK sends as a bearer token.
``DRIFTLINE_ALERT_ALLOW``
    Comma-separated address ranges (``10.1.0.0/16``, ``127.0.0.1/32``) or host names
    that webhook, Slack and Alertmanager notifications may reach although they are in
    a blocked range (private, loopback, link-local). Default: none.
``DRIFTLINE_ACTION_SECRET``
    Shared secret of the action routes (``POST /api/v1/actions/stop-runs``): when set,
    a request must carry driftline's webhook signature made with it (the receiver's
    ``secret_env`` names a variable holding the same value). Default: unset (then,
    without authentication, only requests from the local machine are accepted).
``DRIFTLINE_PREDICTION_RETENTION_DAYS``
    Days of raw predictions, labels and events the store keeps (counted back from
    the newest row of a model version); ``none``: no age bound. Default: 30.
    Window aggregates (profiles, performance, drift) are never pruned.
``DRIFTLINE_FEATURE_RETENTION_DAYS``
    Days of raw feature values kept with the predictions (fewer than the
    predictions' days keeps rows without their features); ``none``: as long as
    the predictions. Default: none.
``DRIFTLINE_MAX_PREDICTIONS_PER_VERSION``
    Most raw prediction rows kept per model version (oldest go first); ``none``:
    no row bound. Default: 1000000.
``DRIFTLINE_KEEP_FEATURES``
    ``true`` or ``false``: store the raw feature values of each prediction at all.
    Default: true.
``DRIFTLINE_RETENTION_CHECK_SECONDS``
    Seconds between retention passes per model version. Default: 60.

Example
-------
>>> s = load_settings({"DRIFTLINE_DATA_DIR": "/tmp/dl"})
>>> s.database_url
'sqlite:////tmp/dl/driftline.db'
>>> s.server_url is None
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from driftline.errors import ConfigError

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings; build one with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    server_url: str | None
    token: str | None
    alert_allow: tuple[str, ...] = ()
    prediction_retention_days: float | None = 30.0
    feature_retention_days: float | None = None
    max_predictions_per_version: int | None = 1_000_000
    keep_features: bool = True
    retention_check_s: float = 60.0
    action_secret: str | None = field(default=None, repr=False)
    """Secret of the action routes' webhook signatures (``DRIFTLINE_ACTION_SECRET``)."""


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("driftline", appauthor=False))


def _bound(
    env: Mapping[str, str], name: str, default: float | None, *, what: str, integer: bool = False
) -> float | None:
    """A positive number (or ``none``: no bound) from ``env[name]``; ``default`` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() == "none":
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not 0 < value < float("inf"):
        raise ConfigError(f"{name}: expected a positive {what} or 'none', got {raw!r}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _bound(env, name, default, what="number of seconds")
    if value is None:
        raise ConfigError(f"{name}: expected a positive number of seconds, got 'none'")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected 'true' or 'false', got {env[name]!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read driftline's settings from ``environ`` (default: ``os.environ``).

    Raises
    ------
    ConfigError
        When a variable is set to a value that cannot be used.
    """
    env = os.environ if environ is None else environ
    raw_dir = env.get("DRIFTLINE_DATA_DIR", "").strip()
    data_dir = Path(raw_dir).expanduser() if raw_dir else _default_data_dir()
    db_url = env.get("DRIFTLINE_DATABASE_URL", "").strip()
    if not db_url:
        db_url = f"sqlite:///{data_dir / 'driftline.db'}"
    elif "://" not in db_url:
        raise ConfigError(
            f"DRIFTLINE_DATABASE_URL: expected a URL such as 'postgresql://host/db' or "
            f"'sqlite:///path.db', got {db_url!r}"
        )
    server_url = env.get("DRIFTLINE_URL", "").strip() or None
    if server_url is not None and not server_url.startswith(("http://", "https://")):
        raise ConfigError(f"DRIFTLINE_URL: expected an http:// or https:// URL, got {server_url!r}")
    token = env.get("DRIFTLINE_TOKEN", "").strip() or None
    allow = tuple(a.strip() for a in env.get("DRIFTLINE_ALERT_ALLOW", "").split(",") if a.strip())
    days = "number of days"
    max_rows = _bound(
        env, "DRIFTLINE_MAX_PREDICTIONS_PER_VERSION", 1_000_000, what="integer", integer=True
    )
    return Settings(
        data_dir=data_dir,
        database_url=db_url,
        server_url=server_url,
        token=token,
        alert_allow=allow,
        prediction_retention_days=_bound(
            env, "DRIFTLINE_PREDICTION_RETENTION_DAYS", 30.0, what=days
        ),
        feature_retention_days=_bound(env, "DRIFTLINE_FEATURE_RETENTION_DAYS", None, what=days),
        max_predictions_per_version=None if max_rows is None else int(max_rows),
        keep_features=_flag(env, "DRIFTLINE_KEEP_FEATURES", True),
        retention_check_s=_positive(env, "DRIFTLINE_RETENTION_CHECK_SECONDS", 60.0),
        action_secret=env.get("DRIFTLINE_ACTION_SECRET", "").strip() or None,
    )
