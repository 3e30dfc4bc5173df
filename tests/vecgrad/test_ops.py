"""Every elementwise op of the shared op table, through vecgrad's Tensor.

The same table drives scalargrad's op tests. Here each case runs on arrays of random
shapes that broadcast against each other (hypothesis draws the shapes), against PyTorch
in float64 and against central differences; and once in float32, which must stay
float32 in values and gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vecgrad
from tests.shared.op_table import ARRAY_OPS, OPS, array_namespace
from vecgrad import Tensor

SHAPES = {
    1: hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4).map(lambda s: (s,)),
    2: hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4
    ).map(lambda b: b.input_shapes),
}


def _draw_inputs(case, shapes, seed, dtype=np.float64):
    """Uniform inputs in [low, high] on which the case is fair (away from kinks), or None."""
    rng = np.random.default_rng(seed)
    for _ in range(500):
        xs = [rng.uniform(case.low, case.high, size=shape).astype(dtype) for shape in shapes]
        if case.away_from is None:
            return xs
        pairs = np.broadcast_arrays(*xs)
        fair = np.vectorize(case.away_from, otypes=[bool])(*pairs)
        if fair.all():
            return xs
    return None


def _vecgrad_value_and_grads(case, xs, cotangent):
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    out = case.apply(vecgrad, *leaves)
    out.backward(cotangent)
    return out, [leaf.grad for leaf in leaves]


def _central_vjp(case, xs, cotangent, h=1e-6):
    """vᵀ·∂f/∂x for each input by central differences (f evaluated by vecgrad, no graph)."""
    grads = []
    with vecgrad.no_grad():
        for i, x in enumerate(xs):
            grad = np.zeros_like(x)
            for index in np.ndindex(x.shape):
                up, down = [a.copy() for a in xs], [a.copy() for a in xs]
                up[i][index] += h
                down[i][index] -= h
                f_up = case.apply(vecgrad, *[Tensor(a) for a in up]).data
                f_down = case.apply(vecgrad, *[Tensor(a) for a in down]).data
                grad[index] = np.sum(cotangent * (f_up - f_down)) / (2 * h)
            grads.append(grad)
    return grads


def _shapes_and_seed(case):
    return st.tuples(SHAPES[case.arity], st.integers(0, 2**32 - 1))


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_op_against_pytorch(case):
    torch = pytest.importorskip("torch")

    @given(_shapes_and_seed(case))
    def check(shapes_and_seed):
        shapes, seed = shapes_and_seed
        xs = _draw_inputs(case, shapes, seed)
        assume(xs is not None)
        out_shape = np.broadcast_shapes(*shapes)
        cotangent = np.random.default_rng(seed + 1).standard_normal(out_shape)
        out, grads = _vecgrad_value_and_grads(case, xs, cotangent)

        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        expected = case.apply(torch, *leaves)
        expected.backward(torch.tensor(cotangent))
        assert out.shape == tuple(expected.shape)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
        for grad, leaf in zip(grads, leaves):
            assert grad.shape == tuple(leaf.shape)  # summed back over broadcast axes
            np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-9, atol=1e-12)

    check()


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_op_against_central_differences(case):
    @given(_shapes_and_seed(case))
    def check(shapes_and_seed):
        shapes, seed = shapes_and_seed
        xs = _draw_inputs(case, shapes, seed)
        assume(xs is not None)
        out_shape = np.broadcast_shapes(*shapes)
        cotangent = np.random.default_rng(seed + 1).standard_normal(out_shape)
        _, grads = _vecgrad_value_and_grads(case, xs, cotangent)
        for grad, expected in zip(grads, _central_vjp(case, xs, cotangent)):
            np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)

    check()


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_float32_stays_float32(case):
    """The MNIST path is float32: values and gradients keep it, Python numbers too."""
    shapes = [(3, 4), (4,)][: case.arity]
    xs64 = _draw_inputs(case, shapes, seed=7)
    xs32 = [x.astype(np.float32) for x in xs64]
    cotangent = np.random.default_rng(8).standard_normal((3, 4))
    out32, grads32 = _vecgrad_value_and_grads(case, xs32, cotangent.astype(np.float32))
    out64, grads64 = _vecgrad_value_and_grads(case, xs64, cotangent)
    assert out32.dtype == np.float32
    assert [g.dtype for g in grads32] == [np.float32] * case.arity
    np.testing.assert_allclose(out32.data, out64.data, rtol=1e-5, atol=1e-5)
    for g32, g64 in zip(grads32, grads64):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_ties_split_the_gradient_like_pytorch(name):
    torch = pytest.importorskip("torch")
    a = Tensor([2.0, 1.0, 3.0], requires_grad=True)
    b = Tensor([2.0, 2.0, 3.0], requires_grad=True)
    getattr(vecgrad, name)(a, b).sum().backward()
    ta = torch.tensor([2.0, 1.0, 3.0], requires_grad=True)
    tb = torch.tensor([2.0, 2.0, 3.0], requires_grad=True)
    getattr(torch, name)(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())
    assert a.grad[0] == b.grad[0] == 0.5


def test_ndarray_on_the_left_gives_a_tensor():
    """``ndarray * Tensor`` and ``np.exp(Tensor)`` run vecgrad's ops (__array_ufunc__)."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x + np.exp(x)
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0 + np.e, 4.0 + np.e**2], rtol=1e-6)


