"""A small thread pool for the per-column work of a report (private).

The heavy calls of a report (numpy sorts, partitions, comparisons, hashing)
release the GIL, so on a multi-core machine columns computed in a few threads
finish sooner. Small inputs run inline: a pool costs more than it saves there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["WARNINGS_LOCK", "Runner", "runner"]

T = TypeVar("T")

#: Held around ``warnings.catch_warnings`` blocks that may run in a worker thread
#: (the warning filters are process-wide, and the context manager is not thread-safe).
WARNINGS_LOCK = threading.RLock()


class Runner:
    """Submit callables to a thread pool, or run them at once when there is none.

    Examples
    --------
    >>> Runner(None).submit(lambda x: x + 1, 1).result()
    2
    """

    def __init__(self, pool: ThreadPoolExecutor | None) -> None:
        self.pool = pool

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` in the pool (or now); its result or error comes from the future."""
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # handed to whoever reads the result, as a pool would
            done.set_exception(exc)
        return done


@contextmanager
def runner(n_rows: int, n_tasks: int) -> Iterator[Runner]:
    """A :class:`Runner` with as many threads as are worth using for ``n_tasks`` tasks.

    Examples
    --------
    >>> with runner(10, 3) as run:
    ...     run.pool is None
    True
    """
    from driftline.profile import workers_for

    workers = workers_for(n_rows, n_tasks)
    if workers == 1:
        yield Runner(None)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="driftline") as pool:
        yield Runner(pool)
