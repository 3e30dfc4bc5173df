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
import shutil
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from scalargrad.files import atomic_write, fsync_directory

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
        # LeNet's layers are fixed: the MLP's hidden sizes do not describe it (null).
        config["hidden"] = list(self.config.hidden) if self.config.model == "mlp" else None
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
    if config.model != "mlp" and tuple(config.hidden) != Config.hidden:
        raise ValueError(
            f"hidden layer sizes {list(config.hidden)} are an MLP setting; the {config.model} "
            "model's layers are fixed (leave the hidden sizes out)"
        )
    if isinstance(config.seed, bool) or not isinstance(config.seed, int | np.integer):
        raise ValueError(f"the seed must be an integer, got {config.seed!r}")
    if config.seed < 0:
        raise ValueError(f"the seed must be ≥ 0 (numpy's SeedSequence), got {config.seed}")
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
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a model file (an .npz is a zip archive; this is not)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        # BadZipFile: a damaged member (a flipped byte fails its CRC-32)
        raise ModelFileError(f"{path}: not a model file, or a damaged one ({error})") from None
    except MemoryError:
        raise ModelFileError(f"{path}: an array in the file is too large to load") from None
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
    except MemoryError:
        raise ModelFileError(
            f"{path}: the recorded {spec.get('kind')} model {_short(spec.get('sizes', ''))} is "
            "too large to build"
        ) from None
    try:
        model.load_state_dict(arrays)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(
            f"{path}: the weights do not fit the recorded {spec.get('kind')} "
            f"{spec.get('sizes', '')}: {error}".replace("\n", " ")
        ) from None
    model.eval()
    _check_usable(path, model, spec, arrays)
    return model, spec


