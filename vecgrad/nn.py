"""Neural networks out of Tensors: `Module`, `Linear`, `Sequential`, `BatchNorm1d`, ...

scalargrad/nn.py over arrays. There a layer is a list of Neurons, one Value per weight;
here a layer is one matrix product, ``x @ W + b``, and its weights are one Tensor. The
names are the same (``parameters()``, ``zero_grad()``), and the rest follows PyTorch's
``torch.nn``: ``named_parameters()``, ``train()``/``eval()``, ``state_dict()``.

    model = Sequential(Linear(784, 100, rng=rng), ReLU(), Linear(100, 10, rng=rng))
    loss = vecgrad.functional.cross_entropy(model(X), y)

A module's state is saved as ``.npz`` (``model.save(path)``, ``model.load(path)``).
Every layer is built from vecgrad ops, so autodiff gives its backward pass.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from . import functional
from .tensor import Tensor


class Module:
    """A piece of a network: holds parameters, buffers and submodules, maps input to output.

    Assigning a Tensor that requires grad to an attribute registers it as a parameter;
    assigning a Module registers a submodule; ``register_buffer`` adds state that is saved
    but not trained (BatchNorm's running statistics). Registration keeps the order of
    assignment, so ``parameters()`` and ``state_dict()`` come out in a fixed order.
    Subclasses call ``super().__init__()`` first and define ``forward``.
    """

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}  # name → Tensor (requires grad), in assignment order
        d["_buffers"] = {}  # name → numpy array: saved in state_dict, not trained
        d["_modules"] = {}  # name → Module
        d["training"] = True

    # ---- registration ----------------------------------------------------------------

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() at the start of __init__, "
                f"before assigning attributes (here {name!r})"
            )
        # A name is in at most one registry: reassigning it may change its kind.
        d["_parameters"].pop(name, None)
        d["_modules"].pop(name, None)
        if name in d["_buffers"]:
            if not isinstance(value, np.ndarray):
                raise TypeError(
                    f"{type(self).__name__}.{name} is a buffer: assign a numpy array, "
                    f"got {type(value).__name__}"
                )
            d["_buffers"][name] = value
        elif isinstance(value, Tensor) and value.requires_grad:
            if value.op is not None:
                raise ValueError(
                    f"{type(self).__name__}.{name}: a parameter must be a leaf tensor, but "
                    f"this one was computed by {value.op.name}; assign t.detach() made to "
                    "require grad, or store it under a name that does not start a graph"
                )
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            d["_modules"][name] = value
        d[name] = value  # also a plain attribute: lookups stay as fast as any attribute

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            d.get(registry, {}).pop(name, None)
        object.__delattr__(self, name)

    def __getattr__(self, name: str):
        # Called only when normal lookup fails: a typo, never a silent None.
        if name.startswith("__") or name in ("_parameters", "_buffers", "_modules"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        known = [n for n in self.__dict__ if not n.startswith("_")]
        known += [n for n in dir(type(self)) if not n.startswith("_")]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        names = list(self.__dict__.get("_parameters", {})) + list(self.__dict__.get("_modules", {}))
        listing = f" (its parameters and submodules: {', '.join(names)})" if names else ""
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}{hint}{listing}")

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Add ``array`` as state that ``state_dict()`` saves but optimizers never see."""
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"register_buffer: {name!r} must be a numpy array, got {type(array).__name__}"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = array
        self.__dict__[name] = array

    # ---- calling ---------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """Return the module's output (every subclass defines it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # ---- walking the tree ------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for this module ("") and every submodule, depth first."""
        stack = [(prefix, self)]  # explicit stack: a deep Sequential must not recurse
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [
                (f"{name}.{child}" if name else child, sub)
                for child, sub in module._modules.items()
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """Yield this module and every submodule, depth first."""
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        """Yield the direct submodules, in order."""
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, parameter)`` pairs: ``("0.weight", W)``, in a fixed order."""
        seen = set()  # a parameter shared by two modules is listed (and stepped) once
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list[Tensor]:
        """Return every trainable Tensor of this module and its submodules, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted name, array)`` for every buffer (running statistics ...)."""
        for prefix, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{prefix}.{name}" if prefix else name), b

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None (do it before each backward pass)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Put this module and its submodules in training mode (or eval when False); return self.

        Dropout drops and BatchNorm1d uses batch statistics only in training mode.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be True or False, got {mode!r}")
        for module in self.modules():
            module.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Put this module and its submodules in evaluation mode; return self."""
        return self.train(False)

    # ---- saving and loading ----------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return name → copy of every parameter's and buffer's array, in a fixed order.

        Per module: its parameters, then its buffers, then its submodules' entries (the
        names and order of ``torch.nn.Module.state_dict``; ``Linear.weight`` is the
        transpose of torch's, see `Linear`).
        """
        state = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, p in module._parameters.items():
                state[dot + name] = p.data.copy()
            for name, b in module._buffers.items():
                state[dot + name] = b.copy()
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> Module:
        """Copy the arrays of ``state`` (from `state_dict` or an ``.npz``) into this module.

        Every name must match and every shape agree; otherwise a ValueError lists the
        missing and unexpected names and the shape mismatches, and nothing is changed.
        Returns self.
        """
        targets = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name in (*module._parameters, *module._buffers):
                targets[dot + name] = (module, name)
        names = list(state.keys())
        missing = [n for n in targets if n not in state]
        unexpected = [n for n in names if n not in targets]
        arrays, mismatched = {}, []
        for key, (module, name) in targets.items():
            if key not in state:
                continue
            current = module.__dict__[name]
            current = current.data if isinstance(current, Tensor) else current
            value = np.asarray(state[key])
            if value.shape != current.shape:
                mismatched.append(f"{key}: expected {current.shape}, got {value.shape}")
            elif value.dtype.kind not in "fiub":
                mismatched.append(f"{key}: expected numbers, got dtype {value.dtype}")
            else:
                arrays[key] = value.astype(current.dtype, copy=True)
        if missing or unexpected or mismatched:
            problems = []
            if missing:
                problems.append("missing: " + ", ".join(missing))
            if unexpected:
                problems.append("unexpected: " + ", ".join(unexpected))
            if mismatched:
                problems.append("wrong shape: " + "; ".join(mismatched))
            raise ValueError(
                f"load_state_dict: the state does not fit this {type(self).__name__} "
                f"({'; '.join(problems)})"
            )
        for key, (module, name) in targets.items():
            current = module.__dict__[name]
            if isinstance(current, Tensor):
                current.data = arrays[key]  # the same Tensor: optimizers keep working
                current.grad = None
            else:
                module.__dict__[name] = module._buffers[name] = arrays[key]
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``state_dict()`` to ``path`` (an ``.npz`` file) and return the path.

        The file is written beside its destination and renamed into place, so an
        interrupted save never leaves a truncated model behind.
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"save: the file name must end in .npz, got {str(path)!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            with open(temp, "wb") as file:  # a file object: savez adds no second suffix
                np.savez(file, **self.state_dict())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return path

    def load(self, path: str | os.PathLike) -> Module:
        """Load the state saved by `save` from ``path`` into this module; return self."""
        with np.load(Path(path), allow_pickle=False) as archive:
            return self.load_state_dict({name: archive[name] for name in archive.files})

    # ---- PyTorch interchange (tests and benchmarks compare against torch.nn) ----------

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """Return `state_dict` in torch.nn's layout: every Linear weight transposed to (out, in)."""
        state = self.state_dict()
        for key in _linear_weight_keys(self):
            state[key] = np.ascontiguousarray(state[key].T)
        return state

    def load_torch_state_dict(self, state: Mapping) -> Module:
        """Load a ``torch.nn`` state dict (tensors or arrays) of the same architecture; return self.

        Linear weights are transposed from torch's (out, in) to vecgrad's (in, out).
        """
        arrays = {name: _plain_array(value) for name, value in state.items()}
        for key in _linear_weight_keys(self):
            if key in arrays and arrays[key].ndim == 2:
                arrays[key] = arrays[key].T
        return self.load_state_dict(arrays)

    # ---- printing --------------------------------------------------------------------

    def extra_repr(self) -> str:
        """Return the arguments shown between the parentheses of ``repr``."""
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, module in self._modules.items():
            text = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"


