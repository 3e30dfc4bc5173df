"""The lecture's notation as functions over tensors: ``log(x) + x * y - sin(y)``.

scalargrad/functions.py for arrays: each function calls the Tensor method of the same
name; a number, list or array is first wrapped as a Tensor that needs no gradient.
"""

from __future__ import annotations

from .tensor import Tensor, as_array, concatenate, matmul, maximum, minimum, stack
from .torch_ops import accepts_dim


def _as_tensor(x, where: str) -> Tensor:
    """``x`` itself if a Tensor, else its numbers as a Tensor that needs no gradient."""
    if getattr(x, "lifts_tensors", False):  # a forward-mode Dual: it has the same methods
        return x
    return x if isinstance(x, Tensor) else Tensor._node(as_array(x, None, where), None, (), False)


def _unary(method: str):
    def apply(x) -> Tensor:
        return getattr(_as_tensor(x, method), method)()

    apply.__name__ = apply.__qualname__ = method
    apply.__doc__ = f"Return ``x.{method}()``: {getattr(Tensor, method).__doc__}"
    return apply


log = _unary("log")
exp = _unary("exp")
sin = _unary("sin")
cos = _unary("cos")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
relu = _unary("relu")
ln = log


@accepts_dim
def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - numpy's name
    """Return Σ x over ``axis`` (all axes when None), as ``numpy.sum``."""
    return _as_tensor(x, "sum").sum(axis=axis, keepdims=keepdims)


@accepts_dim
def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Return the mean of x over ``axis`` (all axes when None), as ``numpy.mean``."""
    return _as_tensor(x, "mean").mean(axis=axis, keepdims=keepdims)


__all__ = [
    "log",
    "ln",
    "exp",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "maximum",
    "minimum",
    "matmul",
    "sum",
    "mean",
    "concatenate",
    "stack",
]
