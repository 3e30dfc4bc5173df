"""How numpy hands its functions to vecgrad's node types: `Tensor` and forward-mode `Dual`.

``np.exp(t)``, ``ndarray * t`` and ``np.sum(t, axis=0)`` reach a node through numpy's
``__array_ufunc__`` and ``__array_function__``, which call the node's own method of the
same name (``t.exp()``, ``t.__rmul__(ndarray)``, ``t.sum(axis=0)``). So the ops' forward,
backward and jvp, written with numpy calls, run on nodes too: that is how ``create_graph``
replays them on Tensors and how duals over Tensors compute.

Comparisons and predicates (``<``, ``np.equal``, ``np.isinf``…) read the plain numbers:
they are piecewise constant, with no derivative, and the ops take their masks from them.
"""

from __future__ import annotations

import numpy as np

# ufunc → the node's method that computes it (reflected for a node on the right)
_BINARY = {
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"),
    np.maximum: ("maximum", "maximum"),  # symmetric: the node's method takes either side
    np.minimum: ("minimum", "minimum"),
}
_UNARY = {
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
}
_PREDICATES = (
    np.less,
    np.less_equal,
    np.greater,
    np.greater_equal,
    np.equal,
    np.not_equal,
    np.isinf,
    np.isfinite,
    np.isnan,
)


def _reduction(method: str):
    def reduce(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
        if dtype is not None or out is not None or rest:
            raise TypeError(f"numpy.{method} on a {type(a).__name__} takes only axis and keepdims")
        return getattr(a, method)(axis=axis, keepdims=keepdims)

    return reduce


# numpy function → handler; the node type is among the arguments (numpy's rule)
_FUNCTIONS = {
    np.sum: _reduction("sum"),
    np.mean: _reduction("mean"),
    np.max: _reduction("max"),
    np.amax: _reduction("max"),
    np.min: _reduction("min"),
    np.amin: _reduction("min"),
    np.reshape: lambda a, shape=None, **kw: a.reshape(shape),
    np.transpose: lambda a, axes=None: a.transpose(axes),
    np.swapaxes: lambda a, axis1, axis2: a.swapaxes(axis1, axis2),
    np.broadcast_to: lambda a, shape, subok=False: a.broadcast_to(shape),
    np.ndim: lambda a: a.ndim,
    np.shape: lambda a: a.shape,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    np.copy: lambda a, order="K", subok=False: a.clone(),
    np.clip: lambda a, a_min=None, a_max=None: a.clamp(a_min, a_max),
}


class NumpyDispatch:
    """Mixin: numpy's ufuncs and functions call the node's methods.

    A node type defines ``_numbers(x)`` (the plain numbers of x, for predicates),
    ``_join(kind, items, axis)`` (``np.concatenate``/``np.stack`` of a list holding nodes)
    and ``_numpy_refusal`` (what to say when numpy asks for something with no rule).
    """

    __slots__ = ()
    _numpy_refusal = ""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``ndarray * node``, ``np.exp(node)``: numpy hands the call to the node's op."""
        if method == "__call__" and not kwargs:
            if ufunc in _PREDICATES:
                return ufunc(*[self._numbers(x) for x in inputs])
            if ufunc in _UNARY and len(inputs) == 1:
                return _UNARY[ufunc](inputs[0])
            if ufunc in _BINARY and len(inputs) == 2:
                left, right = _BINARY[ufunc]
                a, b = inputs
                if isinstance(a, NumpyDispatch):
                    return getattr(a, left)(b)
                return getattr(b, right)(a)
        raise TypeError(
            f"numpy.{ufunc.__name__}{'.' + method if method != '__call__' else ''}"
            f"{' with ' + ', '.join(kwargs) if kwargs else ''} is not supported on "
            f"{self._numpy_refusal}"
        )

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(node)``, ``np.concatenate([a, b])``: numpy hands the call to vecgrad."""
        if func in (np.concatenate, np.stack):
            return self._join(func.__name__, *args, **kwargs)
        if func is np.matmul:
            a, b = args
            return a @ b
        handler = _FUNCTIONS.get(func)
        if handler is None or not isinstance(args[0], NumpyDispatch):
            raise TypeError(f"numpy.{func.__name__} is not supported on {self._numpy_refusal}")
        return handler(*args, **kwargs)
