"""Run every benchmark in this folder and print their tables.

    pip install -e '.[bench]' && python benchmarks/run_all.py           # the full run
    python benchmarks/run_all.py --quick                                # a minute or two

bench_scalar.py (scalargrad against micrograd), bench_mlp.py (vecgrad against PyTorch,
HIPS autograd and hand-written numpy) and, where present, bench_fashion_mnist.py (vecgrad
against PyTorch: test accuracy per epoch) and bench_jacobian.py (forward against reverse
mode), one after the other, each in its own process, so one never runs while another is
timing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script → the arguments of a quick run
BENCHMARKS = {
    "bench_scalar.py": ["--steps", "5", "--blocks", "1", "--chain", "1000", "100000"],
    "bench_mlp.py": ["--quick", "--retries", "0"],  # a quick look: no reruns of busy rounds
    "bench_fashion_mnist.py": ["--epochs", "1"],
    "bench_jacobian.py": ["--sizes", "1", "16", "256"],
    "bench_cnn.py": ["--quick"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs of every benchmark")
    parser.add_argument("--threads", type=int, help="BLAS/torch threads for the MLP benchmarks")
    args = parser.parse_args()
    failed = []
    for name, quick in BENCHMARKS.items():
        script = HERE / name
        if not script.exists():
            continue
        command = [sys.executable, str(script)]
        if args.quick:
            command += quick
        if args.threads is not None and name in ("bench_mlp.py", "bench_fashion_mnist.py"):
            command += ["--threads", str(args.threads)]
        print(f"## {name}  ({' '.join(['python', f'benchmarks/{name}', *command[2:]])})")
        sys.stdout.flush()
        start = time.perf_counter()
        if subprocess.run(command).returncode != 0:
            failed.append(name)
        print(f"({name}: {time.perf_counter() - start:.0f} s)\n")
        sys.stdout.flush()
    if failed:
        sys.exit(f"run_all: {', '.join(failed)} failed (see above)")


if __name__ == "__main__":
    main()
