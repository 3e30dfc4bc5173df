"""The networks vecgrad-mnist trains, built from a small JSON-ready architecture spec.

    spec = lenet_spec()                        # {"kind": "lenet", "channels": 1, ...}
    model = build_model(spec, rng)             # nn.Sequential, weights drawn from rng
    logits = model(Tensor(as_input(spec, X)))  # X:(n, 784) → (n, 1, 28, 28) for a CNN
    spec_of(model) == spec                     # the architecture, read back from the layers

A spec is a dict of plain numbers and strings (what ``json.dumps`` writes), so it can be
saved next to the weights and a saved model rebuilt without guessing: ``build_model(spec)``
then ``load_state_dict``. Two kinds:

* ``{"kind": "mlp", "sizes": [784, 100, 10], "activation": "relu", "dropout": 0.0}``:
  Linear layers sizes[0] → … → sizes[-1], the activation (and Dropout if > 0) after each
  hidden one; it reads flat images (n, 784).
* ``{"kind": "lenet", "channels": 1, "input_shape": [28, 28], "outputs": 10, "activation":
  "relu", "dropout": 0.0}``: LeNet-5 as the course draws it, reading images (n, C, H, W):

      conv C→6 5×5 pad 2, act, max-pool 2    (n, 6, 28, 28) → (n, 6, 14, 14)
      conv 6→16 5×5, act, max-pool 2          (n, 16, 10, 10) → (n, 16, 5, 5)
      flatten, 400→120, act, 120→84, act      (n, 400) → (n, 84)   (Dropout after each act)
      84→outputs                              (n, 10) logits

``input_shape`` is an image's height and width for both kinds (as vecgrad-mnist's model
files record it; an MLP's own input is sizes[0]). Other keys (a dataset name, class names,
a format version) are kept by the caller and ignored here. The output layer is linear:
``cross_entropy`` adds the softmax.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import nn
from ..tensor import Tensor

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
MNIST_IMAGE = (28, 28)  # height, width

__all__ = [
    "ACTIVATIONS",
    "KINDS",
    "as_input",
    "build_lenet",
    "build_mlp",
    "build_model",
    "first_layer_weights",
    "model_input_shape",
    "lenet_spec",
    "mlp_spec",
    "penalised_weights",
    "spec_of",
]


# ---- specs -------------------------------------------------------------------------


def mlp_spec(sizes, activation: str = "relu", dropout: float = 0.0) -> dict:
    """Return the spec of the MLP sizes[0] → … → sizes[-1] (checked: see `build_mlp`)."""
    spec = {
        "kind": "mlp",
        "sizes": [int(n) for n in sizes],
        "activation": activation,
        "dropout": float(dropout),
    }
    _check_mlp(spec)
    return spec


def lenet_spec(
    outputs: int = 10,
    input_shape=MNIST_IMAGE,
    channels: int = 1,
    activation: str = "relu",
    dropout: float = 0.0,
) -> dict:
    """Return the spec of LeNet-5 for images of ``channels`` × ``input_shape`` (H, W) and
    ``outputs`` classes."""
    spec = {
        "kind": "lenet",
        "channels": int(channels),
        "input_shape": [int(n) for n in input_shape],
        "outputs": int(outputs),
        "activation": activation,
        "dropout": float(dropout),
    }
    _check_lenet(spec)
    return spec


def model_input_shape(spec: dict) -> tuple[int, ...]:
    """The shape of one example as the model reads it: (784,) for an MLP, (1, 28, 28) for LeNet."""
    kind = _kind(spec)
    if kind == "mlp":
        return (int(spec["sizes"][0]),)
    return (int(spec["channels"]), *(int(n) for n in spec["input_shape"]))


def as_input(spec: dict, X: np.ndarray) -> np.ndarray:
    """Return images ``X`` (n, …) reshaped to what the model reads, (n, *model_input_shape(spec)).

    The loaders give flat (n, 784) rows; LeNet reads (n, 1, 28, 28). Both hold the same
    numbers in the same order, so this is a reshape (a view, nothing copied), and any
    layout of the same images works: (n, 784), (n, 28, 28) or (n, 1, 28, 28).
    """
    X = np.asarray(X)
    shape = model_input_shape(spec)
    if X.ndim < 1 or math.prod(X.shape[1:]) != math.prod(shape):
        raise ValueError(
            f"{spec['kind']}: input of shape {X.shape} does not hold (n, {math.prod(shape)}) "
            f"values to read as (n, {', '.join(map(str, shape))})"
        )
    return X.reshape((len(X), *shape))


# ---- builders ----------------------------------------------------------------------


def build_mlp(spec: dict, rng=None, dropout_rng=None) -> nn.Sequential:
    """Return the MLP of an "mlp" spec; weights from ``rng``, dropout masks from ``dropout_rng``."""
    _check_mlp(spec)
    sizes, act = [int(n) for n in spec["sizes"]], ACTIVATIONS[spec.get("activation", "relu")]
    dropout = float(spec.get("dropout", 0.0))
    layers: list[nn.Module] = []
    for width, size in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(width, size, rng=rng), act()]
        if dropout:
            layers.append(nn.Dropout(dropout, rng=dropout_rng if dropout_rng is not None else rng))
    layers.append(nn.Linear(sizes[-2], sizes[-1], rng=rng))
    return nn.Sequential(*layers)


def build_lenet(spec: dict, rng=None, dropout_rng=None) -> nn.Sequential:
    """Return LeNet-5 of a "lenet" spec (the layer table in this module's docstring).

    Weights are drawn from ``rng`` layer by layer, first to last, each layer as PyTorch
    initialises it (weight, then bias), so the same generator gives the same network
    and ``model.torch_state_dict()`` loads into torch's LeNet-5 unchanged.
    """
    _check_lenet(spec)
    channels, flat = int(spec["channels"]), _lenet_flat_size(spec["input_shape"])
    act = ACTIVATIONS[spec.get("activation", "relu")]
    dropout = float(spec.get("dropout", 0.0))

    def hidden(width: int, size: int) -> list[nn.Module]:
        layer = [nn.Linear(width, size, rng=rng), act()]
        if dropout:
            layer.append(nn.Dropout(dropout, rng=dropout_rng if dropout_rng is not None else rng))
        return layer

    return nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=2, rng=rng),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, rng=rng),
        act(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        *hidden(flat, 120),
        *hidden(120, 84),
        nn.Linear(84, int(spec["outputs"]), rng=rng),
    )


# kind → builder(spec, rng, dropout_rng): a new architecture adds one entry here.
KINDS: dict[str, Callable[..., nn.Sequential]] = {"mlp": build_mlp, "lenet": build_lenet}


def build_model(spec: dict, rng=None, dropout_rng=None) -> nn.Sequential:
    """Return a fresh model of the architecture ``spec`` describes.

    ``rng`` (a numpy Generator or an int seed; None: unseeded) draws the initial weights,
    ``dropout_rng`` the dropout masks (default: ``rng``). A spec that cannot be built
    raises ValueError naming the kind and the key at fault.
    """
    model = KINDS[_kind(spec)](spec, rng, dropout_rng)
    model.spec = dict(spec)  # a plain attribute (not a parameter): what spec_of returns
    return model


def spec_of(model: nn.Module) -> dict:
    """Return the spec of ``model``, read from its layers: ``build_model(spec_of(m))`` is
    a fresh network of m's architecture (m's weights then load into it unchanged).

    A model from `build_model` returns the spec it was built from (once its layers are
    checked to still be that architecture). The same layers put together by hand are read
    from their sizes; LeNet's image size cannot be read from its weights (28×28 to 31×31
    all flatten to 400), so it is given as the smallest that fits. Anything else raises
    ValueError listing the layers found.
    """
    layers = list(model) if isinstance(model, nn.Sequential) else [model]
    names = [type(layer).__name__ for layer in layers]
    recorded = model.__dict__.get("spec")
    if isinstance(recorded, dict) and _rebuilds(recorded, model):
        return dict(recorded)
    act_names = {cls.__name__: name for name, cls in ACTIVATIONS.items()}
    acts = {act_names[n] for n in names if n in act_names}
    dropouts = {layer.p for layer in layers if isinstance(layer, nn.Dropout)}
    if len(acts) <= 1 and len(dropouts) <= 1:
        activation = acts.pop() if acts else "relu"
        dropout = float(dropouts.pop()) if dropouts else 0.0
        spec = _mlp_spec_of(layers, activation, dropout) or _lenet_spec_of(
            layers, activation, dropout
        )
        if spec is not None and _rebuilds(spec, model):
            return spec
    raise ValueError(
        "spec_of: not an mlp or a lenet as models.build_model makes them; found layers "
        f"{', '.join(names)}"
    )


def penalised_weights(model: nn.Module) -> list[Tensor]:
    """The weights an L2 term penalises: every Linear and Conv2d weight, not the biases."""
    return [
        module.weight
        for module in model.modules()
        if isinstance(module, (nn.Linear, nn.Conv2d)) and module.weight is not None
    ]


def first_layer_weights(model: nn.Module) -> np.ndarray:
    """The first layer's weights as numbers: an MLP's W:(784, h), a CNN's kernels (C_out, C_in,
    kH, kW)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            return module.weight.data
    raise ValueError(f"first_layer_weights: {type(model).__name__} has no Linear or Conv2d layer")