# ---- layers ------------------------------------------------------------------------


class Linear(Module):
    """out = x @ W + b  x:(n, in) W:(in, out) b:(out,) → (n, out).

    Initialised as PyTorch's ``nn.Linear``: W and b uniform in (−1/√in, 1/√in) (the
    kaiming_uniform with a = √5 that torch uses gives exactly this bound), drawn from
    ``rng``, a numpy Generator: W first, then b. ``weight`` is stored (in, out), the
    transpose of torch's (out, in), so the forward pass needs no transpose; use
    ``torch_state_dict()`` / ``load_torch_state_dict()`` to exchange weights with torch.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        super().__init__()
        _check_size("Linear", "in_features", in_features)
        _check_size("Linear", "out_features", out_features)
        rng = _generator("Linear", rng)
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1 / math.sqrt(in_features)
        W = rng.uniform(-bound, bound, (in_features, out_features)).astype(dtype)
        self.weight = Tensor(W, requires_grad=True, name="W")
        if bias:
            b = rng.uniform(-bound, bound, out_features).astype(dtype)
            self.bias = Tensor(b, requires_grad=True, name="b")
        else:
            self.bias = None

    def forward(self, x) -> Tensor:
        x = _input(x, "Linear")
        if x.data.shape[-1:] != (self.in_features,):  # also refuses a 0-d x
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {x.shape} "
                f"must have {self.in_features} features on its last axis"
            )
        return functional.linear(x, self.weight, self.bias)  # one node: x @ W + b

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """out = max(x, 0) elementwise."""

    def forward(self, x) -> Tensor:
        return _input(x, "ReLU").relu()


class Sigmoid(Module):
    """out = 1 / (1 + e⁻ˣ) elementwise."""

    def forward(self, x) -> Tensor:
        return _input(x, "Sigmoid").sigmoid()


class Tanh(Module):
    """out = tanh x elementwise."""

    def forward(self, x) -> Tensor:
        return _input(x, "Tanh").tanh()


class Flatten(Module):
    """out = x reshaped (n, …) → (n, −1): every axis after the first joined into one."""

    def forward(self, x) -> Tensor:
        x = _input(x, "Flatten")
        if x.ndim < 1:
            raise ValueError("Flatten: needs a batch axis, got a 0-d tensor")
        return x.reshape(x.shape[0], -1)


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) = c(b(a(x)))``.

    The submodules are named "0", "1", ... (as in torch), so ``model[0]`` is the first.
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: argument {i} must be a Module, got {type(module).__name__}"
                )
            setattr(self, str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Dropout(Module):
    """Inverted dropout: in training, each entry is zeroed with probability p and the
    survivors scaled by 1/(1 − p), so the expected output is x; in eval, out = x.

    The mask comes from ``rng`` (a numpy Generator), so a seeded run is repeatable.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = _generator("Dropout", rng)

    def forward(self, x) -> Tensor:
        x = _input(x, "Dropout")
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * np.zeros(x.shape, dtype=x.dtype)
        keep = self.rng.random(x.shape) >= self.p
        return x * (keep.astype(x.dtype) / x.dtype.type(1 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """out = (x − μ)/√(σ² + ε)·γ + β per feature  x:(n, C) or (n, C, L).

    Training: μ, σ² are the batch's mean and biased variance, and the running statistics
    move toward them: r ← (1 − m)·r + m·stat, with the *unbiased* variance for r_var
    (PyTorch's rule; momentum=None gives the cumulative average). Eval: μ, σ² are the
    running statistics. Built from vecgrad ops, so autodiff derives its backward.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        dtype=np.float32,
    ):
        super().__init__()
        _check_size("BatchNorm1d", "num_features", num_features)
        if not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be positive, got {eps!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        if affine:
            self.weight = Tensor(np.ones(num_features, dtype), requires_grad=True, name="γ")
            self.bias = Tensor(np.zeros(num_features, dtype), requires_grad=True, name="β")
        else:
            self.weight = self.bias = None
        self.register_buffer("running_mean", np.zeros(num_features, dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x) -> Tensor:
        x = _input(x, "BatchNorm1d")
        C = self.num_features
        if x.ndim not in (2, 3) or x.shape[1] != C:
            raise ValueError(
                f"BatchNorm1d({C}): expected input of shape (n, {C}) or (n, {C}, L), got {x.shape}"
            )
        axes = (0,) if x.ndim == 2 else (0, 2)
        feature_shape = (C,) if x.ndim == 2 else (C, 1)  # broadcasts against (n, C[, L])
        if self.training:
            count = x.size // C
            if count < 2:
                raise ValueError(
                    f"BatchNorm1d({C}): training needs more than one value per feature to "
                    f"estimate a variance, got input of shape {x.shape} (use eval())"
                )
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
            x_hat = centered / (var + self.eps) ** 0.5
            self._update_running_stats(mean.data, var.data, count)
        else:
            mean = self.running_mean.reshape(feature_shape)
            inv_std = 1 / np.sqrt(self.running_var.reshape(feature_shape) + self.eps)
            x_hat = (x - mean) * inv_std.astype(x.dtype)
        if self.weight is None:
            return x_hat
        if x.ndim == 2:
            return x_hat * self.weight + self.bias
        return x_hat * self.weight.reshape(feature_shape) + self.bias.reshape(feature_shape)

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        """Move the running mean and (unbiased) variance toward this batch's statistics."""
        self.num_batches_tracked += 1
        m = self.momentum if self.momentum is not None else 1 / int(self.num_batches_tracked)
        unbiased = var.reshape(-1) * (count / (count - 1))
        dtype = self.running_mean.dtype
        self.running_mean *= 1 - m
        self.running_mean += (m * mean.reshape(-1)).astype(dtype)
        self.running_var *= 1 - m
        self.running_var += (m * unbiased).astype(dtype)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.weight is not None}"
        )


