"""BLAS threads for vecgrad-mnist: seconds per training epoch with 1, 2, … threads.

    python benchmarks/bench_threads.py --epochs 5                  # 5k MNIST and Fashion-MNIST
    python benchmarks/bench_threads.py --threads 1 2 4 --datasets mnist-5k

Trains the ``vecgrad-mnist`` default model (784-100-10, ReLU, SGD lr 0.1, batch 100) in
this one process, switching numpy's BLAS pool between the thread counts with threadpoolctl
(as ``vecgrad-mnist --threads`` does) and alternating them epoch by epoch, so a change in
the machine's load hits every count alike. Prints, per dataset and thread count, the
median and the slowest epoch (the training pass only) and the median's ratio to one thread.
The data: the shared 5k MNIST subset (``../shared/data/mnist-5k``) and Debian's full
Fashion-MNIST (``/usr/share/datasets/fashion-mnist``); a dataset that is absent is skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {
    "mnist-5k": ("mnist", ROOT.parent / "shared" / "data" / "mnist-5k"),
    "fashion-mnist": ("fashion-mnist", Path("/usr/share/datasets/fashion-mnist")),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per thread count (5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="counts (1 2)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    args = parser.parse_args(argv)

    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from vecgrad import Tensor
    from vecgrad.apps.data import DataLoader
    from vecgrad.apps.train_mnist import Config, build_model, load_data, make_optimizer, make_rngs
    from vecgrad.functional import cross_entropy

    blas = [f"{p['internal_api']} {p['version']}" for p in threadpool_info()]
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, numpy {np.__version__}, "
        f"BLAS: {', '.join(blas) or 'none found'}"
    )
    print("| data | threads | median s/epoch | slowest | median vs 1 thread |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for key in args.datasets:
        dataset, directory = DATASETS[key]
        if not (directory / "train-images-idx3-ubyte.gz").is_file():
            print(f"| {key} | skipped: no data in {directory} | | | |")
            continue
        config = Config(data_dir=directory, dataset=dataset, out=None, progress=False)
        (X_train, y_train), _ = load_data(config)
        runs = {}
        for threads in args.threads:  # one model per count, each trained for --epochs
            rngs = make_rngs(0)
            model = build_model(config, X_train.shape[1], 10, rngs)
            loader = DataLoader(X_train, y_train, config.batch_size, shuffle=True, rng=rngs.order)
            runs[threads] = (model, make_optimizer(config, model.parameters()), loader, [])
        for _ in range(args.epochs):
            for threads, (model, optimizer, loader, seconds) in runs.items():
                with threadpool_limits(limits=threads):
                    start = time.perf_counter()
                    for X, y in loader:
                        loss = cross_entropy(model(Tensor(X)), y)
                        optimizer.zero_grad()
                        loss.backward()
                        optimizer.step()
                    seconds.append(time.perf_counter() - start)
        base = statistics.median(runs[args.threads[0]][3])
        for threads, (*_, seconds) in runs.items():
            median = statistics.median(seconds)
            print(
                f"| {key} | {threads} | {median:.3f} | {max(seconds):.3f} | {median / base:.2f}× |"
            )


if __name__ == "__main__":
    main()
