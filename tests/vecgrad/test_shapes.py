"""vecgrad's ops that move or combine entries: matmul, reductions, reshape, transpose,
indexing, concatenate/stack, broadcast_to. Values and gradients against PyTorch (float64,
random shapes from hypothesis) and against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vecgrad
from vecgrad import Tensor

try:
    import torch
except ImportError:  # only the tests that compare against PyTorch skip
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is this test's oracle")


def _assert_matches_torch(vecgrad_fn, torch_fn, *arrays, seed=0, rtol=1e-10):
    """Run one function through vecgrad and torch; compare the output and every gradient."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = vecgrad_fn(*leaves)
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(cotangent)
    torch_leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = torch_fn(*torch_leaves)
    expected.backward(torch.tensor(cotangent))
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-12)
    for leaf, torch_leaf in zip(leaves, torch_leaves):
        assert leaf.grad.shape == leaf.shape
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=rtol, atol=1e-12)
    return leaves


def _central_vjp(fn, arrays, cotangent, h=1e-6):
    """vᵀ·∂fn/∂x for each array, by central differences."""
    grads = []
    with vecgrad.no_grad():
        for i, x in enumerate(arrays):
            grad = np.zeros_like(x)
            for index in np.ndindex(x.shape):
                up, down = [a.copy() for a in arrays], [a.copy() for a in arrays]
                up[i][index] += h
                down[i][index] -= h
                difference = fn(*map(Tensor, up)).data - fn(*map(Tensor, down)).data
                grad[index] = np.sum(cotangent * difference) / (2 * h)
            grads.append(grad)
    return grads


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- matmul -------------------------------------------------------------------------


@st.composite
def matmul_shapes(draw):
    """Shapes of x and W for x @ W: 1-D or not, with batch dims that broadcast."""
    batch = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3)
    ).input_shapes
    n, d, k = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x_shape = (d,) if draw(st.booleans()) else batch[0] + (n, d)
    w_shape = (d,) if draw(st.booleans()) else batch[1] + (d, k)
    return x_shape, w_shape


@needs_torch
@given(matmul_shapes(), st.integers(0, 2**32 - 1))
def test_matmul_against_pytorch(shapes, seed):
    x, W = _random(shapes[0], seed), _random(shapes[1], seed + 1)
    _assert_matches_torch(lambda a, b: a @ b, torch.matmul, x, W, seed=seed + 2)


@given(matmul_shapes(), st.integers(0, 2**32 - 1))
def test_matmul_against_central_differences(shapes, seed):
    x, W = _random(shapes[0], seed), _random(shapes[1], seed + 1)
    leaves = [Tensor(x, requires_grad=True), Tensor(W, requires_grad=True)]
    out = vecgrad.matmul(*leaves)
    cotangent = _random(out.shape, seed + 2)
    out.backward(cotangent)
    for leaf, expected in zip(leaves, _central_vjp(vecgrad.matmul, [x, W], cotangent)):
        np.testing.assert_allclose(leaf.grad, expected, rtol=1e-6, atol=1e-7)


def test_matmul_batch_gradients_are_summed_over_broadcast_batch_dims():
    """W (3, 4) is shared by the 5 batch items of x (5, 2, 3): W̄ = Σᵢ xᵢᵀ·ḡᵢ."""
    x, W, g = _random((5, 2, 3), 0), _random((3, 4), 1), _random((5, 2, 4), 2)
    x_leaf, w_leaf = Tensor(x, requires_grad=True), Tensor(W, requires_grad=True)
    (x_leaf @ w_leaf).backward(g)
    np.testing.assert_allclose(w_leaf.grad, sum(x[i].T @ g[i] for i in range(5)), rtol=1e-12)
    np.testing.assert_allclose(x_leaf.grad, g @ W.T, rtol=1e-12)


def test_matmul_skips_the_gradient_an_input_does_not_need():
    x = Tensor(_random((4, 3), 0))  # data: no gradient wanted
    W = Tensor(_random((3, 2), 1), requires_grad=True)
    out = x @ W
    assert out.op.needs_input_grad == (False, True)
    x_grad, w_grad = out.op.backward(np.ones((4, 2)))
    assert x_grad is None and w_grad.shape == (3, 2)


