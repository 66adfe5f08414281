"""The store: SQLAlchemy Core schema, Alembic migrations and the services on top.

SQLite by default (a file in the data directory, WAL mode), PostgreSQL for
teams. :class:`Store` opens the database and migrates it to the newest schema;
:class:`IngestService` stores SDK batches idempotently, :class:`QueryService`
reads window series, runs and Prometheus totals, and :class:`TokenService`
manages hashed API tokens; :mod:`driftline.store.tables` is the schema.
Window series have one home, :mod:`driftline.store.windows` (buckets, summaries,
the read path aggregate -> drift -> build). The payloads it stores are the wire
models of :mod:`driftline.wire`.

Names are imported lazily, so ``import driftline.store`` loads no database code
until a name is used.

Example
-------
>>> from driftline.store import IngestService, QueryService, Store
>>> from driftline.wire import PredictionsBatch
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
    from driftline.store._downsample import minmax_downsample
    from driftline.store._engine import Store
    from driftline.store._ingest import DEFAULT_BUCKET_SECONDS, SERVER_DRIFT_EVERY_S, IngestService
    from driftline.store._migrate import current_revision, head_revision
    from driftline.store._performance import PerformanceCounts
    from driftline.store._query import QueryService
    from driftline.store._retention import RetentionPolicy
    from driftline.store._run_stop import RunStopService
    from driftline.store._tokens import ALL_PROJECTS, ROLES, TokenInfo, TokenService
    from driftline.store.windows import (
        LATENCY_QUANTILES,
        WINDOW_DRIFT_METHOD,
        DriftSeries,
        WindowSummary,
        as_column,
        drift_between,
    )
    from driftline.wire import IngestAck

__all__ = [
    "ALL_PROJECTS",
    "DEFAULT_BUCKET_SECONDS",
    "LATENCY_QUANTILES",
    "ROLES",
    "SERVER_DRIFT_EVERY_S",
    "WINDOW_DRIFT_METHOD",
    "DriftSeries",
    "IngestAck",
    "IngestService",
    "PerformanceCounts",
    "QueryService",
    "RetentionPolicy",
    "RunStopService",
    "Store",
    "TokenInfo",
    "TokenService",
    "WindowSummary",
    "as_column",
    "current_revision",
    "drift_between",
    "head_revision",
    "minmax_downsample",
]

_WHERE = {
    "ALL_PROJECTS": "driftline.store._tokens",
    "DEFAULT_BUCKET_SECONDS": "driftline.store._ingest",
    "DriftSeries": "driftline.store.windows",
    "IngestAck": "driftline.wire",
    "IngestService": "driftline.store._ingest",
    "LATENCY_QUANTILES": "driftline.store.windows",
    "PerformanceCounts": "driftline.store._performance",
    "QueryService": "driftline.store._query",
    "ROLES": "driftline.store._tokens",
    "RetentionPolicy": "driftline.store._retention",
    "RunStopService": "driftline.store._run_stop",
    "SERVER_DRIFT_EVERY_S": "driftline.store._ingest",
    "Store": "driftline.store._engine",
    "TokenInfo": "driftline.store._tokens",
    "TokenService": "driftline.store._tokens",
    "WINDOW_DRIFT_METHOD": "driftline.store.windows",
    "WindowSummary": "driftline.store.windows",
    "as_column": "driftline.store.windows",
    "current_revision": "driftline.store._migrate",
    "drift_between": "driftline.store.windows",
    "head_revision": "driftline.store._migrate",
    "minmax_downsample": "driftline.store._downsample",
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
