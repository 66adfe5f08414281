"""``python -m driftline``: the same as the ``driftline`` command."""

from __future__ import annotations

import sys

from driftline.cli import main

if __name__ == "__main__":
    sys.exit(main())
