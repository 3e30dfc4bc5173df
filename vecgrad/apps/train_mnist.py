"""Train an MLP on MNIST or Fashion-MNIST with vecgrad: the ``vecgrad-mnist`` command.

    vecgrad-mnist --data-dir ../shared/data/mnist-5k        # 784-100-10, ReLU, SGD lr 0.1
    python -m vecgrad.apps.train_mnist --dataset fashion-mnist --hidden 256 128 --epochs 5

Cross-entropy plus λ·Σ‖W‖² over the weight matrices (``--l2 λ``, the course's L2 term;
the biases are not penalised), minibatches reshuffled every epoch. Each epoch prints
its training loss, training accuracy, test accuracy and seconds; ``--out`` receives
metrics.json, model.npz and PNG plots. The same seed gives the same run.
``train`` is the default command: ``vecgrad-mnist --epochs 3`` is
``vecgrad-mnist train --epochs 3``. ``vecgrad-mnist sweep --l2 0 1e-4 --runs 5`` trains
one MLP per (λ, seed) and tabulates the accuracies (`vecgrad.apps.sweep`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from .. import nn, optim
from ..functional import cross_entropy, l2_penalty
from ..grad_mode import no_grad
from ..tensor import Tensor
from .data import DataLoader, load_fashion_mnist, load_mnist
from .download import DownloadError

DATASETS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
OPTIMIZERS = ("sgd", "adam")
EVAL_BATCH = 1000  # test images per forward pass when evaluating (no graph, so large)

Split = tuple[np.ndarray, np.ndarray]


@dataclass
class Config:
    data_dir: Path | None = None  # the four IDX files; None: the cache, downloading if needed
    dataset: str = "mnist"  # "mnist" or "fashion-mnist"
    hidden: tuple[int, ...] = (100,)  # hidden layer sizes: (100,) is 784-100-10; () is softmax
    activation: str = "relu"  # after every hidden layer: relu, sigmoid or tanh
    epochs: int = 10  # passes over the training set
    batch_size: int = 100  # images per gradient step
    lr: float = 0.1  # learning rate
    momentum: float = 0.0  # SGD's momentum μ (0: plain SGD)
    optimizer: str = "sgd"  # "sgd" or "adam" (Adam's default betas)
    l2: float = 0.0  # λ in loss = cross-entropy + λ·Σ‖W‖² over the weight matrices
    dropout: float = 0.0  # drop probability after every hidden activation (0: no Dropout)
    seed: int = 0  # seeds the initial weights, the batch order and dropout
    out: Path | None = Path("out/mnist")  # where metrics, model and plots go (None: nowhere)
    progress: bool = True  # a tqdm progress bar per epoch (on stderr)


class Rngs(NamedTuple):
    """Independent random streams, one per use, all from one seed."""

    init: np.random.Generator  # initial weights
    order: np.random.Generator  # the batch order of every epoch
    dropout: np.random.Generator  # dropout masks


@dataclass
class Result:
    """What `train` returns: the model, one record per epoch, and the final test numbers."""

    config: Config
    model: nn.Module
    history: list[dict] = field(default_factory=list)  # epoch, train_loss, train_accuracy, ...
    test_accuracy: float = math.nan  # after the last epoch
    test_predictions: np.ndarray | None = None  # the predicted class of every test image

    def metrics(self) -> dict:
        """Return the JSON-ready summary written to metrics.json."""
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.config).items()}
        config["hidden"] = list(self.config.hidden)
        seconds = [h["seconds"] for h in self.history]
        return {
            "config": config,
            "parameters": sum(p.size for p in self.model.parameters()),
            "test_accuracy": self.test_accuracy,
            "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
            "history": self.history,
        }


def validate(config: Config) -> None:
    """Raise ValueError with a one-line message if ``config`` cannot be trained."""
    if config.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {config.dataset!r}; choose from {', '.join(DATASETS)}")
    if config.activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {config.activation!r}; choose from {', '.join(ACTIVATIONS)}"
        )
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {config.optimizer!r}; choose from {', '.join(OPTIMIZERS)}"
        )
    bad = [size for size in config.hidden if size < 1]
    if bad:
        raise ValueError(f"hidden layer sizes must be positive, got {bad[0]} in {config.hidden}")
    for name in ("epochs", "batch_size"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not (config.lr > 0 and math.isfinite(config.lr)):
        raise ValueError(f"the learning rate must be positive, got {config.lr}")
    if not 0 <= config.momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {config.momentum}")
    if config.momentum and config.optimizer != "sgd":
        raise ValueError(f"momentum is an SGD setting; {config.optimizer} has its own")
    if not (config.l2 >= 0 and math.isfinite(config.l2)):
        raise ValueError(f"the L2 weight λ must be ≥ 0, got {config.l2}")
    if not 0 <= config.dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {config.dropout}")
    if config.data_dir is not None and not Path(config.data_dir).is_dir():
        raise ValueError(f"data directory {str(config.data_dir)!r} does not exist")


def load_data(config: Config) -> tuple[Split, Split]:
    """Return ``(X_train, y_train), (X_test, y_test)``: float32 (n, 784) in [0, 1], int64.

    From ``config.data_dir`` when given (nothing is downloaded into it), else from the
    cache, downloading the missing files.
    """
    load = DATASETS[config.dataset]
    if config.data_dir is not None:
        return load(config.data_dir, download=False)
    return load(None, download=True, progress=config.progress)


def make_rngs(seed: int) -> Rngs:
    """Return the run's random streams: independent children of ``SeedSequence(seed)``."""
    return Rngs(*(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)))


