"""Where batches wait while the receiver is down: in memory, or in bounded files.

A spool is a FIFO of :class:`SpooledBatch`. The pipeline puts a batch there
after a failed attempt and replays the oldest first once the backoff expired;
while the spool is not empty, new batches queue behind it so order is kept.

:class:`FileSpool` keeps one gzip file per batch in a directory of the data
dir, written atomically (temporary file, then rename), so a batch spooled by a
process that then exits is replayed by the next process that uses the same
directory. Replaying twice is harmless: ingest is idempotent by ``batch_id``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from driftline.client._delivery import encode_body

__all__ = ["FileSpool", "MemorySpool", "Spool", "SpooledBatch"]

_log = logging.getLogger("driftline.client")


@dataclass(slots=True)
class SpooledBatch:
    """One batch waiting to be sent again.

    ``local`` counts the records of this process the batch carries (0 for a batch
    found on disk from an earlier process); ``size`` is its size in bytes.
    """

    kind: str
    payload: dict[str, Any]
    local: int
    size: int = 0
    name: str = field(default="")


class Spool(Protocol):
    """FIFO of batches with a size bound."""

    def put(self, batch: SpooledBatch) -> bool:
        """Append ``batch``; ``False`` when that would exceed the bound (nothing stored)."""
        ...

    def peek(self) -> SpooledBatch | None:
        """The oldest batch, or ``None`` when empty."""
        ...

    def pop(self, batch: SpooledBatch) -> None:
        """Remove ``batch`` (the one :meth:`peek` returned)."""
        ...

    def __len__(self) -> int: ...

    def after_fork(self) -> None:
        """Forget what belongs to the parent process."""
        ...


def _encoded(batch: SpooledBatch) -> bytes:
    return encode_body({"kind": batch.kind, "payload": batch.payload})


class MemorySpool:
    """A spool in memory, bounded by ``max_bytes`` of compressed batches (default 16 MiB).

    Example
    -------
    >>> s = MemorySpool(max_bytes=1_000)
    >>> s.put(SpooledBatch("labels", {"batch_id": "b"}, local=1))
    True
    >>> len(s), s.peek().payload["batch_id"]
    (1, 'b')
    """

    persistent = False
    """Batches do not outlive the process."""

    def __init__(self, max_bytes: int = 16 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: deque[SpooledBatch] = deque()
        self._bytes = 0

    def put(self, batch: SpooledBatch) -> bool:
        """See :class:`Spool`."""
        if not batch.size:
            batch.size = len(_encoded(batch))
        if self._bytes + batch.size > self.max_bytes:
            return False
        self._items.append(batch)
        self._bytes += batch.size
        return True

    def peek(self) -> SpooledBatch | None:
        """See :class:`Spool`."""
        return self._items[0] if self._items else None

    def pop(self, batch: SpooledBatch) -> None:
        """See :class:`Spool`."""
        if self._items and self._items[0] is batch:
            self._items.popleft()
            self._bytes -= batch.size

    def __len__(self) -> int:
        return len(self._items)

    def after_fork(self) -> None:
        """The child starts with an empty spool (the parent still sends its own)."""
        self._items.clear()
        self._bytes = 0


class FileSpool:
    """A spool of files in ``directory``, bounded by ``max_bytes`` (default 64 MiB).

    Files are named ``<time_ns>-<pid>-<batch_id>.json.gz`` so they sort oldest
    first. Unreadable files are moved aside with a ``.bad`` suffix and logged.

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> s = FileSpool(d, max_bytes=10_000)
    >>> s.put(SpooledBatch("labels", {"batch_id": "b1"}, local=1))
    True
    >>> FileSpool(d).peek().payload["batch_id"]  # another process finds it
    'b1'
    """

    persistent = True
    """Batches outlive the process (a later one replays them)."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = 64 * 2**20) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._local: dict[str, int] = {}
        self._names: deque[str] = deque()
        self._sizes: dict[str, int] = {}
        self._bytes = 0
        self._seq = 0
        self._scan()

    def _scan(self) -> None:
        self._names.clear()
        self._sizes.clear()
        self._bytes = 0
        for path in sorted(self.directory.glob("*.json.gz")):
            try:
                size = path.stat().st_size
            except OSError:
                continue
            self._names.append(path.name)
            self._sizes[path.name] = size
            self._bytes += size

    def put(self, batch: SpooledBatch) -> bool:
        """See :class:`Spool`; raises ``OSError`` when the directory cannot be written."""
        data = _encoded(batch)
        if self._bytes + len(data) > self.max_bytes:
            return False
        self._seq += 1
        name = f"{time.time_ns():020d}-{self._seq:06d}-{os.getpid()}-{batch.payload.get('batch_id', 'x')}.json.gz"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.directory / name)
        batch.name, batch.size = name, len(data)
        self._names.append(name)
        self._sizes[name] = len(data)
        self._local[name] = batch.local
        self._bytes += len(data)
        return True

    def peek(self) -> SpooledBatch | None:
        """See :class:`Spool`."""
        while self._names:
            name = self._names[0]
            path = self.directory / name
            try:
                doc = json.loads(gzip.decompress(path.read_bytes()))
                return SpooledBatch(
                    kind=str(doc["kind"]),
                    payload=dict(doc["payload"]),
                    local=self._local.get(name, 0),
                    size=self._sizes.get(name, 0),
                    name=name,
                )
            except FileNotFoundError:  # another process replayed it
                self._forget(name)
            except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
                _log.warning("driftline: moving unreadable spool file %s aside: %s", path, exc)
                self._forget(name)
                with contextlib.suppress(OSError):
                    os.replace(path, path.with_name(name + ".bad"))
        return None

    def _forget(self, name: str) -> None:
        if self._names and self._names[0] == name:
            self._names.popleft()
        self._bytes -= self._sizes.pop(name, 0)
        self._local.pop(name, None)

    def pop(self, batch: SpooledBatch) -> None:
        """See :class:`Spool`."""
        with contextlib.suppress(FileNotFoundError):
            (self.directory / batch.name).unlink()
        self._forget(batch.name)

    def __len__(self) -> int:
        return len(self._names)

    def after_fork(self) -> None:
        """The child forgets which files hold the parent's records; it may replay them later."""
        self._local.clear()
