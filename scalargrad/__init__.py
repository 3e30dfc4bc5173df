"""scalargrad: reverse-mode automatic differentiation, one scalar per node.

>>> from scalargrad import Value, log, sin
>>> x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
>>> y = log(x1) + x1 * x2 - sin(x2)
>>> y.backward()
>>> round(y.data, 3), x1.grad, round(x2.grad, 3)
(11.652, 5.5, 1.716)
"""

from .autodiff import BackwardStep, PartialAdjoint, backward_steps, topological_order
from .draw import GraphvizNotFound, draw_graph, to_dot, to_svg
from .functions import (
    cos,
    dot,
    exp,
    ln,
    log,
    maximum,
    minimum,
    relu,
    sigmoid,
    sin,
    summation,
    tanh,
)
from .stepper import Stepper
from .trace import backward_trace, forward_trace
from .value import Constant, Value

__all__ = [
    "Value",
    "Constant",
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
    "summation",
    "dot",
    "topological_order",
    "backward_steps",
    "BackwardStep",
    "PartialAdjoint",
    "draw_graph",
    "to_dot",
    "to_svg",
    "GraphvizNotFound",
    "forward_trace",
    "backward_trace",
    "Stepper",
]
