"""``vecgrad.grad``, ``vjp``, ``jvp``, ``jacobian`` (and its pass counter), ``hessian``.

Oracles: closed forms, PyTorch (``torch.func`` and ``torch.autograd.functional``), central
differences and the lecture's numbers. Also: transforms nest (``grad(grad(f))``), leave
every other tensor's ``.grad`` alone, work inside ``no_grad()``, and explain bad input.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecgrad
from vecgrad import Tensor
from vecgrad import forward as fwd
from vecgrad import functional as F

RNG = np.random.default_rng(1234)
W1 = RNG.standard_normal((5, 4))
W2 = RNG.standard_normal((3, 5))


def net(x):
    """f: R⁴ → R³, tanh(W2·tanh(W1·x)), written once for Tensors and duals alike."""
    return np.tanh(W2 @ np.tanh(W1 @ x))


def net_torch(x):
    torch = pytest.importorskip("torch")
    return torch.tanh(torch.tensor(W2) @ torch.tanh(torch.tensor(W1) @ x))


def scalar_f(x):
    """A scalar function with every kind of op: ∑ softplus-ish terms, a product, a max."""
    h = (W1 @ x).tanh()
    return (h * h).sum() + x.exp().mean() * (x**2).sum() + vecgrad.sigmoid(x).max()


def scalar_f_torch(x):
    torch = pytest.importorskip("torch")
    h = torch.tanh(torch.tensor(W1) @ x)
    return (h * h).sum() + x.exp().mean() * (x**2).sum() + torch.sigmoid(x).max()


def central_jacobian(f, x, h=1e-6):
    """J by central differences, one input entry at a time (f run on plain Tensors)."""
    columns = []
    with vecgrad.no_grad():
        for j in range(x.size):
            e = np.zeros(x.size)
            e[j] = h
            e = e.reshape(x.shape)
            up, down = f(Tensor(x + e)).data, f(Tensor(x - e)).data
            columns.append(((up - down) / (2 * h)).reshape(-1))
    out_shape = np.shape(f(Tensor(x)).data)
    return np.stack(columns, axis=-1).reshape(out_shape + x.shape)


# ---- grad ----------------------------------------------------------------------------


def test_grad_closed_forms():
    x = np.array([0.5, -1.0, 2.0])
    y = np.array([3.0, 1.0, -2.0])
    np.testing.assert_allclose(vecgrad.grad(lambda x: 0.5 * (x * x).sum())(x), x)
    np.testing.assert_allclose(vecgrad.grad(lambda x: (x * y).sum())(x), y)
    # ∇ log Σ eˣ = softmax(x)
    lse = vecgrad.grad(lambda x: x.exp().sum().log())(x)
    np.testing.assert_allclose(lse, np.exp(x) / np.exp(x).sum(), rtol=1e-14)
    # ∇(aᵀ W b) with respect to W = a bᵀ
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    W = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(vecgrad.grad(lambda W: a @ W @ b)(W), np.outer(a, b))


def test_grad_lecture_numbers():
    def y(x1, x2):
        return vecgrad.log(x1) + x1 * x2 - vecgrad.sin(x2)

    d1, d2 = vecgrad.grad(y, argnums=(0, 1))(np.float64(2.0), np.float64(5.0))
    assert d1 == pytest.approx(5.5) and round(float(d2), 3) == 1.716
    grads = vecgrad.grad(lambda v: (v[0] + v[1]) * v[2])(np.array([-2.0, 5.0, -4.0]))
    np.testing.assert_array_equal(grads, [-4.0, -4.0, 3.0])
    assert vecgrad.grad(lambda x, y: x / (x + y))(np.float64(-1.0), np.float64(2.0)) == 2.0
    grads = vecgrad.grad(lambda v: 3 * (v[0] * v[1] + vecgrad.maximum(v[2], v[3])))(
        np.array([3.0, -4.0, 2.0, -1.0])
    )
    np.testing.assert_array_equal(grads, [-12.0, 9.0, 3.0, 0.0])


def test_grad_of_a_network_loss_against_torch_func_grad():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, labels = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)

    def loss(W, b):
        return F.cross_entropy((X @ W + b).relu() * 2 - 1, labels)

    def loss_torch(W, b):
        logits = torch.relu(torch.tensor(X) @ W + b) * 2 - 1
        return torch.nn.functional.cross_entropy(logits, torch.tensor(labels))

    gW, gb = vecgrad.grad(loss, argnums=(0, 1))(W, b)
    tW, tb = torch.func.grad(loss_torch, argnums=(0, 1))(torch.tensor(W), torch.tensor(b))
    np.testing.assert_allclose(gW, tW.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb, tb.numpy(), rtol=1e-12, atol=1e-14)


def test_grad_keeps_float32():
    g = vecgrad.grad(lambda x: (x * x).sum())(np.ones(3, dtype=np.float32))
    assert g.dtype == np.float32


def test_nested_grad_gives_higher_derivatives():
    x = np.float64(0.7)
    d2 = vecgrad.grad(vecgrad.grad(lambda x: x**3 + x.sin()))(x)
    assert d2 == pytest.approx(6 * x - np.sin(x), rel=1e-14)
    d3 = vecgrad.grad(vecgrad.grad(vecgrad.grad(lambda x: x.exp() * 2)))(x)
    assert d3 == pytest.approx(2 * np.exp(x), rel=1e-14)


def test_grad_of_a_constant_function_is_zero():
    g = vecgrad.grad(lambda x: Tensor(np.float64(3.0)) * 2)(np.ones(2))
    np.testing.assert_array_equal(g, [0.0, 0.0])


# ---- vjp and jvp -----------------------------------------------------------------------


def test_vjp_against_torch_func_vjp():
    torch = pytest.importorskip("torch")
    x, u = RNG.standard_normal(4), RNG.standard_normal(3)
    out, product = vecgrad.vjp(net, x, u)
    t_out, pullback = torch.func.vjp(net_torch, torch.tensor(x))
    np.testing.assert_allclose(out, t_out.numpy(), rtol=1e-14)
    np.testing.assert_allclose(product, pullback(torch.tensor(u))[0].numpy(), rtol=1e-12)


def test_vjp_and_jvp_of_several_inputs_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    a, B = rng.standard_normal(3), rng.standard_normal((3, 2))
    u, va, vB = rng.standard_normal(2), rng.standard_normal(3), rng.standard_normal((3, 2))

    def f(a, B):
        return (a @ B).sin() * (a * a).sum()

    t_args = (torch.tensor(a), torch.tensor(B))
    _, (pa, pB) = vecgrad.vjp(f, (a, B), u)
    t_out, pullback = torch.func.vjp(f, *t_args)
    ta, tB = pullback(torch.tensor(u))
    np.testing.assert_allclose(pa, ta.numpy(), rtol=1e-12)
    np.testing.assert_allclose(pB, tB.numpy(), rtol=1e-12)
    out, tangent = vecgrad.jvp(f, (a, B), (va, vB))
    t_out, t_tangent = torch.func.jvp(f, t_args, (torch.tensor(va), torch.tensor(vB)))
    np.testing.assert_allclose(out, t_out.numpy(), rtol=1e-14)
    np.testing.assert_allclose(tangent, t_tangent.numpy(), rtol=1e-12)


def test_jvp_against_torch_and_central_differences():
    torch = pytest.importorskip("torch")
    x, v = RNG.standard_normal(4), RNG.standard_normal(4)
    out, tangent = vecgrad.jvp(net, x, v)
    t_out, t_tangent = torch.func.jvp(net_torch, (torch.tensor(x),), (torch.tensor(v),))
    np.testing.assert_allclose(out, t_out.numpy(), rtol=1e-14)
    np.testing.assert_allclose(tangent, t_tangent.numpy(), rtol=1e-12)
    h = 1e-6
    with vecgrad.no_grad():
        central = (net(Tensor(x + h * v)).data - net(Tensor(x - h * v)).data) / (2 * h)
    np.testing.assert_allclose(tangent, central, rtol=1e-6, atol=1e-9)


def test_jvp_makes_no_graph_and_returns_arrays():
    W = Tensor(W1, requires_grad=True)  # a model weight: a constant for jvp
    out, tangent = vecgrad.jvp(lambda x: (x @ W.T).tanh(), np.ones(4), np.ones(4))
    assert type(out) is np.ndarray and type(tangent) is np.ndarray
    assert W.grad is None


def test_jvp_of_a_function_that_ignores_x_is_zero():
    out, tangent = vecgrad.jvp(lambda x: np.ones(2), np.ones(3), np.ones(3))
    np.testing.assert_array_equal(tangent, [0.0, 0.0])


# ---- jacobian: both modes, the pass counter --------------------------------------------


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_against_torch(mode):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(4)
    jac = vecgrad.jacobian(net, x, mode=mode)
    expected = torch.autograd.functional.jacobian(net_torch, torch.tensor(x)).numpy()
    np.testing.assert_allclose(jac.value, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(jac), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jac.output, net_torch(torch.tensor(x)).numpy(), rtol=1e-14)
    assert jac.mode == mode and jac.passes == (3 if mode == "reverse" else 4)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_passes_are_m_vjps_or_n_jvps(n, m, seed):
    """f: Rⁿ → Rᵐ: reverse mode makes one VJP per output (m), forward one JVP per input (n),
    and both fill the same Jacobian, which matches central differences."""
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, n)), rng.standard_normal((m, n))

    def f(x):
        return (A @ x).sin() * (B @ x) + (x * x).sum()

    x = rng.standard_normal(n)
    reverse = vecgrad.jacobian(f, x, mode="reverse")
    forward = vecgrad.jacobian(f, x, mode="forward")
    assert reverse.passes == m and forward.passes == n
    assert reverse.shape == forward.shape == (m, n)
    np.testing.assert_allclose(reverse.value, forward.value, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(reverse.value, central_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_matrix_input_has_shape_out_plus_in():
    torch = pytest.importorskip("torch")
    X = RNG.standard_normal((2, 3))

    def f(X):
        return fwd.softmax(X, axis=-1) if isinstance(X, fwd.Dual) else F.softmax(X, axis=-1)

    for mode in ("reverse", "forward"):
        jac = vecgrad.jacobian(f, X, mode=mode)
        assert jac.shape == (2, 3, 2, 3) and jac.matrix.shape == (6, 6)
        expected = torch.autograd.functional.jacobian(
            lambda t: torch.softmax(t, dim=-1), torch.tensor(X)
        )
        np.testing.assert_allclose(jac.value, expected.numpy(), rtol=1e-12, atol=1e-14)


def test_the_cheaper_mode_depends_on_the_shape():
    """Tall (n ≪ m): forward mode needs fewer passes; wide (m ≪ n): reverse mode does."""
    rng = np.random.default_rng(3)
    tall = rng.standard_normal((40, 2))
    wide = rng.standard_normal((2, 40))
    x2, x40 = rng.standard_normal(2), rng.standard_normal(40)
    assert vecgrad.jacobian(lambda x: np.tanh(tall @ x), x2, mode="forward").passes == 2
    assert vecgrad.jacobian(lambda x: np.tanh(tall @ x), x2, mode="reverse").passes == 40
    assert vecgrad.jacobian(lambda x: np.tanh(wide @ x), x40, mode="forward").passes == 40
    assert vecgrad.jacobian(lambda x: np.tanh(wide @ x), x40, mode="reverse").passes == 2
    assert "reverse mode: 2 VJPs" in repr(vecgrad.jacobian(lambda x: wide @ x, x40))


# ---- hessian ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reverse-over-reverse", "reverse-over-forward"])
def test_hessian_against_torch(mode):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(4)
    hess = vecgrad.hessian(scalar_f, x, mode=mode)
    expected = torch.autograd.functional.hessian(scalar_f_torch, torch.tensor(x)).numpy()
    np.testing.assert_allclose(hess.value, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hess.value, hess.value.T, rtol=1e-12, atol=1e-13)
    assert hess.passes == 4 and hess.mode == mode
    np.testing.assert_allclose(hess.output, vecgrad.grad(scalar_f)(x), rtol=1e-14)


def test_hessian_closed_forms():
    A = RNG.standard_normal((3, 3))
    A = A + A.T
    x = RNG.standard_normal(3)
    for mode in ("reverse-over-reverse", "reverse-over-forward"):
        # ½ xᵀAx has Hessian A; a linear function has Hessian 0
        np.testing.assert_allclose(vecgrad.hessian(lambda x: 0.5 * x @ (A @ x), x, mode).value, A)
        np.testing.assert_array_equal(vecgrad.hessian(lambda x: (x * 2).sum(), x, mode).value, 0)
    # log-sum-exp: H = diag(p) − p pᵀ with p = softmax(x)
    p = np.exp(x) / np.exp(x).sum()
    hess = vecgrad.hessian(lambda x: x.exp().sum().log(), x)
    np.testing.assert_allclose(hess.value, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


def test_hessian_of_a_matrix_input():
    torch = pytest.importorskip("torch")
    X = RNG.standard_normal((2, 3))
    hess = vecgrad.hessian(lambda X: (X @ X.T).tanh().sum(), X)
    expected = torch.autograd.functional.hessian(
        lambda t: torch.tanh(t @ t.T).sum(), torch.tensor(X)
    ).numpy()
    assert hess.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(hess.value, expected, rtol=1e-10, atol=1e-12)


def test_create_graph_backward_gives_the_hessian_row_by_row():
    """The machinery under hessian: backward(create_graph=True), then backward of ∂f/∂x_i."""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(4)
    leaf = Tensor(x, requires_grad=True)
    scalar_f(leaf).backward(create_graph=True)
    g = leaf.grad
    rows = []
    for i in range(4):
        leaf.zero_grad()
        g[i].backward()
        rows.append(leaf.grad)
    expected = torch.autograd.functional.hessian(scalar_f_torch, torch.tensor(x)).numpy()
    np.testing.assert_allclose(np.stack(rows), expected, rtol=1e-10, atol=1e-12)


# ---- no side effects, grad mode ----------------------------------------------------------


def test_transforms_leave_other_gradients_alone():
    W = Tensor(W1, requires_grad=True)
    W.grad = np.full(W1.shape, 7.0)  # a gradient the user accumulated before
    x = RNG.standard_normal(4)

    def f(x):
        return (W @ x).tanh().sum()

    vecgrad.grad(f)(x)
    vecgrad.jacobian(lambda x: (W @ x).tanh(), x)
    vecgrad.hessian(f, x)
    vecgrad.vjp(lambda x: (W @ x).tanh(), x, np.ones(5))
    np.testing.assert_array_equal(W.grad, 7.0)
    leaf = Tensor(x, requires_grad=True)
    vecgrad.grad(f)(leaf)  # a Tensor that requires grad: its own .grad is kept too
    assert leaf.grad is None


def test_transforms_work_inside_no_grad():
    with vecgrad.no_grad():
        g = vecgrad.grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
        jac = vecgrad.jacobian(lambda x: x * 3, np.ones(2))
    np.testing.assert_array_equal(g, [2.0, 4.0])
    np.testing.assert_array_equal(jac.value, 3 * np.eye(2))


# ---- errors ------------------------------------------------------------------------------


def test_errors_are_clear():
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"grad: f must return one number .* shape \(3,\)"):
        vecgrad.grad(lambda x: x * 2)(x)
    with pytest.raises(TypeError, match="did f use .data"):
        vecgrad.grad(lambda x: float(x.data.sum()))(x)
    with pytest.raises(ValueError, match=r"vjp: v has shape \(2,\) but f\(x\) has shape \(3,\)"):
        vecgrad.vjp(lambda x: x * 2, x, np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: the tangent v has shape \(2,\) but x has shape"):
        vecgrad.jvp(lambda x: x * 2, x, np.ones(2))
    with pytest.raises(ValueError, match="jvp: 2 inputs but 1 tangents"):
        vecgrad.jvp(lambda a, b: a * b, (x, x), (x,))
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward'"):
        vecgrad.jacobian(lambda x: x, x, mode="sideways")
    with pytest.raises(ValueError, match="hessian: mode must be"):
        vecgrad.hessian(lambda x: x.sum(), x, mode="forward-over-reverse")
    with pytest.raises(TypeError, match="floating-point"):
        vecgrad.grad(lambda x: x.sum())(np.array([1, 2]))
    with pytest.raises(ValueError, match="infinite"):
        vecgrad.jacobian(lambda x: x, np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        vecgrad.grad(lambda x: x.sum(), argnums=2)(x)
    with pytest.raises(ValueError, match="log: input must be positive"):
        vecgrad.jacobian(lambda x: x.log(), np.array([1.0, -1.0]), mode="forward")
