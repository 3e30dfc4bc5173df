"""The edges of vecgrad's reductions, against PyTorch: min over every dtype, max and min
over a non-empty axis of an empty tensor, std and var where the spread is 0, tiny or huge.

Each test that uses torch as its oracle skips alone without it; the others compare with
the exact answer (std of [a, 2a, 3a] is a) or with an independent construction.
"""

import numpy as np
import pytest

from vecgrad import Tensor, array_ops

# ---- min: exact for every dtype --------------------------------------------------------

INT64_MIN, INT64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max

EVERY_DTYPE = [
    np.array([[0, 7, 200], [3, 1, 255]], np.uint8),  # −x wraps: −max(−x) was wrong
    np.array([[INT64_MIN, 0, 5], [INT64_MAX, -1, INT64_MIN]], np.int64),  # −INT64_MIN wraps
    np.array([[-128, 127, 0], [5, -3, 2]], np.int8),
    np.array([[-(2**31), 4, 9], [2**31 - 1, 3, 3]], np.int32),
    np.array([[True, False, True], [True, True, True]]),  # −x is refused for bools
    np.array([[1.5, -2.0, 0.0], [np.inf, -np.inf, 3.0]], np.float32),
]


@pytest.mark.parametrize("data", EVERY_DTYPE, ids=lambda a: str(a.dtype))
def test_min_and_max_are_exact_for_every_dtype_as_torch(data):
    torch = pytest.importorskip("torch")
    x, t = Tensor(data), torch.from_numpy(data.copy())
    for name in ("min", "max"):
        whole = getattr(x, name)()
        assert whole.dtype == data.dtype
        assert whole.item() == getattr(t, name)().item()
        for dim in (0, 1, -1):
            for keepdim in (False, True):
                values, indices = getattr(x, name)(dim=dim, keepdim=keepdim)
                expected = getattr(t, name)(dim=dim, keepdim=keepdim)
                assert values.dtype == data.dtype and indices.dtype == np.int64
                np.testing.assert_array_equal(values.data, expected.values.numpy())
                np.testing.assert_array_equal(indices.data, expected.indices.numpy())
        np.testing.assert_array_equal(x.min(axis=1).data, torch.amin(t, dim=1).numpy())


def test_min_gradients_are_those_of_minus_max_of_minus_x_to_the_bit():
    # the rule min kept from −max(−x): ties share ḡ equally; float32 stays float32
    rng = np.random.default_rng(0)
    data = rng.integers(-3, 4, (4, 5, 6)).astype(np.float32)  # many ties
    g = rng.standard_normal((4, 6)).astype(np.float32)
    for axis in (None, 1, (0, 2)):
        x, y = Tensor(data, requires_grad=True), Tensor(data, requires_grad=True)
        out, old = x.min(axis=axis), -((-y).max(axis=axis))
        np.testing.assert_array_equal(out.data, old.data)
        seed = np.ones(out.shape, np.float32) if axis != 1 else g
        out.backward(seed)
        old.backward(seed)
        assert x.grad.dtype == np.float32
        np.testing.assert_array_equal(x.grad, y.grad)


def test_min_gradient_and_tangent_split_ties_as_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[3.0, -1.0, -1.0, 2.0], [0.5, 2.0, -4.0, -4.0], [1.0, 1.0, 1.0, 1.0]])
    tangent = np.arange(12.0).reshape(3, 4) / 7
    x = Tensor(data, requires_grad=True)
    ((x.min(dim=1).values * np.array([1.0, -2.0, 3.0])).sum()).backward()
    t = torch.tensor(data, requires_grad=True)
    ((torch.amin(t, dim=1) * torch.tensor([1.0, -2.0, 3.0], dtype=t.dtype)).sum()).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-15)
    op = array_ops.Min(axis=1)
    op.needs_input_grad = (True,)
    op.forward(data)
    _, expected = torch.func.jvp(
        lambda a: torch.amin(a, dim=1), (torch.tensor(data),), (torch.tensor(tangent),)
    )
    np.testing.assert_allclose(op.jvp(tangent), expected.numpy(), rtol=1e-15)


