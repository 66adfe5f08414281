from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test that draws random numbers is deterministic."""
    return np.random.default_rng(20261125)
