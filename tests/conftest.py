from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test that draws random numbers is deterministic."""
    return np.random.default_rng(20261125)


# Hypothesis: no per-example deadline (the CI machine has two shared cores) and a fixed
# derandomised search, so a run is reproducible.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("driftline", deadline=None, derandomize=True)
_hypothesis_settings.load_profile("driftline")
