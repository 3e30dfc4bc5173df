"""Shared test helpers: paths to the shared data, and hypothesis settings."""

from __future__ import annotations

import os

# One BLAS thread per test process, set before numpy loads: on a busy 2-core machine,
# OpenBLAS's spinning threads made training tests ~35x slower. Results are unaffected.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST_5K = SHARED_DATA / "mnist-5k"

# CI runs more examples than a quick local run; both are bounded.
settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def mnist_5k() -> Path:
    """The real MNIST subset shipped beside the repository (skip where it is absent)."""
    if not (MNIST_5K / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the shared MNIST subset is not at {MNIST_5K}")
    return MNIST_5K
