"""Optimizers over Values: ``SGD(params, lr).step()`` (vecgrad/optim.py is the twin)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .float_checks import float_checks_enabled, non_finite_step_error, number_text
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
        """Move every parameter one step against its gradient; a gradient of ±∞ (or NaN)
        is refused before any parameter moves (scalargrad.float_checks)."""
        if float_checks_enabled():
            for i, p in enumerate(self.params):
                if not math.isfinite(p.grad):
                    raise non_finite_step_error(
                        "SGD", i, repr(p.name) if p.name else "", number_text(p.grad)
                    )
        for p in self.params:
            p.data -= self.lr * p.grad

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to 0.0 (gradients accumulate otherwise)."""
        for p in self.params:
            p.grad = 0.0
