"""The ``driftline`` command line: ``report``, ``profile``, ``demo``.

``driftline COMMAND --help`` describes each command. Exit status: 0 success,
1 a check failed, 2 usage error or bad input.
"""

from __future__ import annotations

from driftline.cli._app import EXIT_FAILED, EXIT_OK, EXIT_USAGE, build_parser, main
from driftline.cli._io import read_table
from driftline.cli._progress import Progress

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Progress", "build_parser", "main", "read_table"]
