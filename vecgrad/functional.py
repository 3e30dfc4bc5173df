"""A layer's affine map ``linear``; softmax and the losses built on it: ``softmax``,
``log_softmax``, ``nll_loss``, ``cross_entropy`` (as in ``torch.nn.functional``).

All of them shift the logits by their maximum before exponentiating, so logits of ±1e4
give finite results. ``cross_entropy`` is one fused op whose backward is softmax − p;
``linear`` is one op whose backward sums the bias's gradient over the rows.
"""

from __future__ import annotations

import numpy as np

from .array_ops import Linear, MatMul
from .checks import as_array, at, first
from .softmax_ops import CrossEntropy, LogSoftmax, Softmax, label_index
from .tensor import Tensor, apply_op
from .torch_ops import accepts_dim

_REDUCTIONS = ("mean", "sum")


def linear(x, W, b=None) -> Tensor:
    """Return x @ W + b: the affine map of a layer (``nn.Linear``), as one graph node.

    out = x @ W + b  x:(…, d) W:(d, k) b:(k,) → (…, k);  x̄ = ḡ·Wᵀ,  W̄ = xᵀ·ḡ,  b̄ = Σ ḡ over
    rows. W is (in, out), the transpose of torch's weight. Without ``b`` it is ``x @ W``.
    """
    x, W = _tensor(x, "linear"), _tensor(W, "linear")
    x_shape, w_shape = x.data.shape, W.data.shape
    if len(w_shape) != 2 or W.data.dtype.kind != "f":
        raise ValueError(
            f"linear: W must be a floating-point matrix (in, out), got shape {w_shape} "
            f"and dtype {W.data.dtype}"
        )
    if not x_shape or x_shape[-1] != w_shape[0]:
        raise ValueError(
            f"linear: x of shape {x_shape} needs {w_shape[0]} features on its last axis "
            f"for W of shape {w_shape}"
        )
    if b is None:
        return apply_op(MatMul(), x, W)
    b = _tensor(b, "linear")
    if b.data.shape != w_shape[1:]:
        raise ValueError(
            f"linear: b of shape {b.data.shape} does not match W of shape {w_shape} "
            f"(expected ({w_shape[1]},))"
        )
    return apply_op(Linear(), x, W, b)


@accepts_dim
def softmax(x, axis: int = -1) -> Tensor:
    """Return eˣ / Σ eˣ along ``axis``: rows of probabilities.

    softmax(x)ᵢ = e^(xᵢ−m) / Σⱼ e^(xⱼ−m) with m = max x (the shift cancels; nothing overflows).
    """
    return apply_op(Softmax(_axis("softmax", axis)), _tensor(x, "softmax"))


@accepts_dim
def log_softmax(x, axis: int = -1) -> Tensor:
    """Return log softmax(x) along ``axis``, by log-sum-exp: (x − m) − log Σ e^(x − m)."""
    return apply_op(LogSoftmax(_axis("log_softmax", axis)), _tensor(x, "log_softmax"))


def nll_loss(log_probs, target, reduction: str = "mean") -> Tensor:
    """Return the negative log-likelihood −log_probs[i, target_i], averaged (or summed).

    ``log_probs``: (n, k) log-probabilities (from `log_softmax`); ``target``: n integer
    labels in 0…k−1. With more axes, PyTorch's layout: (n, k, d1, …) with labels (n, d1, …).
    """
    log_probs = _tensor(log_probs, "nll_loss")
    _check_reduction("nll_loss", reduction)
    if log_probs.ndim > 2:
        log_probs = _classes_last("nll_loss", log_probs, target)
    labels = _labels("nll_loss", target, log_probs.shape)
    picked = log_probs[label_index(labels)]
    return -(picked.mean() if reduction == "mean" else picked.sum())


