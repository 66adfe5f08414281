"""Serve the driftline app with a fast alert scheduler (tests only).

Usage::

    python serve_alerts.py PORT DATABASE_URL

Like ``driftline serve`` with the scheduler on, but with the timings shrunk so
that an end-to-end test takes seconds: ticks every 0.2 s, a 2 s leader lease,
outbox claims that expire after :data:`CLAIM_S`, retries after at most 0.2 s,
0.4 s, 0.8 s (capped at 1 s), and a network policy that allows 127.0.0.1 (the
test's receivers). Importing this module does nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

CLAIM_S = 2.0
"""How long a claim on an outbox row lasts: a killed sender's row is sent again after it."""


def main(argv: Sequence[str]) -> int:
    """Serve on 127.0.0.1:PORT over DATABASE_URL until killed."""
    port, database_url = int(argv[0]), argv[1]
    import random

    import uvicorn

    from driftline.alerts._scheduler import Scheduler
    from driftline.alerts._service import AlertService
    from driftline.alerts.channels import NetworkPolicy
    from driftline.alerts.channels._retry import RetryPolicy
    from driftline.server import create_app
    from driftline.store import Store

    store = Store.open(database_url)
    service = AlertService(
        store,
        policy=NetworkPolicy(allow=["127.0.0.1/32"]),
        retry=RetryPolicy(base=0.2, cap=1.0),
        claim_seconds=CLAIM_S,
        rng=random.Random(0),
    )
    app = create_app(store, alerts=service)
    scheduler = Scheduler(service, tick_seconds=0.2, lease_seconds=2.0)
    scheduler.start()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        scheduler.stop()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