# ---- reading a model back -------------------------------------------------------------


def _mlp_spec_of(layers: list, activation: str, dropout: float) -> dict | None:
    linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
    if not linears or any(isinstance(layer, (nn.Conv2d, nn.Flatten)) for layer in layers):
        return None
    sizes = [linears[0].in_features] + [layer.out_features for layer in linears]
    return {"kind": "mlp", "sizes": sizes, "activation": activation, "dropout": dropout}


def _lenet_spec_of(layers: list, activation: str, dropout: float) -> dict | None:
    convs = [layer for layer in layers if isinstance(layer, nn.Conv2d)]
    linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
    if len(convs) != 2 or len(linears) != 3:
        return None
    first = convs[0]
    if (first.out_channels, first.kernel_size, first.padding) != (6, (5, 5), 2):
        return None
    flat = linears[0].in_features
    side = _lenet_side_for(flat)
    if side is None:
        return None
    return {
        "kind": "lenet",
        "channels": first.in_channels,
        "input_shape": [side[0], side[1]],
        "outputs": linears[-1].out_features,
        "activation": activation,
        "dropout": dropout,
    }


def _rebuilds(spec: dict, model: nn.Module) -> bool:
    """True if building ``spec`` gives ``model``'s layer types and parameter shapes."""
    try:
        fresh = build_model(spec, np.random.default_rng(0))
    except (ValueError, KeyError, TypeError):
        return False
    layers = list(model) if isinstance(model, nn.Sequential) else [model]
    shapes = {name: value.shape for name, value in model.state_dict().items()}
    return [type(a) for a in fresh] == [type(b) for b in layers] and shapes == {
        name: value.shape for name, value in fresh.state_dict().items()
    }


