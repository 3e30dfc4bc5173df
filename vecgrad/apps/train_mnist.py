"""Train an MLP on MNIST or Fashion-MNIST with vecgrad: the ``vecgrad-mnist`` command.

    vecgrad-mnist --data-dir ../shared/data/mnist-5k        # 784-100-10, ReLU, SGD lr 0.1
    vecgrad-mnist --data-dir ../shared/data/mnist-5k --model lenet   # LeNet-5, same settings
    python -m vecgrad.apps.cli --dataset fashion-mnist --hidden 256 128 --epochs 5

Cross-entropy plus λ·Σ‖W‖² over the weight matrices (``--l2 λ``, the course's L2 term;
the biases are not penalised), minibatches reshuffled every epoch. Each epoch prints
its training loss, training accuracy, test accuracy and seconds; ``--out`` receives
metrics.json, model.npz (the weights and the model's architecture, see `save_model`) and
PNG plots. The same seed gives the same run. The command line lives in `vecgrad.apps.cli`
(``train``, the default, ``sweep`` and ``predict``); this module gives it ``train``.
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

from scalargrad.files import atomic_write

from .. import nn, optim
from ..functional import cross_entropy, l2_penalty
from ..grad_mode import no_grad
from ..tensor import Tensor
from . import models
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
    model: str = "mlp"  # "mlp" (the hidden sizes below) or "lenet" (LeNet-5, see models.py)
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
    spec: dict = field(default_factory=dict)  # `model_spec`: the architecture, saved with it

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
    if config.model not in MODEL_KINDS:
        raise ValueError(f"unknown model {config.model!r}; choose from {', '.join(MODEL_KINDS)}")
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
        what = "is not a directory" if Path(config.data_dir).exists() else "does not exist"
        raise ValueError(f"data directory {str(config.data_dir)!r} {what}")


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


def model_spec(config: Config, inputs: int, classes: int) -> dict:
    """Return the JSON-ready description of the config's model, saved beside its weights.

    ``kind`` names the builder in `MODEL_KINDS` ("mlp": sizes and activation; "lenet":
    LeNet-5, see `vecgrad.apps.models`); the other keys say what the model reads and
    predicts, so a file can be used without its Config.
    """
    if config.model == "lenet":
        side = math.isqrt(inputs)
        architecture = models.lenet_spec(
            classes, (side, side), 1, config.activation, config.dropout
        )
    else:
        architecture = models.mlp_spec([inputs, *config.hidden, classes], config.activation)
        architecture["dropout"] = config.dropout
        architecture["input_shape"] = [28, 28] if inputs == 784 else [inputs]
    return {
        **architecture,
        "dataset": config.dataset,
        "classes": list(CLASS_NAMES.get(config.dataset, map(str, range(classes)))),
    }


# kind → builder(spec, rng, dropout_rng): a new architecture (a CNN) adds an entry here.
MODEL_KINDS: dict[str, Callable[..., nn.Module]] = {
    "mlp": models.build_mlp,
    "lenet": models.build_lenet,
}
MODEL_FORMAT = "vecgrad-model/1"  # the version of the record saved with the weights
SPEC_KEY = "__model_spec__"  # the npz entry holding the JSON record


def model_from_spec(spec: dict, rng=None, dropout_rng=None) -> nn.Module:
    """Return a fresh model of the architecture ``spec`` describes (see `model_spec`)."""
    kind = spec.get("kind")
    if kind not in MODEL_KINDS:
        raise ValueError(
            f"unknown model kind {kind!r}; this vecgrad builds {', '.join(MODEL_KINDS)}"
        )
    rng = rng if rng is not None else np.random.default_rng(0)
    return MODEL_KINDS[kind](spec, rng, dropout_rng)


def build_model(config: Config, inputs: int, classes: int, rngs: Rngs) -> nn.Module:
    """Return the config's model for ``inputs`` features and ``classes`` outputs."""
    return model_from_spec(model_spec(config, inputs, classes), rngs.init, rngs.dropout)


def save_model(model: nn.Module, spec: dict, path: Path) -> Path:
    """Write the weights and ``spec`` (as JSON, entry ``__model_spec__``) to one ``.npz``.

    The weights are ``model.state_dict()``; the record makes the file self-describing,
    so `load_model` rebuilds the model without guessing. Written atomically.
    """
    record = json.dumps({"format": MODEL_FORMAT, **spec})
    path = Path(path)
    with atomic_write(path) as file:  # a file object: savez adds no second suffix
        np.savez(file, **{SPEC_KEY: np.array(record)}, **model.state_dict())
    return path


