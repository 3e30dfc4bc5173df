"""`Module`: what every scalargrad network piece shares, separate from the pieces themselves.

A module lists its trainable Values (``parameters()``) and resets their gradients
(``zero_grad()``); the networks built on it (`Neuron`, `Layer`, `MLP`) live in
`scalargrad.nn`. vecgrad/module.py is the same idea over Tensors, grown to PyTorch's
size (registration on assignment, ``train()``/``eval()``, ``state_dict()``, saving).
"""

from __future__ import annotations

from .value import Value


class Module:
    """Something with parameters: ``parameters()`` lists them, ``zero_grad()`` resets them."""

    def parameters(self) -> list[Value]:
        """Return every trainable Value of this module, in a fixed order."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter's gradient back to 0.0 (do it before each backward pass)."""
        for p in self.parameters():
            p.grad = 0.0


__all__ = ["Module"]
