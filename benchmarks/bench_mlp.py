"""vecgrad against PyTorch, HIPS autograd and hand-written numpy: MLP epochs of SGD.

    pip install -e '.[bench]' && python benchmarks/bench_mlp.py

Every engine trains the same MLP (ReLU between layers, cross-entropy loss, plain SGD,
float32, batches of 100) on Fashion-MNIST's 60,000 training images, from the same initial
weights and in the same batch order, so equal final losses prove they computed the same
thing. Each engine runs its own loop, as a user would write it, in a fresh process (its
own imports, its own memory high-water mark), and the processes alternate, A B C D then
D C B A, so drift in the machine's load hits all of them; each ratio pairs two blocks run
side by side. Thread counts are fixed for every engine before numpy or torch is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINE_NAMES = ["vecgrad", "bare-graph", "pytorch", "autograd", "numpy", "numpy-fresh", "blas"]
# bare-graph and numpy-fresh: on request (--engines); they explain gaps, they are no rivals
DEFAULT_ENGINES = ["vecgrad", "pytorch", "autograd", "numpy", "blas"]
ARCHITECTURES = {"784-100-10": (784, 100, 10), "784-512-256-10": (784, 512, 256, 10)}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---- the shared starting point -----------------------------------------------------


def initial_weights(sizes: tuple, seed: int) -> list[np.ndarray]:
    """W1, b1, W2, b2, …: W (in, out) and b (out,) uniform in ±1/√in, as torch's Linear."""
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        weights.append(rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, n_out).astype(np.float32))
    return weights


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of the examples for one epoch (the same for every engine)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def matmul_flops(sizes: tuple, examples: int) -> int:
    """Matrix-product FLOPs of one epoch: forward x@W, backward xᵀ·ḡ, and ḡ·Wᵀ except for
    the first layer (the input batch needs no gradient); 2·n·in·out each."""
    per_layer = [2 * examples * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(per_layer) + sum(per_layer[1:])


# ---- the engines: each returns step(X, y) -> the batch's loss as a float --------------


def vecgrad_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    import vecgrad
    from vecgrad import nn, optim

    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, rng=np.random.default_rng(0)), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    for p, w in zip(model.parameters(), weights):  # vecgrad stores W as (in, out)
        p.data = w.copy()
    optimizer = optim.SGD(model.parameters(), lr=lr)

    def step(X, y):
        loss = vecgrad.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def bare_graph_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    """vecgrad's own ops and its one graph walk over the barest node there can be: no
    Tensor, no modules, no checks (float policy, versions, shapes, grad mode), the update
    through vecgrad's `subtract_scaled`. No engine that runs these ops through this walk can
    be faster, so it splits vecgrad's distance to the floor in two: above this row is
    vecgrad's own bookkeeping (Tensor, modules, the checks), below it the ops' fresh
    arrays and the walk. Its numbers are vecgrad's (the same op classes)."""
    from scalargrad.autodiff import backward
    from vecgrad.array_ops import Linear
    from vecgrad.blas import subtract_scaled
    from vecgrad.ops import ReLU
    from vecgrad.softmax_ops import CrossEntropy

    class Node:
        """The graph walk's node protocol and nothing more (scalargrad/autodiff.py)."""

        __slots__ = ("data", "grad", "parents", "op", "requires_grad")

        def __init__(self, data, op=None, parents=(), requires_grad=False):
            self.data, self.op, self.parents = data, op, parents
            self.requires_grad, self.grad = requires_grad, None

        def accumulate_grad(self, adjoint, partials):
            if self.op is None:  # a parameter: its one partial per step is a new product
                self.grad = adjoint

    def apply(op, *inputs: Node) -> Node:
        op.needs_input_grad = tuple(x.requires_grad for x in inputs)
        return Node(np.asarray(op.forward(*(x.data for x in inputs))), op, inputs, True)

    params = [Node(w.copy(), requires_grad=True) for w in weights]
    seed = np.ones((), np.float32)

    def step(X, y):
        h = Node(X)
        for i in range(0, len(params), 2):
            if i:
                h = apply(ReLU(), h)
            h = apply(Linear(), h, params[i], params[i + 1])
        loss = apply(CrossEntropy(y, None, "mean"), h)
        for p in params:  # as zero_grad: last step's gradients freed before new ones are made
            p.grad = None
        backward(loss, seed)
        for p in params:
            subtract_scaled(p.data, lr, p.grad)
        return float(loss.data)

    return step


