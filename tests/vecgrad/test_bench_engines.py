"""The MLP benchmark's engines compute the same step, so its ratios compare like with like.

`benchmarks/bench_mlp.py` checks that the engines' final losses agree after a full run;
this checks the engines that involve no PyTorch on a few steps, losses and weights alike,
with vecgrad's own step as the reference.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tests.conftest import REPO


def _bench_mlp():
    spec = importlib.util.spec_from_file_location("bench_mlp", REPO / "benchmarks" / "bench_mlp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("engine", ["bare-graph", "numpy", "numpy-fresh"])
@pytest.mark.parametrize("sizes", [(784, 16, 10), (784, 32, 16, 10)])
def test_engines_take_vecgrads_steps(engine, sizes):
    bench = _bench_mlp()
    rng = np.random.default_rng(1)
    X = rng.random((300, 784), dtype=np.float32)
    y = rng.integers(0, 10, 300)
    weights = bench.initial_weights(sizes, 0)
    reference = bench.ENGINES["vecgrad"](weights, sizes, 0.1)
    other = bench.ENGINES[engine](weights, sizes, 0.1)
    for start in range(0, 300, 100):
        expected = reference(X[start : start + 100], y[start : start + 100])
        got = other(X[start : start + 100], y[start : start + 100])
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # the fourth step's loss sees every weight the three updates made
    assert other(X[:100], y[:100]) == pytest.approx(reference(X[:100], y[:100]), rel=1e-5)


def test_the_bare_graph_is_vecgrads_arithmetic_to_the_bit():
    """Same op classes, same walk, same update: the same float32 numbers exactly."""
    bench = _bench_mlp()
    rng = np.random.default_rng(2)
    X, y = rng.random((200, 784), dtype=np.float32), rng.integers(0, 10, 200)
    sizes = (784, 20, 10)
    weights = bench.initial_weights(sizes, 0)
    vecgrad_step = bench.ENGINES["vecgrad"](weights, sizes, 0.05)
    bare_step = bench.ENGINES["bare-graph"](weights, sizes, 0.05)
    for start in (0, 100, 0):
        assert bare_step(X[start : start + 100], y[start : start + 100]) == vecgrad_step(
            X[start : start + 100], y[start : start + 100]
        )
