"""Optimizers over Tensors: ``SGD(params, lr).step()`` and ``Adam`` (scalargrad/optim.py's twin).

The update rules are PyTorch's ``torch.optim.SGD`` and ``torch.optim.Adam``, step for
step (tests/test_vecgrad_optim.py checks them against torch). A step changes each
parameter's array in place with plain numpy: no graph is recorded, and the Tensors the
model holds stay the same objects. A parameter whose ``grad`` is None (no backward pass
reached it) is skipped, as in torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .tensor import Tensor


class Optimizer:
    """What SGD and Adam share: the checked parameter list, ``lr`` and ``zero_grad()``."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        where = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{where}: params must be a list of Tensors (model.parameters())")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{where}: got an empty parameter list")
        seen = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad or p.op is not None:
                raise ValueError(
                    f"{where}: parameter {i} (shape {p.shape}) must be a leaf Tensor that "
                    "requires grad; this one "
                    + ("does not require grad" if not p.requires_grad else f"came from {p.op.name}")
                )
            if id(p) in seen:
                raise ValueError(f"{where}: parameter {i} (shape {p.shape}) is listed twice")
            seen.add(id(p))
        self.lr = _check_number(where, "lr", lr, positive=True)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None (gradients accumulate otherwise)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Move every parameter that has a gradient one step (each optimizer defines it)."""
        raise NotImplementedError

    def _grads(self):
        """Yield ``(index, parameter, gradient array)`` for the parameters with a gradient."""
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            yield i, p, (g.data if isinstance(g, Tensor) else g)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    As ``torch.optim.SGD`` (dampening 0): d = g + wd·p;  with momentum μ the buffer is
    b ← d on the first step, then b ← μ·b + d, and d ← b (or d + μ·b with Nesterov);
    p ← p − lr·d. With μ = 0 and wd = 0 that is scalargrad's p ← p − lr·g.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        self.momentum = _check_number("SGD", "momentum", momentum)
        self.weight_decay = _check_number("SGD", "weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self.buffers: list[np.ndarray | None] = [None] * len(self.params)  # momentum buffers

    def step(self) -> None:
        """Move every parameter one step against its gradient (in place)."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if not (mu or wd):  # plain SGD, the common case: p ← p − lr·g and nothing else
            for p in self.params:
                g = p.grad
                if g is not None:
                    p.data -= lr * (g.data if isinstance(g, Tensor) else g)
            return
        for i, p, g in self._grads():
            d = g + wd * p.data if wd else g
            if mu:
                buf = self.buffers[i]
                if buf is None:
                    buf = self.buffers[i] = np.array(d, dtype=p.dtype)  # a copy it owns
                else:
                    buf *= mu
                    buf += d
                d = d + mu * buf if self.nesterov else buf
            p.data -= lr * d


class Adam(Optimizer):
    """Adam with bias correction, as ``torch.optim.Adam`` (weight decay added to g).

    g ← g + wd·p;  m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²;
    p ← p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _check_number("Adam", "eps", eps)
        self.weight_decay = _check_number("Adam", "weight_decay", weight_decay)
        self.steps = [0] * len(self.params)  # t, per parameter (one may skip a step)
        self.exp_avg: list[np.ndarray | None] = [None] * len(self.params)  # m
        self.exp_avg_sq: list[np.ndarray | None] = [None] * len(self.params)  # v

    def step(self) -> None:
        """Move every parameter one Adam step (in place)."""
        beta1, beta2 = self.betas
        for i, p, g in self._grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.exp_avg[i] is None:
                self.exp_avg[i] = np.zeros_like(p.data)
                self.exp_avg_sq[i] = np.zeros_like(p.data)
            m, v = self.exp_avg[i], self.exp_avg_sq[i]
            self.steps[i] += 1
            t = self.steps[i]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            step_size = self.lr / (1 - beta1**t)
            denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
            p.data -= step_size * (m / denom)


def _check_number(where: str, what: str, value, positive: bool = False) -> float:
    """``value`` as a float, or a ValueError naming the optimizer and the hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{where}: {what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "positive" if positive else "at least 0"
        raise ValueError(f"{where}: {what} must be {need} and finite, got {value!r}")
    return value


__all__ = ["Optimizer", "SGD", "Adam"]
