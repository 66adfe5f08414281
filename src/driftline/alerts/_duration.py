"""Durations (``'30s'``, ``'5m'``, ``'1h30m'``, ``'1d'`` or seconds) and time formatting.

Example
-------
>>> parse_duration("1h30m"), parse_duration(90), format_duration(5400.0)
(5400.0, 90.0, '1h30m')
>>> format_window(1795600800.0, 1795604400.0)
'2026-11-25 10:00–11:00'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime

from driftline.errors import InputError

__all__ = ["checked_now", "format_duration", "format_time", "format_window", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_EXPECTED = "a duration like '30s', '5m', '1h30m', '1d' or a number of seconds"


def parse_duration(value: object, what: str | None = "duration") -> float:
    """Seconds in ``value``: a number of seconds or a string of ``<number><unit>`` parts.

    Units: ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``. Negative, NaN and infinite
    durations are rejected.

    Parameters
    ----------
    value : str or int or float
        ``'90s'``, ``'1h30m'``, ``'2d'``, ``'15'`` or ``15``.
    what : str or None
        The field's name, for the error message (``None``: no prefix).

    Returns
    -------
    float
        Seconds, ``>= 0``.

    Raises
    ------
    InputError
        When ``value`` is not a duration.

    Examples
    --------
    >>> parse_duration("2d"), parse_duration("250ms"), parse_duration("15")
    (172800.0, 0.25, 15.0)
    """
    pre = f"{what}: " if what else ""
    if isinstance(value, bool):
        raise InputError(f"{pre}expected {_EXPECTED}, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            pos, total = 0, 0.0
            for m in _PART.finditer(text):
                if m.start() != pos:
                    break
                total += float(m.group(1)) * _UNITS[m.group(2)]
                pos = m.end()
            if pos != len(text) or not text:
                raise InputError(f"{pre}expected {_EXPECTED}, got {value!r}") from None
            seconds = total
    else:
        raise InputError(f"{pre}expected {_EXPECTED}, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{pre}expected {_EXPECTED} (>= 0), got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest ``1d2h3m4s`` text for ``seconds`` (inverse of :func:`parse_duration`).

    Examples
    --------
    >>> format_duration(0), format_duration(86400 + 60), format_duration(0.5)
    ('0s', '1d1m', '500ms')
    """
    if seconds == 0:
        return "0s"
    ms = round(seconds * 1000)
    if ms % 1000:
        whole = int(ms // 1000)
        head = format_duration(whole) if whole else ""
        return f"{head}{ms % 1000}ms"
    rest = ms // 1000
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def format_time(t: float) -> str:
    """``YYYY-MM-DD HH:MM`` in UTC (with ``:SS`` when the seconds are not zero).

    Examples
    --------
    >>> format_time(1795600800.0)
    '2026-11-25 10:00'
    """
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S" if d.second else "%Y-%m-%d %H:%M")


def format_window(start: float, end: float) -> str:
    """A window ``[start, end)`` as ``2026-11-25 10:00–11:00`` (UTC; the date once when shared).

    Examples
    --------
    >>> format_window(1795600800.0, 1795687200.0)
    '2026-11-25 10:00–2026-11-26 10:00'
    """
    a, b = format_time(start), format_time(end)
    if a[:10] == b[:10]:
        return f"{a}–{b[11:]}"
    return f"{a}–{b}"


def checked_now(clock: Callable[[], float], now: float | None = None) -> float:
    """``now`` as finite epoch seconds, read from ``clock`` when not given.

    Examples
    --------
    >>> checked_now(lambda: 5.0), checked_now(lambda: 5.0, 7)
    (5.0, 7.0)
    """
    t = clock() if now is None else float(now)
    if not math.isfinite(t):
        raise InputError(f"now: expected finite epoch seconds, got {t!r}")
    return t
