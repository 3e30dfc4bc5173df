"""vecgrad against PyTorch on convolutional networks: one SGD step on a batch of 100.

    python benchmarks/bench_cnn.py                 # 4 blocks of 40 steps per engine and net
    python benchmarks/bench_cnn.py --quick         # 1 block of 8 steps: a smoke run
    python benchmarks/bench_cnn.py --profile       # where vecgrad's step spends its time

Two nets on 28×28 images (Fashion-MNIST's training set where installed):

* LeNet-5: conv 1→6 5×5 pad 2, ReLU, max-pool 2; conv 6→16 5×5, ReLU, max-pool 2;
  flatten 400 → 120 → 84 → 10 (ReLU between).
* wide: conv 1→32 3×3 pad 1, ReLU, max-pool 2; conv 32→64 3×3 pad 1, ReLU, max-pool 2;
  flatten 3136 → 128 → 10.

Both engines start from the same weights (PyTorch's layout; vecgrad loads them with
``load_torch_state_dict``) and see the same batches, so equal losses step by step prove
they computed the same thing. Each block is a fresh process running one engine (its own
imports and memory high-water mark); blocks alternate A B, B A, … so drift in the
machine's load hits both, and each ratio pairs two blocks run side by side. Thread counts
are set before numpy or torch is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINE_NAMES = ["vecgrad", "pytorch"]
NETS = ["lenet", "wide"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BATCH = 100


# ---- the nets, in either library ---------------------------------------------------


def build(nn, net: str, **kw):
    """The net as an ``nn.Sequential`` of ``nn`` (vecgrad.nn or torch.nn; ``kw``: rng)."""
    if net == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2, **kw),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, **kw),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120, **kw),
            nn.ReLU(),
            nn.Linear(120, 84, **kw),
            nn.ReLU(),
            nn.Linear(84, 10, **kw),
        )
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, **kw),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, **kw),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 128, **kw),
        nn.ReLU(),
        nn.Linear(128, 10, **kw),
    )


def initial_weights(net: str, seed: int) -> dict[str, np.ndarray]:
    """The shared starting point: a vecgrad model's weights in PyTorch's layout."""
    from vecgrad import nn

    return build(nn, net, rng=np.random.default_rng(seed)).torch_state_dict()


def conv_flops(net: str) -> float:
    """Multiply-add FLOPs of one step's convolutions and linear layers (forward + backward)."""
    # (C_out, C_in·k², output pixels, needs x̄) per conv; (in, out) per linear layer
    convs = {
        "lenet": [(6, 25, 784, False), (16, 150, 100, True)],
        "wide": [(32, 9, 784, False), (64, 288, 196, True)],
    }[net]
    linears = {"lenet": [(400, 120), (120, 84), (84, 10)], "wide": [(3136, 128), (128, 10)]}[net]
    flops = sum(2 * o * k * p * BATCH * (3 if dx else 2) for o, k, p, dx in convs)
    return flops + sum(2 * a * b * BATCH * 3 for a, b in linears)


# ---- the engines: each returns step(X, y) -> the batch's loss as a float --------------


