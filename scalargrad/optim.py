"""Optimizers over Values: ``SGD(params, lr).step()`` (vecgrad/optim.py is the twin)."""

from __future__ import annotations

from collections.abc import Iterable

from .value import Value


class SGD:
    """Plain gradient descent: p ← p − lr·∂loss/∂p for every parameter."""

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD: got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"SGD: lr must be positive, got {lr!r}")
        self.lr = lr

    def step(self) -> None:
        """Move every parameter one step against its gradient."""
        for p in self.params:
            p.data -= self.lr * p.grad

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to 0.0 (gradients accumulate otherwise)."""
        for p in self.params:
            p.grad = 0.0
