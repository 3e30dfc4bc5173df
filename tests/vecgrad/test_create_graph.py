"""``backward(create_graph=True)``: gradients that are themselves differentiable.

Second derivatives against closed forms, every op's second-order vector products against
PyTorch's double backward, and the Hessian-vector product of a small network's loss
against ``torch.autograd.functional.hvp``.
"""

from __future__ import annotations

import numpy as np
import pytest

import vecgrad
from scalargrad import topological_order as scalargrad_topological_order
from tests.shared.op_table import OPS
from vecgrad import Tensor
from vecgrad import functional as F

try:
    import torch  # the oracle; only the tests that compare against it skip without it
except ImportError:
    torch = None


def _second_order(fn, arrays, v, u):
    """With g = ∂(v·fn(x))/∂x recorded, return ∂(Σ u·g)/∂x for each input (and the g's)."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    fn(*leaves).backward(v, create_graph=True)
    grads = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.zero_grad()
    total = sum((g * w).sum() for g, w in zip(grads, u))
    if total.requires_grad:  # a linear fn has a constant gradient: nothing more flows
        total.backward()
    return [leaf.grad for leaf in leaves], grads


def _second_order_torch(fn, arrays, v, u):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(fn(*leaves), leaves, torch.tensor(v), create_graph=True)
    total = sum((g * torch.tensor(w)).sum() for g, w in zip(grads, u))
    if not total.requires_grad:
        return [None] * len(leaves), grads
    second = torch.autograd.grad(total, leaves, allow_unused=True)
    return second, grads


def _assert_second_order_matches_torch(vecgrad_fn, torch_fn, arrays, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(vecgrad_fn(*map(Tensor, arrays)).shape)
    u = [rng.standard_normal(a.shape) for a in arrays]
    ours, our_grads = _second_order(vecgrad_fn, arrays, v, u)
    theirs, their_grads = _second_order_torch(torch_fn, arrays, v, u)
    for g, expected in zip(our_grads, their_grads):
        assert isinstance(g, Tensor)
        np.testing.assert_allclose(g.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for h, expected, a in zip(ours, theirs, arrays):
        h = np.zeros(a.shape) if h is None else h  # no second-order path reached this input
        expected = np.zeros(a.shape) if expected is None else expected.numpy(force=True)
        np.testing.assert_allclose(h, expected, rtol=1e-9, atol=1e-11)


def test_second_derivative_of_tanh_and_sin_elementwise():
    x_value = np.linspace(-2, 2, 7)
    for fn, second in (
        (vecgrad.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
        (vecgrad.sin, lambda x: -np.sin(x)),
    ):
        x = Tensor(x_value, requires_grad=True)
        fn(x).sum().backward(create_graph=True)
        first = x.grad
        assert isinstance(first, Tensor) and first.requires_grad
        x.zero_grad()
        first.sum().backward()
        np.testing.assert_allclose(x.grad, second(x_value), rtol=1e-13, atol=1e-15)


def test_third_derivative_of_exp_is_exp():
    x = Tensor(np.array([0.3, -1.0]), requires_grad=True)
    x.exp().sum().backward(create_graph=True)
    g1 = x.grad
    x.zero_grad()
    g1.sum().backward(create_graph=True)
    g2 = x.grad
    x.zero_grad()
    g2.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data), rtol=1e-14)


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_every_table_op_second_order_against_pytorch(case):
    pytest.importorskip("torch")
    rng = np.random.default_rng(len(case.name))
    shapes = [(2, 3), (3,)][: case.arity]  # broadcasting inside the recorded backward too
    for _ in range(100):
        arrays = [rng.uniform(case.low, case.high, size=s) for s in shapes]
        pairs = np.broadcast_arrays(*arrays)
        if case.away_from is None or np.vectorize(case.away_from)(*pairs).all():
            break
    _assert_second_order_matches_torch(
        lambda *ts: case.apply(vecgrad, *ts),
        lambda *ts: case.apply(torch, *ts),
        arrays,
    )


SHAPE_OPS = [
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    ("matmul_1d", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4, 3)]),
    ("sum_axis", lambda a: (a * a).sum(axis=1), lambda a: (a * a).sum(dim=1), [(3, 4)]),
    (
        "mean",
        lambda a: (a * a).mean(axis=0, keepdims=True),
        lambda a: (a * a).mean(dim=0, keepdim=True),
        [(3, 4)],
    ),
    ("max", lambda a: (a * a).max(axis=1), lambda a: torch.amax(a * a, dim=1), [(3, 4)]),
    (
        "reshape_T",
        lambda a: (a.reshape(4, 3).T * a).sin(),
        lambda a: (a.reshape(4, 3).T * a).sin(),
        [(3, 4)],
    ),
    ("getitem", lambda a: a[[0, 2, 2], 1:] ** 2, lambda a: a[[0, 2, 2], 1:] ** 2, [(3, 4)]),
    (
        "concat_stack",
        lambda a, b: vecgrad.stack([vecgrad.concatenate([a, b])[1:3] ** 2, a.tanh()]),
        lambda a, b: torch.stack([torch.cat([a, b])[1:3] ** 2, a.tanh()]),
        [(2, 3), (2, 3)],
    ),
    ("softmax", lambda a: F.softmax(a), lambda a: torch.softmax(a, -1), [(3, 4)]),
    ("log_softmax", lambda a: F.log_softmax(a), lambda a: torch.log_softmax(a, -1), [(3, 4)]),
    (
        "cross_entropy",
        lambda a: F.cross_entropy(a, [1, 0, 3]),
        lambda a: torch.nn.functional.cross_entropy(a, torch.tensor([1, 0, 3])),
        [(3, 4)],
    ),
    (
        "nll_loss",
        lambda a: F.nll_loss(F.log_softmax(a), [1, 0, 3], reduction="sum"),
        lambda a: torch.nn.functional.nll_loss(
            torch.log_softmax(a, -1), torch.tensor([1, 0, 3]), reduction="sum"
        ),
        [(3, 4)],
    ),
    ("bias", lambda a, b: (a + b) ** 3, lambda a, b: (a + b) ** 3, [(3, 4), (4,)]),
    (
        "maximum_sigmoid_relu",
        lambda a, b: vecgrad.maximum(a.sigmoid(), b) * a.relu() + abs(b) ** 2,
        lambda a, b: torch.maximum(a.sigmoid(), b) * a.relu() + abs(b) ** 2,
        [(3, 4), (3, 4)],
    ),
]


@pytest.mark.parametrize(
    ("name", "ours", "theirs", "shapes"), SHAPE_OPS, ids=[c[0] for c in SHAPE_OPS]
)
def test_shape_ops_second_order_against_pytorch(name, ours, theirs, shapes):
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    _assert_second_order_matches_torch(ours, theirs, [rng.standard_normal(s) for s in shapes])


def test_hessian_vector_product_of_a_small_network_against_pytorch():
    """f(θ) = ce(tanh(X·W₁ + b₁)·W₂, y) + ½·λ‖W₁‖²: (∇²f)·v by double backward."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, labels = rng.standard_normal((5, 3)), rng.integers(0, 4, 5)
    shapes = [(3, 6), (6,), (6, 4)]
    params = [rng.standard_normal(s) * 0.7 for s in shapes]
    directions = [rng.standard_normal(s) for s in shapes]

    def loss(W1, b1, W2, lib):
        if lib is torch:
            hidden = torch.tanh(torch.tensor(X) @ W1 + b1)
            ce = torch.nn.functional.cross_entropy(hidden @ W2, torch.tensor(labels))
        else:
            hidden = (X @ W1 + b1).tanh()
            ce = F.cross_entropy(hidden @ W2, labels)
        return ce + 0.05 * (W1 * W1).sum()

    leaves = [Tensor(p, requires_grad=True) for p in params]
    loss(*leaves, vecgrad).backward(create_graph=True)
    grads = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.zero_grad()
    sum((g * v).sum() for g, v in zip(grads, directions)).backward()

    _, expected = torch.autograd.functional.hvp(
        lambda *ps: loss(*ps, torch),
        tuple(torch.tensor(p) for p in params),
        tuple(torch.tensor(v) for v in directions),
    )
    for leaf, hv in zip(leaves, expected):
        np.testing.assert_allclose(leaf.grad, hv.numpy(), rtol=1e-10, atol=1e-12)