def vecgrad_engine(net: str, weights: dict, lr: float):
    import vecgrad
    from vecgrad import nn, optim

    model = build(nn, net, rng=np.random.default_rng(0)).load_torch_state_dict(weights)
    optimizer = optim.SGD(model.parameters(), lr=lr)

    def step(X, y):
        loss = vecgrad.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def pytorch_engine(net: str, weights: dict, lr: float):
    import torch

    model = build(torch.nn, net)
    model.load_state_dict({name: torch.from_numpy(w) for name, w in weights.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step(X, y):
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


ENGINES = {"vecgrad": vecgrad_engine, "pytorch": pytorch_engine}


# ---- one block: a fresh process running one engine -------------------------------------


def run_block(engine: str, net: str, steps: int, seed: int, data: Path, lr: float) -> dict:
    """Time ``steps`` SGD steps of one engine; record the losses and the memory peak."""
    with np.load(data) as arrays:
        X, y = arrays["X"], arrays["y"]
    baseline = reset_peak_rss()
    if engine == "pytorch":
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    weights = initial_weights(net, seed)
    warm_up = ENGINES[engine](net, weights, lr)  # a throwaway model: caches, thread pools
    for i in range(3):
        warm_up(X[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH])
    del warm_up
    step = ENGINES[engine](net, weights, lr)
    order = np.random.default_rng(seed).permutation(len(X))
    times, cpu_times, losses = [], [], []
    for s in range(steps):
        rows = order[(s * BATCH) % len(X) :][:BATCH]
        X_batch, y_batch = X[rows], y[rows]  # gathered outside the clock
        start, cpu_start = time.perf_counter(), time.process_time()
        losses.append(step(X_batch, y_batch))
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    peak = proc_status_kib("VmHWM")
    return {
        "times": times,
        "cpu_times": cpu_times,
        "losses": losses,
        "peak_mib": peak / 1024,
        "engine_mib": (peak - baseline) / 1024 if baseline is not None else None,
    }


def reset_peak_rss() -> int | None:
    """Reset this process's peak RSS (VmHWM) to its current RSS and return that (KiB)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return proc_status_kib("VmRSS")


def proc_status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"bench_cnn: no {field} in /proc/self/status (Linux only)")


# ---- the parent: data, alternating blocks, the table ----------------------------------


def prepare_data(folder: Path, examples: int, seed: int) -> tuple[Path, str]:
    """Save (N, 1, 28, 28) training images as one .npz for the children; say what they are."""
    try:
        from vecgrad.apps.data import load_fashion_mnist

        (X, y), _ = load_fashion_mnist(download=False, progress=False)
        source = "Fashion-MNIST training images"
    except (OSError, ValueError, RuntimeError) as error:  # not installed here: same shape
        rng = np.random.default_rng(seed)
        X = rng.random((examples, 784), dtype=np.float32)
        y = rng.integers(0, 10, examples)
        source = f"RANDOM images of Fashion-MNIST's shape (Fashion-MNIST not found: {error})"
    X = np.ascontiguousarray(X[:examples], np.float32).reshape(-1, 1, 28, 28)
    path = folder / "train.npz"
    np.savez(path, X=X, y=y[:examples].astype(np.int64))
    return path, f"{source}, {len(X):,} of them"


def child_env(threads: int) -> dict:
    """The environment of every child: the same thread counts for numpy's BLAS and torch."""
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    return env


def run_net(net: str, args, data: Path) -> list[str]:
    """Alternate the engines block by block on one net; return the table's lines."""
    blocks = {name: [] for name in ENGINE_NAMES}
    for b in range(args.blocks):
        for name in ENGINE_NAMES if b % 2 == 0 else reversed(ENGINE_NAMES):
            command = [sys.executable, __file__, "--block", name, "--net", net]
            command += ["--steps", str(args.steps), "--seed", str(args.seed)]
            command += ["--data", str(data), "--lr", str(args.lr)]
            done = subprocess.run(
                command, capture_output=True, text=True, env=child_env(args.threads)
            )
            if done.returncode != 0:
                raise RuntimeError(f"bench_cnn: the {name} block failed:\n{done.stderr}")
            blocks[name].append(json.loads(done.stdout))
    ratios, cpu_ratios = _paired(blocks, "times"), _paired(blocks, "cpu_times")
    losses = {n: np.array(blocks[n][0]["losses"]) for n in ENGINE_NAMES}
    gap = np.abs(losses["vecgrad"] - losses["pytorch"]) / np.abs(losses["pytorch"])
    flops = conv_flops(net)
    lines = [
        f"{net}: one SGD step (lr={args.lr}) on a batch of {BATCH}, float32, {args.threads}"
        f" thread(s); {args.blocks} blocks of {args.steps} steps per engine, alternating;"
        f" {flops / 1e9:.2f} GFLOP of products per step",
        "| engine | median ms/step | min | GFLOP/s | time ÷ PyTorch's (median, min, max over"
        " paired blocks) | CPU ms/step | CPU time ÷ PyTorch's | peak RSS MiB |"
        " peak above data MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ENGINE_NAMES:
        times = [t for r in blocks[name] for t in r["times"]]
        median = statistics.median(times)
        cpu = statistics.median([t for r in blocks[name] for t in r["cpu_times"]])
        ratio = "1" if name == "pytorch" else _spread(ratios)
        cpu_ratio = "1" if name == "pytorch" else _spread(cpu_ratios)
        peaks = [r["engine_mib"] for r in blocks[name]]
        above = "—" if None in peaks else f"{max(peaks):.0f}"
        lines.append(
            f"| {name} | {1000 * median:.1f} | {1000 * min(times):.1f} | {flops / median / 1e9:.0f}"
            f" | {ratio} | {1000 * cpu:.1f} | {cpu_ratio}"
            f" | {max(r['peak_mib'] for r in blocks[name]):.0f} | {above} |"
        )
    lines.append(
        "CPU time: time.process_time() of the step, every thread of the process (with several"
        " threads it counts BLAS's spinning too); on a busy machine it moves less than the"
        " wall clock"
    )
    lines.append(
        f"losses step by step agree to 1e-4 (relative): {'yes' if gap.max() < 1e-4 else 'NO'}"
        f" (gap at the first step {gap[0]:.1e}, largest {gap.max():.1e}; loss"
        f" {losses['vecgrad'][0]:.5f} → {losses['vecgrad'][-1]:.5f})"
    )
    return lines


def _paired(blocks: dict, key: str) -> list[float]:
    """vecgrad's median ÷ PyTorch's median, block by block (blocks run side by side)."""
    medians = {n: [statistics.median(r[key]) for r in blocks[n]] for n in ENGINE_NAMES}
    return [a / b for a, b in zip(medians["vecgrad"], medians["pytorch"])]


def _spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}, {max(ratios):.2f})"


def profile(net: str, steps: int, data: Path, seed: int, lr: float) -> None:
    """Print cProfile's top functions (by own time) over ``steps`` vecgrad steps."""
    import cProfile
    import pstats

    with np.load(data) as arrays:
        X, y = arrays["X"][: steps * BATCH], arrays["y"][: steps * BATCH]
    step = vecgrad_engine(net, initial_weights(net, seed), lr)
    step(X[:BATCH], y[:BATCH])
    profiler = cProfile.Profile(time.process_time)  # CPU time: steadier on a busy machine
    profiler.enable()
    for s in range(steps):
        step(X[s * BATCH : (s + 1) * BATCH], y[s * BATCH : (s + 1) * BATCH])
    profiler.disable()
    print(f"\nprofile of {steps} vecgrad steps on {net} (own time, top 12):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=4, help="blocks (processes) per engine")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per block")
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine")
    parser.add_argument("--net", nargs="*", default=NETS, choices=NETS)
    # float32 rounding differs between the engines and SGD amplifies it: at lr 0.05 the wide
    # net's losses drift ~1e-2 apart within 40 steps; at 0.01 they stay close
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="1 block of 8 steps per engine")
    parser.add_argument("--profile", action="store_true", help="cProfile vecgrad's steps")
    parser.add_argument("--block", choices=ENGINE_NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--profile-block", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_block:
        for net in args.net:
            profile(net, 10, args.data, args.seed, args.lr)
        return
    if args.block:  # a child process: one engine's loop, results as JSON on stdout
        result = run_block(args.block, args.net[0], args.steps, args.seed, args.data, args.lr)
        print(json.dumps(result))
        return
    if args.quick:
        args.blocks, args.steps = 1, 8
    with tempfile.TemporaryDirectory() as folder:
        data, source = prepare_data(Path(folder), 60_000, args.seed)
        if args.profile:  # in a child, so the thread counts are set before numpy loads
            command = [sys.executable, __file__, "--profile-block", "--data", str(data)]
            command += ["--seed", str(args.seed), "--lr", str(args.lr), "--net", *args.net]
            subprocess.run(command, check=True, env=child_env(args.threads))
            return
        import torch

        print(
            f"Python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__},"
            f" {os.cpu_count()} CPUs; {args.threads} thread(s) per engine"
            f" ({', '.join(THREAD_VARIABLES)} and torch.set_num_threads), set before import"
        )
        print(f"data: {source}; load average at start: {os.getloadavg()[0]:.1f}")
        for net in args.net:
            print()
            for line in run_net(net, args, data):
                print(line)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
