"""Making tensors: ``tensor``, ``zeros``, ``ones``, ``arange``, ``randn``, and under PyTorch's
names ``zeros_like``, ``ones_like``, ``linspace``, ``rand``, ``from_numpy``, and the two joins
a PyTorch script reaches for, ``cat`` and ``where``.

As everywhere in vecgrad, float data is float32 unless told, and randomness is explicit:
``rand`` (like ``randn``) takes a ``numpy.random.Generator``, never a global seed.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import array_ops, torch_ops
from .checks import as_array, broadcast_shape
from .tensor import Tensor, _operand, apply_op, concatenate


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype (or ``dtype``); ``t`` a Tensor or an array."""
    return Tensor(np.zeros_like(_numbers(t, "zeros_like"), dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype (or ``dtype``); ``t`` a Tensor or an array."""
    return Tensor(np.ones_like(_numbers(t, "ones_like"), dtype=dtype), requires_grad)


def linspace(
    start, end, steps: int, dtype=np.float32, requires_grad: bool = False, name: str = ""
) -> Tensor:
    """``steps`` evenly spaced numbers from ``start`` to ``end``, both included (as torch)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be an int ≥ 0, got {steps!r}")
    data = np.linspace(start, end, int(steps)).astype(dtype)  # computed in float64
    return Tensor(data, requires_grad=requires_grad, name=name)


def tensor(data, requires_grad: bool = False, dtype=None, name: str = "") -> Tensor:
    """Return ``Tensor(data, requires_grad, dtype, name)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def zeros(shape, dtype=np.float32, requires_grad: bool = False, name: str = "") -> Tensor:
    """Return a tensor of zeros (float32 unless told)."""
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad, name=name)


def ones(shape, dtype=np.float32, requires_grad: bool = False, name: str = "") -> Tensor:
    """Return a tensor of ones (float32 unless told)."""
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad, name=name)


def randn(
    shape,
    rng: np.random.Generator,
    dtype=np.float32,
    requires_grad: bool = False,
    name: str = "",
) -> Tensor:
    """Return standard-normal samples drawn from ``rng`` (explicit randomness, no globals)."""
    data = _generator("randn", rng).standard_normal(shape, dtype=np.dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, name=name)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Return evenly spaced numbers as ``numpy.arange`` (ints stay ints; floats float32)."""
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and data.dtype == np.float64:
        data = data.astype(np.float32)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def rand(
    shape,
    rng: np.random.Generator,
    dtype=np.float32,
    requires_grad: bool = False,
    name: str = "",
) -> Tensor:
    """Uniform samples in [0, 1) drawn from ``rng`` (explicit randomness, no globals)."""
    data = _generator("rand", rng).random(shape, dtype=np.dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, name=name)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array`` (no copy: a change to one shows in the other).

    The dtype is kept, as ``torch.from_numpy``; an in-place op on the tensor writes into
    the array, and a read-only array makes a tensor that refuses in-place ops.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"from_numpy: expected a numpy.ndarray, got {type(array).__name__} "
            "(vecgrad.tensor(data) copies any data)"
        )
    return Tensor._node(as_array(array, None, "from_numpy"), None, (), False)


@torch_ops.accepts_dim
def cat(tensors, axis: int = 0) -> Tensor:
    """The tensors joined along an existing ``dim``: PyTorch's name for `concatenate`."""
    return concatenate(tensors, axis=axis)


def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` holds, else ``y``, broadcast together (``torch.where``).

    out = where(c, x, y);  x̄ = ḡ·c,  ȳ = ḡ·(1 − c), each summed back over broadcast axes.
    ``cond`` is booleans (``x > 0`` gives them); x and y are Tensors, arrays or numbers.
    """
    cond = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: cond must be booleans (e.g. x > 0), got dtype {cond.dtype}")
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    if like is None:
        like = Tensor(x)
    x, y = _operand(x, like, "where"), _operand(y, like, "where")
    shape = broadcast_shape("where", x.shape, y.shape)
    shape = broadcast_shape("where", cond.shape, shape)
    if cond.shape != shape:
        cond = np.broadcast_to(cond, shape)
    x, y = _broadcast_input(x, shape), _broadcast_input(y, shape)
    return apply_op(torch_ops.Where(cond), x, y)


def _broadcast_input(t: Tensor, shape: tuple) -> Tensor:
    """``t`` broadcast to ``shape``: a BroadcastTo node for an input that needs a gradient
    (its backward sums ḡ back), the plain broadcast numbers otherwise."""
    if t.shape == shape:
        return t
    if t.requires_grad:
        return apply_op(array_ops.BroadcastTo(shape), t)
    return Tensor._node(np.broadcast_to(t.data, shape), None, (), False)


def _numbers(t, where: str) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.data
    if isinstance(t, numbers.Number):
        raise TypeError(f"{where}: expected a Tensor or an array, got the number {t!r}")
    return as_array(t, None, where)


__all__ = ["zeros_like", "ones_like", "linspace", "rand", "from_numpy", "cat", "where"]


def _generator(where: str, rng) -> np.random.Generator:
    """``rng`` if it is a numpy Generator, else a TypeError saying how to make one."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{where}: rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )
    return rng