def test_min_second_derivative_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(1).standard_normal((3, 4))
    x = Tensor(data, requires_grad=True)
    (x.min(axis=1) ** 3).sum().backward(create_graph=True)
    first = x.grad
    x.grad = None
    (first * first).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.amin(t, dim=1) ** 3).sum(), t, create_graph=True)
    (tg * tg).sum().backward()
    np.testing.assert_allclose(first.data, tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_min_errors_name_min():
    x = Tensor(np.ones((2, 0)))
    with pytest.raises(ValueError, match=r"^min: the min of no elements is undefined \(axis 1"):
        x.min()
    with pytest.raises(ValueError, match=r"^min: axis 2 is out of range for shape \(2, 0\)"):
        x.min(axis=2)
    with pytest.raises(ValueError, match=r"^max: the max of no elements is undefined \(axis 1"):
        x.max(axis=1)


# ---- max and min over a non-empty axis of an empty tensor --------------------------------


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reducing_a_non_empty_axis_of_an_empty_tensor_is_empty_as_torch(name, keepdim):
    torch = pytest.importorskip("torch")
    data = np.ones((0, 3))
    x, t = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out = getattr(x, name)(axis=1, keepdims=keepdim)
    expected = getattr(torch, "a" + name)(t, dim=1, keepdim=keepdim)
    assert out.shape == tuple(expected.shape)
    out.sum().backward()
    expected.sum().backward()
    assert x.grad.shape == tuple(t.grad.shape) == (0, 3)
    values, indices = getattr(Tensor(data), name)(dim=1, keepdim=keepdim)
    theirs = getattr(t, name)(dim=1, keepdim=keepdim)
    assert values.shape == tuple(theirs.values.shape)
    assert indices.shape == tuple(theirs.indices.shape) and indices.dtype == np.int64
    arg = getattr(Tensor(data), "arg" + name)(dim=1)
    assert arg.shape == tuple(getattr(t, "arg" + name)(dim=1).shape) == (0,)


@pytest.mark.parametrize("name", ["max", "min"])
def test_reducing_an_empty_axis_is_refused_as_torch(name):
    torch = pytest.importorskip("torch")
    data = np.ones((0, 3))
    with pytest.raises(IndexError):
        getattr(torch, "a" + name)(torch.tensor(data), dim=0)
    with pytest.raises(ValueError, match=rf"{name}: the {name} of no elements .*axis 0"):
        getattr(Tensor(data), name)(axis=0)
    with pytest.raises(ValueError, match=rf"arg{name}: axis 0 of shape \(0, 3\) is empty"):
        getattr(Tensor(data), "arg" + name)(dim=0)


# ---- std and var: a constant row, tiny and huge spreads ---------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("correction", [0, 1])
def test_std_and_var_of_a_constant_row_have_gradient_zero_as_torch(dtype, correction):
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0], [-0.5, -0.5, -0.5]], dtype)
    for name in ("std", "var"):
        x = Tensor(data, requires_grad=True)
        out = getattr(x, name)(dim=1, correction=correction)
        t = torch.tensor(data, requires_grad=True)
        expected = getattr(t, name)(dim=1, correction=correction)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
        (out * np.array([1.0, 2.0, 3.0], dtype)).sum().backward()
        (expected * torch.tensor([1.0, 2.0, 3.0], dtype=t.dtype)).sum().backward()
        assert x.grad.dtype == data.dtype
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(x.grad[1:], 0.0)


def test_std_of_a_constant_tensor_has_gradient_zero():
    x = Tensor(np.full((2, 3), 7.0), requires_grad=True)
    out = x.std()
    out.backward()
    assert out.item() == 0.0
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1e20, 1e30])
def test_float32_std_of_tiny_and_huge_spreads_matches_torch(scale):
    # the squares (1e-60, 1e40) are beyond float32, the standard deviation is not
    torch = pytest.importorskip("torch")
    data = np.array([1.0, 2.0, 3.0], np.float32) * np.float32(scale)
    x = Tensor(data, requires_grad=True)
    out = x.std()
    out.backward()
    t = torch.tensor(data, requires_grad=True)
    expected = t.std()
    expected.backward()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_float64_std_of_tiny_and_huge_spreads_is_exact(scale):
    # std [a, 2a, 3a] = a, ∂/∂x = (−½, 0, ½); torch squares in float64 here and answers 0, ∞
    x = Tensor(np.array([1.0, 2.0, 3.0]) * scale, requires_grad=True)
    out = x.std()
    out.backward()
    np.testing.assert_allclose(out.item(), scale, rtol=1e-15)
    np.testing.assert_allclose(x.grad, [-0.5, 0.0, 0.5], atol=1e-15)


def test_float32_var_of_a_tiny_spread_underflows_as_torch_with_its_gradient():
    torch = pytest.importorskip("torch")
    data = np.array([1e-30, 2e-30, 3e-30], np.float32)
    x, t = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, expected = x.var(), t.var()
    out.backward()
    expected.backward()
    assert out.item() == expected.item() == 0.0  # 1e-60 is below float32's range
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6)


def test_std_keeps_its_values_and_second_derivatives_on_ordinary_input():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(3).standard_normal((3, 4, 2))
    for kwargs in ({}, {"dim": 1}, {"dim": (0, 2), "keepdim": True}, {"dim": 2, "correction": 0}):
        x = Tensor(data, requires_grad=True)
        (x.std(**kwargs) ** 2).sum().backward(create_graph=True)
        first = x.grad
        x.grad = None
        (first * first).sum().backward()
        t = torch.tensor(data, requires_grad=True)
        (tg,) = torch.autograd.grad((t.std(**kwargs) ** 2).sum(), t, create_graph=True)
        (tg * tg).sum().backward()
        np.testing.assert_allclose(Tensor(data).std(**kwargs).data, t.std(**kwargs).detach())
        np.testing.assert_allclose(first.data, tg.detach().numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_min_over_duals_and_through_numpy_is_the_min_op():
    """Forward mode: the tangent of min x is ẋ at the smallest entry (the mean over ties);
    np.min of a Tensor or a Dual is its min, as np.max is its max."""
    from vecgrad.forward import Dual

    x = np.array([[3.0, 1.0, 1.0], [2.0, 5.0, 4.0]])
    tangent = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    out = Dual(x, tangent).min(axis=1)
    np.testing.assert_array_equal(out.value, [1.0, 2.0])
    np.testing.assert_array_equal(out.tangent, [3.0, 8.0])  # the tie shares: (2 + 4)/2
    np.testing.assert_array_equal(np.min(Dual(x, tangent), axis=1).tangent, out.tangent)
    t = Tensor(x, requires_grad=True)
    np.min(t, axis=0).sum().backward()
    np.testing.assert_array_equal(t.grad, [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
