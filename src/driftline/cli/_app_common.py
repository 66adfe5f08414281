"""Helpers shared by the subcommands: exit codes and argument types."""

from __future__ import annotations

import argparse

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "fraction"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def fraction(text: str) -> float:
    """Parse a number in [0, 1] for argparse.

    Examples
    --------
    >>> fraction("0.3")
    0.3
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value
