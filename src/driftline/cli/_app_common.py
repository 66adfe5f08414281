"""Helpers shared by the subcommands: exit codes and argument types."""

from __future__ import annotations

import argparse

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_column_arguments", "fraction"]

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


def add_column_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the column-role and kind options shared by ``report`` and ``profile``."""
    parser.add_argument("--target", metavar="T", help="the column with true labels or values")
    parser.add_argument("--prediction", metavar="P", help="the column with the model's output")
    parser.add_argument(
        "--score",
        metavar="S",
        action="extend",
        nargs="+",
        default=[],
        help="score/probability column(s)",
    )
    parser.add_argument(
        "--categorical",
        metavar="C",
        action="extend",
        nargs="+",
        default=[],
        help="column(s) to treat as categorical",
    )
    parser.add_argument(
        "--numerical",
        metavar="N",
        action="extend",
        nargs="+",
        default=[],
        help="column(s) to treat as numerical",
    )