def build_model(config: Config, inputs: int, classes: int, rngs: Rngs) -> nn.Sequential:
    """Return the MLP inputs → hidden… → classes (linear output: cross_entropy adds softmax)."""
    layers: list[nn.Module] = []
    width = inputs
    for size in config.hidden:
        layers += [nn.Linear(width, size, rng=rngs.init), ACTIVATIONS[config.activation]()]
        if config.dropout:
            layers.append(nn.Dropout(config.dropout, rng=rngs.dropout))
        width = size
    layers.append(nn.Linear(width, classes, rng=rngs.init))
    return nn.Sequential(*layers)


def make_optimizer(config: Config, params: list[Tensor]) -> optim.Optimizer:
    """Return the optimizer the config names, over ``params``."""
    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.lr)
    return optim.SGD(params, lr=config.lr, momentum=config.momentum)


def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return (accuracy, predicted classes) of ``model`` on X, y, in eval mode, without a graph."""
    model.eval()
    predictions = np.empty(len(X), dtype=np.int64)
    with no_grad():
        for start in range(0, len(X), EVAL_BATCH):
            logits = model(Tensor(X[start : start + EVAL_BATCH]))
            predictions[start : start + EVAL_BATCH] = logits.data.argmax(axis=1)
    return float((predictions == y).mean()), predictions


def train(
    config: Config,
    data: tuple[Split, Split] | None = None,
    log: Callable[[str], None] | None = print,
) -> Result:
    """Train the config's MLP and return a `Result` (history per epoch, final test accuracy).

    ``data`` is ``load_data(config)``'s value (loaded here when None: pass it to train
    several models on one copy). ``log`` receives one line per epoch (None: silence).
    """
    validate(config)
    (X_train, y_train), (X_test, y_test) = data if data is not None else load_data(config)
    classes = len(CLASS_NAMES[config.dataset])
    rngs = make_rngs(config.seed)

    model = build_model(config, X_train.shape[1], classes, rngs)
    weights = [p for p in model.parameters() if p.ndim == 2]  # L2 penalises W, not b
    optimizer = make_optimizer(config, model.parameters())
    loader = DataLoader(X_train, y_train, config.batch_size, shuffle=True, rng=rngs.order)
    result = Result(config, model)

    for epoch in range(1, config.epochs + 1):
        model.train()
        start = time.perf_counter()
        loss_sum, correct = 0.0, 0
        batches = tqdm(
            loader,
            desc=f"epoch {epoch}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=not config.progress,
        )
        for step, (X, y) in enumerate(batches):
            logits = model(Tensor(X))  # 1. forward
            data_loss = cross_entropy(logits, y)  # 2. loss
            loss = data_loss + config.l2 * l2_penalty(weights) if config.l2 else data_loss
            optimizer.zero_grad()  # 3. zero_grad
            loss.backward()  # 4. backward
            optimizer.step()  # 5. step

            value = data_loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"train: the loss became {value} at epoch {epoch}, batch {step + 1} "
                    f"(learning rate {config.lr} too large?)"
                )
            loss_sum += value * len(y)
            correct += int((logits.data.argmax(axis=1) == y).sum())
        seconds = time.perf_counter() - start

        test_accuracy, predictions = evaluate(model, X_test, y_test)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / len(X_train),  # mean over the epoch's batches, as trained
            "train_accuracy": correct / len(X_train),
            "test_accuracy": test_accuracy,
            "seconds": seconds,  # the training pass only; the test evaluation is not counted
        }
        result.history.append(record)
        if log is not None:
            log(
                f"epoch {epoch:2d}/{config.epochs}  train loss {record['train_loss']:.4f}  "
                f"train acc {record['train_accuracy']:.2%}  test acc {test_accuracy:.2%}  "
                f"{seconds:.2f} s"
            )
    result.test_accuracy, result.test_predictions = test_accuracy, predictions
    return result


def write_outputs(result: Result, data: tuple[Split, Split], out: Path) -> list[Path]:
    """Write metrics.json, model.npz and the PNG plots to ``out``; return the paths."""
    from . import plots

    out.mkdir(parents=True, exist_ok=True)
    _, (X_test, y_test) = data
    names = CLASS_NAMES[result.config.dataset]
    predictions = result.test_predictions
    metrics = _write_text(out / "metrics.json", json.dumps(result.metrics(), indent=2) + "\n")
    first_layer = result.model[0].weight.data
    return [
        metrics,
        result.model.save(out / "model.npz"),
        plots.plot_loss(result.history, out / "loss.png"),
        plots.plot_accuracy(result.history, out / "accuracy.png"),
        plots.plot_confusion_matrix(y_test, predictions, names, out / "confusion_matrix.png"),
        plots.plot_misclassified(X_test, y_test, predictions, names, out / "misclassified.png"),
        plots.plot_first_layer(first_layer, out / "first_layer_weights.png"),
    ]


def _write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


# ---- the command line ----------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line (and exit status 2), not the usage text."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``vecgrad-mnist train`` (one per Config field)."""
    d = Config()
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="directory with the four IDX files, e.g. ../shared/data/mnist-5k "
        "(default: the cache, downloading what is missing)",
    )
    parser.add_argument("--dataset", choices=DATASETS, default=d.dataset, help="(%(default)s)")
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="*",
        default=list(d.hidden),
        metavar="SIZE",
        help="hidden layer sizes (%(default)s); none: softmax regression",
    )
    parser.add_argument(
        "--activation", choices=ACTIVATIONS, default=d.activation, help="(%(default)s)"
    )
    parser.add_argument("--epochs", type=int, default=d.epochs, help="(%(default)s)")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="(%(default)s)")
    parser.add_argument("--lr", type=float, default=d.lr, help="learning rate (%(default)s)")
    parser.add_argument(
        "--momentum", type=float, default=d.momentum, help="SGD momentum (%(default)s)"
    )
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=d.optimizer, help="(%(default)s)"
    )
    parser.add_argument(
        "--l2",
        type=float,
        default=d.l2,
        metavar="λ",
        help="L2 weight: loss = cross-entropy + λ·Σ‖W‖² over the Linear weight matrices, "
        "not the biases (%(default)s; the course uses 0 to 1e-2)",
    )
    parser.add_argument(
        "--dropout", type=float, default=d.dropout, help="dropout after hidden layers (0)"
    )
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (%(default)s)")
    parser.add_argument("--out", type=Path, default=d.out, help="output directory (%(default)s)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (the epoch lines remain)"
    )