def pytorch_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    import torch

    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):  # torch stores W as (out, in)
            p.copy_(torch.from_numpy(w.T if w.ndim == 2 else w))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step(X, y):
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def autograd_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    import autograd.numpy as anp
    from autograd import value_and_grad
    from autograd.tracer import getval

    params = [w.copy() for w in weights]

    def loss_fn(params, X, y):
        h = X
        for i in range(0, len(params), 2):
            h = anp.dot(h, params[i]) + params[i + 1]
            if i + 2 < len(params):
                h = anp.maximum(h, 0.0)
        shifted = h - np.max(getval(h), axis=1, keepdims=True)  # a constant shift
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(log_probs[np.arange(len(y)), y])

    loss_and_grads = value_and_grad(loss_fn)

    def step(X, y):
        loss, grads = loss_and_grads(params, X, y)
        for p, g in zip(params, grads):
            p -= lr * g
        return float(loss)

    return step


def numpy_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    """The floor: one step written by hand as fast as a numpy user can make it.

    Every buffer is allocated once and reused (``out=``), bias and ReLU run in place, the
    softmax gradient is formed in the exponentials' buffer, and the weights are updated in
    place. It also uses the three idioms that beat numpy's defaults on these shapes (the
    same ones vecgrad uses): ReLU against an array of zeros (``np.maximum(h, 0)`` against a
    number is not vectorised), the row max of a short row as the max of the transposed copy
    along its first axis, and the bias gradient Σ ḡ over the rows as 1ᵀ·ḡ, one BLAS
    matrix-vector product (``g.sum(axis=0)`` goes row by row). The loss is two sums, not
    ``np.mean`` of a difference (which costs ~5 µs more per step here).
    """
    params = [w.copy() for w in weights]
    layers = len(params) // 2
    buffers: dict = {}

    def buffer(name: str, shape: tuple, fill: float | None = None) -> np.ndarray:
        array = buffers.get(name)
        if array is None or array.shape != shape:
            array = buffers[name] = np.empty(shape, np.float32)
            if fill is not None:
                array.fill(fill)
        return array

    def step(X, y):
        n = len(y)
        rows = np.arange(n)
        # forward, keeping each layer's output (after ReLU) as the next one's input
        inputs = [X]
        h = X
        for i in range(layers):
            W, b = params[2 * i], params[2 * i + 1]
            out = np.matmul(h, W, out=buffer(f"h{i}", (n, W.shape[1])))
            out += b
            if i < layers - 1:
                np.maximum(out, buffer(f"zeros{i}", out.shape, fill=0.0), out=out)
                inputs.append(out)
            h = out
        # cross-entropy and its gradient (softmax − onehot)/n, fused in h's buffer
        h -= np.ascontiguousarray(h.T).max(axis=0)[:, None]
        picked = h[rows, y]  # the labels' shifted logits (a copy), before exp overwrites h
        np.exp(h, out=h)
        total = h.sum(axis=1, keepdims=True)
        loss = (float(np.log(total).sum()) - float(picked.sum())) / n
        g = h
        g /= total
        g[rows, y] -= 1
        g *= np.float32(1 / n)
        # backward, updating each layer once its ḡ·Wᵀ has used the old weights
        for i in reversed(range(layers)):
            W, b = params[2 * i], params[2 * i + 1]
            gW = np.matmul(inputs[i].T, g, out=buffer(f"gW{i}", W.shape))
            gb = np.dot(buffer("ones", (n,), fill=1.0), g, out=buffer(f"gb{i}", b.shape))
            if i > 0:  # the input batch needs no gradient
                g_next = np.matmul(g, W.T, out=buffer(f"g{i}", inputs[i].shape))
                g_next *= inputs[i] > 0
                g = g_next
            gW *= lr
            gb *= lr
            W -= gW
            b -= gb
        return loss

    return step