class Residual(Module):
    """out = x + module(x): a skip connection (the module must keep the shape)."""

    def __init__(self, module: Module):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"Residual: expected a Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x) -> Tensor:
        x = _input(x, "Residual")
        fx = self.module(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"Residual: {type(self.module).__name__} maps shape {x.shape} to {fx.shape}; "
                "x + module(x) needs the same shape"
            )
        return x + fx


# ---- helpers -----------------------------------------------------------------------


def _input(x, where: str) -> Tensor:
    """``x`` itself if a Tensor, else its numbers as a Tensor that needs no gradient."""
    return x if isinstance(x, Tensor) else Tensor(x, name="x")


def _check_size(where: str, what: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{where}: {what} must be a positive int, got {n!r}")


def _generator(where: str, rng) -> np.random.Generator:
    """A numpy Generator from ``rng`` (a Generator, an int seed, or None: unseeded)."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{where}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"an int seed or None, got {type(rng).__name__}"
        )
    return rng


def _linear_weight_keys(module: Module) -> list[str]:
    """The state_dict keys of every Linear weight in ``module``."""
    return [
        f"{prefix}.weight" if prefix else "weight"
        for prefix, sub in module.named_modules()
        if isinstance(sub, Linear)
    ]


def _plain_array(value) -> np.ndarray:
    """A torch tensor (detached, on the CPU) or array-like as a numpy array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Sequential",
    "Dropout",
    "BatchNorm1d",
    "Residual",
]


from .conv_layers import AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d  # noqa: E402,F401