class ModelFileError(ValueError):
    """A model file that is missing, unreadable, or does not match its recorded architecture."""


def load_model(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Return ``(model, spec)`` rebuilt from a file written by `save_model`, in eval mode.

    Raises `ModelFileError` naming the file: missing, not an npz, no architecture record
    (a bare ``Module.save``), an unknown kind, or weights that do not fit the record.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ModelFileError(f"model file {str(path)!r} {what}")
    import zipfile

    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a model file (an .npz is a zip archive; this is not)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path}: not a model file ({error})") from None
    if SPEC_KEY not in arrays:
        raise ModelFileError(
            f"{path}: no architecture record ({SPEC_KEY}): only weights, as Module.save "
            "writes them; the train command saves models that can be loaded here"
        )
    try:
        spec = json.loads(str(arrays.pop(SPEC_KEY)))
    except ValueError as error:
        raise ModelFileError(f"{path}: the architecture record is not JSON ({error})") from None
    if not isinstance(spec, dict) or spec.get("format") != MODEL_FORMAT:
        found = spec.get("format") if isinstance(spec, dict) else spec
        raise ModelFileError(f"{path}: model format {found!r}; this vecgrad reads {MODEL_FORMAT}")
    try:
        model = model_from_spec(spec)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{path}: cannot build the recorded model: {error}") from None
    try:
        model.load_state_dict(arrays)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(
            f"{path}: the weights do not fit the recorded {spec.get('kind')} "
            f"{spec.get('sizes', '')}: {error}".replace("\n", " ")
        ) from None
    model.eval()
    return model, spec


def make_optimizer(config: Config, params: list[Tensor]) -> optim.Optimizer:
    """Return the optimizer the config names, over ``params``."""
    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.lr)
    return optim.SGD(params, lr=config.lr, momentum=config.momentum)


def evaluate(
    model: nn.Module, X: np.ndarray, y: np.ndarray, spec: dict | None = None
) -> tuple[float, np.ndarray]:
    """Return (accuracy, predicted classes) of ``model`` on X, y, in eval mode, without a graph.

    ``spec`` (the model's `model_spec`) reshapes flat images for a CNN; None: X as it is.
    """
    model.eval()
    predictions = np.empty(len(X), dtype=np.int64)
    with no_grad():
        for start in range(0, len(X), EVAL_BATCH):
            batch = X[start : start + EVAL_BATCH]
            logits = model(Tensor(batch if spec is None else models.as_input(spec, batch)))
            predictions[start : start + EVAL_BATCH] = logits.data.argmax(axis=1)
    return float((predictions == y).mean()), predictions


def train(
    config: Config,
    data: tuple[Split, Split] | None = None,
    log: Callable[[str], None] | None = print,
) -> Result:
    """Train the config's model and return a `Result` (history per epoch, final test accuracy).

    ``data`` is ``load_data(config)``'s value (loaded here when None: pass it to train
    several models on one copy). ``log`` receives one line per epoch (None: silence).
    """
    validate(config)
    (X_train, y_train), (X_test, y_test) = data if data is not None else load_data(config)
    classes = len(CLASS_NAMES[config.dataset])
    rngs = make_rngs(config.seed)

    spec = model_spec(config, X_train.shape[1], classes)
    model = model_from_spec(spec, rngs.init, rngs.dropout)
    weights = models.penalised_weights(model)  # L2 penalises W and kernels, not biases
    optimizer = make_optimizer(config, model.parameters())
    loader = DataLoader(X_train, y_train, config.batch_size, shuffle=True, rng=rngs.order)
    result = Result(config, model, spec=spec)

    for epoch in range(1, config.epochs + 1):
        model.train()
        start = time.perf_counter()
        loss_sum = 0.0
        batches = tqdm(
            loader,
            desc=f"epoch {epoch}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=not config.progress,
        )
        for step, (X, y) in enumerate(batches):
            logits = model(Tensor(models.as_input(spec, X)))  # 1. forward
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
        seconds = time.perf_counter() - start

        # Both accuracies of the model as it is at the epoch's end (eval mode): a running
        # count during the epoch would mix in the early, worse weights (61% against 80%).
        train_accuracy, _ = evaluate(model, X_train, y_train, spec)
        test_accuracy, predictions = evaluate(model, X_test, y_test, spec)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / len(X_train),  # mean over the epoch's batches, as trained
            "train_accuracy": train_accuracy,  # at the epoch's end, as test_accuracy
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
    from . import cnn_plots, plots

    out.mkdir(parents=True, exist_ok=True)
    _, (X_test, y_test) = data
    names = CLASS_NAMES[result.config.dataset]
    predictions = result.test_predictions
    metrics = _write_text(out / "metrics.json", json.dumps(result.metrics(), indent=2) + "\n")
    if result.spec["kind"] == "lenet":  # kernels and one image's feature maps, not W's rows
        images = models.as_input(result.spec, X_test)
        cnn = cnn_plots.write_cnn_plots(result.model, images, y_test, out, names)
    else:
        cnn = [plots.plot_first_layer(result.model[0].weight.data, out / "first_layer_weights.png")]
    return [
        metrics,
        save_model(result.model, result.spec, out / "model.npz"),
        plots.plot_loss(result.history, out / "loss.png"),
        plots.plot_accuracy(result.history, out / "accuracy.png"),
        plots.plot_confusion_matrix(y_test, predictions, names, out / "confusion_matrix.png"),
        plots.plot_misclassified(X_test, y_test, predictions, names, out / "misclassified.png"),
        *cnn,
    ]


