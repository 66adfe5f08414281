"""The SDK: :func:`init` / :class:`Run` for training, :class:`ModelMonitor` for production.

Every call checks its input cheaply, puts a record on a bounded in-memory queue
and returns (a 10-metric ``run.log`` takes a few microseconds). One daemon
thread per SDK object batches the records, compresses them (gzip JSON) and
sends them with ``httpx`` to the server at ``url=`` / ``DRIFTLINE_URL``, or,
when no server is configured, writes them to the embedded store in process
with the same ingest service the server runs.

* Each batch has a client-generated ``batch_id``; the server stores a batch
  once however often it is retried.
* 5xx, 429 and connection errors are retried with exponential backoff and
  jitter, honouring ``Retry-After``; meanwhile batches wait in a bounded spool
  file under the data directory, replayed (also by a later process) when the
  server is back. Other 4xx answers are never retried: the batch is dropped.
* Nothing raises into user code after :func:`init` / :class:`ModelMonitor`:
  losses are counted by reason in ``stats().dropped`` and logged once per
  reason on the ``driftline.client`` logger.
* ``flush(timeout)`` waits until the receiver acknowledged everything logged
  before; ``close()``/``finish()`` flush and stop; at interpreter exit every
  open object is flushed for at most :data:`ATEXIT_TIMEOUT` seconds.
* After ``os.fork`` the child gets a fresh queue and thread.

Example
-------
>>> import httpx
>>> from driftline.client import ClientStats, ModelMonitor, Run, init
>>> issubclass(type(init), object) and callable(init)
True
"""

from __future__ import annotations

from driftline.client._delivery import Ack, HttpDelivery
from driftline.client._monitor import ModelMonitor
from driftline.client._pipeline import ATEXIT_TIMEOUT, ClientStats
from driftline.client._run import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, Run, init

__all__ = [
    "ATEXIT_TIMEOUT",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "Ack",
    "ClientStats",
    "HttpDelivery",
    "ModelMonitor",
    "Run",
    "init",
]
