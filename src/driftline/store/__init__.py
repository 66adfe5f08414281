"""The store: SQLAlchemy Core schema, Alembic migrations and the services on top.

SQLite by default (a file in the data directory, WAL mode), PostgreSQL for
teams. :class:`Store` opens the database and migrates it to the newest schema;
:class:`IngestService` stores SDK batches idempotently, :class:`QueryService`
reads window series, runs and Prometheus totals, and :class:`TokenService`
manages hashed API tokens. The wire payloads live in
:mod:`driftline.store.payloads`, which imports no database code.

Names are imported lazily, so ``import driftline.store.payloads`` stays light.

Example
-------
>>> from driftline.store import IngestService, QueryService, Store
>>> from driftline.store.payloads import PredictionsBatch
>>> store = Store.open("sqlite://")
>>> batch = PredictionsBatch(batch_id="b1", project="shop", model="ranker", version="v1",
...                          ids=["a", "b"], timestamps=[10.0, 20.0],
...                          features={"x": [1.0, 2.0]}, predictions=[0, 1])
>>> IngestService(store).ingest(batch).accepted
2
>>> [w.n_predictions for w in QueryService(store).window_series("shop", "ranker")]
[2]
>>> store.close()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftline.store._drift_series import DriftSeries
    from driftline.store._engine import Store
    from driftline.store._ingest import DEFAULT_BUCKET_SECONDS, IngestService
    from driftline.store._performance import PerformanceCounts
    from driftline.store._query import QueryService
    from driftline.store._retention import RetentionPolicy
    from driftline.store._tokens import ROLES, TokenInfo, TokenService
    from driftline.store._window_drift import WINDOW_DRIFT_METHOD
    from driftline.store._windows_query import WindowSummary
    from driftline.store.payloads import IngestAck

__all__ = [
    "DEFAULT_BUCKET_SECONDS",
    "ROLES",
    "WINDOW_DRIFT_METHOD",
    "DriftSeries",
    "IngestAck",
    "IngestService",
    "PerformanceCounts",
    "QueryService",
    "RetentionPolicy",
    "Store",
    "TokenInfo",
    "TokenService",
    "WindowSummary",
]

_WHERE = {
    "DEFAULT_BUCKET_SECONDS": "driftline.store._ingest",
    "DriftSeries": "driftline.store._drift_series",
    "IngestAck": "driftline.store.payloads",
    "IngestService": "driftline.store._ingest",
    "PerformanceCounts": "driftline.store._performance",
    "QueryService": "driftline.store._query",
    "ROLES": "driftline.store._tokens",
    "RetentionPolicy": "driftline.store._retention",
    "Store": "driftline.store._engine",
    "TokenInfo": "driftline.store._tokens",
    "TokenService": "driftline.store._tokens",
    "WINDOW_DRIFT_METHOD": "driftline.store._window_drift",
    "WindowSummary": "driftline.store._windows_query",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'driftline.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
