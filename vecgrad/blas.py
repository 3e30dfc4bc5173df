"""``y -= a·x`` in one pass over memory (BLAS's axpy), for the optimizers' updates.

A fast path, kept out of the update rules' text. numpy has no fused multiply-add of two
arrays: ``p -= lr * g`` first writes lr·g into a new array the size of the parameter and
then reads it back, a pass over memory that ``g *= lr`` in place would avoid, but an
optimizer must leave ``p.grad`` as it is. On 784-512-256-10 that pass is ~35–60 µs of a
~3 ms step here. numpy's wheels ship OpenBLAS, whose saxpy/daxpy do the update in one
pass, as PyTorch's ``p.add_(g, alpha=-lr)`` does, and `subtract_scaled` calls it through
ctypes. Where that library is not found (a numpy built against another BLAS), or the
arrays are not what axpy takes (small, strided, of other dtypes or shapes, overlapping),
the numpy expression runs instead. The numbers agree to the last bit or one rounding (axpy
may fuse the multiply and the add, as torch's kernels do).
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_SMALL = 4096  # below this many entries numpy's two calls cost no more than one ctypes call


def subtract_scaled(y: np.ndarray, a: float, x: np.ndarray) -> None:
    """y ← y − a·x, in place."""
    axpy = _AXPY.get(y.dtype) if y.size >= _SMALL else None
    if (
        axpy is not None
        and type(x) is np.ndarray
        and x.dtype == y.dtype
        and x.shape == y.shape
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and y.flags.writeable
        and not np.may_share_memory(x, y)
    ):
        axpy(y.size, -float(a), x.ctypes.data, 1, y.ctypes.data, 1)
    else:
        y -= a * x


def _numpy_openblas() -> dict:
    """numpy's own OpenBLAS axpy routines by dtype, checked on a small case; {} if absent."""
    here = os.path.dirname(np.__file__)
    folders = (os.path.join(here, os.pardir, "numpy.libs"), os.path.join(here, ".dylibs"))
    for path in sorted(p for folder in folders for p in glob.glob(f"{folder}/*openblas*")):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        # the 64-bit-integer interface ("…64_") first, then the 32-bit one
        for suffix, integer in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
            routines = _axpy_routines(library, suffix, integer)
            if routines and all(map(_agrees, routines.items())):
                return routines
    return {}


def _axpy_routines(library, suffix: str, integer) -> dict:
    """The library's saxpy and daxpy of one integer width, typed for ctypes; {} if absent."""
    routines = {}
    for dtype, letter, real in (
        (np.float32, "s", ctypes.c_float),
        (np.float64, "d", ctypes.c_double),
    ):
        routine = getattr(library, f"scipy_cblas_{letter}axpy{suffix}", None)
        if routine is None:
            return {}
        routine.restype = None
        routine.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
        routines[np.dtype(dtype)] = routine
    return routines


def _agrees(item) -> bool:
    """Does this routine compute y − a·x like numpy, on a case it would get wrong if the
    integer width or the argument order were not what we think?"""
    dtype, routine = item
    x = np.arange(1, 9, dtype=dtype)
    y = np.full(8, 10, dtype)
    routine(7, -0.5, x.ctypes.data, 1, y.ctypes.data, 1)  # the last entry must stay 10
    return bool(np.array_equal(y, np.array([9.5, 9, 8.5, 8, 7.5, 7, 6.5, 10], dtype)))


_AXPY = _numpy_openblas()
