"""vecgrad against PyTorch on full-size Fashion-MNIST: test accuracy and seconds per epoch.

    python benchmarks/bench_fashion_mnist.py --epochs 3 --threads 2

The data is Debian's ``dataset-fashion-mnist`` (60,000 training and 10,000 test images in
/usr/share/datasets/fashion-mnist; ``--data-dir`` to read another copy). Both libraries
train the ``vecgrad-mnist`` default model (784-100-10, ReLU, SGD lr 0.1, batch 100) from
the same initial weights, on the same batches in the same order, in float32. Epochs
alternate, vecgrad then PyTorch, so a change in the machine's load hits both. The time
of an epoch is its training pass; the test evaluation after it is not counted. BLAS and
PyTorch use the same number of threads (``--threads``), set before either is imported.
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
    parser.add_argument("--epochs", type=int, default=3, help="epochs per library (3)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads (2)")
    parser.add_argument("--hidden", type=int, nargs="*", default=[100], help="hidden sizes")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (0.1)")
    parser.add_argument("--batch-size", type=int, default=100, help="batch size (100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--data-dir", type=Path, help="the four Fashion-MNIST IDX files")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.threads < 1:
        parser.error("--epochs and --threads must be at least 1")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    # Thread counts must be in the environment before numpy's BLAS and torch start.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    import numpy as np
    import torch

    from vecgrad import Tensor
    from vecgrad.apps.data import DataLoader, load_fashion_mnist
    from vecgrad.apps.train_mnist import Config, build_model, evaluate, make_rngs
    from vecgrad.functional import cross_entropy
    from vecgrad.optim import SGD

    torch.set_num_threads(args.threads)
    (X_train, y_train), (X_test, y_test) = load_fashion_mnist(args.data_dir, download=False)
    config = Config(
        dataset="fashion-mnist",
        hidden=tuple(args.hidden),
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
    )

    # vecgrad: the model and loop of vecgrad-mnist
    rngs = make_rngs(config.seed)
    ours = build_model(config, X_train.shape[1], 10, rngs)
    ours_optimizer = SGD(ours.parameters(), lr=config.lr)
    ours_batches = DataLoader(X_train, y_train, config.batch_size, shuffle=True, rng=rngs.order)

    # PyTorch: the same layers, initial weights and batch order
    sizes = [X_train.shape[1], *config.hidden, 10]
    layers = []
    for i in range(len(sizes) - 1):
        layers += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU()]
    theirs = torch.nn.Sequential(*layers[:-1])
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.torch_state_dict().items()})
    theirs_optimizer = torch.optim.SGD(theirs.parameters(), lr=config.lr)
    order = make_rngs(config.seed).order
    theirs_batches = DataLoader(X_train, y_train, config.batch_size, shuffle=True, rng=order)

    def vecgrad_epoch() -> float:
        ours.train()
        for X, y in ours_batches:
            loss = cross_entropy(ours(Tensor(X)), y)
            ours_optimizer.zero_grad()
            loss.backward()
            ours_optimizer.step()
        return loss.item()

    def torch_epoch() -> float:
        theirs.train()
        for X, y in theirs_batches:
            loss = torch.nn.functional.cross_entropy(
                theirs(torch.from_numpy(X)), torch.from_numpy(y)
            )
            theirs_optimizer.zero_grad()
            loss.backward()
            theirs_optimizer.step()
        return loss.item()

    def torch_accuracy() -> float:
        theirs.eval()
        with torch.no_grad():
            predictions = theirs(torch.from_numpy(X_test)).argmax(dim=1).numpy()
        return float((predictions == y_test).mean())

    print(
        f"Fashion-MNIST: {len(X_train)} training, {len(X_test)} test images; MLP "
        f"{'-'.join(map(str, sizes))} ReLU, SGD lr {config.lr}, batch {config.batch_size}, "
        f"seed {config.seed}, float32"
    )
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; threads: "
        f"OMP/OPENBLAS/MKL_NUM_THREADS={args.threads}, torch.get_num_threads()="
        f"{torch.get_num_threads()}; numpy {np.__version__}, torch {torch.__version__}"
    )
    rows = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        ours_loss = vecgrad_epoch()
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        theirs_loss = torch_epoch()
        theirs_seconds = time.perf_counter() - start
        ours_accuracy, _ = evaluate(ours, X_test, y_test)
        rows.append((epoch, ours_accuracy, torch_accuracy(), ours_seconds, theirs_seconds))
        print(
            f"epoch {epoch}: vecgrad {ours_seconds:.2f} s (last batch loss {ours_loss:.4f}), "
            f"PyTorch {theirs_seconds:.2f} s (last batch loss {theirs_loss:.4f})"
        )

    print()
    print("| epoch | vecgrad test acc | PyTorch test acc | vecgrad s/epoch | PyTorch s/epoch |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for epoch, a, b, s, t in rows:
        print(f"| {epoch} | {a:.2%} | {b:.2%} | {s:.2f} | {t:.2f} |")
    ours_median = statistics.median(r[3] for r in rows)
    theirs_median = statistics.median(r[4] for r in rows)
    print(
        f"| median | | | {ours_median:.2f} | {theirs_median:.2f} |\n\n"
        f"vecgrad takes {ours_median / theirs_median:.2f}× PyTorch's time per epoch."
    )


if __name__ == "__main__":
    main()