def _lenet_side_for(flat: int) -> tuple[int, int] | None:
    """The square (H, W) whose LeNet features flatten to ``flat`` = 16·s·s (None if none)."""
    for H in range(8, 257):
        if 16 * _after_lenet(H) ** 2 == flat:
            return (H, H)
    return None


# ---- checking specs ------------------------------------------------------------------


def _kind(spec) -> str:
    if not isinstance(spec, dict):
        raise ValueError(f"a model spec is a dict with a 'kind', got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; vecgrad builds {', '.join(KINDS)}")
    return kind


def _check_common(spec: dict) -> None:
    activation = spec.get("activation", "relu")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{spec['kind']}: unknown activation {activation!r}; choose from "
            f"{', '.join(ACTIVATIONS)}"
        )
    dropout = spec.get("dropout", 0.0)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"{spec['kind']}: dropout must be in [0, 1), got {dropout!r}")


def _positive_ints(values) -> bool:
    return all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in values
    )


def _check_mlp(spec: dict) -> None:
    sizes = spec.get("sizes")
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2 or not _positive_ints(sizes):
        raise ValueError(f"mlp: 'sizes' must list two or more positive ints, got {sizes!r}")
    _check_common(spec)


def _check_lenet(spec: dict) -> None:
    shape, channels = spec.get("input_shape"), spec.get("channels")
    if not isinstance(shape, (list, tuple)) or len(shape) != 2 or not _positive_ints(shape):
        raise ValueError(f"lenet: 'input_shape' must be [height, width], got {shape!r}")
    if not _positive_ints([channels]):
        raise ValueError(f"lenet: 'channels' must be a positive int, got {channels!r}")
    if min(_after_lenet(shape[0]), _after_lenet(shape[1])) < 1:
        raise ValueError(
            f"lenet: images of {shape[0]}×{shape[1]} are too small for LeNet-5's two 5×5 "
            "convolutions and 2×2 pools (at least 12×12)"
        )
    outputs = spec.get("outputs")
    if not _positive_ints([outputs]):
        raise ValueError(f"lenet: 'outputs' must be a positive int, got {outputs!r}")
    _check_common(spec)


def _after_lenet(n: int) -> int:
    """The side of LeNet's last feature map for a side n: pad 2 keeps n, pool halves, the
    5×5 conv loses 4, pool halves: ⌊(⌊n/2⌋ − 4)/2⌋ (28 → 14 → 10 → 5)."""
    return (n // 2 - 4) // 2


def _lenet_flat_size(shape) -> int:
    """16 channels × the last feature map: 16·5·5 = 400 for 28×28 images."""
    return 16 * _after_lenet(shape[0]) * _after_lenet(shape[1])
