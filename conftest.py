"""Collection settings for the whole repository (tests and the package's doctests).

An integration module imports its framework, so its doctests are only collected where the
framework is installed (the extras ``torch``, ``keras``, ``lightning``, ``transformers``).
Keras runs on its torch backend here: TensorFlow is not needed.
"""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

_FRAMEWORKS = {
    "torch.py": "torch",
    "keras.py": "keras",
    "lightning.py": "lightning",
    "transformers.py": "transformers",
}

collect_ignore = [
    f"src/driftline/integrations/{module}"
    for module, package in _FRAMEWORKS.items()
    if importlib.util.find_spec(package) is None
]
