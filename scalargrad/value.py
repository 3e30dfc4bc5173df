"""`Value`: one real number, the op that made it, and its gradient.

Every arithmetic method names its op explicitly (``__mul__`` → ``Mul``), so
``grep Mul`` finds everything; `apply_op` is the one place where nodes are made.
vecgrad/tensor.py is the same file over arrays.
"""

from __future__ import annotations

import math

from . import ops
from .autodiff import backward, backward_steps
from .float_checks import HOW_TO_ALLOW, check_result, derivative_error, float_checks_enabled

Number = int | float


class Value:
    """A node of the computational graph holding one real number.

    ``data`` is the number, ``grad`` the adjoint ∂root/∂self (0.0 until a backward
    pass), ``parents`` the operands in order, ``op`` the op that made it (None for an
    input) and ``name`` its label in drawings ("" to number it automatically).
    """

    __slots__ = ("data", "grad", "parents", "op", "name")
    requires_grad = True
    is_constant = False  # drawings and traces number every node that is not a constant

    def __init__(self, data: Number, name: str = ""):
        self.data = _checked_float(data, "Value")
        self.grad = 0.0
        self.parents = ()
        self.op = None
        if not isinstance(name, str):
            raise TypeError(f"Value: name must be a str, got {type(name).__name__}")
        self.name = name

    @classmethod
    def _node(cls, data: float, op: ops.Op | None, parents: tuple) -> Value:
        """Build a node without the public checks: the op already made the float."""
        out = cls.__new__(cls)
        out.data, out.grad, out.parents, out.op, out.name = data, 0.0, parents, op, ""
        return out

    # ---- building the graph ------------------------------------------------

    def _binary(self, op: ops.Op, other, other_first: bool = False) -> Value:
        """Apply a two-operand op; ``other_first`` for the reflected dunders (2 - x)."""
        if not isinstance(other, Value):
            if getattr(other, "lifts_values", False):  # a Dual over Values: let it combine
                return NotImplemented
            other = Constant(other, op)
        return apply_op(op, other, self) if other_first else apply_op(op, self, other)

    def __add__(self, other):
        return self._binary(ops.Add(), other)

    def __radd__(self, other):
        return self._binary(ops.Add(), other, other_first=True)

    def __sub__(self, other):
        return self._binary(ops.Sub(), other)

    def __rsub__(self, other):
        return self._binary(ops.Sub(), other, other_first=True)

    def __mul__(self, other):
        return self._binary(ops.Mul(), other)

    def __rmul__(self, other):
        return self._binary(ops.Mul(), other, other_first=True)

    def __truediv__(self, other):
        return self._binary(ops.Div(), other)

    def __rtruediv__(self, other):
        return self._binary(ops.Div(), other, other_first=True)

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            return self._binary(ops.Power(), exponent)
        if getattr(exponent, "lifts_values", False):
            return NotImplemented
        return apply_op(ops.Pow(_checked_float(exponent, "pow")), self)

    def __rpow__(self, base):
        return self._binary(ops.Power(), base, other_first=True)

    def __neg__(self):
        return apply_op(ops.Neg(), self)

    def log(self) -> Value:
        """ln(self); raises ValueError for a non-positive input."""
        return apply_op(ops.Log(), self)

    def exp(self) -> Value:
        return apply_op(ops.Exp(), self)

    def sin(self) -> Value:
        return apply_op(ops.Sin(), self)

    def cos(self) -> Value:
        return apply_op(ops.Cos(), self)

    def tanh(self) -> Value:
        return apply_op(ops.Tanh(), self)

    def sigmoid(self) -> Value:
        return apply_op(ops.Sigmoid(), self)

    def relu(self) -> Value:
        return apply_op(ops.ReLU(), self)

    def abs(self) -> Value:
        return apply_op(ops.Abs(), self)

    def maximum(self, other) -> Value:
        """The larger of self and other (as ``torch.maximum``); a tie splits the gradient."""
        return self._binary(ops.Maximum(), other)

    def minimum(self, other) -> Value:
        """The smaller of self and other (as ``torch.minimum``); a tie splits the gradient."""
        return self._binary(ops.Minimum(), other)

    __abs__ = abs

    # ---- comparisons read the numbers: piecewise constant, so no gradient ----
    # (``==`` stays identity: nodes are dict keys. Ops branch on these: relu, max.)

    def __lt__(self, other) -> bool:
        return self.data < _number_of(other)

    def __le__(self, other) -> bool:
        return self.data <= _number_of(other)

    def __gt__(self, other) -> bool:
        return self.data > _number_of(other)

    def __ge__(self, other) -> bool:
        return self.data >= _number_of(other)

    # ---- reverse mode ------------------------------------------------------

    def backward(self) -> None:
        """Add ∂self/∂node into ``node.grad`` for every node this one depends on.

        Gradients accumulate across calls, as in PyTorch: calling ``backward`` twice
        doubles them. Reset with ``zero_grad()`` on each node (or on a Module, or an
        optimizer) before the next pass. Steps through the same code as
        `scalargrad.backward_steps`.
        """
        backward(self, seed=1.0)

    def backward_steps(self):
        """Run the backward pass one node at a time (see `scalargrad.backward_steps`)."""
        return backward_steps(self, seed=1.0)

    def accumulate_grad(self, adjoint: float, partials: list = ()) -> None:
        """Node protocol: add one backward pass's adjoint into ``grad`` (a NaN one raises:
        see `scalargrad.float_checks`)."""
        total = self.grad + adjoint
        if total != total and float_checks_enabled():  # NaN: the only float ≠ itself
            raise _nan_adjoint_error(self, adjoint, partials)
        self.grad = total

    def zero_grad(self) -> None:
        """Reset this node's gradient to 0.0."""
        self.grad = 0.0

    def item(self) -> float:
        """The number held, as a Python float (like ``Tensor.item()``)."""
        return self.data

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a Value as its graph; None (so the text repr) without ``dot``."""
        # Imported when Jupyter asks, not with the engine: the display layer is above it
        # (it imports graphviz) and the engine must run without it.
        from .display.draw import repr_svg

        return repr_svg(self)

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{name})"

    # ---- PyTorch's names (as vecgrad's Tensor) -----------------------------------------

    def __float__(self) -> float:
        """``float(v)``: the number held (``v.item()``)."""
        return self.data

    def detach(self) -> Value:
        """A new input with the same number and name: no history, so no gradient flows
        back through it (PyTorch's ``t.detach()``)."""
        return Value(self.data, name=self.name)


class Constant(Value):
    """A plain number mixed into an expression (the 3 of ``3 * x``).

    It is a leaf that needs no gradient: the backward pass does not enter it, and
    drawings label it by its value instead of numbering it.
    """

    __slots__ = ()
    requires_grad = False
    is_constant = True

    def __init__(self, data: Number, op: ops.Op | None = None):
        where = type(op).__name__.lower() if op is not None else "Value"
        self.data = _checked_float(data, where)
        self.grad, self.parents, self.op = 0.0, (), None
        self.name = ops.number_text(self.data)

    def accumulate_grad(self, adjoint: float, partials: list = ()) -> None:  # pragma: no cover
        pass


def apply_op(op: ops.Op, *inputs: Value) -> Value:
    """Return ``op`` applied to Values as a graph node: the one place where nodes are made.

    A result that is NaN, or ±∞ from finite operands, raises (`scalargrad.float_checks`).
    """
    operands = [x.data for x in inputs]
    data = op.forward(*operands)
    if not math.isfinite(data):  # rare: ∞ − ∞, ∞·0, an overflow, or an ∞ passed on
        check_result(op, operands, data)
    return Value._node(data, op, inputs)


def _nan_adjoint_error(node: Value, adjoint, partials) -> FloatingPointError:
    """The error for a NaN gradient, naming the op whose backward sent it."""
    what = repr(node.name) if node.name else f"the Value with data {node.data:.6g}"
    if adjoint == adjoint:  # this pass's ±∞ met the opposite ±∞ of an earlier pass
        return FloatingPointError(
            f"backward: the derivative of {what} is NaN: this backward pass's gradient plus "
            f"the one accumulated before is ∞ − ∞ (zero_grad() between passes?); {HOW_TO_ALLOW}"
        )
    for child, slot, value in partials:
        if value != value:
            return derivative_error("backward", child.op.name, slot, what)
    return derivative_error("backward", "+".join(c.op.name for c, _, _ in partials), "sum", what)


def _checked_float(data, where: str) -> float:
    """``data`` as a float, or a TypeError/ValueError that names ``where`` and the value."""
    if isinstance(data, Value):
        raise TypeError(f"{where}: got a Value where a plain number is needed: {data!r}")
    return ops.real(data, where)


def _number_of(other):
    """The number to compare with: a Value's data; anything else as it is."""
    return other.data if isinstance(other, Value) else other
