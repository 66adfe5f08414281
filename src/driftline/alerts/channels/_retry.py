"""When to try a failed notification again, and when to give up.

Pure decisions for the outbox worker: :func:`next_attempt_delay` is exponential
backoff with full jitter (a random delay between 0 and
``min(cap, base * 2 ** (attempt - 1))``), and a receiver's ``Retry-After``
is honoured as a lower bound, itself capped at ``cap``.
:meth:`RetryPolicy.decide` takes ``now`` and returns a :class:`RetryDecision`
with the reason, which the outbox records and the API shows.

Example
-------
>>> import random
>>> next_attempt_delay(3, retry_after=None, base=10.0, cap=600.0, rng=random.Random(0)) <= 40.0
True
>>> next_attempt_delay(1, retry_after=120.0, base=10.0, cap=600.0, rng=random.Random(0))
120.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from driftline.errors import DeliveryError, InputError

__all__ = ["RetryDecision", "RetryPolicy", "UniformSource", "next_attempt_delay"]


class UniformSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1): ``random.Random``, numpy's ``Generator``."""

    def random(self) -> float:
        """A float uniformly drawn from [0, 1)."""
        ...


def next_attempt_delay(
    attempt: int,
    *,
    retry_after: float | None,
    base: float = 30.0,
    cap: float = 3600.0,
    rng: UniformSource,
) -> float:
    """Seconds to wait before the next attempt, after ``attempt`` failed attempts.

    Parameters
    ----------
    attempt : int
        How many attempts have failed so far (1 after the first failure).
    retry_after : float or None
        Seconds the receiver asked to wait (``Retry-After``); a lower bound on
        the result, capped at ``cap``. ``None``: the receiver did not say.
    base : float, default 30
        The backoff ceiling after the first failure; it doubles each attempt.
    cap : float, default 3600
        Largest delay ever returned (also caps ``retry_after``).
    rng : object with ``random()``
        Source of the jitter (inject a seeded one in tests).

    Returns
    -------
    float
        Seconds, in ``[0, cap]``. Lower is sooner.

    Example
    -------
    >>> import random
    >>> next_attempt_delay(50, retry_after=None, base=1.0, cap=5.0, rng=random.Random(1)) <= 5.0
    True
    """
    if attempt < 1:
        raise InputError(f"attempt: expected an integer >= 1, got {attempt!r}")
    if not (base > 0 and math.isfinite(base)):
        raise InputError(f"base: expected a positive finite number of seconds, got {base!r}")
    if not (cap >= base and math.isfinite(cap)):
        raise InputError(f"cap: expected a finite number of seconds >= base ({base}), got {cap!r}")
    ceiling = cap if attempt > 64 else min(cap, base * 2.0 ** (attempt - 1))
    delay = rng.random() * ceiling
    if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
        delay = max(delay, min(retry_after, cap))
    return float(min(delay, cap))


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do with a notification after a failed attempt.

    Attributes
    ----------
    retry : bool
        ``True``: try again at ``not_before``; ``False``: give up (dead).
    not_before : float or None
        Epoch seconds of the next attempt (``None`` when giving up).
    reason : str
        One line for the outbox record and the API.
    """

    retry: bool
    not_before: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long the outbox keeps trying a notification.

    Attributes
    ----------
    max_attempts : int, default 12
        Give up after this many failed attempts.
    max_age : float, default 86400
        Give up when the next attempt would come this many seconds after the
        notification was created (a day-old page helps nobody).
    base, cap : float, default 30 and 3600
        Passed to :func:`next_attempt_delay`.

    Example
    -------
    >>> import random
    >>> policy = RetryPolicy(max_attempts=3)
    >>> err = DeliveryError("HTTP 503", retryable=True)
    >>> d = policy.decide(1, error=err, created_at=0.0, now=10.0, rng=random.Random(0))
    >>> d.retry, d.not_before >= 10.0
    (True, True)
    >>> policy.decide(3, error=err, created_at=0.0, now=10.0, rng=random.Random(0)).reason
    'giving up after 3 attempts (max_attempts=3): HTTP 503'
    """

    max_attempts: int = 12
    max_age: float = 86400.0
    base: float = 30.0
    cap: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InputError(f"max_attempts: expected >= 1, got {self.max_attempts!r}")
        if not self.max_age > 0:
            raise InputError(
                f"max_age: expected a positive number of seconds, got {self.max_age!r}"
            )

    def decide(
        self,
        attempt: int,
        *,
        error: DeliveryError,
        created_at: float,
        now: float,
        rng: UniformSource,
    ) -> RetryDecision:
        """Retry or give up after failed attempt number ``attempt`` (1-based) at ``now``."""
        if not error.retryable:
            return RetryDecision(False, None, f"not retryable: {error}")
        if attempt >= self.max_attempts:
            return RetryDecision(
                False,
                None,
                f"giving up after {attempt} attempts (max_attempts={self.max_attempts}): {error}",
            )
        delay = next_attempt_delay(
            attempt, retry_after=error.retry_after, base=self.base, cap=self.cap, rng=rng
        )
        at = now + delay
        if at - created_at > self.max_age:
            return RetryDecision(
                False,
                None,
                f"giving up: next attempt would be {at - created_at:.0f}s after creation "
                f"(max_age={self.max_age:.0f}s): {error}",
            )
        after = f", receiver asked {error.retry_after:g}s" if error.retry_after else ""
        return RetryDecision(True, at, f"retry {attempt + 1} in {delay:.1f}s{after}: {error}")
