"""The checks of vecgrad's ops and tensors, and the wording of their errors.

An error names the op, the shapes and the first bad value with its index:
``matmul: (64, 784) @ (100, 10): inner dimensions 784 and 100 differ``,
``log: input must be positive, got -1.0 at index (0, 2)``. The ops call these from
forward, on arrays or (in a ``create_graph`` replay) on Tensors: they read the numbers
only through comparisons and predicates (``x > 0``, ``np.isinf``), which a Tensor answers
with plain bool arrays.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np

from scalargrad.float_checks import float_checks_enabled, formula_text, number_text, result_error

from .numpy_protocol import NumpyDispatch

# all_finite's x·x overflows for finite entries beyond √max (1.8e19 in float32); numpy's
# warning about that would be misleading, so it is silenced for this module's dot alone.
warnings.filterwarnings(
    "ignore", "overflow encountered in dot", RuntimeWarning, re.escape(__name__) + "$"
)

_KIND_NAMES = {
    "c": "complex numbers",
    "U": "strings",
    "S": "bytes",
    "O": "Python objects",
    "M": "datetimes",
    "m": "timedeltas",
    "V": "raw records",
}


def as_array(data, dtype=None, where: str = "Tensor", float_ints: bool = False) -> np.ndarray:
    """Return ``data`` as a numeric numpy array, or a TypeError/ValueError naming ``where``.

    Python numbers (and lists of them) become float32, or int64 when all are integers
    (float32 too when ``float_ints``); numpy data keeps its dtype. NaN is refused (it has
    no derivative to follow), and so is a number the cast would turn into ±∞ (1e300 as
    float32): the float policy of `scalargrad.float_checks`.
    """
    if isinstance(data, NumpyDispatch):  # a Tensor or a Dual: its numbers are not enough
        if getattr(data, "lifts_tensors", False):
            data.__array__()  # a Dual refuses with its own explanation
        raise TypeError(
            f"{where}: got a Tensor where plain numbers are needed; use t.detach() "
            "(same numbers, no graph) or t.data"
        )
    typed = isinstance(data, (np.ndarray, np.generic))
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(
            f"{where}: cannot make an array from this {type(data).__name__}: {error}"
        ) from None
    if array.dtype.kind not in "fiub":
        what = _KIND_NAMES.get(array.dtype.kind, str(array.dtype))
        raise TypeError(
            f"{where}: expected real numbers, got {what} (dtype {array.dtype}) "
            f"from {type(data).__name__}: {preview(data)}"
        )
    given = array
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "fiub":
            raise TypeError(f"{where}: dtype must be a real number type, got {dtype}")
        array = array.astype(dtype, copy=False)
    elif not typed and (array.dtype == np.float64 or (float_ints and array.dtype.kind in "iub")):
        array = array.astype(np.float32)  # Python numbers: float32, deep learning's default
    if array is not given and array.dtype.kind == "f" and float_checks_enabled():
        if not all_finite(array):  # did the cast overflow? (1e300 as float32 is inf)
            bad = np.isinf(array) & np.isfinite(given)
            if bad.any():
                raise OverflowError(
                    f"{where}: {first(given, bad)!r}{at(bad)} is beyond the largest "
                    f"{array.dtype} ({float(np.finfo(array.dtype).max):.2g}); pass "
                    "dtype=np.float64 (or no_float_checks() to let it become inf)"
                )
    # min() is NaN exactly when some entry is: one pass, no array of flags (a batch's worth)
    # (math.isnan of that one number is cheaper than numpy's isnan of a numpy scalar);
    # under no_float_checks() the pass is skipped, not just its verdict
    if (
        array.dtype.kind == "f"
        and float_checks_enabled()
        and array.size
        and math.isnan(array.min())
    ):
        bad = np.isnan(array)
        raise ValueError(f"{where}: got NaN{at(bad)}, which has no derivative to follow")
    return array


def broadcast_shape(where: str, a: tuple, b: tuple, target: tuple | None = None) -> tuple:
    """The shape that ``a`` and ``b`` broadcast to, or a ValueError naming both."""
    try:
        shape = np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(f"{where}: shapes {a} and {b} do not broadcast") from None
    if target is not None and shape != target:
        raise ValueError(f"{where}: shape {a} does not broadcast to {target}")
    return shape


def check_matmul(x_shape: tuple, w_shape: tuple) -> None:
    """Raise a ValueError naming both shapes unless ``x @ W`` is defined."""
    if not x_shape or not w_shape:
        raise ValueError(
            f"matmul: {x_shape} @ {w_shape}: both operands need at least one dimension "
            "(use * for scalars)"
        )
    inner_x = x_shape[-1]
    inner_w = w_shape[-2] if len(w_shape) >= 2 else w_shape[0]
    if inner_x != inner_w:
        raise ValueError(
            f"matmul: {x_shape} @ {w_shape}: inner dimensions {inner_x} and {inner_w} differ"
        )
    try:
        if len(x_shape) > 2 or len(w_shape) > 2:
            np.broadcast_shapes(x_shape[:-2], w_shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: {x_shape} @ {w_shape}: batch dimensions {x_shape[:-2]} and "
            f"{w_shape[:-2]} do not broadcast"
        ) from None


def normalize_axes(op_name: str, axis, shape: tuple) -> tuple:
    """Return ``axis`` (None, an int or ints) as a tuple of non-negative axes of ``shape``."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op_name}: axis must be an int or a tuple of ints, got {axis!r}")
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op_name}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{op_name}: axis {a} is out of range for shape {shape}")
    normalized = tuple(int(a) % ndim for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op_name}: axis {axis!r} repeats an axis")
    return normalized


