"""Read-only arrays that the ops reuse instead of making new ones on every call.

A fast path, kept out of the ops' formulas: ReLU is ``np.maximum(x, 0)``, but numpy's
maximum against the number 0 is not vectorised, while against an array of zeros it is
(~2× on a batch of activations). Making that array on every call costs a memset of the
batch's size, and for a batch above glibc's mmap threshold (128 KiB: 100 × 512 float32
activations) fresh pages, whose faults cost more than the maximum itself. One zeros array
per shape and dtype, kept read-only so that no op can write into it, costs neither.
"""

from __future__ import annotations

import numpy as np

_ZEROS: dict[tuple, np.ndarray] = {}
_KEPT = 32  # shapes kept at once; a loop over many shapes starts again from empty


def zeros(shape: tuple, dtype) -> np.ndarray:
    """A read-only array of zeros of this shape and dtype, made once and then reused."""
    key = (shape, dtype)
    array = _ZEROS.get(key)
    if array is None:
        if len(_ZEROS) >= _KEPT:
            _ZEROS.clear()
        array = _ZEROS[key] = np.zeros(shape, dtype)
        array.flags.writeable = False
    return array