def config_from_flags(args: argparse.Namespace, **overrides) -> Config:
    """Return the `Config` that train's flags describe; ``overrides`` replace fields."""
    fields = dict(
        data_dir=args.data_dir,
        dataset=args.dataset,
        hidden=tuple(args.hidden),
        activation=args.activation,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        momentum=args.momentum,
        optimizer=args.optimizer,
        l2=args.l2,
        dropout=args.dropout,
        seed=args.seed,
        out=args.out,
        progress=not args.no_progress,
    )
    return Config(**{**fields, **overrides})


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``vecgrad-mnist train``: check the flags, load the data, train, write the outputs."""
    config = config_from_flags(args)
    try:
        validate(config)
        data = load_data(config)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error).replace("\n", " "))  # exits 2, before any training
    except DownloadError as error:  # no network: the message lists where to put the files
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    (X_train, _), (X_test, _) = data
    layers = "-".join(str(n) for n in (X_train.shape[1], *config.hidden, 10))
    print(
        f"{config.dataset}: {len(X_train)} training and {len(X_test)} test images; "
        f"MLP {layers} ({config.activation}), {config.optimizer} lr {config.lr}, "
        f"batch {config.batch_size}, λ {config.l2}, seed {config.seed}"
    )
    result = train(config, data)
    print(f"test accuracy {result.test_accuracy:.2%}")
    if config.out is not None:
        for path in write_outputs(result, data, config.out):
            print(f"wrote {path}")
    return 0


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``vecgrad-mnist sweep`` (see `vecgrad.apps.sweep`)."""
    from .sweep import add_sweep_arguments  # imported when used: sweep imports this module

    add_sweep_arguments(parser)


def run_sweep(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``vecgrad-mnist sweep``: one run per (λ, seed), then the table (see `vecgrad.apps.sweep`)."""
    from .sweep import run_sweep

    return run_sweep(args, parser)


COMMANDS = {
    "train": (add_train_arguments, run_train, "train one MLP (the default command)"),
    "sweep": (add_sweep_arguments, run_sweep, "train one MLP per (λ, seed); table of accuracy"),
}


def main(argv: list[str] | None = None) -> int:
    """Run ``vecgrad-mnist [COMMAND] [flags]``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["train", *argv]  # train is the default command
    parser = _Parser(
        prog="vecgrad-mnist",
        description="Train an MLP on MNIST or Fashion-MNIST with vecgrad.",
        epilog="train is the default command: 'vecgrad-mnist --epochs 3' runs "
        "'vecgrad-mnist train --epochs 3'; see 'vecgrad-mnist train --help' for its flags.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add_arguments, run, summary) in COMMANDS.items():
        # "resolve": sweep reuses train's flags and redefines --l2, --seed and --out
        sub = commands.add_parser(
            name, help=summary, description=summary, conflict_handler="resolve"
        )
        add_arguments(sub)
        sub.set_defaults(run=run, parser=sub)
    args = parser.parse_args(argv)
    return args.run(args, args.parser)


if __name__ == "__main__":
    sys.exit(main())
