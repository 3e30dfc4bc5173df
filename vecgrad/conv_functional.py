"""``conv2d``, ``max_pool2d``, ``avg_pool2d``, ``pad``, ``unfold``, ``fold``: PyTorch's names,
argument order and weight layout (torch.nn.functional), over vecgrad's ops in conv.py.

    out = conv2d(x, W, b, stride=1, padding=1)   # x:(N, C_in, H, W) W:(C_out, C_in, 3, 3)
    out = max_pool2d(out.relu(), 2)              # stride defaults to the kernel size

Sizes (kernel_size, stride, padding, dilation) are ints or (h, w) pairs. Each call is one
graph node; bad input is refused with the op's name and the shapes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import conv
from .tensor import Tensor, apply_op, as_array


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """Return the 2-D convolution (cross-correlation, as PyTorch) of x with ``weight``.

    out[n, o, p, q] = b[o] + Σ_{c, i, j} W[o, c, i, j]·xp[n, g·C_in/g + c, p·s + i·d, q·s + j·d]
    with xp the zero-padded x and g the group of o; x:(N, C_in, H, W),
    weight:(C_out, C_in/groups, kH, kW), bias:(C_out,) → (N, C_out, oH, oW),
    oH = ⌊(H + 2·padding − dilation·(kH − 1) − 1)/stride⌋ + 1 (and so for oW).
    ``padding`` may also be "valid" (0) or "same" (stride 1: the output keeps H × W).
    """
    x, weight = _tensor(x, "conv2d"), _tensor(weight, "conv2d")
    inputs = (x, weight) if bias is None else (x, weight, _tensor(bias, "conv2d"))
    return apply_op(conv2d_op(x.shape, weight.shape, stride, padding, dilation, groups), *inputs)


def conv2d_op(x_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1) -> conv.Conv2d:
    """The `Conv2d` op of conv2d's arguments (checked), for any node type: forward mode's
    duals (`vecgrad.forward.conv2d`) build the same op as Tensors."""
    if len(weight_shape) != 4:
        conv.check_conv("conv2d", tuple(x_shape), tuple(weight_shape), None, None, 1)  # raises
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    win = _conv_window(tuple(weight_shape[2:]), stride, padding, dilation)
    return conv.Conv2d(win, int(groups))


def max_pool2d(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False
) -> Tensor:
    """Return the largest entry of each window: (N, C, H, W) → (N, C, oH, oW).

    ``stride`` defaults to ``kernel_size`` (windows side by side); padding counts as −∞ and
    may be at most half the kernel. A tie inside a window sends ḡ to its first maximum in
    row-major order (as PyTorch), so exactly one entry gets it.
    """
    x = _tensor(x, "max_pool2d")
    return apply_op(max_pool2d_op(x.shape, kernel_size, stride, padding, dilation, ceil_mode), x)


def max_pool2d_op(shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The `MaxPool2d` op of max_pool2d's arguments, for an input of ``shape``."""
    win = _pool_window("max_pool2d", shape, kernel_size, stride, padding, dilation, ceil_mode)
    return conv.MaxPool2d(win)


def avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad=True
) -> Tensor:
    """Return the mean of each window: (N, C, H, W) → (N, C, oH, oW).

    ``stride`` defaults to ``kernel_size``; the zeros of the padding count in the mean
    unless ``count_include_pad=False`` (PyTorch's defaults and argument order).
    """
    x = _tensor(x, "avg_pool2d")
    op = avg_pool2d_op(x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad)
    return apply_op(op, x)


