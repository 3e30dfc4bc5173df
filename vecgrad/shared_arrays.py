"""Read-only arrays that the ops reuse instead of making new ones on every call.

A fast path, kept out of the ops' formulas: ReLU is ``np.maximum(x, 0)``, but numpy's
maximum against the number 0 is not vectorised, while against an array of zeros it is
(1.2 against 4.6 µs on 100 × 100 float32 here). Making that array on every call costs a
memset of the batch's size and, once glibc has handed freed memory back to the system,
fresh pages whose faults cost more than the maximum itself (135 against 3 µs for 100 × 512
in a tight loop here). One zeros array per shape and dtype, kept read-only so that no op
can write into it, costs neither; the kept ones are bounded in bytes, so a large
network's activations are not doubled.
"""

from __future__ import annotations

import numpy as np

_ZEROS: dict[tuple, np.ndarray] = {}
_BUDGET = 64 * 2**20  # bytes kept at most; a larger array is made for each call instead


def zeros(shape: tuple, dtype) -> np.ndarray:
    """A read-only array of zeros of this shape and dtype, made once and then reused (up to
    64 MiB of them: beyond, the kept ones are dropped, and a larger one is never kept)."""
    key = (shape, dtype)
    array = _ZEROS.get(key)
    if array is None:
        array = np.zeros(shape, dtype)
        if array.nbytes > _BUDGET:
            return array
        if sum(kept.nbytes for kept in _ZEROS.values()) + array.nbytes > _BUDGET:
            _ZEROS.clear()
        array.flags.writeable = False
        _ZEROS[key] = array
    return array
