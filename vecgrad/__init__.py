"""vecgrad: scalargrad's op API over numpy arrays.

>>> import numpy as np, vecgrad
>>> from vecgrad import Tensor
>>> W = Tensor([[1.0, 2.0], [3.0, -4.0]], requires_grad=True, name="W")
>>> x = Tensor([1.0, -1.0], name="x")
>>> loss = (W @ x).relu().sum()     # W @ x = [−1, 7]: relu lets only the second through
>>> loss.backward()
>>> loss.item(), W.grad.tolist()
(7.0, [[0.0, 0.0], [1.0, -1.0]])

The graph walk, drawing and step-through are scalargrad's (``scalargrad.draw_graph(loss)``,
``loss.backward_steps()``). ``vecgrad.nn`` and ``vecgrad.optim`` are imported when first
used, so ``import vecgrad`` stays fast. The applications (MNIST data, ``vecgrad-mnist``,
the sweep) live in ``vecgrad.apps``: they use the library, and the library never imports
them.
"""

from importlib import import_module

from scalargrad.float_checks import float_checks, float_checks_enabled, no_float_checks

from . import functional
from .creation import (
    arange,
    cat,
    from_numpy,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .functions import cos, exp, ln, log, mean, relu, sigmoid, sin, sum, tanh
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import (
    gradcheck,
)  # the function; its report classes: from vecgrad.gradcheck import …
from .tensor import (
    Constant,
    Tensor,
    concatenate,
    matmul,
    maximum,
    minimum,
    stack,
)
from .transforms import Jacobian, grad, hessian, jacobian, jvp, vjp

__all__ = [
    "__version__",
    "no_float_checks",
    "float_checks",
    "float_checks_enabled",
    "Tensor",
    "Constant",
    "tensor",
    "zeros",
    "ones",
    "randn",
    "arange",
    "zeros_like",
    "ones_like",
    "linspace",
    "rand",
    "from_numpy",
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
    "cat",
    "stack",
    "where",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "functional",
    "grad",
    "vjp",
    "jvp",
    "jacobian",
    "hessian",
    "Jacobian",
    "gradcheck",
]

_LAZY_SUBMODULES = {"nn", "optim"}


def __getattr__(name: str):
    """Import the heavier submodules (``vecgrad.nn`` …) on first use; ``__version__`` is
    scalargrad's (one distribution holds both packages), read on first use."""
    if name in _LAZY_SUBMODULES:
        return import_module(f".{name}", __name__)
    if name == "__version__":
        from scalargrad import package_version

        return package_version()
    from scalargrad import no_attribute

    raise no_attribute(__name__, name, [*__all__, *_LAZY_SUBMODULES])
