"""Softmax and the losses built on it, as fused ops: softmax, log-softmax, cross-entropy.

Each shifts its input by the row maximum before exponentiating (the shift cancels in
softmax, hence in every derivative), so logits of ±1e4 give finite results; each keeps
softmax(x) from forward, so backward and jvp are one or two array expressions.
"""

from __future__ import annotations

import math

import numpy as np

from .checks import check_distributions, normalize_axes
from .ops import Op


class Softmax(Op):
    """out = eˣ / Σ eˣ over axis (computed after shifting by max x, so eˣ never overflows);
    x̄ = out·(ḡ − Σ ḡ·out);  ȯut = out·(ẋ − Σ ẋ·out)"""

    __slots__ = ("axis", "out")
    symbol, formula, local = "softmax", "softmax({0})", ("softmax({0})·(1 − softmax({0}))",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        (self.axis,) = normalize_axes("softmax", self.axis, x.shape)
        _, exp_shifted, total = _shifted_exp(x, self.axis)
        self.out = exp_shifted / total
        return self.out

    def backward(self, g):
        out = self.out
        return (out * (g - np.sum(g * out, axis=self.axis, keepdims=True)),)

    def jvp(self, dx):
        out = self.out
        return out * (dx - np.sum(dx * out, axis=self.axis, keepdims=True))

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis!r})"


class LogSoftmax(Op):
    """out = x − log Σ eˣ over axis (computed after shifting by max x, so eˣ never
    overflows);  x̄ = ḡ − softmax(x)·Σ ḡ;  ȯut = ẋ − Σ softmax(x)·ẋ"""

    __slots__ = ("axis", "probs")
    symbol, formula, local = "log_softmax", "log_softmax({0})", ("1 − softmax({0})",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        (self.axis,) = normalize_axes("log_softmax", self.axis, x.shape)
        shifted, exp_shifted, total = _shifted_exp(x, self.axis)
        self.probs = exp_shifted / total
        return shifted - np.log(total)

    def backward(self, g):
        return (g - self.probs * np.sum(g, axis=self.axis, keepdims=True),)

    def jvp(self, dx):
        return dx - np.sum(self.probs * dx, axis=self.axis, keepdims=True)

    def __repr__(self) -> str:
        return f"LogSoftmax(axis={self.axis!r})"


class CrossEntropy(Op):
    """loss = −Σ p·log softmax(z) / n  z:(n,k) logits, p:(n,k) target rows (one-hot for
    labels), n rows for reduction="mean", 1 for "sum";  z̄ = ḡ·(softmax(z) − p)/n;
    ȯut = Σ (softmax(z) − p)·ż / n

    Fused: softmax is computed once, in forward, and its backward is one subtraction.
    """

    __slots__ = ("labels", "target", "scale", "probs", "index")
    symbol, formula, local = "cross_entropy", "cross_entropy({0})", ("(softmax({0}) − p)/n",)

    def __init__(self, labels: np.ndarray | None, target: np.ndarray | None, reduction: str):
        # Either integer labels (n,) (p is their one-hot rows: picking beats multiplying)
        # or probability rows (n, k); both checked by functional.cross_entropy, and the
        # rows' sums and signs here.
        if target is not None:
            check_distributions("cross_entropy", target)
        self.labels, self.target = labels, target
        rows = labels.size if labels is not None else math.prod(target.shape[:-1])
        self.scale = 1 / rows if reduction == "mean" else 1

    @property
    def name(self) -> str:
        return "cross_entropy"

    def forward(self, z):
        shifted, exp_shifted, total = _shifted_exp(z, -1)
        self.probs = exp_shifted / total
        if self.labels is not None:  # −log softmax(z)[y] = log Σ e^(z−m) − (z−m)[y], both ≥ 0
            self.index = label_index(self.labels)
            return (np.log(total).sum() - shifted[self.index].sum()) * self.scale
        return -(self.target * (shifted - np.log(total))).sum() * self.scale

    def backward(self, g):
        return ((self.probs - self._target()) * (g * self.scale),)

    def jvp(self, dz):
        return np.sum((self.probs - self._target()) * dz) * self.scale

    def _target(self):
        """p: the target rows, or one-hot rows of the labels (made only when needed)."""
        if self.target is not None:
            return self.target
        target = np.zeros(self.probs.shape, dtype=self.probs.dtype)
        target[self.index] = 1
        return target


# ---- helpers ----------------------------------------------------------------------


def _shifted_exp(x, axis: int):
    """(x − m, e^(x − m), Σ e^(x − m)) with m = max x along axis, so that no eˣ overflows;
    the shift cancels in softmax, hence in every gradient."""
    top = _max_keepdims(x, axis)
    shifted = x - top
    exp_shifted = np.exp(shifted)
    return shifted, exp_shifted, exp_shifted.sum(axis=axis, keepdims=True)


def _max_keepdims(a, axis: int):
    """The max of ``a`` along ``axis``, kept as an axis of size 1 (``keepdims=True``).

    Many short rows (a batch of logits, 100 × 10) are the slow case of numpy's reduction
    along the last axis, one short loop per row; reducing a transposed copy along its first
    axis takes maxima of whole columns at once instead: the same numbers, 2–3× faster.
    (A Tensor, in a create_graph replay, takes numpy's way: the shift is a graph node too.)
    """
    if type(a) is np.ndarray and a.ndim == 2 and axis in (1, -1) and a.shape[1] <= 32 <= a.shape[0]:
        return a.T.copy().max(axis=0)[:, None]
    return np.max(a, axis=axis, keepdims=True)


def label_index(labels: np.ndarray) -> tuple:
    """The index that picks entry ``labels[i]`` of each row i: ``(range(n), labels)``."""
    if labels.ndim == 1:
        return (np.arange(labels.shape[0]), labels)
    return tuple(np.indices(labels.shape, sparse=True)) + (labels,)