def numpy_fresh_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    """The floor's step with a new array for every result, as an engine makes them (no
    ``out=``, no buffers kept from step to step, ReLU's mask as a new float array): what
    the floor's buffer reuse alone is worth. Its numbers are the floor's."""
    params = [w.copy() for w in weights]
    layers = len(params) // 2

    def step(X, y):
        n = len(y)
        rows = np.arange(n)
        inputs = [X]
        h = X
        for i in range(layers):
            W, b = params[2 * i], params[2 * i + 1]
            h = h @ W + b
            if i < layers - 1:
                h = np.maximum(h, np.zeros(h.shape, h.dtype))
                inputs.append(h)
        shifted = h - np.ascontiguousarray(h.T).max(axis=0)[:, None]
        exps = np.exp(shifted)
        total = exps.sum(axis=1, keepdims=True)
        loss = (float(np.log(total).sum()) - float(shifted[rows, y].sum())) / n
        g = exps / total
        g[rows, y] -= 1
        g = g * np.float32(1 / n)
        grads = [None] * len(params)
        for i in reversed(range(layers)):
            grads[2 * i] = inputs[i].T @ g
            grads[2 * i + 1] = np.ones(n, g.dtype) @ g
            if i > 0:
                g = (g @ params[2 * i].T) * (inputs[i] > 0).astype(g.dtype)
        for p, grad in zip(params, grads):
            p -= lr * grad
        return loss

    return step


def blas_engine(weights: list[np.ndarray], sizes: tuple, lr: float):
    """Only the matrix products of one step (x@W forward, xᵀ·ḡ and ḡ·Wᵀ backward): the
    part of every engine's step that is OpenBLAS's, not the engine's.

    They are written into buffers kept from step to step, as the floor's are. With fresh
    outputs instead, at 2 threads OpenBLAS's zeroing of C (``sgemm_beta``, in both threads)
    met ~60 page faults per step here, which the floor never pays: the row then measured
    the allocator, and at 2 threads came out as slow as at 1.
    """
    params = [w.copy() for w in weights[0::2]]
    rng = np.random.default_rng(0)
    buffers: dict = {}

    def buffer(name: str, shape: tuple) -> np.ndarray:
        array = buffers.get(name)
        if array is None or array.shape != shape:
            array = buffers[name] = np.empty(shape, np.float32)
        return array

    def step(X, y):
        n = len(y)
        inputs = [X]
        for i, W in enumerate(params):
            inputs.append(np.matmul(inputs[-1], W, out=buffer(f"h{i}", (n, W.shape[1]))))
        g = buffers.get("g_out")
        if g is None or g.shape != inputs[-1].shape:
            g = buffers["g_out"] = rng.standard_normal(inputs[-1].shape, dtype=np.float32) / n
        for i in reversed(range(len(params))):
            np.matmul(inputs[i].T, g, out=buffer(f"gW{i}", params[i].shape))
            if i > 0:
                g = np.matmul(g, params[i].T, out=buffer(f"g{i}", inputs[i].shape))
        return 0.0

    return step


ENGINES = {
    "vecgrad": vecgrad_engine,
    "bare-graph": bare_graph_engine,
    "pytorch": pytorch_engine,
    "autograd": autograd_engine,
    "numpy": numpy_engine,
    "numpy-fresh": numpy_fresh_engine,
    "blas": blas_engine,
}


# ---- one block: a fresh process running one engine's loop -----------------------------