# ---- regressions: derivatives that came out wrong (issue #13) -------------------------


def test_pow_at_base_zero_is_one_convention_in_both_modes_as_pytorch():
    """The slope of x^y at x = 0 is +∞ for 0 < y < 1, 0 for y = 0 or y > 1 (PyTorch), for
    Tensor ** Tensor, Tensor ** number and their duals, never an error nor a silent 0."""
    torch = pytest.importorskip("torch")
    from vecgrad.forward import Dual

    ys = np.array([0.5, 0.25, 1.0, 2.0, 0.0])
    tx = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(ys, requires_grad=True)
    (tx**ty).sum().backward()
    x, y = Tensor(np.zeros(5), requires_grad=True), Tensor(ys, requires_grad=True)
    (x**y).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    np.testing.assert_array_equal(y.grad, ty.grad.numpy())
    np.testing.assert_array_equal((Dual(np.zeros(5), np.ones(5)) ** ys).tangent, tx.grad)
    np.testing.assert_array_equal(
        (Dual(np.zeros(5), np.zeros(5)) ** Dual(ys, np.ones(5))).tangent, ty.grad
    )
    for k in ys:
        x = Tensor([0.0], requires_grad=True, dtype=np.float64)
        (x**k).sum().backward()
        t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        (t**k).sum().backward()
        np.testing.assert_array_equal(x.grad, t.grad.numpy())
        np.testing.assert_array_equal((Dual(np.zeros(1), np.ones(1)) ** k).tangent, t.grad)


@pytest.mark.parametrize(
    "dtype, scale", [(np.float32, 1e-20), (np.float32, 1e-30), (np.float64, 1e-170)]
)
def test_division_adjoints_never_square_the_divisor(dtype, scale):
    """ȳ = −(ḡ/y)·(x/y): y² underflows (1e-20² in float32) where the answer is −1/scale."""
    from vecgrad.forward import Dual

    x = Tensor(np.array([scale], dtype), requires_grad=True)
    y = Tensor(np.array([scale], dtype), requires_grad=True)
    (x / y).sum().backward()
    want = np.array([1 / dtype(scale)], dtype)
    np.testing.assert_array_equal(x.grad, want)
    np.testing.assert_array_equal(y.grad, -want)
    ones, zeros = np.ones(1, dtype), np.zeros(1, dtype)
    tangent = (Dual(x.data, zeros) / Dual(y.data, ones)).tangent
    np.testing.assert_array_equal(tangent, -want)


def test_a_negative_base_with_a_constant_exponent_is_a_power_as_in_pytorch():
    """ln x appears only in ∂/∂y: with y a constant, (−2)² is 4 and its slope −4, as torch;
    with y requiring grad a negative base is refused, naming why."""
    torch = pytest.importorskip("torch")
    x = Tensor(np.array([-2.0, 3.0]), requires_grad=True)
    out = x ** np.array([2.0, 3.0])
    out.sum().backward()
    tx = torch.tensor([-2.0, 3.0], dtype=torch.float64, requires_grad=True)
    expected = tx ** torch.tensor([2.0, 3.0], dtype=torch.float64)
    expected.sum().backward()
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    with pytest.raises(ValueError, match="base -2.0 at index .* requires grad needs x ≥ 0"):
        Tensor(np.array([-2.0])) ** Tensor(np.array([2.0]), requires_grad=True)
    with pytest.raises(FloatingPointError, match="undefined"):  # (−2)^½ is no real number
        Tensor(np.array([-2.0])) ** np.array([0.5])


# ---- the ops of whole arrays: matmul, reductions, shapes, indexing, softmax ----------


def _array_inputs(case, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(case.low, case.high, size=shape) for shape in case.shapes]


def _array_value_and_grads(case, xs, seed):
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    out = case.apply(array_namespace("vecgrad", vecgrad), *leaves)
    cotangent = np.random.default_rng(seed + 1).standard_normal(out.shape)
    out.backward(grad=cotangent)
    return out.data, [leaf.grad for leaf in leaves], cotangent


@pytest.mark.parametrize("case", ARRAY_OPS, ids=repr)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_array_op_against_pytorch(case, seed):
    torch = pytest.importorskip("torch")
    xs = _array_inputs(case, seed)
    value, grads, cotangent = _array_value_and_grads(case, xs, seed)
    leaves = [torch.tensor(x, requires_grad=True) for x in xs]
    expected = case.apply(array_namespace("torch", torch), *leaves)
    expected.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for grad, leaf in zip(grads, leaves):
        np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ARRAY_OPS, ids=repr)
def test_array_op_against_central_differences(case):
    xs = _array_inputs(case, 5)
    _, grads, cotangent = _array_value_and_grads(case, xs, 5)
    ns, h = array_namespace("vecgrad", vecgrad), 1e-6
    for i, x in enumerate(xs):
        expected = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            up, down = [a.copy() for a in xs], [a.copy() for a in xs]
            up[i][index] += h
            down[i][index] -= h
            with vecgrad.no_grad():
                f_up = case.apply(ns, *[Tensor(a) for a in up]).data
                f_down = case.apply(ns, *[Tensor(a) for a in down]).data
            expected[index] = np.sum(cotangent * (f_up - f_down)) / (2 * h)
        np.testing.assert_allclose(grads[i], expected, rtol=1e-5, atol=1e-6)