def test_create_graph_records_even_inside_no_grad():
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = (x**3).sum()
    with vecgrad.no_grad():
        y.backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, [0.75])


def test_first_order_gradients_match_an_ordinary_pass():
    rng = np.random.default_rng(1)
    W_value, x_value = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    grads = []
    for create_graph in (False, True):
        W = Tensor(W_value, requires_grad=True)
        F.cross_entropy((Tensor(x_value) @ W).tanh(), [1, 3]).backward(create_graph=create_graph)
        grads.append(W.grad.data if create_graph else W.grad)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-14)


def test_zero_grad_frees_the_graph_that_create_graph_left_on_a_parameter():
    """p.grad's graph holds p, and p holds p.grad: a cycle only zero_grad() (or the garbage
    collector) undoes. With the collector off, zero_grad alone must free the whole graph."""
    import gc
    import weakref

    rng = np.random.default_rng(0)
    gc.disable()
    try:
        W = Tensor(rng.standard_normal((30, 30)), requires_grad=True)
        loss = ((W @ W).tanh() ** 2).sum()
        loss.backward(create_graph=True)
        assert W.grad.parents, "the gradient should be a recorded node"
        gradient = weakref.ref(W.grad)
        nodes = [weakref.ref(n) for n in scalargrad_topological_order(W.grad) if n is not W]
        del loss
        assert gradient() is not None  # held by W: the cycle
        W.zero_grad()
        assert gradient() is None and all(node() is None for node in nodes)
    finally:
        gc.enable()
