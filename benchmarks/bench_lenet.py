"""LeNet-5, vecgrad against PyTorch from the same weights on the same batches.

    python benchmarks/bench_lenet.py --dataset mnist --data-dir ../shared/data/mnist-5k
    python benchmarks/bench_lenet.py --dataset fashion-mnist --epochs 10 --threads 1

Both libraries train `vecgrad.apps.models`' LeNet-5 (conv 1→6 5×5 pad 2, ReLU, max-pool 2;
conv 6→16 5×5, ReLU, max-pool 2; 400→120→84→10, ReLU) with SGD (lr 0.1, batch 100, float32)
from vecgrad's initial weights copied into torch, on the same batches in the same order
(vecgrad-mnist's seeding: `make_rngs(seed)`). Epochs alternate, vecgrad then PyTorch, so a
change in the machine's load hits both; an epoch's time is its training pass. Fashion-MNIST
defaults to Debian's copy (/usr/share/datasets/fashion-mnist, 60,000 + 10,000 images).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    parser.add_argument("--data-dir", type=Path, help="the four IDX files (default: the cache)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per library (10)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (1)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (0.1)")
    parser.add_argument("--batch-size", type=int, default=100, help="batch size (100)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="random seeds (0)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.threads < 1 or args.batch_size < 1:
        parser.error("--epochs, --threads and --batch-size must be at least 1")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    # Thread counts must be in the environment before numpy's BLAS and torch start.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    import numpy as np
    import torch

    from vecgrad import Tensor
    from vecgrad.apps import models
    from vecgrad.apps.data import DataLoader, load_fashion_mnist, load_mnist
    from vecgrad.apps.train_mnist import evaluate, make_rngs
    from vecgrad.functional import cross_entropy
    from vecgrad.optim import SGD

    torch.set_num_threads(args.threads)
    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    (X_train, y_train), (X_test, y_test) = load(args.data_dir, download=False)
    spec = models.lenet_spec()
    X_train, X_test = models.as_input(spec, X_train), models.as_input(spec, X_test)
    print(
        f"{args.dataset}: {len(X_train)} training, {len(X_test)} test images {X_train.shape[1:]}; "
        f"LeNet-5, SGD lr {args.lr}, batch {args.batch_size}, float32; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {args.threads} thread(s); "
        f"numpy {np.__version__}, torch {torch.__version__}"
    )

    summary = []
    for seed in args.seeds:
        rngs = make_rngs(seed)
        ours = models.build_model(spec, rngs.init)
        theirs = torch_lenet(torch)
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.torch_state_dict().items()})
        ours_optimizer = SGD(ours.parameters(), lr=args.lr)
        theirs_optimizer = torch.optim.SGD(theirs.parameters(), lr=args.lr)
        ours_batches = DataLoader(X_train, y_train, args.batch_size, shuffle=True, rng=rngs.order)
        order = make_rngs(seed).order
        theirs_batches = DataLoader(X_train, y_train, args.batch_size, shuffle=True, rng=order)

        print(f"\nseed {seed}")
        print("| epoch | vecgrad test acc | PyTorch test acc | vecgrad s/epoch | PyTorch s/epoch |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        rows = []
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            vecgrad_epoch(ours, ours_optimizer, ours_batches, Tensor, cross_entropy)
            ours_seconds = time.perf_counter() - start
            start = time.perf_counter()
            torch_epoch(torch, theirs, theirs_optimizer, theirs_batches)
            theirs_seconds = time.perf_counter() - start
            ours_accuracy, _ = evaluate(ours, X_test, y_test)
            theirs_accuracy = torch_accuracy(torch, theirs, X_test, y_test)
            rows.append((epoch, ours_accuracy, theirs_accuracy, ours_seconds, theirs_seconds))
            print(
                f"| {epoch} | {rows[-1][1]:.2%} | {rows[-1][2]:.2%} | {ours_seconds:.1f} | "
                f"{theirs_seconds:.1f} |",
                flush=True,
            )
        ours_median = statistics.median(r[3] for r in rows)
        theirs_median = statistics.median(r[4] for r in rows)
        print(f"| median | | | {ours_median:.1f} | {theirs_median:.1f} |")
        summary.append((seed, rows[-1][1], rows[-1][2], ours_median, theirs_median))

    print("\n| seed | vecgrad | PyTorch | difference | vecgrad s/epoch | PyTorch s/epoch |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for seed, a, b, s, t in summary:
        print(f"| {seed} | {a:.2%} | {b:.2%} | {100 * (a - b):+.2f} points | {s:.1f} | {t:.1f} |")


def vecgrad_epoch(model, optimizer, batches, Tensor, cross_entropy) -> None:
    """One training pass of vecgrad's LeNet-5 over ``batches``."""
    model.train()
    for X, y in batches:
        loss = cross_entropy(model(Tensor(X)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def torch_epoch(torch, model, optimizer, batches) -> None:
    """One training pass of torch's LeNet-5 over ``batches``."""
    model.train()
    for X, y in batches:
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def torch_accuracy(torch, model, X_test, y_test) -> float:
    """Test accuracy of torch's model, evaluated 1,000 images at a time without a graph."""
    model.eval()
    with torch.no_grad():
        batches = [
            model(torch.from_numpy(X_test[i : i + 1000])) for i in range(0, len(X_test), 1000)
        ]
    return float((torch.cat(batches).argmax(1).numpy() == y_test).mean())


def torch_lenet(torch):
    """PyTorch's LeNet-5, layer for layer as `vecgrad.apps.models.build_lenet` (same names)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


if __name__ == "__main__":
    main()