# ---- reductions ---------------------------------------------------------------------


@st.composite
def reduction_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    axes = draw(
        st.none()
        | st.integers(-len(shape), len(shape) - 1)
        | st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)
    )
    return shape, axes, draw(st.booleans())


def _torch_dims(axes, ndim):
    return tuple(range(ndim)) if axes is None else axes


@needs_torch
@given(reduction_case(), st.integers(0, 2**32 - 1))
def test_sum_and_mean_against_pytorch(case, seed):
    shape, axes, keepdims = case
    x = _random(shape, seed)
    dims = _torch_dims(axes, len(shape))
    _assert_matches_torch(
        lambda t: t.sum(axis=axes, keepdims=keepdims),
        lambda t: t.sum(dim=dims, keepdim=keepdims),
        x,
        seed=seed,
    )
    _assert_matches_torch(
        lambda t: vecgrad.mean(t, axis=axes, keepdims=keepdims),
        lambda t: t.mean(dim=dims, keepdim=keepdims),
        x,
        seed=seed,
    )


@needs_torch
@given(reduction_case(), st.integers(0, 2**32 - 1), st.booleans())
def test_max_against_pytorch_ties_split_equally(case, seed, with_ties):
    shape, axes, keepdims = case
    rng = np.random.default_rng(seed)
    # Small integers make ties common; PyTorch's amax splits ḡ equally between them too.
    x = rng.integers(0, 3, size=shape).astype(np.float64) if with_ties else _random(shape, seed)
    dims = _torch_dims(axes, len(shape))
    _assert_matches_torch(
        lambda t: t.max(axis=axes, keepdims=keepdims),
        lambda t: torch.amax(t, dim=dims, keepdim=keepdims),
        x,
        seed=seed,
    )


def test_max_without_ties_against_central_differences():
    x = _random((3, 4), 3)
    cotangent = _random((4,), 4)
    leaf = Tensor(x, requires_grad=True)
    leaf.max(axis=0).backward(cotangent)
    (expected,) = _central_vjp(lambda t: t.max(axis=0), [x], cotangent)
    np.testing.assert_allclose(leaf.grad, expected, rtol=1e-6, atol=1e-8)


def test_full_reductions_are_scalars_that_need_no_seed():
    x = Tensor(_random((2, 3), 0), requires_grad=True)
    for total in (x.sum(), x.mean(), x.max(), vecgrad.sum(x)):
        assert total.shape == ()
        x.zero_grad()
        total.backward()
        assert x.grad.shape == (2, 3)


# ---- reshape, transpose, broadcast_to -----------------------------------------------


@needs_torch
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), st.integers(0, 2**32 - 1))
def test_reshape_and_transpose_against_pytorch(shape, seed):
    x = _random(shape, seed)
    rng = np.random.default_rng(seed)
    flat = int(np.prod(shape))
    _assert_matches_torch(
        lambda t: t.reshape(flat, -1), lambda t: t.reshape(flat, -1), x, seed=seed
    )
    _assert_matches_torch(lambda t: t.reshape(-1), lambda t: t.reshape(-1), x, seed=seed)
    axes = tuple(int(a) for a in rng.permutation(len(shape)))
    _assert_matches_torch(lambda t: t.transpose(axes), lambda t: t.permute(axes), x, seed=seed)
    _assert_matches_torch(lambda t: t.T, lambda t: t.permute(tuple(reversed(range(t.ndim)))), x)
    _assert_matches_torch(lambda t: t.swapaxes(0, -1), lambda t: t.transpose(0, -1), x, seed=seed)


@needs_torch
def test_broadcast_to_sums_the_gradient_back():
    x = _random((3, 1), 0)
    _assert_matches_torch(lambda t: t.broadcast_to((2, 3, 4)), lambda t: t.expand(2, 3, 4), x)


def test_bias_broadcast_is_a_node_of_its_own():
    """x @ W + b: b is broadcast over the batch by a BroadcastTo node, whose backward sums."""
    x = Tensor(_random((5, 3), 0))
    W = Tensor(_random((3, 2), 1), requires_grad=True)
    b = Tensor(_random((2,), 2), requires_grad=True)
    out = x @ W + b
    broadcast = out.parents[1]
    assert type(broadcast.op).__name__ == "BroadcastTo" and broadcast.parents == (b,)
    out.sum().backward()
    np.testing.assert_allclose(b.grad, [5.0, 5.0])


