"""scalargrad against micrograd (PyPI 0.1.0): the demo step and a deep chain.

    pip install -e '.[bench]' && python benchmarks/bench_scalar.py

Both engines start from the same weights and data. Each runs its own training loop as a
user would, in a fresh process (so no engine pays for another's garbage), and the
processes alternate, A B B A …, so drift in the machine's load hits all of them; each
ratio pairs two blocks run side by side. Equal final losses prove they computed the
same thing.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

from scalargrad import Value, summation
from scalargrad.apps.datasets import make_moons
from scalargrad.nn import MLP


def scalargrad_engine(weights, X, y_sign, l2):
    model = MLP(2, [16, 16, 1], rng=np.random.default_rng(0))
    for p, w in zip(model.parameters(), weights):
        p.data = w
    rows = [[float(a), float(b)] for a, b in X]

    def step(k, steps):
        inputs = [[Value(a), Value(b)] for a, b in rows]
        scores = [model(x) for x in inputs]
        hinge = [(1 - yi * score).relu() for yi, score in zip(y_sign, scores)]
        loss = summation(hinge) * (1.0 / len(hinge))
        loss = loss + l2 * summation([p * p for p in model.parameters()])
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        return loss.data

    return step


def micrograd_engine(weights, X, y_sign, l2):
    from micrograd.engine import Value as MValue
    from micrograd.nn import MLP as MMLP

    model = MMLP(2, [16, 16, 1])
    for p, w in zip(model.parameters(), weights):
        p.data = w
    rows = [[float(a), float(b)] for a, b in X]

    def step(k, steps):  # micrograd's demo.ipynb, line for line
        inputs = [list(map(MValue, row)) for row in rows]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y_sign, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = l2 * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        return loss.data

    return step


def demo_setup(seed: int):
    """The shared starting point: moons data, labels ±1 and one weight vector."""
    rng = np.random.default_rng(seed)
    X, y = make_moons(100, 0.1, rng)
    y_sign = [float(v) for v in 2 * y - 1]
    flat = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):  # weights uniform in [-1, 1], biases 0, as both libraries do
            flat += [float(w) for w in rng.uniform(-1, 1, nin)] + [0.0]
    return X, y_sign, flat


ENGINES = {
    "scalargrad": scalargrad_engine,
    "micrograd": micrograd_engine,
    "micrograd, collector paused": micrograd_engine,
}


def run_block(engine: str, steps: int, seed: int) -> dict:
    """Train ``steps`` demo steps with one engine, as a user's loop would; time each."""
    X, y_sign, weights = demo_setup(seed)
    step = ENGINES[engine](weights, X, y_sign, 1e-4)
    if engine.endswith("paused"):
        gc.disable()
    times, losses = [], []
    for k in range(steps):
        start = time.perf_counter()
        losses.append(step(k, steps))
        times.append(time.perf_counter() - start)
    gc.enable()
    return {"times": times, "losses": losses, "peak_mib": peak_memory(step, steps)}


def demo_step(steps: int, seed: int, blocks: int) -> list[str]:
    """Alternate engines block by block, each block a fresh process running its own loop."""
    times = {name: [] for name in ENGINES}
    block_medians = {name: [] for name in ENGINES}
    results = {}
    for b in range(blocks):
        order = list(ENGINES) if b % 2 == 0 else list(reversed(ENGINES))
        for name in order:
            command = [sys.executable, __file__, "--block", name, "--steps", str(steps)]
            command += ["--seed", str(seed)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results[name] = json.loads(out)
            times[name] += results[name]["times"]
            block_medians[name].append(statistics.median(results[name]["times"]))

    final = {name: results[name]["losses"][-1] for name in ENGINES}
    same = all(abs(v - final["scalargrad"]) < 1e-4 for v in final.values())
    lines = [
        f"demo step: MLP 2-16-16-1, 100 two-moons points, max-margin + L2;"
        f" {blocks} blocks of {steps} steps per engine, blocks alternating",
        "| engine | median s/step | min | max | scalargrad's speed-up over it"
        " (median, min, max of paired block medians) | peak MiB | final loss |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ENGINES:
        ratios = [t / s for t, s in zip(block_medians[name], block_medians["scalargrad"])]
        paired = (
            "—"
            if name == "scalargrad"
            else f"{statistics.median(ratios):.1f}× ({min(ratios):.1f}, {max(ratios):.1f})"
        )
        lines.append(
            f"| {name} | {statistics.median(times[name]):.3f} | {min(times[name]):.3f}"
            f" | {max(times[name]):.3f} | {paired} | {results[name]['peak_mib']:.1f}"
            f" | {final[name]:.6f} |"
        )
    lines.append(f"final losses agree to 1e-4: {'yes' if same else 'NO'}")
    return lines


def peak_memory(engine, steps: int) -> float:
    """Peak traced memory (MiB) of one more step of ``engine``."""
    gc.collect()
    tracemalloc.start()
    engine(steps - 1, steps)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def chain(sizes: list[int]) -> list[str]:
    from micrograd.engine import Value as MValue

    lines = [
        "chain of K ops (alternating + and ×), then backward",
        "| K | scalargrad s | ns per op | micrograd |",
        "| --- | --- | --- | --- |",
    ]
    for k in sizes:
        start = time.perf_counter()
        x = Value(0.5)
        node = x
        for i in range(k):
            node = node * 1.000001 if i % 2 else node + 0.25
        node.backward()
        seconds = time.perf_counter() - start
        del node
        try:
            m = MValue(0.5)
            node = m
            for i in range(k):
                node = node * 1.000001 if i % 2 else node + 0.25
            node.backward()
            verdict = "ok"
        except RecursionError:
            verdict = "RecursionError"
        del node
        gc.collect()
        lines.append(f"| {k:,} | {seconds:.3f} | {seconds / k * 1e9:.0f} | {verdict} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="demo steps per block")
    parser.add_argument("--blocks", type=int, default=2, help="blocks per engine")
    parser.add_argument("--block", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--chain", type=int, nargs="*", default=[300, 1_000, 10_000, 100_000, 1_000_000]
    )
    args = parser.parse_args()
    if args.block:  # a child process: one engine's loop, results as JSON on stdout
        print(json.dumps(run_block(args.block, args.steps, args.seed)))
        return
    print(f"Python {sys.version.split()[0]}, one thread (pure Python)")
    for line in demo_step(args.steps, args.seed, args.blocks):
        print(line)
    print()
    for line in chain(args.chain):
        print(line)


if __name__ == "__main__":
    main()
