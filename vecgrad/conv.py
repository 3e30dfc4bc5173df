"""Convolution and pooling ops: windows of an image, a matrix product, and their adjoints.

Everything here is built on one picture. A `Window` (kernel size, stride, padding,
dilation) cuts a padded image xp:(N, C, H, W) into overlapping patches, one per output
position: the patch at output (p, q) holds xp[n, c, p·s + i·d, q·s + j·d] for kernel offsets
(i, j). Two functions move between the image and its patches:

* `im2col` (unfold) reads every patch into one matrix cols:(C·kH·kW, N·oH·oW), one column
  per window of every image: first a strided *view* of xp (no copy: the patches are the
  image seen through other strides), then one copy in this channel-major order, whose
  inner axes (oH, oW) run along the image's rows, so the copy reads memory in order.
  (Window-major order, (N·oH·oW, C·kH·kW), copies the same numbers 3–5× slower.)
* `col2im` (fold) is its adjoint: every patch is added back where it was cut from. Where
  patches overlap, a pixel belongs to several of them and receives the *sum* of their
  partial adjoints: x̄ = Σ over the windows that contain x.

Then every op is a short formula on patches, and every backward pass is a fold:

    Conv2d     out = W·cols + b          x̄ = fold(Wᵀ·ḡ),       W̄ = ḡ·colsᵀ
    MaxPool2d  out = max of each patch   x̄ = fold(ḡ at the patch's winner)
    AvgPool2d  out = mean of each patch  x̄ = fold(ḡ/count copied over the patch)

With all images side by side in cols, a convolution is *one* matrix product (per group)
in each direction, (C_out, K) @ (K, N·L): BLAS's best case.

`Unfold` and `Fold` are ops too, each the other's backward. That is what makes
``backward(create_graph=True)`` work: replayed on Tensors (see vecgrad/tensor.py,
``_replay``), Conv2d's backward records Fold and Unfold nodes and matrix products, which
are all differentiable again. Masks and counts (which patch entry won a max) are
constants, read from the plain numbers.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .checks import values as _values
from .ops import Op, _routed
from .tensor import Constant, Tensor, apply_op

# ---- the geometry of windows ---------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Where the windows of a 2-D op sit: everything but the numbers.

    ``kernel`` (kH, kW), ``stride`` (sH, sW), ``dilation`` (dH, dW) and ``padding``
    ((top, bottom), (left, right)): zeros (or −∞ for max) added around the image. PyTorch's
    ``padding=p`` is ((p, p), (p, p)); ``ceil_mode`` adds a little more at the bottom and
    right so the last, partial window fits.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    dilation: tuple[int, int] = (1, 1)

    def extent(self) -> tuple[int, int]:
        """The span of one dilated window: d·(k − 1) + 1 along each axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def padded(self, size: tuple[int, int]) -> tuple[int, int]:
        """The padded image's (H, W) for an image of ``size``."""
        return tuple(n + before + after for n, (before, after) in zip(size, self.padding))

    def out_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """(oH, oW): how many windows fit along each axis, ⌊(Hp − extent)/s⌋ + 1."""
        return tuple(
            (n - e) // s + 1 for n, e, s in zip(self.padded(size), self.extent(), self.stride)
        )


