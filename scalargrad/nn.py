"""Neural networks out of Values: `Neuron`, `Layer`, `MLP` (micrograd's API).

vecgrad/nn.py is the same idea over arrays: a layer is one matrix product there instead
of a Neuron per output here. What they share (``parameters()``, ``zero_grad()``) is
`Module`, in scalargrad/module.py; ``scalargrad.nn.Module`` is the same class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .functions import dot
from .module import Module
from .value import Value


class Neuron(Module):
    """One unit: out = act(Σᵢ wᵢ·xᵢ + b), with act = relu, tanh, sigmoid or none ("linear")."""

    def __init__(self, nin: int, activation: str = "relu", rng: np.random.Generator | None = None):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"Neuron: unknown activation {activation!r}; choose from {sorted(_ACTIVATIONS)}"
            )
        rng = rng if rng is not None else np.random.default_rng()
        self.w = [Value(float(w)) for w in rng.uniform(-1.0, 1.0, nin)]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, x: Sequence) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        total = dot(self.w, x) + self.b  # Σ wᵢ·xᵢ as one Dot node: a quarter of the nodes
        return _ACTIVATIONS[self.activation](total)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; returns a list (a Value when nout == 1)."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, x: Sequence) -> Value | list[Value]:
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        return f"Layer(of {len(self.neurons)} × {self.neurons[0]!r})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` is 2 → 16 → 16 → 1.

    Hidden layers use ``activation`` (relu by default); the last layer is linear.
    Weights start uniform in [−1, 1] from ``rng`` (a numpy Generator), biases at 0.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        rng: np.random.Generator | None = None,
    ):
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer size")
        rng = rng if rng is not None else np.random.default_rng()
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else "linear", rng)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            x = x if isinstance(x, list) else [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return "MLP of [" + ", ".join(repr(layer) for layer in self.layers) + "]"


_ACTIVATIONS = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": lambda v: v,
}

__all__ = ["Module", "Neuron", "Layer", "MLP"]