def resolve_shape(shape: tuple, new_shape: tuple) -> tuple:
    """``new_shape`` with its one −1 worked out, or a ValueError naming both shapes."""
    size = math.prod(shape)
    wildcards = [i for i, n in enumerate(new_shape) if n == -1]
    known = math.prod(n for n in new_shape if n != -1)
    resolved = list(new_shape)
    if len(wildcards) == 1 and known and size % known == 0:
        resolved[wildcards[0]] = size // known
    if len(wildcards) > 1 or min(resolved, default=0) < 0 or math.prod(resolved) != size:
        raise ValueError(
            f"reshape: cannot reshape {shape} ({size} elements) into {tuple(new_shape)}"
        )
    return tuple(resolved)


def concat_axis(op_name: str, axis: int, shapes: list) -> int:
    """``axis`` made non-negative, after checking that the shapes agree off that axis."""
    if not shapes:
        raise ValueError(f"{op_name}: needs at least one tensor")
    ndim = len(shapes[0])
    if ndim == 0:
        raise ValueError(f"{op_name}: cannot join 0-d tensors (use stack)")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op_name}: axis {axis} is out of range for shape {shapes[0]}")
    axis %= ndim
    for shape in shapes[1:]:
        if len(shape) != ndim or shape[:axis] + shape[axis + 1 :] != (
            shapes[0][:axis] + shapes[0][axis + 1 :]
        ):
            raise ValueError(
                f"{op_name}: shapes {shapes[0]} and {shape} differ outside axis {axis}"
            )
    return axis


def check_distributions(where: str, target: np.ndarray) -> None:
    """Raise unless every row of ``target`` (along its last axis) is a probability
    distribution: entries ≥ 0 that sum to 1 (within 1e-3, float32 rounding of a softmax)."""
    negative = target < 0
    if negative.any():
        raise ValueError(
            f"{where}: target rows must be probability distributions, but entry "
            f"{first(target, negative)}{at(negative)} is negative"
        )
    sums = target.sum(axis=-1, dtype=np.float64)
    off = ~(np.abs(sums - 1) <= 1e-3)  # also catches an inf or NaN sum
    if off.any():
        row = tuple(int(i) for i in np.unravel_index(np.argmax(off), off.shape))
        raise ValueError(
            f"{where}: target rows must be probability distributions summing to 1, but row "
            f"{row[0] if len(row) == 1 else row} sums to {first(sums, off):.6g}"
        )