def window(
    op_name: str, kernel_size, stride, padding, dilation=1, ceil_mode: bool = False, size=None
) -> Window:
    """Return the `Window` of an op's arguments (ints or pairs), or a ValueError naming them.

    With ``ceil_mode`` (pooling) the image ``size`` is needed: the bottom/right padding
    grows so that a last, partial window still counts, as in PyTorch: it may overhang the
    padded image by less than the stride, and must start before the bottom/right padding.
    """
    kernel = _pair(op_name, "kernel_size", kernel_size, minimum=1)
    stride = _pair(op_name, "stride", stride, minimum=1)
    pad = _pair(op_name, "padding", padding, minimum=0)
    dilation = _pair(op_name, "dilation", dilation, minimum=1)
    padding = ((pad[0], pad[0]), (pad[1], pad[1]))
    if ceil_mode and size is not None:
        extra = []
        for n, p, k, d, s in zip(size, pad, kernel, dilation, stride):
            span = n + 2 * p - (d * (k - 1) + 1)  # < 0: the kernel is larger than the input
            out = -(-span // s) + 1  # ⌈span/s⌉ + 1 windows, none when span ≤ −s
            if (out - 1) * s >= n + p:  # PyTorch: the last window must start inside the image
                out -= 1
            # No window at all: no extra padding, so check_image reports the kernel larger
            # than the padded input (PyTorch: "Output size is too small")
            extra.append(max(0, (out - 1) * s - span) if out >= 1 else 0)
        padding = ((pad[0], pad[0] + extra[0]), (pad[1], pad[1] + extra[1]))
    return Window(kernel, stride, padding, dilation)


def check_image(op_name: str, shape: tuple, win: Window, what: str = "input") -> None:
    """Raise a ValueError unless ``shape`` is (N, C, H, W) and one window fits the padded image."""
    if len(shape) != 4:
        hint = ""
        if len(shape) == 3:
            hint = (
                f": the batch axis is missing (for one image use x.reshape(1, {shape[0]}, "
                f"{shape[1]}, {shape[2]}))"
            )
        raise ValueError(
            f"{op_name}: expected a 4-D {what} (N, C, H, W), got shape {tuple(shape)}{hint}"
        )
    padded, extent = win.padded(shape[2:]), win.extent()
    if padded[0] < extent[0] or padded[1] < extent[1]:
        (top, _), (left, _) = win.padding
        dilated = f" (dilated to {extent[0]}×{extent[1]})" if extent != win.kernel else ""
        raise ValueError(
            f"{op_name}: the kernel {win.kernel[0]}×{win.kernel[1]}{dilated} is larger than "
            f"the padded input {padded[0]}×{padded[1]} ({what} of shape {tuple(shape)}, "
            f"padding {(top, left)})"
        )


# ---- image ↔ patches ----------------------------------------------------------------


def pad_image(x: np.ndarray, win: Window, value: float = 0.0) -> np.ndarray:
    """x:(N, C, H, W) with ``value`` added around it as ``win.padding`` says (x itself if none)."""
    (top, bottom), (left, right) = win.padding
    if not (top or bottom or left or right):
        return x
    N, C, H, W = x.shape
    out = np.full((N, C, H + top + bottom, W + left + right), value, dtype=x.dtype)
    out[:, :, top : top + H, left : left + W] = x
    return out


def patches(xp: np.ndarray, win: Window, images_first: bool = False) -> np.ndarray:
    """The windows of a padded image xp:(N, C, Hp, Wp) as a read-only strided view
    (C, kH, kW, N, oH, oW): entry [c, i, j, n, p, q] is xp[n, c, p·sH + i·dH, q·sW + j·dW].
    With ``images_first`` the axes are (N, C, kH, kW, oH, oW) instead.

    No number is copied: moving one kernel offset (i → i + 1) steps dH rows of xp, moving
    one window (p → p + 1) steps sH rows, so each axis is one stride of the same memory.
    """
    N, C, Hp, Wp = xp.shape
    (kH, kW), (sH, sW), (dH, dW) = win.kernel, win.stride, win.dilation
    oH, oW = (Hp - win.extent()[0]) // sH + 1, (Wp - win.extent()[1]) // sW + 1
    n, c, h, w = xp.strides
    if images_first:
        shape, strides = (N, C, kH, kW, oH, oW), (n, c, dH * h, dW * w, sH * h, sW * w)
    else:
        shape, strides = (C, kH, kW, N, oH, oW), (c, dH * h, dW * w, n, sH * h, sW * w)
    return as_strided(xp, shape, strides, writeable=False)


def im2col(x: np.ndarray, win: Window) -> np.ndarray:
    """Return the windows of x:(N, C, H, W), zero-padded, as cols:(C·kH·kW, N·oH·oW)."""
    windows = patches(pad_image(x, win), win)
    C, kH, kW, N, oH, oW = windows.shape
    # Always a copy: a 1×1 kernel's windows can already be contiguous, and a view of x
    # would make an op's "fresh" adjoint alias someone else's array.
    return np.array(windows, order="C").reshape(C * kH * kW, N * oH * oW)


def col2im(cols: np.ndarray, shape: tuple, win: Window) -> np.ndarray:
    """Return the adjoint of `im2col`: each window (a column of cols:(C·kH·kW, N·oH·oW),
    or the same numbers as any (C, kH, kW, N, oH, oW) view) added back where it was cut
    from an image of ``shape`` (N, C, H, W), padding dropped.

    One strided add per kernel offset (i, j): the (i, j) entries of all windows land on a
    grid of pixels stepping by the stride. Where windows overlap, a pixel is on several of
    these grids and collects the sum of their partial adjoints. (Where they cannot overlap,
    stride ≥ window as in most pooling, each pixel gets one term: written, not added.)
    """
    N, C, H, W = shape
    (kH, kW), (sH, sW), (dH, dW) = win.kernel, win.stride, win.dilation
    oH, oW = win.out_size((H, W))
    windows = np.reshape(cols, (C, kH, kW, N, oH, oW))
    overlapping = sH < win.extent()[0] or sW < win.extent()[1]
    # Sum in the windows' own memory order (channel-major after a matrix product,
    # image-major from pooling), so the adds read them in order.
    channel_major = windows.strides[0] > windows.strides[3]
    order = (C, N) if channel_major else (N, C)
    xp = np.zeros(order + win.padded((H, W)), dtype=cols.dtype)
    by_channel = xp if channel_major else xp.transpose(1, 0, 2, 3)
    for i in range(kH):
        for j in range(kW):
            rows = slice(i * dH, i * dH + sH * (oH - 1) + 1, sH)
            columns = slice(j * dW, j * dW + sW * (oW - 1) + 1, sW)
            if overlapping:
                by_channel[:, :, rows, columns] += windows[:, i, j]
            else:  # no pixel is in two windows: one term each, written directly
                by_channel[:, :, rows, columns] = windows[:, i, j]
    (top, _), (left, _) = win.padding
    inside = by_channel[:, :, top : top + H, left : left + W].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(inside)


# ---- the ops -----------------------------------------------------------------------


class Unfold(Op):
    """cols = im2col(x): every window of the zero-padded images, one column each.

    x:(N, C, H, W) → cols:(C·kH·kW, N·L), L = oH·oW windows per image; column n·L + l
    holds window l of image n, row c·kH·kW + i·kW + j its entry (c, i, j). (PyTorch's
    F.unfold is the same numbers with the images first: (N, C·kH·kW, L).)
      VJP: x̄ = fold(ḡ) (each window's adjoint added back where it sat; overlaps sum)
      JVP: ċols = unfold(ẋ) (unfold is linear)
    """

    __slots__ = ("win", "shape")
    keeps_finite = True
    symbol, formula, local = "unfold", "unfold({0})", ("fold(ḡ)",)
    fresh_grads = True  # fold makes a new array

    def __init__(self, win: Window):
        self.win = win

    def forward(self, x):
        check_image("unfold", x.shape, self.win)
        self.shape = tuple(x.shape)
        return _recorded(self, im2col(_values(x), self.win), x)

    def backward(self, g):
        return (fold(g, self.shape, self.win),)

    def jvp(self, tx):
        return unfold(tx, self.win)

    def __repr__(self) -> str:
        return f"Unfold({self.win!r})"


class Fold(Op):
    """x = col2im(cols): the adjoint of `Unfold`; overlapping windows are summed.

    cols:(C·kH·kW, N·L) → x:(N, C, H, W) for ``shape`` (N, C, H, W).
      VJP: c̄ols = unfold(ḡ)
      JVP: ẋ = fold(ċols) (fold is linear)
    """

    __slots__ = ("win", "shape")
    symbol, formula, local = "fold", "fold({0})", ("unfold(ḡ)",)
    fresh_grads = True  # unfold copies the windows

    def __init__(self, win: Window, shape: tuple):
        self.win, self.shape = win, tuple(shape)

    def forward(self, cols):
        _check_columns("fold", cols.shape, self.shape, self.win)
        return _recorded(self, col2im(_values(cols), self.shape, self.win), cols)

    def backward(self, g):
        return (unfold(g, self.win),)

    def jvp(self, tcols):
        return fold(tcols, self.shape, self.win)

    def __repr__(self) -> str:
        return f"Fold({self.win!r}, shape={self.shape!r})"


class Conv2d(Op):
    """out = W ⋆ x + b: each output pixel is a weighted sum of one window of every channel.

    x:(N, C_in, H, W)  W:(C_out, C_in/g, kH, kW)  b:(C_out,) → out:(N, C_out, oH, oW),
    g groups (each output channel sees only its group's C_in/g input channels). With
    cols = unfold(x):(C_in·kH·kW, N·L) and W as a matrix (C_out, C_in/g·kH·kW), per group:
      forward: out = W·cols + b            (one matrix product for all images)
      VJP:     x̄ = fold(Wᵀ·ḡ)              (the windows' adjoints, summed where they overlap:
                                             a correlation of ḡ with the flipped kernel)
               W̄ = ḡ·colsᵀ,  b̄ = Σ ḡ over n, oH, oW
      JVP:     ȯut = W·unfold(ẋ) + Ẇ·cols + ḃ
    (ḡ as a matrix: (C_out, N·L), the images side by side as in cols.)
    """

    __slots__ = ("win", "groups", "shape", "cols", "W")
    symbol, formula = "conv2d", "conv2d({0}, {1})"
    local = ("fold(Wᵀ·ḡ)", "ḡ·colsᵀ", "Σ ḡ")
    fresh_grads = True  # every partial is a new array (a fold, a product, a sum)

    def __init__(self, win: Window, groups: int = 1):
        self.win, self.groups = win, groups

    def forward(self, x, W, b=None):
        check_conv(
            "conv2d", x.shape, W.shape, None if b is None else b.shape, self.win, self.groups
        )
        _check_dtypes("conv2d", x, W, b)
        self.shape = tuple(x.shape)
        self.cols = unfold(x, self.win)  # a Tensor when replayed for create_graph
        self.W = W
        return self._apply(W, self.cols, b)

    def _apply(self, W, cols, b):
        """W·cols (+ b) per group, as images (N, C_out, oH, oW)."""
        G, K, O = self.groups, cols.shape[0], W.shape[0]
        out = _group_weight(W, G) @ np.reshape(cols, (G, K // G, -1))  # (G, C_out/G, N·L)
        return _images(
            np.reshape(out, (O, -1)), self.shape[0], self.win.out_size(self.shape[2:]), b
        )

    def backward(self, g):
        need_x, need_W, *need_b = self.needs_input_grad
        G, K, O = self.groups, self.cols.shape[0], g.shape[1]
        g2 = np.reshape(np.transpose(g, (1, 0, 2, 3)), (G, O // G, -1))  # (G, C_out/G, N·L)
        gx = gW = None
        if need_x:
            W_T = np.transpose(_group_weight(self.W, G), (0, 2, 1))  # (G, K/G, C_out/G)
            gx = fold(np.reshape(W_T @ g2, (K, -1)), self.shape, self.win)
        if need_W:
            # W̄ = ḡ·colsᵀ (a sum over every image and window), computed as (cols·ḡᵀ)ᵀ: the
            # same numbers, but BLAS runs the long (K, N·L) × (N·L, C_out) product faster
            g2_T = np.transpose(g2, (0, 2, 1))  # (G, N·L, C_out/G)
            cols_by_group = np.reshape(self.cols, (G, K // G, -1))
            gW = np.reshape(np.transpose(cols_by_group @ g2_T, (0, 2, 1)), self.W.shape)
        if not need_b:
            return gx, gW
        return gx, gW, (np.sum(np.reshape(g2, (O, -1)), axis=1) if need_b[0] else None)

    def jvp(self, tx, tW, tb=None):
        out = None
        if tx is not None:
            out = self._apply(self.W, unfold(tx, self.win), None)
        if tW is not None:
            term = self._apply(tW, self.cols, None)
            out = term if out is None else out + term
        if tb is not None:
            N, O = self.shape[0], tb.shape[0]
            term = np.broadcast_to(
                np.reshape(tb, (O, 1, 1)), (N, O) + self.win.out_size(self.shape[2:])
            )
            out = term if out is None else out + term
        return out

    def __repr__(self) -> str:
        return f"Conv2d({self.win!r}, groups={self.groups})"


class MaxPool2d(Op):
    """out = the largest entry of each window (padding counts as −∞).

    x:(N, C, H, W) → out:(N, C, oH, oW). ``best`` (N, C, oH, oW) is each window's winner,
    as its offset i·kW + j: the first maximum in row-major order on a tie (as PyTorch),
    so exactly one entry gets ḡ. winner = one-hot of best, (N, C, kH, kW, oH, oW).
      VJP: x̄ = fold(ḡ·winner)  (each window's ḡ to its winner; overlapping windows add)
      JVP: ȯut = Σ over the window of unfold(ẋ)·winner (the winner's tangent)
    """

    __slots__ = ("win", "shape", "best")
    symbol, formula, local = "maxpool", "maxpool({0})", ("[x = window max]",)
    fresh_grads = True
    keeps_finite = True  # a max makes no NaN or overflow (a window all padding is −∞, as torch)

    def __init__(self, win: Window):
        self.win = win

    def forward(self, x):
        xv = _values(x)
        check_image("max_pool2d", xv.shape, self.win)
        _check_float("max_pool2d", xv)
        self.shape = xv.shape
        windows = patches(pad_image(xv, self.win, -np.inf), self.win, images_first=True)
        N, C, kH, kW, oH, oW = windows.shape
        out = windows[:, :, 0, 0].copy()  # (N, C, oH, oW)
        for k in range(1, kH * kW):
            np.maximum(out, windows[:, :, k // kW, k % kW], out=out)
        # best = the first offset k that reaches the maximum: Σ k·[first hit at k]
        self.best = best = np.zeros(out.shape, dtype=np.min_scalar_type(kH * kW - 1))
        unclaimed, hit = np.ones(out.shape, dtype=bool), np.empty(out.shape, dtype=bool)
        for k in range(kH * kW):
            np.equal(windows[:, :, k // kW, k % kW], out, out=hit)
            hit &= unclaimed  # a tie: only the first maximum counts
            unclaimed ^= hit
            if k:
                best += hit.view(np.uint8) * best.dtype.type(k)
        return _recorded(self, out, x)

    def winner(self, dtype) -> np.ndarray:
        """The one-hot (N, C, kH, kW, oH, oW) of ``best``: 1 at each window's winner."""
        kH, kW = self.win.kernel
        offsets = np.arange(kH * kW, dtype=self.best.dtype).reshape(kH, kW, 1, 1)
        return (self.best[:, :, None, None] == offsets).astype(dtype)

    def backward(self, g):
        N, C, oH, oW = g.shape
        cols = _routed(np.reshape(g, (N, C, 1, 1, oH, oW)), self.winner(_values(g).dtype))
        return (fold(np.transpose(cols, (1, 2, 3, 0, 4, 5)), self.shape, self.win),)

    def jvp(self, tx):
        N, C, oH, oW = self.best.shape
        kH, kW = self.win.kernel
        windows = np.reshape(unfold(tx, self.win), (C, kH, kW, N, oH, oW))
        winner = np.transpose(self.winner(_values(tx).dtype), (1, 2, 3, 0, 4, 5))
        return np.transpose(np.sum(_routed(windows, winner), axis=(1, 2)), (1, 0, 2, 3))

    def __repr__(self) -> str:
        return f"MaxPool2d({self.win!r})"


class AvgPool2d(Op):
    """out = the mean of each window: its sum over ``count`` (kH·kW, or with
    ``count_include_pad=False`` only the entries inside the image).

    x:(N, C, H, W) → out:(N, C, oH, oW)
      VJP: x̄ = fold(ḡ/count copied to every entry of the window)
      JVP: ȯut = avgpool(ẋ) (linear)
    """

    __slots__ = ("win", "count_include_pad", "shape", "count")
    symbol, formula, local = "avgpool", "avgpool({0})", ("1/count",)
    fresh_grads = True

    def __init__(self, win: Window, count_include_pad: bool = True):
        self.win, self.count_include_pad = win, count_include_pad

    def forward(self, x):
        check_image("avg_pool2d", x.shape, self.win)
        _check_float("avg_pool2d", _values(x))
        self.shape = tuple(x.shape)
        self.count = self._count(_values(x).dtype)  # (oH, oW)
        if isinstance(x, Tensor):  # a create_graph replay: the window sums through ops
            windows = np.reshape(unfold(x, self.win), self._windows_shape())
            return np.transpose(np.sum(windows, axis=(1, 2)), (1, 0, 2, 3)) / self.count
        windows = patches(pad_image(x, self.win), self.win, images_first=True)
        return np.sum(windows, axis=(2, 3)) / self.count

    def _windows_shape(self) -> tuple:
        """(C, kH, kW, N, oH, oW): unfold's columns, one axis each."""
        N, C, H, W = self.shape
        return (C,) + self.win.kernel + (N,) + self.win.out_size((H, W))

    def _count(self, dtype) -> np.ndarray:
        """(oH, oW): how many entries each window averages, the window sums of a mask of
        what counts: the image, and with count_include_pad its padding too (but never
        ceil_mode's overhang at the bottom and right, as PyTorch)."""
        H, W = self.shape[2:]
        mask = np.zeros((1, 1) + self.win.padded((H, W)), dtype)
        (top, _), (left, _) = self.win.padding
        if self.count_include_pad:
            mask[:, :, : H + 2 * top, : W + 2 * left] = 1
        else:
            mask[:, :, top : top + H, left : left + W] = 1
        return patches(mask, self.win).sum(axis=(1, 2))[0, 0]

    def backward(self, g):
        C, kH, kW, N, oH, oW = shape = self._windows_shape()
        share = np.reshape(np.transpose(g / self.count, (1, 0, 2, 3)), (C, 1, 1, N, oH, oW))
        cols = np.reshape(np.broadcast_to(share, shape), (C * kH * kW, N * oH * oW))
        return (fold(cols, self.shape, self.win),)

    def jvp(self, tx):
        return avg_pool(tx, self.win, self.count_include_pad)

    def __repr__(self) -> str:
        return f"AvgPool2d({self.win!r}, count_include_pad={self.count_include_pad})"


class Pad(Op):
    """out = x with constant ``value`` added around its last axes (torch.nn.functional.pad).

    ``widths`` lists (before, after) per axis, first axis first; x:(…) → out:(… + widths)
      VJP: x̄ = ḡ[the slice where x sits]
      JVP: ȯut = ẋ padded with zeros (the constant has no tangent)
    """

    __slots__ = ("widths", "value", "inside")
    keeps_finite = True
    symbol, formula, local = "pad", "pad({0})", ("1",)

    def __init__(self, widths: tuple, value: float = 0.0):
        self.widths, self.value = tuple(widths), value

    def forward(self, x):
        xv = _values(x)
        self.inside = tuple(slice(a, a + n) for (a, _), n in zip(self.widths, xv.shape))
        out = np.full(
            tuple(n + a + b for (a, b), n in zip(self.widths, xv.shape)), self.value, xv.dtype
        )
        out[self.inside] = xv
        return _recorded(self, out, x)

    def backward(self, g):
        return (g[self.inside],)

    def jvp(self, tx):
        return _run(Pad(self.widths, 0.0), tx)

    def __repr__(self) -> str:
        return f"Pad({self.widths!r}, value={self.value!r})"


# ---- the linear pieces, on arrays or (create_graph, reverse over forward) on Tensors ----


def unfold(x, win: Window):
    """unfold(x) (C·kH·kW, N·L) of an array, or an Unfold node of a Tensor."""
    return _run(Unfold(win), x)


def fold(cols, shape: tuple, win: Window):
    """fold(cols) (N, C, H, W) of an array, or a Fold node of a Tensor.

    ``cols`` is (C·kH·kW, N·L), or also any (C, kH, kW, N, oH, oW) view of the same
    numbers (for arrays, col2im reads it in place, without a copy into the 2-D layout).
    """
    if cols.ndim == 6:
        C, kH, kW, N, oH, oW = cols.shape
        if isinstance(cols, Tensor):
            return _run(Fold(win, shape), np.reshape(cols, (C * kH * kW, N * oH * oW)))
        _check_columns("fold", (C * kH * kW, N * oH * oW), shape, win)
        return col2im(cols, shape, win)
    return _run(Fold(win, shape), cols)


def avg_pool(x, win: Window, count_include_pad: bool = True):
    """The window means of an array, or an AvgPool2d node of a Tensor."""
    return _run(AvgPool2d(win, count_include_pad), x)


def _run(op: Op, *inputs):
    """``op`` on arrays (its forward), or recorded as a node when an input is a Tensor.

    Backward and tangent rules call the linear pieces (Unfold, Fold) through this, so
    on plain arrays they compute and under create_graph they build differentiable nodes.
    """
    if any(isinstance(a, Tensor) for a in inputs):
        tensors = [
            a if isinstance(a, Tensor) else Constant._node(a, None, (), False) for a in inputs
        ]
        return apply_op(op, *tensors)
    op.needs_input_grad = (True,) * len(inputs)
    return op.forward(*inputs)


def _recorded(op: Op, out: np.ndarray, *inputs):
    """``out`` as it is for arrays; for Tensor inputs (a create_graph replay, or forward
    mode carrying Tensors) a node of a copy of ``op``, so the result stays differentiable
    as every op's forward does on Tensors."""
    if any(isinstance(a, Tensor) for a in inputs):
        return _run(copy.copy(op), *inputs)
    return out


def _group_weight(W, groups: int):
    """W:(C_out, C_in/g, kH, kW) as g matrices (C_out/g, C_in/g·kH·kW)."""
    return np.reshape(W, (groups, W.shape[0] // groups, -1))


def _images(out, n: int, out_size: tuple, b=None):
    """out:(C_out, N·oH·oW), images side by side, as (N, C_out, oH, oW) (+ b per channel).

    For arrays: one pass that transposes into a fresh batch-major array and adds the
    bias, so the next op reads contiguous memory.
    """
    O = out.shape[0]
    images = np.transpose(np.reshape(out, (O, n) + tuple(out_size)), (1, 0, 2, 3))
    if isinstance(out, Tensor) or (b is not None and isinstance(b, Tensor)):
        return images if b is None else images + np.reshape(b, (O, 1, 1))
    if b is None:
        return np.ascontiguousarray(images)
    return np.add(images, np.reshape(b, (O, 1, 1)), order="C")


# ---- checking input ----------------------------------------------------------------


def check_conv(
    op_name: str, x_shape: tuple, w_shape: tuple, b_shape, win: Window, groups: int
) -> None:
    """Raise a ValueError naming the shapes unless x, W (and b) make a convolution."""
    if len(w_shape) != 4:
        raise ValueError(
            f"{op_name}: weight must be 4-D (C_out, C_in/groups, kH, kW), got shape "
            f"{tuple(w_shape)}"
        )
    if tuple(w_shape[2:]) != win.kernel:
        raise ValueError(f"{op_name}: weight {tuple(w_shape)} has a kernel other than {win.kernel}")
    check_image(op_name, x_shape, win)
    C, (O, Cg) = x_shape[1], w_shape[:2]
    if O % groups:
        raise ValueError(
            f"{op_name}: groups = {groups} must divide the output channels, but weight of "
            f"shape {tuple(w_shape)} has {O}"
        )
    if C != Cg * groups:
        hint = f"; groups = {groups} must also divide the input channels {C}" if C % groups else ""
        raise ValueError(
            f"{op_name}: input has {C} channels, weight expects {Cg}·groups = {Cg * groups} "
            f"(input {tuple(x_shape)}, weight {tuple(w_shape)}, groups = {groups}){hint}"
        )
    if b_shape is not None and tuple(b_shape) != (O,):
        raise ValueError(
            f"{op_name}: bias of shape {tuple(b_shape)} does not match the {O} output "
            f"channels of weight {tuple(w_shape)} (expected ({O},))"
        )


def _check_columns(op_name: str, shape: tuple, image_shape: tuple, win: Window) -> None:
    """Raise a ValueError unless ``shape`` is (C·kH·kW, N·L) for images of ``image_shape``."""
    check_image(op_name, image_shape, win, what="output")
    N, C, H, W = image_shape
    K, L = C * win.kernel[0] * win.kernel[1], N * math.prod(win.out_size((H, W)))
    if tuple(shape) != (K, L):
        raise ValueError(
            f"{op_name}: columns of shape {tuple(shape)} do not fit images of shape "
            f"{tuple(image_shape)} with a {win.kernel[0]}×{win.kernel[1]} kernel: expected "
            f"({K}, {L}) (C·kH·kW, N·oH·oW)"
        )


def _check_float(op_name: str, x: np.ndarray) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op_name}: expected floating-point input, got {x.dtype}")


def _check_dtypes(op_name: str, x, W, b) -> None:
    """Input, weight and bias must share one floating dtype (no silent float64 promotion)."""
    dtypes = [_values(a).dtype for a in (x, W, b) if a is not None]
    if dtypes[0].kind != "f" or len(set(dtypes)) > 1:
        names = ", ".join(f"{n} {d}" for n, d in zip(("input", "weight", "bias"), dtypes))
        raise TypeError(
            f"{op_name}: input, weight and bias need one floating-point dtype, got {names} "
            "(convert with x.astype(np.float32), or build the layer with dtype=...)"
        )


def _pair(op_name: str, what: str, value, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as (h, w), each at least ``minimum``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair)
    ):
        raise TypeError(f"{op_name}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        need = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op_name}: {what} must be {need}, got {value!r}")
    return int(pair[0]), int(pair[1])