def _write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see `scalargrad.files.atomic_write`)."""
    with atomic_write(path, "w") as file:
        file.write(text)
    return path


# ---- the command line: ``vecgrad-mnist train`` (dispatched by `vecgrad.apps.cli`) ---------


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
        "--model",
        choices=list(MODEL_KINDS),
        default=d.model,
        help="mlp (784-…-10, see --hidden) or lenet (LeNet-5) (%(default)s)",
    )
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
        model=args.model,
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


def check_output_dir(out: Path, flag: str = "--out") -> None:
    """Raise ValueError (naming ``flag``) unless ``out`` is, or can become, a writable directory.

    Checked before any training by creating the directory and a probe file, then removing
    what was created: permissions alone do not tell (root may write anywhere, /proc refuses).
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"{flag} {out}: exists and is not a directory")
    created = []
    for directory in reversed([out, *out.parents]):
        if not directory.exists():
            created.append(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".vecgrad-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"{flag} {out}: cannot write there ({reason})") from None
    finally:
        for directory in reversed(created):
            try:
                directory.rmdir()
            except OSError:
                break


def data_error_message(error: Exception, config: Config) -> str:
    """Return the one-line message for a loading error, in the command line's terms."""
    from .data import MissingFilesError, WrongDatasetError

    if isinstance(error, MissingFilesError):
        missing = ", ".join(error.missing)
        return (
            f"--data-dir {config.data_dir}: {len(error.missing)} of the "
            f"{len(error.spec.files)} {error.spec.title} files missing: {missing} (gzipped or "
            "not); point --data-dir at a directory that holds all four, or leave it out to "
            "download them into the cache"
        )
    if isinstance(error, WrongDatasetError):
        return f"{error} (--dataset {error.found}?)"
    return str(error).replace("\n", " ")


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``vecgrad-mnist train``: check the flags and ``--out``, load the data, train, write."""
    config = config_from_flags(args)
    try:
        if config.data_dir is not None and not config.data_dir.is_dir():
            what = "is a file, not a directory" if config.data_dir.exists() else "does not exist"
            raise ValueError(f"--data-dir {config.data_dir} {what} (it should hold the IDX files)")
        validate(config)
        if config.out is not None:
            check_output_dir(config.out)
        data = load_data(config)
    except (ValueError, FileNotFoundError) as error:
        parser.error(data_error_message(error, config))  # exits 2, before any training
    except DownloadError as error:  # no network: the message lists where to put the files
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    (X_train, _), (X_test, _) = data
    if config.model == "lenet":
        architecture = f"LeNet-5 ({config.activation})"
    else:
        layers = "-".join(str(n) for n in (X_train.shape[1], *config.hidden, 10))
        architecture = f"MLP {layers} ({config.activation})"
    print(
        f"{config.dataset}: {len(X_train)} training and {len(X_test)} test images; "
        f"{architecture}, {config.optimizer} lr {config.lr}, "
        f"batch {config.batch_size}, λ {config.l2}, seed {config.seed}"
    )
    result = train(config, data)
    print(f"test accuracy {result.test_accuracy:.2%}")
    if config.out is not None:
        for path in write_outputs(result, data, config.out):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # the old module form; `python -m vecgrad.apps.cli` is the new one
    from .cli import main

    sys.exit(main())
