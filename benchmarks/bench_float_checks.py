"""What the float checks cost: one MLP step with and without ``no_float_checks()``.

    python benchmarks/bench_float_checks.py [--threads 1] [--blocks 40]

The same vecgrad model, batches and optimizer alternate between the two settings in one
process, block by block (100 steps each), so drift in the machine's load hits both; the
ratio of each pair of blocks is reported (median, min, max). Data: random numbers of
MNIST's shape (the cost does not depend on the values, only on the shapes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--blocks", type=int, default=40, help="pairs of 100-step blocks")
    parser.add_argument("--arch", nargs="*", default=["784-100-10", "784-512-256-10"])
    args = parser.parse_args()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)  # before numpy is imported
    import numpy as np

    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, {args.threads} thread(s)")
    print("| MLP | checked µs/step | unchecked µs/step | checked ÷ unchecked (median, min, max) |")
    print("| --- | --- | --- | --- |")
    for arch in args.arch:
        checked, unchecked = measure(arch, args.blocks)
        ratios = [a / b for a, b in zip(checked, unchecked)]
        print(
            f"| {arch} | {statistics.median(checked) * 1e6:.0f} |"
            f" {statistics.median(unchecked) * 1e6:.0f} |"
            f" {statistics.median(ratios):.3f} ({min(ratios):.3f}, {max(ratios):.3f}) |"
        )


def measure(arch: str, blocks: int) -> tuple[list, list]:
    """Seconds per step of ``blocks`` checked and ``blocks`` unchecked 100-step blocks."""
    import numpy as np

    import vecgrad
    from vecgrad import nn, optim

    sizes = tuple(int(n) for n in arch.split("-"))
    rng = np.random.default_rng(0)
    X = rng.random((6000, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], 6000)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, rng=np.random.default_rng(0)), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    optimizer = optim.SGD(model.parameters(), lr=0.05)

    def block(steps: int = 100) -> float:
        start = time.perf_counter()
        for i in range(steps):
            rows = slice(i % 60 * 100, i % 60 * 100 + 100)
            loss = vecgrad.functional.cross_entropy(model(X[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - start) / steps

    block(200)  # warm up: caches, allocator, BLAS buffers
    checked, unchecked = [], []
    for _ in range(blocks):
        checked.append(block())
        with vecgrad.no_float_checks():
            unchecked.append(block())
    return checked, unchecked


if __name__ == "__main__":
    main()