def all_finite(array: np.ndarray) -> bool:
    """True when no entry is NaN or ±∞, for a float array. The common case costs one BLAS
    pass: x·x is finite exactly when every entry is, unless the squares overflow (then the
    entries are looked at one by one)."""
    if array.ndim == 0:  # a loss: one number
        return math.isfinite(array)
    if array.flags.forc:  # C or Fortran order: a flat view, no copy
        flat = array.ravel(order="K")
        if math.isfinite(np.dot(flat, flat)):
            return True
    return bool(np.isfinite(array).all())


def check_result(op, out: np.ndarray, operands: list, elementwise: bool) -> None:
    """Raise where an op's float result breaks the policy of `scalargrad.float_checks`: NaN
    anywhere, ±∞ where the operands were finite. Called when `all_finite` said no.

    For an op that acts entry by entry the message shows the operands at the first bad
    index in the op's formula (``mul: 1e+30 × 1e+30 overflows … at index (0, 1)``); for
    others, their shapes and the first non-finite operand.
    """
    if not float_checks_enabled():
        return
    operands = [np.asarray(values(x)) for x in operands]
    nan = np.isnan(out)
    if elementwise:
        finite_operands = np.ones(out.shape, bool)
        for x in operands:
            finite_operands &= np.broadcast_to(np.isfinite(x), out.shape)
        bad = nan | (np.isinf(out) & finite_operands)
        if not bad.any():
            return  # every ±∞ came from an operand that was ±∞ already
        formula = formula_text(op, [_text(first(x, bad), x.dtype) for x in operands])
        raise result_error(op.name, formula, first(out, bad), at(bad), str(out.dtype))
    floats = [x for x in operands if x.dtype.kind == "f"]
    infinite_operands = [
        i for i, x in enumerate(operands) if x.dtype.kind == "f" and not np.isfinite(x).all()
    ]
    if nan.any():
        bad = nan
    elif not infinite_operands:
        bad = np.isinf(out)
    else:
        return
    shapes = [str(x.shape) for x in operands]
    formula = op.formula.format(*shapes) if op.formula else f"{op.name}{tuple(shapes)}"
    if infinite_operands:
        i = infinite_operands[0]
        formula += f" (operand {i} holds {first(operands[i], ~np.isfinite(operands[i]))}"
        formula += f"{at(~np.isfinite(operands[i]))})"
    else:
        largest = max((float(np.abs(x).max()) for x in floats if x.size), default=0.0)
        formula += f" (largest |operand| {largest:.3g})"
    raise result_error(op.name, formula, first(out, bad), at(bad), str(out.dtype))


def _text(number, dtype) -> str:
    """A number as its own dtype prints it (1e+30 for a float32, not 1.0000000150474662e+30)."""
    text = number_text(number)  # 10 rather than 10.0, as the scalar messages
    if np.dtype(dtype).kind != "f" or "." not in text and "e" not in text:
        return text
    return str(np.dtype(dtype).type(number))


def first(values, mask: np.ndarray):
    """The first entry of ``values`` (broadcast to the mask) where ``mask`` holds."""
    mask = np.asarray(mask)
    index = np.unravel_index(np.argmax(mask), mask.shape)
    shape = np.shape(values)
    index = tuple(0 if n == 1 else i for i, n in zip(index[len(index) - len(shape) :], shape))
    return values[index].item() if shape else (values.item() if hasattr(values, "item") else values)


def at(mask: np.ndarray) -> str:
    """Return ``" at index (i, j)"`` for the first place where ``mask`` holds ("" if 0-d)."""
    mask = np.asarray(mask)
    if mask.ndim == 0:
        return ""
    return f" at index {tuple(int(i) for i in np.unravel_index(np.argmax(mask), mask.shape))}"


def preview(data) -> str:
    """A short repr of bad input for an error message."""
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


def values(a):
    """The plain numbers of ``a``: a node's ``data`` (a node has ``parents``), else ``a``.

    For the ops that read a mask, a winner or a dtype from an operand that create_graph may
    replay as a Tensor (conv/pooling, clamp, where): what is read is piecewise constant.
    """
    return a.data if hasattr(a, "parents") else a
