"""Neural network layers out of Tensors: `Linear`, `Sequential`, `BatchNorm1d`, `Conv2d`, ...

scalargrad/nn.py over arrays. There a layer is a list of Neurons, one Value per weight;
here a layer is one matrix product, ``x @ W + b``, and its weights are one Tensor. The
names are the same (``parameters()``, ``zero_grad()``), and the rest follows PyTorch's
``torch.nn``: ``named_parameters()``, ``train()``/``eval()``, ``state_dict()``.

    model = Sequential(Linear(784, 100, rng=rng), ReLU(), Linear(100, 10, rng=rng))
    loss = vecgrad.functional.cross_entropy(model(X), y)

Every layer is built from vecgrad ops, so autodiff gives its backward pass. What all
layers share (registration, ``parameters()``, ``train()``/``eval()``, saving as ``.npz``)
is `Module`, in vecgrad/module.py; ``vecgrad.nn.Module`` is the same class.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from . import conv, conv_functional, functional
from .module import Module
from .tensor import Tensor


class Linear(Module):
    """out = x @ W + b  x:(n, in) W:(in, out) b:(out,) → (n, out).

    Initialised as PyTorch's ``nn.Linear``: W and b uniform in (−1/√in, 1/√in) (the
    kaiming_uniform with a = √5 that torch uses gives exactly this bound), drawn from
    ``rng``, a numpy Generator: W first, then b. ``weight`` is stored (in, out), the
    transpose of torch's (out, in), so the forward pass needs no transpose; use
    ``torch_state_dict()`` / ``load_torch_state_dict()`` to exchange weights with torch.
    """

    torch_transposed = ("weight",)

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

    def __getitem__(self, index: int | slice) -> Module:
        """The module at ``index``; a slice is a Sequential of those modules, under their
        names (``model[:-1]`` is the model without its last layer, as in torch)."""
        items = list(self._modules.items())
        if not isinstance(index, slice):
            return items[index][1]
        part = Sequential()
        for name, module in items[index]:
            setattr(part, name, module)
        return part

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


# ---- PyTorch's loss and softmax modules ------------------------------------------------


class CrossEntropyLoss(Module):
    """loss = cross_entropy(logits, target): ``functional.cross_entropy`` as a module.

    As ``torch.nn.CrossEntropyLoss``: called with (n, k) logits and n integer labels (or
    (n, k) probability rows), averaged over the rows (``reduction="sum"`` adds them).
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        functional._check_reduction("CrossEntropyLoss", reduction)
        self.reduction = reduction

    def forward(self, logits, target) -> Tensor:
        return functional.cross_entropy(logits, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class Softmax(Module):
    """out = e^x / Σ e^x along ``dim`` (``torch.nn.Softmax(dim)``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = functional._axis("Softmax", dim)

    def forward(self, x) -> Tensor:
        return functional.softmax(_input(x, "Softmax"), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """out = log softmax(x) along ``dim`` (``torch.nn.LogSoftmax(dim)``), by log-sum-exp."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = functional._axis("LogSoftmax", dim)

    def forward(self, x) -> Tensor:
        return functional.log_softmax(_input(x, "LogSoftmax"), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


__all__ += ["CrossEntropyLoss", "Softmax", "LogSoftmax"]


# ---- layers for images (PyTorch's arguments, weight layout and initialisation) ------


class Conv2d(Module):
    """out = conv2d(x, weight, bias, stride, padding, dilation, groups)
    x:(N, C_in, H, W)  weight:(C_out, C_in/groups, kH, kW)  bias:(C_out,) → (N, C_out, oH, oW).

    Initialised as PyTorch's ``nn.Conv2d``: weight and bias uniform in (−1/√fan_in,
    1/√fan_in) with fan_in = C_in/groups·kH·kW (torch's kaiming_uniform with a = √5 gives
    exactly this bound), drawn from ``rng``: weight first, then bias. The weight has
    torch's layout, so state dicts are exchanged as they are.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        super().__init__()
        _check_size("Conv2d", "in_channels", in_channels)
        _check_size("Conv2d", "out_channels", out_channels)
        _check_size("Conv2d", "groups", groups)
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ValueError(f"Conv2d: {what} = {n} must be divisible by groups = {groups}")
        kernel = conv._pair("Conv2d", "kernel_size", kernel_size, minimum=1)
        conv_functional._conv_window(kernel, stride, padding, dilation, "Conv2d")  # check now
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        rng = _generator("Conv2d", rng)
        fan_in = in_channels // groups * kernel[0] * kernel[1]
        bound = 1 / math.sqrt(fan_in)
        shape = (out_channels, in_channels // groups, *kernel)
        W = rng.uniform(-bound, bound, shape).astype(dtype)
        self.weight = Tensor(W, requires_grad=True, name="W")
        if bias:
            b = rng.uniform(-bound, bound, out_channels).astype(dtype)
            self.bias = Tensor(b, requires_grad=True, name="b")
        else:
            self.bias = None

    def forward(self, x) -> Tensor:
        x = _input(x, "Conv2d")
        return conv_functional.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}" if self.stride not in (1, (1, 1)) else ""
        text += f", padding={self.padding!r}" if self.padding not in (0, (0, 0)) else ""
        text += f", dilation={self.dilation}" if self.dilation not in (1, (1, 1)) else ""
        text += f", groups={self.groups}" if self.groups != 1 else ""
        return text + (", bias=False" if self.bias is None else "")


class MaxPool2d(Module):
    """out = the largest entry of each window (``stride`` defaults to ``kernel_size``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
        super().__init__()
        conv_functional._pool_window("MaxPool2d", (), kernel_size, stride, padding, dilation, False)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, bool(ceil_mode)

    def forward(self, x) -> Tensor:
        return conv_functional.max_pool2d(
            _input(x, "MaxPool2d"),
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
        )

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return (
            f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """out = the mean of each window (``stride`` defaults to ``kernel_size``)."""

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__()
        conv_functional._pool_window("AvgPool2d", (), kernel_size, stride, padding, 1, False)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def forward(self, x) -> Tensor:
        return conv_functional.avg_pool2d(
            _input(x, "AvgPool2d"),
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class BatchNorm2d(BatchNorm1d):
    """out = (x − μ)/√(σ² + ε)·γ + β per channel  x:(N, C, H, W), statistics over N, H, W.

    As `BatchNorm1d` (PyTorch's rules): in training μ, σ² are the batch's mean and biased
    variance of each channel, and the running statistics move toward them (the unbiased
    variance for running_var; momentum=None averages all batches); in eval the running
    statistics are used. Built from vecgrad ops, so autodiff derives its backward.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        dtype=np.float32,
    ):
        _check_size("BatchNorm2d", "num_features", num_features)
        if not eps > 0:
            raise ValueError(f"BatchNorm2d: eps must be positive, got {eps!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm2d: momentum must be in [0, 1] or None, got {momentum!r}")
        super().__init__(num_features, eps, momentum, affine, dtype)

    def forward(self, x) -> Tensor:
        x = _input(x, "BatchNorm2d")
        C = self.num_features
        if x.ndim != 4 or x.shape[1] != C:
            missing = " (a batch axis is missing)" if x.ndim == 3 and x.shape[0] == C else ""
            raise ValueError(
                f"BatchNorm2d({C}): expected input of shape (N, {C}, H, W), got {x.shape}{missing}"
            )
        axes, channel = (0, 2, 3), (C, 1, 1)  # channel-shaped arrays broadcast over (N, C, H, W)
        if self.training:
            count = x.size // C
            if count < 2:
                raise ValueError(
                    f"BatchNorm2d({C}): training needs more than one value per channel to "
                    f"estimate a variance, got input of shape {x.shape} (use eval())"
                )
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
            x_hat = centered / (var + self.eps) ** 0.5
            self._update_running_stats(mean.data, var.data, count)
        else:
            inv_std = 1 / np.sqrt(self.running_var.reshape(channel) + self.eps)
            x_hat = (x - self.running_mean.reshape(channel)) * inv_std.astype(x.dtype)
        if self.weight is None:
            return x_hat
        return x_hat * self.weight.reshape(channel) + self.bias.reshape(channel)


__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d"]
