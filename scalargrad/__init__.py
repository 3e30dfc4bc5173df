"""scalargrad: reverse-mode automatic differentiation, one scalar per node.

The engine (``Value``, its ops, the graph walk) needs only the standard library and numpy;
the display layer (``draw_graph``, ``forward_trace``, ``Stepper`` …, in
``scalargrad.display``) is imported on first use, and with it graphviz.

>>> from scalargrad import Value, log, sin
>>> x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
>>> y = log(x1) + x1 * x2 - sin(x2)
>>> y.backward()
>>> round(y.data, 3), x1.grad, round(x2.grad, 3)
(11.652, 5.5, 1.716)
"""

from importlib import import_module

from .autodiff import BackwardStep, PartialAdjoint, backward_steps, topological_order
from .float_checks import float_checks, float_checks_enabled, no_float_checks
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
from .value import Constant, Value

__all__ = [
    "__version__",
    "no_float_checks",
    "float_checks",
    "float_checks_enabled",
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
    "tangent_trace",
    "TangentTrace",
    "Stepper",
]

# The display layer, imported when a name from it is first used (it imports graphviz).
_DISPLAY = {
    "draw_graph": "draw",
    "to_dot": "draw",
    "to_svg": "draw",
    "GraphvizNotFound": "draw",
    "forward_trace": "trace",
    "backward_trace": "trace",
    "tangent_trace": "trace",
    "TangentTrace": "trace",
    "Stepper": "stepper",
}


def __getattr__(name: str):
    """``scalargrad.draw_graph`` and the other display names, imported on first use; and
    ``__version__``, read on first use (importlib.metadata costs ~30 ms to import)."""
    if name in _DISPLAY:
        return getattr(import_module(f".display.{_DISPLAY[name]}", __name__), name)
    if name == "__version__":
        return package_version()
    raise no_attribute(__name__, name, [*__all__, *_DISPLAY])


def no_attribute(module: str, name: str, known) -> AttributeError:
    """``module has no attribute name``, with the closest public name for a typo."""
    from difflib import get_close_matches

    # (no hint for dunders: tools probe modules for them, and a miss must stay cheap)
    close = [] if name.startswith("__") else get_close_matches(name, sorted(set(known)), n=1)
    hint = f" (did you mean {module}.{close[0]}?)" if close else ""
    return AttributeError(f"module {module!r} has no attribute {name!r}{hint}")


def package_version() -> str:
    """The installed version, from the package metadata: one source of truth, pyproject.toml.

    One distribution ("scalargrad") holds both packages, so vecgrad's is the same.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scalargrad")
    except PackageNotFoundError:  # pragma: no cover - a checkout that is not installed
        return "0+unknown"
