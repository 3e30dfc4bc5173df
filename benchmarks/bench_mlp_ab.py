"""vecgrad against the hand-written numpy floor in one process: short windows, alternating.

    python benchmarks/bench_mlp_ab.py                      # both MLPs, 1 and 2 threads
    python benchmarks/bench_mlp_ab.py --arch 784-100-10 --threads 1 --rounds 60

`bench_mlp.py` runs every engine in fresh processes, as a user would; this script is its
steadier companion for engine work. Both engines (and vecgrad under ``no_float_checks()``,
to show the float policy's share) train in one process on the same batches, in windows of
a few steps, the order reversed every round, so that a change in the machine's load hits
all of them; each ratio pairs the windows of one round, and the table gives their median,
min and max; the last column is the engine's time per step minus the floor's (median of the
rounds' differences). One process per thread count (fixed before numpy is imported).

The last row, ``bench_mlp.bare_graph_engine``, runs vecgrad's own op classes through its one
graph walk over the barest node (no Tensor, modules or checks): the fastest any engine
built on these ops and this walk can be. vecgrad's distance to the floor splits there into
its own bookkeeping (above that row) and the ops' fresh arrays and the walk (below it).

``--arch 784-8-10`` (not run by default) is a net whose arithmetic is negligible: there
the difference is the engine's fixed cost per step, the Python of its graph, modules and
optimizer and the float policy's checks, which the two MLPs pay as well.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WINDOW_STEPS = {"784-100-10": 100, "784-512-256-10": 30}  # ~50–100 ms per window
EXTRA_WINDOW_STEPS = {"784-8-10": 200}  # on request: the engine's fixed cost per step
ALL_WINDOW_STEPS = WINDOW_STEPS | EXTRA_WINDOW_STEPS


def run(arch: str, rounds: int) -> None:
    """One process: the engines' windows for ``arch``; prints a table row per engine."""
    sys.path.insert(0, str(HERE))
    import bench_mlp
    import numpy as np

    import vecgrad

    sizes = tuple(map(int, arch.split("-")))
    with np.load(os.environ["BENCH_MLP_AB_DATA"]) as arrays:
        X, y = arrays["X"], arrays["y"]
    weights = bench_mlp.initial_weights(sizes, 0)
    vecgrad_unchecked = bench_mlp.vecgrad_engine(weights, sizes, 0.05)

    def unchecked(X, y):
        with vecgrad.no_float_checks():
            return vecgrad_unchecked(X, y)

    engines = {
        "numpy by hand": bench_mlp.numpy_engine(weights, sizes, 0.05),
        "vecgrad": bench_mlp.vecgrad_engine(weights, sizes, 0.05),
        "vecgrad, no_float_checks()": unchecked,
        "bare graph (vecgrad's ops and walk)": bench_mlp.bare_graph_engine(weights, sizes, 0.05),
    }
    order = bench_mlp.batch_order(0, 0, len(X))
    steps, batch = ALL_WINDOW_STEPS[arch], 100
    times: dict = {name: [] for name in engines}
    position = 0
    for round_ in range(rounds + 1):  # round 0 warms every engine up and is not kept
        names = list(engines) if round_ % 2 else list(reversed(engines))
        for name in names:
            start = time.perf_counter()
            for i in range(steps):
                rows = order[(position + i) * batch % len(X) :][:batch]
                engines[name](X[rows], y[rows])
            if round_:
                times[name].append((time.perf_counter() - start) / steps)
        position += steps
    floor = times["numpy by hand"]
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    for name, seconds in times.items():
        ratios = [a / b for a, b in zip(seconds, floor)]
        above = statistics.median(a - b for a, b in zip(seconds, floor)) * 1e6
        print(
            f"| {arch} | {threads} | {name} | {statistics.median(seconds) * 1e6:.0f} |"
            f" {statistics.median(ratios):.3f} ({min(ratios):.2f}, {max(ratios):.2f}) |"
            f" {above:+.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", nargs="*", default=list(WINDOW_STEPS), choices=ALL_WINDOW_STEPS)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=30, help="windows per engine")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run(args.child, args.rounds)
        return
    sys.path.insert(0, str(HERE))
    import tempfile

    import bench_mlp

    print(
        "| MLP | threads | engine | median µs/step | time ÷ numpy's (median, min, max) |"
        " µs/step above numpy's |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        data, _ = bench_mlp.prepare_data(Path(folder), 60_000, 0)
        for threads in args.threads:
            env = bench_mlp.child_env(threads) | {"BENCH_MLP_AB_DATA": str(data)}
            for arch in args.arch:
                command = [sys.executable, __file__, "--child", arch, "--rounds", str(args.rounds)]
                subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
