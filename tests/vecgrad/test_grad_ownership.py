"""A leaf keeps a fresh gradient without copying it, and still no two gradients share
memory: products (xᵀ·ḡ) are kept as they are; pass-through adjoints (``a + b`` gives both
the same ḡ), seeds, steps that someone keeps and create_graph gradients are copied."""

from __future__ import annotations

import numpy as np
import pytest

from vecgrad import Tensor
from vecgrad import functional as F

try:
    import torch  # the oracle; only the tests that compare against it skip without it
except ImportError:
    torch = None


def _assert_no_two_share(*arrays):
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)


def _mlp(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 4)).astype(dtype)
    params = [
        Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
        for shape in [(4, 5), (5,), (5, 3), (3,)]
    ]
    return x, params


def _loss(x, params):
    W1, b1, W2, b2 = params
    return F.cross_entropy(F.linear(F.linear(x, W1, b1).relu(), W2, b2), [0, 1, 2, 0, 1, 2])


def test_layer_gradients_are_correct_and_separate():
    pytest.importorskip("torch")
    x, params = _mlp()
    _loss(x, params).backward()
    torch_params = [torch.tensor(p.data, requires_grad=True) for p in params]
    W1, b1, W2, b2 = torch_params
    hidden = torch.relu(torch.tensor(x) @ W1 + b1)
    torch.nn.functional.cross_entropy(hidden @ W2 + b2, torch.tensor([0, 1, 2, 0, 1, 2])).backward()
    for p, tp in zip(params, torch_params):
        assert p.grad.dtype == np.float32 and p.grad.flags.writeable
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-5, atol=1e-6)
    _assert_no_two_share(*(p.grad for p in params))


def test_changing_one_gradient_in_place_changes_no_other():
    x, params = _mlp()
    _loss(x, params).backward()
    before = [p.grad.copy() for p in params]
    params[0].grad *= 0  # e.g. gradient clipping, done by hand
    for p, old in zip(params[1:], before[1:]):
        np.testing.assert_array_equal(p.grad, old)


def test_a_second_pass_adds_out_of_place():
    x, params = _mlp()
    _loss(x, params).backward()
    first = params[0].grad
    kept = first.copy()
    _loss(x, params).backward()
    np.testing.assert_array_equal(first, kept)  # the first pass's array is left alone
    np.testing.assert_allclose(params[0].grad, 2 * kept, rtol=1e-6)


def test_pass_through_adjoints_are_copied():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).backward(np.array([1.0, 2.0, 3.0]))  # Add hands the same ḡ to both
    _assert_no_two_share(a.grad, b.grad)
    a.grad[0] = 100
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])


def test_the_seed_is_copied():
    W = Tensor(np.ones((2, 2)), requires_grad=True)
    seed = np.ones((2, 2))
    W.backward(seed)  # W is its own root: its gradient is the seed
    assert not np.shares_memory(W.grad, seed)


def test_a_tied_weight_gets_the_sum_of_both_products():
    pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    W_t = Tensor(W, requires_grad=True)
    ((Tensor(x) @ W_t) @ W_t).sum().backward()
    tW = torch.tensor(W, requires_grad=True)
    ((torch.tensor(x) @ tW) @ tW).sum().backward()
    np.testing.assert_allclose(W_t.grad, tW.grad.numpy(), rtol=1e-12)


def test_a_gradient_of_another_dtype_is_converted():
    W = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    x = np.arange(6.0).reshape(2, 3)  # float64: xᵀ·ḡ comes out float64
    (x @ W).sum().backward()
    assert W.grad.dtype == np.float32
    np.testing.assert_array_equal(W.grad, np.repeat(x.sum(axis=0)[:, None], 2, axis=1))


def test_retained_intermediate_and_leaf_are_separate():
    rng = np.random.default_rng(2)
    W, V = (Tensor(rng.standard_normal((3, 3)), requires_grad=True) for _ in range(2))
    h = Tensor(rng.standard_normal((2, 3))) @ W
    h.retain_grad()
    (h @ V).sum().backward()
    _assert_no_two_share(h.grad, W.grad, V.grad)


def test_steps_that_are_kept_do_not_share_with_gradients():
    x, params = _mlp()
    steps = list(_loss(x, params).backward_steps())
    adjoints = {id(step.node): step.adjoint for step in steps}
    for p in params:
        assert not np.shares_memory(p.grad, adjoints[id(p)])
        np.testing.assert_array_equal(p.grad, adjoints[id(p)])
    kept = [partial.value for step in steps for partial in step.partials]
    for p in params:  # nor do the partial adjoints a stepper shows
        assert not any(np.shares_memory(p.grad, value) for value in kept)


def test_create_graph_gradients_are_nodes_of_their_own():
    x, params = _mlp(dtype=np.float64)
    _loss(x, params).backward(create_graph=True)
    grads = [p.grad for p in params]
    assert all(isinstance(g, Tensor) for g in grads)
    _assert_no_two_share(*(g.data for g in grads))