def _check_usable(path: Path, model: nn.Module, spec: dict, arrays: dict) -> None:
    """Raise `ModelFileError` unless the model's weights are numbers and its record says
    how to use it: one class name per output, and an input shape the model reads."""
    for name, array in arrays.items():
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise ModelFileError(
                f"{path}: the weights {name} hold NaN or infinity (saved from a diverged run?)"
            )
    classes = spec.get("classes")
    if classes is None:
        raise ModelFileError(f"{path}: the record has no 'classes' (the name of each output)")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ModelFileError(
            f"{path}: the record's 'classes' must list the class names, got {_short(classes)}"
        )
    shape = spec.get("input_shape", [28, 28])
    if not (isinstance(shape, list) and shape and models._positive_ints(shape)):
        raise ModelFileError(
            f"{path}: the record's 'input_shape' must list positive sizes, got {_short(shape)}"
        )
    try:
        with no_grad():
            probe = np.zeros((1, *shape), dtype=np.float32)
            if spec["kind"] in models.KINDS:  # a plugged-in kind reads the image as it is
                probe = models.as_input(spec, probe)
            outputs = model(Tensor(probe)).data.shape
    except (ValueError, ArithmeticError, MemoryError) as error:
        raise ModelFileError(
            f"{path}: the model cannot read inputs of the recorded shape {shape}: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from None
    if outputs != (1, len(classes)):
        raise ModelFileError(
            f"{path}: the model has {outputs[-1]} outputs but the record names "
            f"{len(classes)} classes"
        )


def _short(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TrainingDiverged(FloatingPointError):
    """Training whose numbers left the floats (an overflow, a NaN): the step is too large.

    ``result`` holds what was trained before: its ``history`` has the finished epochs.
    """

    def __init__(self, message: str, result: Result | None = None):
        super().__init__(message)
        self.result = result

    def __reduce__(self):  # across processes (a sweep's workers): the message only
        return (type(self), self.args)


def _diverged(config: Config, epoch: int, step: int, reason: str, result: Result):
    """Return the `TrainingDiverged` for a failure at ``epoch``, batch ``step`` (1-based)."""
    smaller = f"a smaller learning rate than {config.lr:g}"
    if config.l2:
        smaller += f" or a smaller L2 weight λ than {config.l2:g}"
    return TrainingDiverged(
        f"training diverged at epoch {epoch}, batch {step}: {reason}; try {smaller}", result
    )


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
        for step, (X, y) in enumerate(batches, start=1):
            try:
                logits = model(Tensor(models.as_input(spec, X)))  # 1. forward
                data_loss = cross_entropy(logits, y)  # 2. loss
                loss = data_loss + config.l2 * l2_penalty(weights) if config.l2 else data_loss
                optimizer.zero_grad()  # 3. zero_grad
                loss.backward()  # 4. backward
                optimizer.step()  # 5. step
            except ArithmeticError as error:  # the engine's float checks: overflow, NaN
                reason = str(error).split("; no_float_checks")[0].replace("\n", " ")
                raise _diverged(config, epoch, step, reason, result) from error

            value = data_loss.item()
            if not math.isfinite(value):
                raise _diverged(config, epoch, step, f"the loss became {value}", result)
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


# Every file a training run may write into --out: a new run replaces all of them.
OUTPUT_NAMES = (
    "model.npz",
    "loss.png",
    "accuracy.png",
    "confusion_matrix.png",
    "misclassified.png",
    "first_layer_weights.png",  # MLP
    "first_layer_kernels.png",  # LeNet
    "feature_maps.png",  # LeNet
    "metrics.json",  # last: its arrival says the run's set is complete
)
STAGING_PREFIX = ".vecgrad-staging."  # + pid + random: a run's files before they are placed


def write_outputs(result: Result, data: tuple[Split, Split], out: Path) -> list[Path]:
    """Write metrics.json, model.npz and the PNG plots to ``out``; return the paths.

    The files are written by `publish`: ``out`` never shows two runs' files side by side.
    """
    from . import cnn_plots, plots

    _, (X_test, y_test) = data
    names = CLASS_NAMES[result.config.dataset]
    predictions = result.test_predictions

    def write(folder: Path) -> list[Path]:
        if result.spec["kind"] == "lenet":  # kernels and one image's feature maps, not W's rows
            images = models.as_input(result.spec, X_test)
            cnn = cnn_plots.write_cnn_plots(result.model, images, y_test, folder, names)
        else:
            weights = result.model[0].weight.data
            cnn = [plots.plot_first_layer(weights, folder / "first_layer_weights.png")]
        return [
            _write_text(folder / "metrics.json", json.dumps(result.metrics(), indent=2) + "\n"),
            save_model(result.model, result.spec, folder / "model.npz"),
            plots.plot_loss(result.history, folder / "loss.png"),
            plots.plot_accuracy(result.history, folder / "accuracy.png"),
            plots.plot_confusion_matrix(
                y_test, predictions, names, folder / "confusion_matrix.png"
            ),
            plots.plot_misclassified(
                X_test, y_test, predictions, names, folder / "misclassified.png"
            ),
            *cnn,
        ]

    return publish(out, write)


def publish(
    out: Path, write: Callable[[Path], list[Path]], names: tuple[str, ...] = OUTPUT_NAMES
) -> list[Path]:
    """Return where in ``out`` the files that ``write(folder)`` wrote now are (its order).

    A run's files form one set: metrics.json describes the model.npz beside it. A process
    killed (SIGKILL, Ctrl-C, a full disk) while writing must not leave a new metrics.json
    beside the last run's model, nor half a PNG. So, in three steps:

    1. ``write`` puts every file into a fresh staging folder inside ``out``, each one
       atomically (`scalargrad.files.atomic_write`). Killed here: ``out`` is untouched; the
       folder (``.vecgrad-staging.PID.*``) is removed by the next run once PID is gone.
    2. The files of the previous run (``names``) are removed from ``out``.
    3. The new files are renamed into ``out``, one atomic rename each (same file system),
       in the order of ``names``: metrics.json comes last.

    At every moment ``out`` holds files of one run only: some of the old run's during
    step 2, some of the new run's during step 3; a metrics.json is present only with the
    whole set of its run. Files in ``out`` with other names are left alone.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    check_output_names(out, names)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f"{STAGING_PREFIX}{os.getpid()}."))
    try:
        staged = [Path(path) for path in write(staging)]
        unknown = [path.name for path in staged if path.name not in names]
        if unknown:
            raise ValueError(f"publish: {unknown} are not among the output names {names}")
        for name in names:  # 2. the previous run's set goes
            (out / name).unlink(missing_ok=True)
        for path in sorted(staged, key=lambda path: names.index(path.name)):  # 3.
            os.replace(path, out / path.name)
        fsync_directory(out)  # the renames survive a power loss
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / path.name for path in staged]


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders in ``out`` whose process is gone; return their paths."""
    removed = []
    for folder in out.glob(f"{STAGING_PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(STAGING_PREFIX).split(".")[0])
            os.kill(pid, 0)  # raises ProcessLookupError once the process is gone
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except (ValueError, OSError):  # not our name, or a live process of another user
            continue
    return removed


def check_output_names(
    out: Path, names: tuple[str, ...] = OUTPUT_NAMES, flag: str = "--out"
) -> None:
    """Raise ValueError if one of the file names ``names`` in ``out`` is taken by a directory."""
    for name in names:
        if (out / name).is_dir():
            raise ValueError(
                f"{flag} {out}: {out / name} is a directory; the run writes a file of that "
                f"name (move the directory away or choose another {flag})"
            )


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
        default=None,  # None: not given (LeNet refuses it given), else the MLP's sizes
        metavar="SIZE",
        help=f"MLP hidden layer sizes ({' '.join(map(str, d.hidden))}); none: softmax regression",
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
    if args.hidden is not None and args.model != "mlp":
        raise ValueError(
            f"--hidden is an MLP setting; --model {args.model}'s layers are fixed "
            "(leave --hidden out)"
        )
    fields = dict(
        data_dir=args.data_dir,
        dataset=args.dataset,
        model=args.model,
        hidden=Config.hidden if args.hidden is None else tuple(args.hidden),
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
    return cli_wording(str(error))


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``vecgrad-mnist train``: check the flags and ``--out``, load the data, train, write.

    Exit status 0, 2 for a bad flag or data (one line, before any training) and for a
    diverging run (one line; the finished epochs' metrics are written), 130 after Ctrl-C.
    """
    try:
        config = config_from_flags(args)
        if config.data_dir is not None and not config.data_dir.is_dir():
            what = "is a file, not a directory" if config.data_dir.exists() else "does not exist"
            raise ValueError(f"--data-dir {config.data_dir} {what} (it should hold the IDX files)")
        validate(config)
        if config.out is not None:
            check_output_dir(config.out)
            check_output_names(config.out)
        data = load_data(config)
    except (ValueError, FileNotFoundError) as error:
        parser.error(data_error_message(error, Config(data_dir=args.data_dir)))  # exits 2
    except DownloadError as error:  # no network: the message lists where to put the files
        parser.exit(2, f"{parser.prog}: error: {cli_wording(str(error))}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"\n{parser.prog}: interrupted while loading the data\n")
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
    try:
        # The engine raises on an overflow or a NaN (TrainingDiverged below): numpy's
        # warnings about the same numbers would only print two more lines before it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = train(config, data)
    except TrainingDiverged as error:
        saved = _save_diverged(error, config)
        parser.exit(2, f"{parser.prog}: error: {error}{saved}\n")
    except KeyboardInterrupt:
        untouched = f"; {config.out} is untouched" if config.out is not None else ""
        parser.exit(130, f"\n{parser.prog}: interrupted during training{untouched}\n")
    print(f"test accuracy {result.test_accuracy:.2%}")
    if config.out is not None:
        try:
            paths = write_outputs(result, data, config.out)
        except KeyboardInterrupt:
            parser.exit(
                130,
                f"\n{parser.prog}: interrupted while writing {config.out}: it holds the "
                "files of one run (the last one's, or some of this one's)\n",
            )
        for path in paths:
            print(f"wrote {path}")
    return 0


def _save_diverged(error: TrainingDiverged, config: Config) -> str:
    """Write the finished epochs' metrics of a diverged run to --out; return what to say."""
    result = error.result
    if config.out is None or result is None or not result.history:
        return f" (no epoch finished; {config.out} is untouched)" if config.out else ""
    metrics = {**result.metrics(), "test_accuracy": None, "diverged": str(error)}
    text = json.dumps(metrics, indent=2) + "\n"
    (path,) = publish(config.out, lambda folder: [_write_text(folder / "metrics.json", text)])
    epochs = len(result.history)
    return (
        f" (the {epochs} finished epoch{'s' if epochs > 1 else ''}' metrics are in {path}; "
        "no model: its weights are no longer numbers)"
    )


def cli_wording(message: str) -> str:
    """Return a loader's message with its Python advice (``root=``) in the command's terms."""
    return message.replace("\n", " ").replace(
        "Or pass root= a directory that holds all four.", "Or pass --data-dir DIR holding all four."
    )


if __name__ == "__main__":  # the old module form; `python -m vecgrad.apps.cli` is the new one
    from .cli import main

    sys.exit(main())
