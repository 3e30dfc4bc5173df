"""vecgrad.functional.linear: x @ W + b as one op. Values and gradients against PyTorch's
F.linear (whose weight is the transpose of ours) and central differences, double backward,
one node per nn.Linear, the trace's labels, and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import scalargrad
import vecgrad
from scalargrad.display.trace import forward_rows
from vecgrad import Tensor, array_ops, nn
from vecgrad import functional as F

try:
    import torch
except ImportError:  # only the tests that compare against PyTorch skip
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is this test's oracle")

SHAPES = [(5, 3), (3,), (2, 4, 3), (0, 3)]  # rows, one vector, a batch of rows, no rows


def _arrays(x_shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    W = rng.standard_normal((3, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    return x, W, b


@needs_torch
@pytest.mark.parametrize("x_shape", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_values_and_gradients_match_torch(x_shape, bias):
    x, W, b = _arrays(x_shape)
    leaves = [Tensor(a, requires_grad=True) for a in (x, W, b)]
    out = F.linear(*leaves[:2], leaves[2] if bias else None)
    cotangent = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(cotangent)

    tx, tW, tb = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    expected = torch.nn.functional.linear(tx, tW.T, tb if bias else None)
    expected.backward(torch.tensor(cotangent))

    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    pairs = [(leaves[0], tx), (leaves[1], tW)] + ([(leaves[2], tb)] if bias else [])
    for leaf, torch_leaf in pairs:
        assert leaf.grad.shape == leaf.shape and leaf.grad.dtype == leaf.dtype
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-12, atol=1e-12)
    if not bias:
        assert leaves[2].grad is None


def test_gradients_match_central_differences():
    x, W, b = _arrays((3, 3), seed=2)
    cotangent = np.random.default_rng(3).standard_normal((3, 4))
    leaves = [Tensor(a, requires_grad=True) for a in (x, W, b)]
    F.linear(*leaves).backward(cotangent)
    h = 1e-6
    for i, leaf in enumerate(leaves):
        numeric = np.zeros_like(leaf.data)
        for index in np.ndindex(leaf.shape):
            up, down = [a.copy() for a in (x, W, b)], [a.copy() for a in (x, W, b)]
            up[i][index] += h
            down[i][index] -= h
            difference = (up[0] @ up[1] + up[2]) - (down[0] @ down[1] + down[2])
            numeric[index] = np.sum(cotangent * difference) / (2 * h)
        np.testing.assert_allclose(leaf.grad, numeric, rtol=1e-6, atol=1e-8)


def test_float32_stays_float32():
    x, W, b = _arrays((6, 3), dtype=np.float32)
    leaves = [Tensor(a, requires_grad=True) for a in (x, W, b)]
    out = F.linear(*leaves)
    out.sum().backward()
    assert out.dtype == np.float32
    assert all(leaf.grad.dtype == np.float32 for leaf in leaves)


def test_only_the_gradients_needed_are_computed():
    x, W, b = _arrays((5, 3))
    W_t, b_t = Tensor(W, requires_grad=True), Tensor(b, requires_grad=True)
    out = F.linear(x, W_t, b_t)  # the input batch needs no gradient
    assert out.op.needs_input_grad == (False, True, True)
    assert out.op.backward(np.ones((5, 4)))[0] is None


@needs_torch
def test_double_backward_matches_torch():
    x, W, b = _arrays((5, 3), seed=4)
    v = np.random.default_rng(5).standard_normal((3, 4))
    W_t = Tensor(W, requires_grad=True)
    loss = (F.linear(Tensor(x), W_t, Tensor(b, requires_grad=True)).tanh() ** 2).sum()
    loss.backward(create_graph=True)
    (W_t.grad * v).sum().backward()  # d/dW (∇_W loss · v): a Hessian-vector product

    tx, tW, tb = torch.tensor(x), torch.tensor(W, requires_grad=True), torch.tensor(b)
    tloss = (torch.tanh(tx @ tW + tb) ** 2).sum()
    (grad,) = torch.autograd.grad(tloss, tW, create_graph=True)
    (hvp,) = torch.autograd.grad((grad * torch.tensor(v)).sum(), tW)
    expected = grad.detach().numpy() + hvp.numpy()  # W.grad holds ∇ loss, then adds H·v
    np.testing.assert_allclose(W_t.grad.data, expected, rtol=1e-10, atol=1e-12)


def test_nn_linear_records_one_node():
    layer = nn.Linear(3, 4, rng=np.random.default_rng(0))
    out = layer(np.ones((2, 3), dtype=np.float32))
    assert isinstance(out.op, array_ops.Linear)
    assert out.parents[1:] == (layer.weight, layer.bias)
    no_bias = nn.Linear(3, 4, bias=False, rng=np.random.default_rng(0))
    assert isinstance(no_bias(np.ones((2, 3), dtype=np.float32)).op, array_ops.MatMul)


def test_trace_writes_the_products_in_order():
    x = Tensor(np.array([[1.0, 2.0]]), name="x")
    W = Tensor(np.ones((2, 3)), requires_grad=True, name="W")
    b = Tensor(np.zeros(3), requires_grad=True, name="b")
    loss = F.linear(x, W, b).sum()
    rows = [str(row) for row in forward_rows(loss)]
    assert rows[3] == "v4 = v1 @ v2 + v3 = (1, 3) float64 [[3, 3, 3]]"
    backward = scalargrad.backward_trace(loss).to_text()
    assert "v1ᵀ·v̄4" in backward and "Σ v̄4" in backward


@pytest.mark.parametrize(
    ("x", "W", "b", "message"),
    [
        (np.ones((2, 3)), np.ones(3), None, r"linear: W must be a floating-point matrix"),
        (np.ones((2, 3)), np.ones((3, 4), dtype=np.int64), None, r"dtype int64"),
        (np.ones((2, 5)), np.ones((3, 4)), None, r"x of shape \(2, 5\) needs 3 features"),
        (np.float64(1.0), np.ones((3, 4)), None, r"x of shape \(\) needs 3 features"),
        (np.ones((2, 3)), np.ones((3, 4)), np.ones(3), r"b of shape \(3,\) does not match"),
    ],
)
def test_errors_name_the_function_and_shapes(x, W, b, message):
    with pytest.raises(ValueError, match=message):
        F.linear(x, W, b)


def test_no_grad_records_nothing():
    x, W, b = _arrays((5, 3))
    with vecgrad.no_grad():
        out = F.linear(x, Tensor(W, requires_grad=True), Tensor(b, requires_grad=True))
    assert out.op is None and not out.requires_grad
    np.testing.assert_allclose(out.data, x @ W + b)