# ---- indexing -----------------------------------------------------------------------


INDEXES = [
    (1,),
    (slice(1, 3),),
    ((slice(None), 2),),
    ((Ellipsis, slice(0, None, 2)),),
    (np.array([0, 2, 2, 1]),),  # repeats: the gradient adds up
    ((np.array([0, 1, 3]), np.array([2, 0, 2])),),
    ((np.array([[0], [3]]), slice(1, 3)),),
    ((None, 1),),
    (np.array([True, False, True, True]),),
]


@needs_torch
@pytest.mark.parametrize("index", [case[0] for case in INDEXES], ids=repr)
def test_indexing_against_pytorch(index):
    x = _random((4, 3), 5)

    def as_torch(part):
        return torch.as_tensor(part) if isinstance(part, np.ndarray) else part

    torch_index = tuple(map(as_torch, index)) if isinstance(index, tuple) else as_torch(index)
    _assert_matches_torch(lambda t: t[index], lambda t: t[torch_index], x)


@needs_torch
def test_logits_at_the_labels():
    """``logits[range(n), labels]``: the entry of each row's label, as in the NLL loss."""
    logits = _random((5, 4), 6)
    labels = np.array([3, 0, 0, 2, 1])
    leaf = _assert_matches_torch(
        lambda t: t[range(5), labels],
        lambda t: t[torch.arange(5), torch.as_tensor(labels)],
        logits,
    )[0]
    cotangent = np.random.default_rng(0).standard_normal(5)
    expected = np.zeros((5, 4))
    expected[np.arange(5), labels] = cotangent
    np.testing.assert_allclose(leaf.grad, expected)


def test_index_with_a_label_tensor():
    logits = Tensor(_random((3, 4), 7), requires_grad=True)
    labels = vecgrad.tensor([1, 2, 3])
    assert labels.dtype == np.int64
    picked = logits[vecgrad.arange(3), labels]
    np.testing.assert_allclose(picked.data, logits.data[[0, 1, 2], [1, 2, 3]])


# ---- concatenate and stack ----------------------------------------------------------


@needs_torch
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), st.integers(0, 2**32 - 1))
def test_concatenate_and_stack_against_pytorch(shape, seed):
    rng = np.random.default_rng(seed)
    axis = int(rng.integers(-len(shape), len(shape)))
    other = list(shape)
    other[axis] = int(rng.integers(1, 4))
    a, b, c = _random(shape, seed), _random(tuple(other), seed + 1), _random(shape, seed + 2)
    _assert_matches_torch(
        lambda *ts: vecgrad.concatenate(ts, axis=axis),
        lambda *ts: torch.cat(ts, dim=axis),
        a,
        b,
        a.copy(),
        seed=seed,
    )
    stack_axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    _assert_matches_torch(
        lambda *ts: vecgrad.stack(ts, axis=stack_axis),
        lambda *ts: torch.stack(ts, dim=stack_axis),
        a,
        c,
        seed=seed,
    )


def test_concatenate_mixes_tensors_and_arrays():
    x = Tensor([1.0, 2.0], requires_grad=True)
    joined = np.concatenate([np.zeros(2, dtype=np.float32), x])  # numpy hands over to vecgrad
    assert isinstance(joined, Tensor)
    (joined * np.arange(4)).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_min_reduction_against_pytorch_ties_split_equally(axis):
    torch = pytest.importorskip("torch")
    data = np.array([[3.0, -1.0, -1.0], [0.5, 2.0, -4.0]])  # a tie in row 0
    x = Tensor(data, requires_grad=True)
    out = x.min(axis=axis, keepdims=True)
    out.backward(np.ones(out.shape))
    t = torch.tensor(data, requires_grad=True)
    dims = (0, 1) if axis is None else axis
    expected = torch.amin(t, dim=dims, keepdim=True)
    expected.backward(torch.ones_like(expected))
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    with pytest.raises(TypeError, match="vecgrad.minimum"):
        x.min(Tensor(data))
