"""Run ``driftline serve`` that freezes at two known points of the ingest (tests only).

Usage::

    python serve_paused.py BATCH_ID MARKER_DIR serve [driftline serve options...]

1. When the ingest of ``BATCH_ID`` has committed, and before its acknowledgement
   is sent, the request writes ``MARKER_DIR/after_commit`` (holding the batch
   id) and sleeps.
2. The next ingest transaction to reach its commit after that writes
   ``MARKER_DIR/before_commit`` (holding its batch id) and sleeps with its rows
   written but not committed.

A test waits for both files, then ``kill -9`` the process: one batch is stored
but was never acknowledged, the other was neither. Other requests keep being
served meanwhile (until the open transaction blocks them). Importing this
module does nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PAUSE_S = 120.0
"""How long a frozen request sleeps (the test kills the process long before)."""


def install(batch_id: str, marker_dir: Path) -> None:
    """Patch :meth:`IngestService.ingest` and hook SQLAlchemy commits to freeze as described."""
    import sqlalchemy as sa

    from driftline.store import IngestService

    current = threading.local()
    armed = threading.Event()  # set once the first freeze happened
    taken = threading.Lock()  # the second freeze happens once
    original = IngestService.ingest

    def freeze(name: str, frozen_batch: str) -> None:
        tmp = marker_dir / f".{name}"
        tmp.write_text(frozen_batch)
        tmp.rename(marker_dir / name)  # atomic: the test never reads half a file
        time.sleep(PAUSE_S)

    def ingest(self: Any, payload: Any) -> Any:
        current.batch_id = payload.batch_id
        try:
            ack = original(self, payload)
        finally:
            current.batch_id = None
        if payload.batch_id == batch_id and not ack.duplicate and not armed.is_set():
            armed.set()
            freeze("after_commit", batch_id)
        return ack

    def on_commit(conn: Any) -> None:
        frozen_batch = getattr(current, "batch_id", None)
        # A client that timed out on the frozen batch may retry it meanwhile; that retry is a
        # duplicate, not the "other" batch this second freeze is about.
        if frozen_batch in (None, batch_id):
            return
        if armed.is_set() and taken.acquire(blocking=False):
            freeze("before_commit", frozen_batch)

    IngestService.ingest = ingest  # type: ignore[method-assign]
    sa.event.listen(sa.engine.Engine, "commit", on_commit)


def main(argv: Sequence[str]) -> int:
    """Install the freezes, then run the ``driftline`` command with the remaining arguments."""
    batch_id, marker_dir, *command = argv
    install(batch_id, Path(marker_dir))
    from driftline.cli import main as driftline_main

    return driftline_main(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
