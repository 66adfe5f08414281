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
from dataclasses import dataclass
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


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("driftline", appauthor=False))


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
    return Settings(data_dir=data_dir, database_url=db_url, server_url=server_url, token=token)
