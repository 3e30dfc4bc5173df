"""softmax, log_softmax, nll_loss and the fused cross_entropy: against PyTorch, their
closed forms (softmax's Jacobian, z̄ = (softmax − p)/n) and on logits of ±1e4."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vecgrad
from vecgrad import Tensor
from vecgrad import functional as F

try:
    import torch  # the oracle; only the tests that compare against it skip without it

    TF = torch.nn.functional
except ImportError:
    torch = TF = None


def _random(shape, seed, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), st.integers(0, 2**32 - 1))
def test_softmax_and_log_softmax_against_pytorch(shape, seed):
    pytest.importorskip("torch")
    x = _random(shape, seed)
    axis = int(np.random.default_rng(seed).integers(-len(shape), len(shape)))
    cotangent = _random(shape, seed + 1)
    for ours, theirs in ((F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)):
        leaf = Tensor(x, requires_grad=True)
        out = ours(leaf, axis=axis)
        out.backward(cotangent)
        torch_leaf = torch.tensor(x, requires_grad=True)
        expected = theirs(torch_leaf, dim=axis)
        expected.backward(torch.tensor(cotangent))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_jacobian_is_diag_s_minus_s_s_transposed():
    z = _random((5,), 0)
    s = _softmax(z)
    jacobian = np.empty((5, 5))
    for i in range(5):  # row i of the Jacobian: the gradient of sᵢ
        leaf = Tensor(z, requires_grad=True)
        F.softmax(leaf)[i].backward()
        jacobian[i] = leaf.grad
    np.testing.assert_allclose(jacobian, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)


@st.composite
def logits_and_labels(draw):
    n, k = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return _random((n, k), seed), rng.integers(0, k, size=n), seed


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(case=logits_and_labels())
def test_cross_entropy_with_labels_against_pytorch(reduction, case):
    pytest.importorskip("torch")
    logits, labels, seed = case
    leaf = Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(leaf, labels, reduction=reduction)
    loss.backward()
    torch_leaf = torch.tensor(logits, requires_grad=True)
    expected = TF.cross_entropy(torch_leaf, torch.as_tensor(labels), reduction=reduction)
    expected.backward()
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(case=logits_and_labels())
def test_cross_entropy_with_probability_rows_against_pytorch(reduction, case):
    pytest.importorskip("torch")
    logits, _, seed = case
    target = _softmax(_random(logits.shape, seed + 1))
    leaf = Tensor(logits, requires_grad=True)
    F.cross_entropy(leaf, target, reduction=reduction).backward()
    torch_leaf = torch.tensor(logits, requires_grad=True)
    expected = TF.cross_entropy(torch_leaf, torch.tensor(target), reduction=reduction)
    expected.backward()
    np.testing.assert_allclose(
        F.cross_entropy(logits, target, reduction=reduction).item(), expected.item(), rtol=1e-12
    )
    np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(case=logits_and_labels())
def test_nll_loss_of_log_softmax_against_pytorch(reduction, case):
    pytest.importorskip("torch")
    logits, labels, _ = case
    leaf = Tensor(logits, requires_grad=True)
    loss = F.nll_loss(F.log_softmax(leaf), labels, reduction=reduction)
    loss.backward()
    torch_leaf = torch.tensor(logits, requires_grad=True)
    expected = TF.nll_loss(
        TF.log_softmax(torch_leaf, dim=-1), torch.as_tensor(labels), reduction=reduction
    )
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_cross_entropy_backward_is_softmax_minus_p_over_n():
    logits, labels = _random((4, 3), 1), np.array([2, 0, 1, 1])
    leaf = Tensor(logits, requires_grad=True)
    F.cross_entropy(leaf, labels).backward()
    one_hot = np.eye(3)[labels]
    np.testing.assert_allclose(leaf.grad, (_softmax(logits) - one_hot) / 4, rtol=1e-12)
    assert type(F.cross_entropy(leaf, labels).op).__name__ == "CrossEntropy"  # one fused node


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 5, 3, 2), (1, 2, 1)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_losses_over_more_axes_take_pytorchs_layout(shape, reduction):
    """Scores (n, k, d1, …): the classes on axis 1, as PyTorch's cross_entropy and nll_loss
    (not the last axis, which a torch user's code would meet as a silently other loss)."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(len(shape))
    logits = _random(shape, 3)
    labels = rng.integers(0, shape[1], shape[:1] + shape[2:])
    probabilities = _softmax(_random(shape, 4), axis=1)
    cases = [
        (F.cross_entropy, TF.cross_entropy, labels, lambda z: z),
        (F.cross_entropy, TF.cross_entropy, probabilities, lambda z: z),
        (F.nll_loss, TF.nll_loss, labels, lambda z: F.log_softmax(z, axis=1)),
    ]
    for ours, theirs, target, prepare in cases:
        leaf = Tensor(logits, requires_grad=True)
        loss = ours(prepare(leaf), target, reduction=reduction)
        loss.backward()
        torch_leaf = torch.tensor(logits, requires_grad=True)
        scores = torch_leaf if ours is F.cross_entropy else TF.log_softmax(torch_leaf, dim=1)
        expected = theirs(scores, torch.as_tensor(target), reduction=reduction)
        expected.backward()
        np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_losses_over_more_axes_name_the_layout_when_the_target_does_not_fit():
    logits = Tensor(_random((2, 3, 4), 0))
    with pytest.raises(
        ValueError, match=r"classes on axis 1 .* labels need shape \(2, 4\), got \(2, 3\)"
    ):
        F.cross_entropy(logits, np.zeros((2, 3), int))  # the classes-last guess of (2, 3)
    with pytest.raises(ValueError, match=r"probabilities need shape \(2, 3, 4\)"):
        F.cross_entropy(logits, np.full((2, 4, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"nll_loss: .* labels need shape \(2, 4\)"):
        F.nll_loss(logits, np.zeros((2, 3), int))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_stay_finite_and_match_pytorch(dtype):
    pytest.importorskip("torch")
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    labels = np.array([1, 2, 0])
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    for name in ("softmax", "log_softmax", "cross_entropy"):
        leaf = Tensor(logits, requires_grad=True)
        torch_leaf = torch.tensor(logits, dtype=torch_dtype, requires_grad=True)
        if name == "cross_entropy":
            out = F.cross_entropy(leaf, labels)
            expected = TF.cross_entropy(torch_leaf, torch.as_tensor(labels))
        else:
            out = getattr(F, name)(leaf, axis=-1)
            expected = getattr(TF, name)(torch_leaf, dim=-1)
        out.sum().backward()
        expected.sum().backward()
        assert out.dtype == dtype and leaf.grad.dtype == dtype
        assert np.isfinite(out.data).all() and np.isfinite(leaf.grad).all()
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_cross_entropy_accepts_label_tensors_and_lists():
    logits = _random((3, 4), 4)
    expected = F.cross_entropy(logits, np.array([0, 3, 1])).item()
    assert F.cross_entropy(logits, [0, 3, 1]).item() == expected
    assert F.cross_entropy(logits, vecgrad.tensor([0, 3, 1])).item() == expected


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda z: F.cross_entropy(z, [0, 1, 12]), ValueError, "label 12 at index (2,)"),
        (lambda z: F.cross_entropy(z, [0, -1, 2]), ValueError, "out of range for 10 classes"),
        (lambda z: F.cross_entropy(z, [0, 1]), ValueError, "(2,) labels do not match"),
        (lambda z: F.cross_entropy(z, np.ones((3, 9))), ValueError, "logits' shape (3, 10)"),
        (lambda z: F.cross_entropy(z, [0, 1, 2], reduction="avg"), ValueError, "'avg'"),
        (lambda z: F.cross_entropy(z, ["a", "b", "c"]), TypeError, "strings"),
        (lambda z: F.nll_loss(z, [0.5, 1.0, 2.0]), TypeError, "labels must be integers"),
        (lambda z: F.nll_loss(z, [0, 1, 10]), ValueError, "label 10"),
        (lambda z: F.softmax(z, axis=2), ValueError, "axis 2 is out of range"),
        (
            lambda z: F.cross_entropy(z, Tensor(np.ones((3, 10)) / 10, requires_grad=True)),
            ValueError,
            "target.detach()",
        ),
    ],
)
def test_bad_targets_name_the_function_and_the_value(call, error, message):
    logits = Tensor(np.zeros((3, 10)), requires_grad=True)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(logits)


@pytest.mark.parametrize("shape", [(100, 10), (32, 32), (31, 10), (40, 33)])
def test_row_max_fast_path_matches_pytorch(shape):
    """Many short rows take softmax's row max from a transposed copy: same numbers."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(shape))
    logits = rng.standard_normal(shape).astype(np.float32) * 30
    logits[0, :3] = logits[0].max() + 5.0  # a tie for the row max
    logits[1, 2] = -np.inf  # a class that can never win
    labels = rng.integers(3, shape[1], shape[0])
    x = vecgrad.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, labels)
    loss.backward()
    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-4, atol=1e-6)
    probs = F.softmax(vecgrad.tensor(logits), axis=-1).data
    np.testing.assert_allclose(probs, torch.softmax(t.detach(), -1).numpy(), atol=1e-6)
