"""Parity: one expression through scalargrad's `Value`, entry by entry, and through vecgrad's
`Tensor`, all at once, gives the same values and the same gradients.

Every case of the shared op table runs on arrays whose shapes broadcast. On the Value side
each input entry is one Value, shared by every output entry that broadcasting pairs it
with, so its gradient adds up over those uses exactly as vecgrad's BroadcastTo sums it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scalargrad
import vecgrad
from scalargrad import Value
from tests.shared.op_table import OPS
from vecgrad import Tensor

SHAPES = {
    1: hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3).map(lambda s: (s,)),
    2: hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=3
    ).map(lambda b: b.input_shapes),
}


def _through_values(apply, arrays, cotangent):
    """Entry by entry with Values: the outputs, and ∂(Σ cotangent·out)/∂ each input entry."""
    leaves = [np.vectorize(Value, otypes=[object])(a) for a in arrays]
    out_shape = np.broadcast_shapes(*(a.shape for a in arrays))
    broadcast = [np.broadcast_to(leaf, out_shape) for leaf in leaves]
    outputs = np.empty(out_shape, dtype=object)
    for index in np.ndindex(out_shape):
        outputs[index] = apply(scalargrad, *(b[index] for b in broadcast))
    total = scalargrad.summation(
        [float(cotangent[index]) * outputs[index] for index in np.ndindex(out_shape)]
    )
    total.backward()
    values = np.vectorize(lambda v: v.data, otypes=[float])(outputs)
    grads = [np.vectorize(lambda v: v.grad, otypes=[float])(leaf) for leaf in leaves]
    return values, grads


def _through_tensors(apply, arrays, cotangent):
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = apply(vecgrad, *leaves)
    out.backward(cotangent)
    return out.data, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_value_and_tensor_agree_on_every_op(case):
    @given(SHAPES[case.arity], st.integers(0, 2**32 - 1))
    def check(shapes, seed):
        rng = np.random.default_rng(seed)
        arrays = [rng.uniform(case.low, case.high, size=s) for s in shapes]
        if case.away_from is not None:
            pairs = np.broadcast_arrays(*arrays)
            assume(np.vectorize(case.away_from, otypes=[bool])(*pairs).all())
        cotangent = rng.standard_normal(np.broadcast_shapes(*shapes))
        values, grads = _through_values(case.apply, arrays, cotangent)
        tensor_values, tensor_grads = _through_tensors(case.apply, arrays, cotangent)
        np.testing.assert_allclose(tensor_values, values, rtol=1e-13, atol=1e-15)
        for grad, tensor_grad in zip(grads, tensor_grads):
            np.testing.assert_allclose(tensor_grad, grad, rtol=1e-11, atol=1e-14)

    check()


def _neuron_layer(ns, x, y):
    """A longer expression: a tanh neuron's output squared against a target, plus a log."""
    h = ns.tanh(0.7 * x - 1.3 * y + 0.2)
    return (h - 0.5) ** 2 + ns.log(ns.sigmoid(x * y) + 1.0) - ns.maximum(h, 0.1 * y)


def test_value_and_tensor_agree_on_a_longer_expression():
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-2, 2, size=(4, 3)), rng.uniform(-2, 2, size=(3,))]
    cotangent = rng.standard_normal((4, 3))
    values, grads = _through_values(_neuron_layer, arrays, cotangent)
    tensor_values, tensor_grads = _through_tensors(_neuron_layer, arrays, cotangent)
    np.testing.assert_allclose(tensor_values, values, rtol=1e-13)
    for grad, tensor_grad in zip(grads, tensor_grads):
        np.testing.assert_allclose(tensor_grad, grad, rtol=1e-11, atol=1e-14)


def test_the_lecture_numbers_agree():
    """y = ln x₁ + x₁x₂ − sin x₂ at (2, 5): 11.652, ∂y/∂x₁ = 5.5, ∂y/∂x₂ = 1.716, both ways."""
    lecture = OPS[[case.name for case in OPS].index("lecture_y")]
    values, grads = _through_values(lecture.apply, [np.array(2.0), np.array(5.0)], np.array(1.0))
    tensor_values, tensor_grads = _through_tensors(
        lecture.apply, [np.array(2.0), np.array(5.0)], np.array(1.0)
    )
    assert round(float(values), 3) == round(float(tensor_values), 3) == 11.652
    assert float(grads[0]) == float(tensor_grads[0]) == 5.5
    assert round(float(grads[1]), 3) == round(float(tensor_grads[1]), 3) == 1.716


def test_lecture_twins_route_to_tensors_elementwise():
    import numpy as np

    import scalargrad
    import vecgrad

    a = vecgrad.tensor([1.0, 5.0], requires_grad=True)
    out = scalargrad.maximum(a, 3.0) + scalargrad.minimum(2.0, a)
    out.sum().backward()
    assert np.allclose(out.data, [3.0 + 1.0, 5.0 + 2.0])
    assert np.allclose(a.grad, [0.0 + 1.0, 1.0 + 0.0])


def test_tensor_displays_as_its_graph_in_jupyter():
    import shutil

    import vecgrad

    x = vecgrad.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    svg = y._repr_svg_()
    if shutil.which("dot") is None:
        assert svg is None
    else:
        assert svg.lstrip().startswith("<") and "svg" in svg