def avg_pool2d_op(
    shape, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """The `AvgPool2d` op of avg_pool2d's arguments, for an input of ``shape``."""
    win = _pool_window("avg_pool2d", shape, kernel_size, stride, padding, 1, ceil_mode)
    return conv.AvgPool2d(win, bool(count_include_pad))


def pad(x, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Return x with ``value`` added around its last axes, as ``torch.nn.functional.pad``.

    ``pad`` lists (before, after) widths starting from the *last* axis:
    ``(left, right)`` pads W, ``(left, right, top, bottom)`` pads H and W.
    """
    x = _tensor(x, "pad")
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is implemented, got mode={mode!r}")
    widths = _pad_widths(pad, x.shape)
    if not np.isfinite(value):
        raise ValueError(f"pad: value must be a finite number, got {value!r}")
    return apply_op(conv.Pad(widths, float(value)), x)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Return im2col of x: (N, C, H, W) → (N, C·kH·kW, L), one column per window
    (torch.nn.functional.unfold's layout and argument order)."""
    x = _tensor(x, "unfold")
    cols = apply_op(conv.Unfold(conv.window("unfold", kernel_size, stride, padding, dilation)), x)
    K, (N, L) = cols.shape[0], (x.shape[0], cols.shape[1] // x.shape[0])
    return cols.reshape(K, N, L).transpose(1, 0, 2)  # vecgrad's columns hold all images


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Return col2im: (N, C·kH·kW, L) columns added back into (N, C, *output_size) images,
    overlapping windows summed (the adjoint of `unfold`; torch.nn.functional.fold)."""
    x = _tensor(x, "fold")
    win = conv.window("fold", kernel_size, stride, padding, dilation)
    size = conv._pair("fold", "output_size", output_size, minimum=1)
    (kH, kW), L = win.kernel, math.prod(win.out_size(size))
    if x.ndim != 3 or x.shape[1] % (kH * kW) or x.shape[2] != L:
        conv.check_image("fold", (1, 1) + size, win, what="output")
        raise ValueError(
            f"fold: input of shape {x.shape} needs C·{kH}·{kW} rows and {L} columns (the "
            f"windows of a {size[0]}×{size[1]} output), as (N, C·kH·kW, L)"
        )
    N, K, _ = x.shape
    cols = x.transpose(1, 0, 2).reshape(K, N * L)
    return apply_op(conv.Fold(win, (N, K // (kH * kW)) + size), cols)


# ---- checking input ----------------------------------------------------------------


def _tensor(x, where: str) -> Tensor:
    """``x`` itself if a Tensor, else its numbers as a Tensor that needs no gradient."""
    return x if isinstance(x, Tensor) else Tensor._node(as_array(x, None, where), None, (), False)


def _conv_window(kernel: tuple, stride, padding, dilation, op_name="conv2d") -> conv.Window:
    """The Window of conv2d's arguments; "same" pads so that a stride-1 output keeps H × W."""
    if isinstance(padding, str):
        if padding == "valid":
            return conv.window(op_name, kernel, stride, 0, dilation)
        if padding != "same":
            raise ValueError(
                f"{op_name}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
        win = conv.window(op_name, kernel, stride, 0, dilation)
        if win.stride != (1, 1):
            raise ValueError(f"{op_name}: padding='same' needs stride 1, got stride {stride!r}")
        total = [d * (k - 1) for k, d in zip(win.kernel, win.dilation)]  # PyTorch: extra at the end
        padding_ = tuple((t // 2, t - t // 2) for t in total)
        return conv.Window(win.kernel, win.stride, padding_, win.dilation)
    return conv.window(op_name, kernel, stride, padding, dilation)


def _pool_window(op_name, shape, kernel_size, stride, padding, dilation, ceil_mode) -> conv.Window:
    """The Window of a pooling op (stride defaults to the kernel), padding ≤ half the kernel."""
    kernel = conv._pair(op_name, "kernel_size", kernel_size, minimum=1)
    stride = kernel if stride is None or stride == () or stride == [] else stride
    pads = conv._pair(op_name, "padding", padding, minimum=0)
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise ValueError(
            f"{op_name}: padding {padding!r} must be at most half the kernel size "
            f"{kernel_size!r} (as in PyTorch)"
        )
    size = shape[2:] if len(shape) == 4 else None
    return conv.window(op_name, kernel, stride, padding, dilation, bool(ceil_mode), size)


def _pad_widths(pad, shape: tuple) -> tuple:
    """torch's flat ``pad`` (last axis first) as numpy-style (before, after) per axis."""
    if isinstance(pad, (int, np.integer)) or not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right, …), got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ValueError(
            f"pad: pad needs an even number of widths, at most two per axis of shape {shape}, "
            f"got {tuple(pad)}"
        )
    if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 for p in pad):
        raise ValueError(f"pad: widths must be non-negative ints, got {tuple(pad)}")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]  # last axis first
    return tuple([(0, 0)] * (len(shape) - len(pairs)) + pairs[::-1])