def cross_entropy(logits, target, reduction: str = "mean") -> Tensor:
    """Return the cross-entropy of softmax(logits) against ``target``, averaged over rows.

    loss = −(1/n)·Σᵢ Σⱼ pᵢⱼ·log softmax(zᵢ)ⱼ with z = logits (n, k); ``target`` is either n
    integer labels (p one-hot) or (n, k) probability rows. One fused op: z̄ = ḡ·(softmax(z) − p)/n.
    ``reduction="sum"`` drops the 1/n. With more axes, PyTorch's layout: logits (n, k, d1, …)
    with labels (n, d1, …) or probabilities (n, k, d1, …), one row per position.
    """
    logits = _tensor(logits, "cross_entropy")
    _check_reduction("cross_entropy", reduction)
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits need a class axis (shape (n, k)), got shape ()")
    if logits.data.size == 0:
        raise ValueError(f"cross_entropy: no rows or no classes in logits of shape {logits.shape}")
    target = _target_array("cross_entropy", target)
    if logits.ndim > 2:
        logits = _classes_last("cross_entropy", logits, target)
        if target.dtype.kind == "f" and target.ndim > 2:
            target = np.moveaxis(target, 1, -1)
    if target.dtype.kind in "iu":
        op = CrossEntropy(_labels("cross_entropy", target, logits.shape), None, reduction)
    elif target.dtype.kind == "f":
        if target.shape != logits.shape:
            raise ValueError(
                f"cross_entropy: probability targets must have the logits' shape "
                f"{logits.shape}, got {target.shape}"
            )
        op = CrossEntropy(None, target.astype(logits.dtype, copy=False), reduction)
    else:
        raise TypeError(
            f"cross_entropy: target must be integer labels or float probability rows, "
            f"got dtype {target.dtype}"
        )
    return apply_op(op, logits)


# ---- checking input --------------------------------------------------------------


def _tensor(x, where: str) -> Tensor:
    """``x`` itself if a Tensor, else its numbers as a Tensor that needs no gradient."""
    return x if isinstance(x, Tensor) else Tensor._node(as_array(x, None, where), None, (), False)


def _classes_last(where: str, scores: Tensor, target) -> Tensor:
    """Scores in PyTorch's layout (n, k, d1, …) as (n, d1, …, k): one row per position, the
    classes last, as the ops take them (a Transpose node, so ḡ goes back the same way)."""
    shape = scores.shape
    target_shape = np.shape(target)
    labels = np.asarray(target).dtype.kind in "iu"
    expected = shape[:1] + shape[2:] if labels else shape
    if target_shape != expected:
        what = "labels" if labels else "probabilities"
        raise ValueError(
            f"{where}: scores of shape {shape} have their {shape[1]} classes on axis 1 (PyTorch's "
            f"layout (n, classes, d1, …)), so {what} need shape {expected}, got {target_shape}"
        )
    return scores.permute(0, *range(2, len(shape)), 1)


def _axis(where: str, axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be one int, got {axis!r}")
    return int(axis)


def _check_reduction(where: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{where}: reduction must be 'mean' or 'sum', got {reduction!r}")


def _target_array(where: str, target) -> np.ndarray:
    """The target's numbers; a target that requires grad is refused (it is a constant here)."""
    if isinstance(target, Tensor):
        if target.requires_grad:
            raise ValueError(
                f"{where}: the target is treated as a constant, but it requires grad; "
                "pass target.detach()"
            )
        return target.data
    array = np.asarray(target)
    return array if array.dtype.kind in "iu" else as_array(target, None, where)


def _labels(where: str, target, shape: tuple) -> np.ndarray:
    """Integer class labels for scores of ``shape`` (classes last), checked in range."""
    labels = target if isinstance(target, np.ndarray) else _target_array(where, target)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{where}: labels must be integers, got dtype {labels.dtype}")
    if labels.shape != shape[:-1]:
        raise ValueError(
            f"{where}: {labels.shape} labels do not match scores of shape {shape} "
            f"(expected labels of shape {shape[:-1]})"
        )
    classes = shape[-1]
    # As unsigned numbers, negative labels wrap around to huge ones: one max checks both ends.
    if labels.size and labels.astype(np.uint64).max() >= classes:
        bad = (labels < 0) | (labels >= classes)
        raise ValueError(
            f"{where}: label {first(labels, bad)}{at(bad)} is out of range for "
            f"{classes} classes (0…{classes - 1})"
        )
    return labels


# ---- regularisation (appended by the vecgrad.nn / train_mnist work) ------------------


def l2_penalty(params) -> Tensor:
    """Return Σ‖W‖², the sum of the squares of every entry of every given parameter.

    The course's L2 regulariser: loss = cross_entropy + λ·l2_penalty(weights), whose
    gradient adds 2λ·W to each W (SGD's ``weight_decay`` = 2λ is the same step).
    """
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError("l2_penalty: got no parameters (pass e.g. the weight matrices)")
    total = None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"l2_penalty: parameter {i} is a {type(p).__name__}, not a Tensor")
        square = (p * p).sum()
        total = square if total is None else total + square
    return total


from .conv_functional import avg_pool2d, conv2d, max_pool2d, pad  # noqa: E402,F401
