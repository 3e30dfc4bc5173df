"""Optimizers over Tensors: ``SGD(params, lr).step()`` and ``Adam`` (scalargrad/optim.py's twin).

The update rules are PyTorch's ``torch.optim.SGD`` and ``torch.optim.Adam``, step for
step (tests/vecgrad/test_optim.py checks them against torch). A step changes each
parameter's array in place with plain numpy: no graph is recorded, and the Tensors the
model holds stay the same objects. Each change adds one to the parameter's version
(``p._version``, as PyTorch's), so a backward pass through a graph recorded before the
step refuses to run with the new weights. A parameter whose ``grad`` is None (no backward
pass reached it) is skipped, as in torch. ``state_dict()``/``load_state_dict()`` save and
restore the hyperparameters and per-parameter state (momentum buffers, Adam's moments) in
PyTorch's layout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from scalargrad.float_checks import float_checks_enabled, non_finite_step_error

from .blas import subtract_scaled
from .checks import all_finite, at, first
from .tensor import Tensor


class Optimizer:
    """What SGD and Adam share: the checked parameter list, ``lr``, ``zero_grad()``, and
    ``state_dict()``/``load_state_dict()``."""

    hyperparameters: tuple = ("lr",)  # what state_dict's param group holds, besides params
    state_names: tuple = ()  # the per-parameter state, e.g. ("momentum_buffer",)
    counters: tuple = ()  # which of those are counts, not arrays (Adam's "step")

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

    def _refuse_misshapen_gradients(self) -> None:
        """Raise before any parameter moves if a gradient's shape is not its parameter's
        (``p.grad = …`` by hand): numpy would broadcast a (1,) gradient over every entry."""
        for i, p in enumerate(self.params):
            g = p.grad
            if g is not None and getattr(g, "shape", None) != p.data.shape:
                what = f"has shape {g.shape}" if hasattr(g, "shape") else f"is a {type(g).__name__}"
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} has shape {p.shape} but its grad "
                    f"{what}; a gradient is an array of the parameter's shape"
                )

    def _refuse_non_finite_gradients(self) -> None:
        """Raise before any parameter moves if a gradient holds ±∞ or NaN: the step would
        make weights non-finite (the float policy, scalargrad.float_checks). A gradient the
        backward pass already found finite (its `FiniteMark`) is not looked at again, so an
        ∞ written into that very array afterwards (``p.grad[0] = inf``) is not seen; a new
        array given as ``p.grad`` is checked."""
        if not float_checks_enabled():
            return
        for i, p in enumerate(self.params):
            g = p.grad
            mark = p._finite_grad
            if g is None or (mark is not None and mark() is g):
                continue
            numbers = g.data if isinstance(g, Tensor) else np.asarray(g)
            if numbers.dtype.kind == "f" and not all_finite(numbers):
                bad = ~np.isfinite(numbers)
                value = f"{first(numbers, bad)}{at(bad)}"
                raise non_finite_step_error(type(self).__name__, i, f"(shape {p.shape})", value)

    # ---- saving and restoring ------------------------------------------------------------

    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout, its arrays copied:
        ``{"state": {i: {name: array, …}}, "param_groups": [{"lr": …, "params": [0, …]}]}``.

        ``state`` holds only the parameters that have state (those a step has moved).
        """
        group = {name: getattr(self, name) for name in self.hyperparameters}
        group["params"] = list(range(len(self.params)))
        state = {}
        for i in range(len(self.params)):
            entry = self._get_state(i)
            if entry is not None:
                state[i] = {
                    k: v.copy() if isinstance(v, np.ndarray) else v for k, v in entry.items()
                }
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict` saved (into an optimizer over parameters of the same
        shapes). Everything is checked before anything changes."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups'")
        groups = state_dict["param_groups"]
        if len(groups) != 1:
            raise ValueError(f"{where}: expected one parameter group, got {len(groups)}")
        group = dict(groups[0])
        params = list(group.pop("params", ()))
        if len(params) != len(self.params):
            raise ValueError(
                f"{where}: the state is for {len(params)} parameters, this optimizer has "
                f"{len(self.params)}"
            )
        if set(group) != set(self.hyperparameters):
            raise ValueError(
                f"{where}: the state has hyperparameters {sorted(group)}, "
                f"{type(self).__name__} has {sorted(self.hyperparameters)} (another optimizer's?)"
            )
        checked = {}
        for key, entry in state_dict["state"].items():
            if not isinstance(key, (int, np.integer)) or not 0 <= key < len(self.params):
                raise ValueError(f"{where}: state for parameter {key!r}, which does not exist")
            if set(entry) != set(self.state_names):
                raise ValueError(
                    f"{where}: parameter {key}'s state has {sorted(entry)}, expected "
                    f"{sorted(self.state_names)}"
                )
            p = self.params[key]
            values = {}
            for name, value in entry.items():
                if name in self.counters:
                    values[name] = _count(where, f"parameter {key}'s {name}", value)
                    continue
                array = np.asarray(value)
                if array.shape != p.shape:
                    raise ValueError(
                        f"{where}: parameter {key}'s {name} has shape {array.shape}, the "
                        f"parameter has shape {p.shape}"
                    )
                values[name] = np.array(array, dtype=p.dtype)  # a copy it owns
            checked[key] = values
        before = {name: getattr(self, name) for name in self.hyperparameters}
        try:
            self._set_hyperparameters(group)
        except (TypeError, ValueError) as error:
            for name, value in before.items():
                setattr(self, name, value)
            raise type(error)(f"{where}: {error}") from None
        for i in range(len(self.params)):
            self._set_state(i, checked.get(i))

    def _get_state(self, i: int) -> dict | None:
        """Parameter i's state as a dict of names, or None before its first step."""
        return None

    def _set_state(self, i: int, state: dict | None) -> None:
        """Set parameter i's state (None: as before any step)."""

    def _set_hyperparameters(self, group: dict) -> None:
        self.lr = _check_number(type(self).__name__, "lr", group["lr"], positive=True)

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

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

    hyperparameters = ("lr", "momentum", "nesterov", "weight_decay")
    state_names = ("momentum_buffer",)

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
        """Move every parameter one step against its gradient (in place); a non-finite
        gradient is refused before any parameter moves."""
        self._refuse_misshapen_gradients()
        self._refuse_non_finite_gradients()
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if not (mu or wd):  # plain SGD, the common case: p ← p − lr·g and nothing else
            for p in self.params:
                g = p.grad
                if g is not None:
                    subtract_scaled(p.data, lr, g.data if isinstance(g, Tensor) else g)  # p −= lr·g
                    p._version += 1  # an in-place change: graphs recorded before see it
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
            subtract_scaled(p.data, lr, d)  # p −= lr·d
            p._version += 1

    def _get_state(self, i: int) -> dict | None:
        buf = self.buffers[i]
        return None if buf is None else {"momentum_buffer": buf}

    def _set_state(self, i: int, state: dict | None) -> None:
        self.buffers[i] = None if state is None else state["momentum_buffer"]

    def _set_hyperparameters(self, group: dict) -> None:
        super()._set_hyperparameters(group)
        self.momentum = _check_number("SGD", "momentum", group["momentum"])
        self.weight_decay = _check_number("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(group["nesterov"])


class Adam(Optimizer):
    """Adam with bias correction, as ``torch.optim.Adam`` (weight decay added to g).

    g ← g + wd·p;  m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²;
    p ← p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    state_names = ("step", "exp_avg", "exp_avg_sq")
    counters = ("step",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        self._set_hyperparameters(
            {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )
        self.steps = [0] * len(self.params)  # t, per parameter (one may skip a step)
        self.exp_avg: list[np.ndarray | None] = [None] * len(self.params)  # m
        self.exp_avg_sq: list[np.ndarray | None] = [None] * len(self.params)  # v

    def step(self) -> None:
        """Move every parameter one Adam step (in place); a non-finite gradient is refused
        before any parameter moves."""
        self._refuse_misshapen_gradients()
        self._refuse_non_finite_gradients()
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
            subtract_scaled(p.data, step_size, m / denom)  # p −= step_size·m̂/(√v̂ + ε)
            p._version += 1

    def _get_state(self, i: int) -> dict | None:
        if self.exp_avg[i] is None:
            return None
        return {"step": self.steps[i], "exp_avg": self.exp_avg[i], "exp_avg_sq": self.exp_avg_sq[i]}

    def _set_state(self, i: int, state: dict | None) -> None:
        if state is None:
            self.steps[i], self.exp_avg[i], self.exp_avg_sq[i] = 0, None, None
        else:
            self.steps[i] = state["step"]
            self.exp_avg[i], self.exp_avg_sq[i] = state["exp_avg"], state["exp_avg_sq"]

    def _set_hyperparameters(self, group: dict) -> None:
        super()._set_hyperparameters(group)
        betas = group["betas"]
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _check_number("Adam", "eps", group["eps"])
        self.weight_decay = _check_number("Adam", "weight_decay", group["weight_decay"])


def _check_number(where: str, what: str, value, positive: bool = False) -> float:
    """``value`` as a float, or a ValueError naming the optimizer and the hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{where}: {what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "positive" if positive else "at least 0"
        raise ValueError(f"{where}: {what} must be {need} and finite, got {value!r}")
    return value


def _count(where: str, what: str, value) -> int:
    """A step count as an int: an int, an integral float or a 0-d array of one (torch
    saves Adam's step as a 0-d tensor), at least 0; else a ValueError naming it."""
    array = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
    if array.shape != () or array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {what} must be a whole number, got {value!r}")
    count = float(array)
    if not (math.isfinite(count) and count.is_integer() and count >= 0):
        raise ValueError(f"{where}: {what} must be a whole number ≥ 0, got {value!r}")
    return int(count)


__all__ = ["Optimizer", "SGD", "Adam"]
