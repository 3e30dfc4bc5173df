"""Special floating-point values (NaN, ±∞): the one policy of both packages and both modes.

IEEE 754 arithmetic, with its *invalid* and *overflow* exceptions turned into errors:

* **Values.** An op whose result is NaN raises `FloatingPointError` (∞ − ∞, ∞·0, sin ∞:
  undefined); an op that turns finite operands into ±∞ raises `OverflowError`
  (1e308·10). The message names the op and the operands (at the first bad index of an
  array). An ∞ you give is a value like any other and flows on where IEEE gives a number:
  exp(−∞) = 0, so −∞ masks a logit out of a softmax.
* **Inputs.** NaN is refused where a number enters (`Value`, `Tensor`, a dual, a constant):
  it has no derivative to follow. So is an integer too large for a float (10**400).
* **Derivatives.** An adjoint or tangent may be ±∞: the derivative is infinite (√x at 0)
  or beyond the largest float. A NaN one raises, naming the op whose rule made it.
  Optimizers refuse to step with a non-finite gradient, so no weight is lost.

``with no_float_checks():`` turns all of it off: numpy's and PyTorch's silent IEEE
arithmetic, for speed or to study the special values. Domain errors (ln of a negative,
division by zero, shapes) are not float checks: they always raise. The switch is per
thread, like vecgrad's grad mode, and one switch serves scalargrad and vecgrad.
"""

from __future__ import annotations

import math

from .switch import Setting, Switch

_checks = Switch(True)
_state = _checks.state


def float_checks_enabled() -> bool:
    """Return True when results are checked for NaN and overflow (the default)."""
    return _state.enabled


def no_float_checks() -> Setting:
    """Return a context manager (or decorator) inside which NaN and overflow pass silently
    (IEEE as in numpy): no check of inputs, results, gradients or optimizer steps.

    >>> with no_float_checks():
    ...     Value(1e308) * 10      # inf, as plain Python floats give
    """
    return _checks.setting(False)


def float_checks() -> Setting:
    """Return a context manager that checks again (inside a ``no_float_checks``)."""
    return _checks.setting(True)


# ---- the messages, in the lecture's notation -----------------------------------------


def number_text(x: float) -> str:
    """A number as the lecture writes it: 2 rather than 2.0; 1e+20, inf and nan as floats."""
    x = float(x)
    if math.isfinite(x) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def check_result(op, operands, result) -> None:
    """Raise unless a scalar op's ``result`` follows the policy: NaN never; ±∞ only from an
    operand that was already infinite. Called where a result is not finite (rare)."""
    if _state.enabled and (math.isnan(result) or all(math.isfinite(x) for x in operands)):
        raise result_error(op.name, formula_text(op, operands), result)


def formula_text(op, operands) -> str:
    """The op's formula with the operands' numbers in it: ``1e+308 × 10``, ``sin(inf)``
    (an operand given as text is shown as it is)."""
    if len(operands) > 4 and not isinstance(operands[0], str):  # a neuron's Σ wᵢxᵢ
        low, high = number_text(min(operands)), number_text(max(operands))
        return f"{op.name} of {len(operands)} operands (from {low} to {high})"
    texts = [v if isinstance(v, str) else number_text(v) for v in operands]
    if op.formula:
        try:
            return op.formula.format(*texts)
        except (IndexError, KeyError):  # a formula that does not number every operand
            pass
    return f"{op.name}({', '.join(texts)})"


def result_error(
    op_name: str, formula: str, result, where: str = "", dtype: str = "float"
) -> ArithmeticError:
    """The error for an op whose result is not finite: NaN (invalid) or an overflow.

    ``formula`` shows what was computed (``1e+308 × 10``); ``where`` says at which index of
    an array (" at index (0, 1)").
    """
    if math.isnan(result):
        return FloatingPointError(f"{op_name}: {formula} is undefined (NaN){where}; {HOW_TO_ALLOW}")
    largest = _LARGEST.get(dtype)
    return OverflowError(
        f"{op_name}: {formula} overflows{where}: the result is beyond the largest {dtype}"
        f"{f' ({largest})' if largest else ''}; {HOW_TO_ALLOW}"
    )


_LARGEST = {"float": "1.8e+308", "float64": "1.8e+308", "float32": "3.4e+38", "float16": "6.6e+04"}


def derivative_error(
    mode: str, op_name: str, slot, what: str, where: str = ""
) -> FloatingPointError:
    """The error for a NaN derivative: ``mode`` is "backward" (an adjoint that op's
    backward sent to operand ``slot``) or "jvp" (the tangent of op's result)."""
    if mode == "jvp":
        source = f"{op_name}'s jvp"
    elif slot == "sum":  # each partial adjoint finite or infinite, their sum ∞ − ∞
        source = f"the sum of its partial adjoints (from {op_name})"
    else:
        source = f"{op_name}'s backward (operand {slot})"
    return FloatingPointError(
        f"{mode}: the derivative of {what} is NaN{where}, from {source}: an infinite "
        f"derivative met a zero (∞·0) or ∞ − ∞, so the chain rule is undefined here; "
        f"{HOW_TO_ALLOW}"
    )


def non_finite_step_error(optimizer: str, index: int, name: str, value: str) -> FloatingPointError:
    """The error for a step refused because a gradient is not finite (both packages')."""
    named = f" {name}" if name else ""
    return FloatingPointError(
        f"{optimizer}.step: the gradient of parameter {index}{named} is {value}: the step would "
        f"make it non-finite, so no parameter was changed; {HOW_TO_ALLOW}"
    )


HOW_TO_ALLOW = "no_float_checks() lets it pass"
