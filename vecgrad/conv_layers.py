"""Layers for images: `Conv2d`, `MaxPool2d`, `AvgPool2d`, `BatchNorm2d` (as torch.nn's).

Modules over the ops of conv.py, with PyTorch's arguments, weight layout and default
initialisation, so a state dict moves between the two unchanged (``load_torch_state_dict``):

    model = Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(400, 120, rng=rng), ReLU(), Linear(120, 84, rng=rng), ReLU(),
        Linear(84, 10, rng=rng),
    )   # LeNet-5 on (N, 1, 28, 28) images

Re-exported by vecgrad.nn, so ``vecgrad.nn.Conv2d`` is this class.
"""

from __future__ import annotations

import math

import numpy as np

from . import conv, conv_functional
from .nn import BatchNorm1d, Module, _check_size, _generator, _input
from .tensor import Tensor


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
