"""How numpy hands its functions to vecgrad's node types: `Tensor` and forward-mode `Dual`.

``np.exp(t)``, ``ndarray * t`` and ``np.sum(t, axis=0)`` reach a node through numpy's
``__array_ufunc__`` and ``__array_function__``. Both node types answer from tables built
here once, so the ops' forward and backward can be written with numpy calls and still run
on nodes (that is how ``create_graph`` and forward mode replay them).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class NumpyDispatch:
    """Mixin: numpy calls go to the tables a node type sets in ``_ufuncs``/``_functions``."""

    __slots__ = ()
    _ufuncs: dict = {}
    _functions: dict = {}
    _numpy_refusal = ""  # what to say when numpy asks for something with no rule

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``ndarray * node``, ``np.exp(node)``: numpy hands the call to the node's op."""
        handler = self._ufuncs.get(ufunc)
        if method != "__call__" or kwargs or handler is None:
            raise TypeError(
                f"numpy.{ufunc.__name__}{'.' + method if method != '__call__' else ''}"
                f"{' with ' + ', '.join(kwargs) if kwargs else ''} is not supported on "
                f"{self._numpy_refusal}"
            )
        return handler(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(node)``, ``np.concatenate([a, b])``: numpy hands the call to vecgrad."""
        handler = self._functions.get(func)
        if handler is None:
            raise TypeError(f"numpy.{func.__name__} is not supported on {self._numpy_refusal}")
        return handler(*args, **kwargs)


def ufunc_table(
    binary: Callable,
    rules: dict[str, type],
    power: Callable,
    maximum: Callable,
    minimum: Callable,
    matmul: Callable,
    plain: Callable,
) -> dict:
    """Return numpy ufunc → handler for a node type.

    ``binary(rule, a, b)`` applies a two-operand rule (``rules["add"]()`` …); comparisons
    read the plain numbers (``plain(x)``): they are piecewise constant, with no gradient.
    """

    def compare(ufunc):
        return lambda a, b: ufunc(plain(a), plain(b))

    return {
        np.add: lambda a, b: binary(rules["add"](), a, b),
        np.subtract: lambda a, b: binary(rules["sub"](), a, b),
        np.multiply: lambda a, b: binary(rules["mul"](), a, b),
        np.true_divide: lambda a, b: binary(rules["div"](), a, b),
        np.power: power,
        np.negative: lambda a: -a,
        np.positive: lambda a: a,
        np.log: lambda a: a.log(),
        np.exp: lambda a: a.exp(),
        np.sin: lambda a: a.sin(),
        np.cos: lambda a: a.cos(),
        np.tanh: lambda a: a.tanh(),
        np.absolute: lambda a: a.abs(),
        np.sqrt: lambda a: a**0.5,
        np.square: lambda a: a**2,
        np.maximum: maximum,
        np.minimum: minimum,
        np.matmul: matmul,
        **{ufunc: compare(ufunc) for ufunc in _COMPARISONS},
    }


_COMPARISONS = (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal)


def function_table(
    lift: Callable, concatenate: Callable, stack: Callable, matmul: Callable, kind: str
) -> dict:
    """Return numpy function → handler; ``lift(a)`` makes a node of a plain array."""

    def reduction(method: str):
        def reduce(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
            if dtype is not None or out is not None or rest:
                raise TypeError(f"numpy.{method} on a {kind} takes only axis and keepdims")
            return getattr(lift(a), method)(axis=axis, keepdims=keepdims)

        return reduce

    return {
        np.sum: reduction("sum"),
        np.mean: reduction("mean"),
        np.max: reduction("max"),
        np.amax: reduction("max"),
        np.reshape: lambda a, shape=None, **kw: lift(a).reshape(shape),
        np.transpose: lambda a, axes=None: lift(a).transpose(axes),
        np.swapaxes: lambda a, axis1, axis2: lift(a).swapaxes(axis1, axis2),
        np.broadcast_to: lambda a, shape, subok=False: lift(a).broadcast_to(shape),
        np.concatenate: lambda arrays, axis=0: concatenate(arrays, axis),
        np.stack: lambda arrays, axis=0: stack(arrays, axis),
        np.matmul: matmul,
        np.ndim: lambda a: lift(a).ndim,
        np.shape: lambda a: lift(a).shape,
        np.size: lambda a, axis=None: lift(a).size if axis is None else lift(a).shape[axis],
    }