def run_block(
    engine: str, arch: str, epochs: int, seed: int, data: Path, lr: float, gather: str
) -> dict:
    """Train ``epochs`` epochs with one engine; time each and record its memory peaks.

    ``gather="inside"`` (the default) times each batch's gather ``X[rows]`` with the step,
    as a user's epoch pays for it; the BLAS-only row never includes it.

    The peak RSS above the data is measured from just after the data is loaded (and
    before the engine is imported): the engine's imports, model, and training.
    """
    sizes = ARCHITECTURES[arch]
    with np.load(data) as arrays:
        X, y = arrays["X"], arrays["y"]
    baseline = reset_peak_rss()
    threads = {v: os.environ.get(v, "unset") for v in THREAD_VARIABLES}
    if engine == "pytorch":
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        threads["torch.get_num_threads()"] = torch.get_num_threads()
    batch = 100
    weights = initial_weights(sizes, seed)
    warm_up = ENGINES[engine](weights, sizes, lr)  # a throwaway model: caches, thread pools
    for i in range(0, 5 * batch, batch):
        warm_up(X[i : i + batch], y[i : i + batch])
    del warm_up
    step = ENGINES[engine](weights, sizes, lr)
    times, losses = [], []
    clock = time.perf_counter
    faults, others = minor_faults(), others_cpu_seconds()
    wall = clock()
    for epoch in range(epochs):
        order = batch_order(seed, epoch, len(X))
        seconds = total = 0.0
        for i in range(0, len(X), batch):
            rows = order[i : i + batch]
            if gather == "inside" and engine != "blas":
                start = clock()
                total += step(X[rows], y[rows])
            else:
                X_batch, y_batch = X[rows], y[rows]
                start = clock()
                total += step(X_batch, y_batch)
            seconds += clock() - start
        times.append(seconds)
        losses.append(total / -(-len(X) // batch))  # the mean over the epoch's batches
    faults, wall = minor_faults() - faults, clock() - wall
    others = others_cpu_seconds() - others
    peak = proc_status_kib("VmHWM")
    return {
        "times": times,
        "faults_per_step": faults / (epochs * -(-len(X) // batch)),
        "others_cpu": others / (wall * (os.cpu_count() or 1)),
        "losses": losses,
        "peak_mib": peak / 1024,
        "engine_mib": (peak - baseline) / 1024 if baseline is not None else None,
        "threads": threads,
    }


def minor_faults() -> int:
    """Page faults of this process so far that needed no disk (first touches of fresh
    memory, mostly): the timed loop's count shows an engine paying for fresh pages."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def others_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy, minus this process's own: what other
    programs took from the cores (Linux's /proc/stat; 0 where it cannot be read).

    Over a block it says how disturbed the block was: at 2 threads, OpenBLAS's second
    thread and anything else runnable share 2 cores, and one busy neighbour can make an
    epoch several times slower."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK") - (own.user + own.system)


def reset_peak_rss() -> int | None:
    """Reset this process's peak RSS (VmHWM) to its current RSS and return that (KiB).

    Writing 5 to /proc/self/clear_refs does it (Linux ≥ 4.0); None where it is refused.
    """
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
    raise RuntimeError(f"bench_mlp: no {field} in /proc/self/status (Linux only)")


# ---- the parent: data, alternating blocks, the table ----------------------------------


def prepare_data(folder: Path, examples: int, seed: int) -> tuple[Path, str]:
    """Save the training set as one .npz for the children; say where it came from."""
    try:
        from vecgrad.apps.data import load_fashion_mnist

        (X, y), _ = load_fashion_mnist(download=False, progress=False)
        source = "Fashion-MNIST training set"
    except (OSError, ValueError, RuntimeError) as error:  # not installed here: same shape
        rng = np.random.default_rng(seed)
        X = rng.random((60_000, 784), dtype=np.float32)
        y = rng.integers(0, 10, 60_000)
        source = f"RANDOM data of Fashion-MNIST's shape (Fashion-MNIST not found: {error})"
    X, y = np.ascontiguousarray(X[:examples], np.float32), y[:examples].astype(np.int64)
    path = folder / "train.npz"
    np.savez(path, X=X, y=y)
    return path, f"{source}, {len(X):,} examples"


def child_env(threads: int) -> dict:
    """The environment of every child: the same thread counts for numpy's BLAS and torch."""
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    return env


def run_arch(arch: str, threads: int, args, data: Path) -> list[str]:
    """Alternate the engines block by block on one architecture; return the table lines."""
    engines = [e for e in ENGINE_NAMES if e in args.engines]
    blocks = {name: [] for name in engines}
    reruns = still_busy = 0
    for b in range(args.blocks):
        for attempt in range(args.retries + 1):
            round_ = {}
            for name in engines if b % 2 == 0 else reversed(engines):
                round_[name] = run_child(name, arch, threads, args, data)
            # A round in which another program took the cores is run again, all of it, so
            # that the blocks each ratio pairs still ran side by side.
            if max(r["others_cpu"] for r in round_.values()) <= args.quiet:
                break
            if attempt < args.retries:
                reruns += 1
            else:
                still_busy += 1
        for name in engines:
            blocks[name].append(round_[name])

    with np.load(data) as arrays:
        examples = len(arrays["y"])
        data_mib = (arrays["X"].nbytes + arrays["y"].nbytes) / 2**20
    flops = matmul_flops(ARCHITECTURES[arch], examples)
    median_block = {n: [statistics.median(r["times"]) for r in blocks[n]] for n in engines}
    final = {n: blocks[n][-1]["losses"][-1] for n in engines if n != "blas"}
    spread = max(final.values()) - min(final.values())
    lines = [
        f"MLP {arch}, {threads} thread(s), batch 100, SGD lr={args.lr}, float32,"
        f" {examples:,} examples per epoch:"
        f" {args.blocks} blocks of {args.epochs} epochs per engine, blocks alternating;"
        f" {flops / 1e9:.1f} GFLOP of matrix products per epoch",
        "| engine | median s/epoch | min | max | time ÷ PyTorch's (median, min, max) |"
        " time ÷ numpy's (median, min, max) | GFLOP/s | peak RSS MiB | peak above data MiB |"
        " page faults per step | others' CPU (median, max) | final loss |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in engines:
        times = [t for r in blocks[name] for t in r["times"]]
        median = statistics.median(times)
        peak = max(r["peak_mib"] for r in blocks[name])
        engine_peaks = [r["engine_mib"] for r in blocks[name]]
        engine_text = "—" if None in engine_peaks else f"{max(engine_peaks):.0f}"
        others = [r["others_cpu"] for r in blocks[name]]
        loss_text = f"{final[name]:.6f}" if name in final else "— (matrix products only)"
        lines.append(
            f"| {name} | {median:.3f} | {min(times):.3f} | {max(times):.3f}"
            f" | {paired(median_block, name, 'pytorch')} | {paired(median_block, name, 'numpy')}"
            f" | {flops / median / 1e9:.0f} | {peak:.0f} | {engine_text}"
            f" | {statistics.median(r['faults_per_step'] for r in blocks[name]):.1f}"
            f" | {statistics.median(others):.0%}, {max(others):.0%} | {loss_text} |"
        )
    lines.append(
        f"final losses (mean over the last epoch's batches) agree to 1e-4:"
        f" {'yes' if spread < 1e-4 else 'NO'} (largest difference {spread:.1e})"
    )
    lines.append(
        f"peak RSS: VmHWM of the engine's own process, data ({data_mib:.0f} MiB) included;"
        " above data: VmHWM − VmRSS once the data is loaded (peak reset through"
        " /proc/self/clear_refs), i.e. the engine's imports, model and training."
        + (
            " Each batch's gather X[rows] is timed with the step, for every engine"
            if args.gather == "inside"
            else " Each batch is gathered outside the clock, so the times are the engines' alone"
        )
    )
    lines.append(
        "others' CPU: the CPU time other programs used during a block's timed epochs, as a"
        f" share of this machine's {os.cpu_count()} cores over that time (0% = the block had"
        " the machine to itself; read to a clock tick, 10 ms, so short blocks show a few % either"
        " way)"
    )
    lines.append(
        f"rounds run again because some block's others' CPU exceeded {args.quiet:.0%}:"
        f" {reruns}; rounds kept although still above it after {args.retries} retries:"
        f" {still_busy} of {args.blocks}"
    )
    if "blas" in engines:
        blas = statistics.median(t for r in blocks["blas"] for t in r["times"])
        for name in engines:
            if name != "blas":
                median = statistics.median(t for r in blocks[name] for t in r["times"])
                if blas > median:  # the products alone took longer: the machine's load moved
                    lines.append(
                        f"{name}: its epoch ({median:.3f} s) was faster than the matrix products"
                        f" alone ({blas:.3f} s) in other blocks: too noisy to split, run more"
                        " --blocks on a quieter machine"
                    )
                    continue
                lines.append(
                    f"{name}: {blas / median:.0%} of its epoch is the matrix products"
                    f" (BLAS, {blas:.3f} s), {median - blas:.3f} s is the rest"
                )
    seen = {k: v for r in blocks.values() for k, v in r[0]["threads"].items()}
    lines.append("threads seen by the children: " + ", ".join(f"{k}={v}" for k, v in seen.items()))
    return lines


def run_child(name: str, arch: str, threads: int, args, data: Path) -> dict:
    """One block: a fresh process training with one engine; its results."""
    command = [sys.executable, __file__, "--block", name, "--arch", arch]
    command += ["--epochs", str(args.epochs), "--seed", str(args.seed)]
    command += ["--data", str(data), "--lr", str(args.lr), "--gather", args.gather]
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(threads))
    if done.returncode != 0:
        raise RuntimeError(f"bench_mlp: the {name} block failed:\n{done.stderr}")
    return json.loads(done.stdout)


def paired(median_block: dict, name: str, other: str) -> str:
    """Median, min and max over blocks of (this engine's time ÷ the other's, same block)."""
    if other not in median_block:
        return "—"
    ratios = [a / b for a, b in zip(median_block[name], median_block[other])]
    if name == other:
        return "1"
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}, {max(ratios):.2f})"


def import_seconds(runs: int = 5) -> tuple[float, float]:
    """Fresh-process times of ``import vecgrad``: total (numpy included), and vecgrad's own."""
    script = (
        "import time; t0 = time.perf_counter(); import numpy; t1 = time.perf_counter(); "
        "import vecgrad; t2 = time.perf_counter(); print(t2 - t0, t2 - t1)"
    )
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        results.append(tuple(float(v) for v in out.split()))
    return min(r[0] for r in results), min(r[1] for r in results)


def blas_description() -> str:
    """numpy's BLAS library and version, from ``numpy.show_config``."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy: no dict mode
        return "unknown (numpy.show_config() prints it)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=6, help="blocks (processes) per engine")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per block")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="thread counts to measure"
    )
    parser.add_argument(
        "--gather",
        choices=("inside", "outside"),
        default="inside",
        help="time each batch's gather X[rows] with the step (inside) or not",
    )
    parser.add_argument("--arch", nargs="*", default=list(ARCHITECTURES), choices=ARCHITECTURES)
    parser.add_argument("--engines", nargs="*", default=DEFAULT_ENGINES, choices=ENGINE_NAMES)
    parser.add_argument("--examples", type=int, default=60_000, help="examples per epoch")
    # float32 rounding differs between engines and SGD amplifies it: at lr 0.1 the engines'
    # epoch losses drift ~3e-4 apart by the second epoch, at 0.05 they agree to ~5e-6 after one
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.1,
        help="run a round of blocks again when other programs took more than this share"
        " of the cores during one of its blocks (default 0.1)",
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="times a busy round is run again (default 2)"
    )
    parser.add_argument("--quick", action="store_true", help="1 block of 1 epoch")
    parser.add_argument("--block", choices=ENGINE_NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.block:  # a child process: one engine's loop, results as JSON on stdout
        result = run_block(
            args.block, args.arch[0], args.epochs, args.seed, args.data, args.lr, args.gather
        )
        print(json.dumps(result))
        return
    if args.quick:
        args.blocks, args.epochs = 1, 1
    import torch

    print(
        f"Python {sys.version.split()[0]}, numpy {np.__version__} ({blas_description()}),"
        f" torch {torch.__version__}, {os.cpu_count()} CPUs; thread counts"
        f" {', '.join(map(str, args.threads))}, each set for every engine through"
        f" {', '.join(THREAD_VARIABLES)} and torch.set_num_threads, before numpy or torch"
        " is imported"
    )
    total, own = import_seconds()
    print(
        f"import vecgrad in a fresh process: {total:.3f} s (numpy included),"
        f" {own:.3f} s after numpy"
    )
    with tempfile.TemporaryDirectory() as folder:
        data, source = prepare_data(Path(folder), args.examples, args.seed)
        print(f"data: {source}")
        for threads in args.threads:
            for arch in args.arch:
                print()
                for line in run_arch(arch, threads, args, data):
                    print(line, flush=True)


if __name__ == "__main__":
    main()
