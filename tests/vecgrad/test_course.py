"""The course's examples through vecgrad, checked against their closed forms.

First the scalar lecture numbers (on 0-d tensors), then the vector examples: ∇ of yᵀx and
‖x‖², the matrix products Wx and XW, −log softmax(Wx + b)_y, a skip connection and the
two-layer network ce(σ(xW₁)W₂, y).
"""

from __future__ import annotations

import numpy as np
import pytest

import vecgrad
from vecgrad import Tensor
from vecgrad import functional as F


def _leaves(*values):
    return [Tensor(np.float64(v), requires_grad=True) for v in values]


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _jacobian(fn, x: np.ndarray) -> np.ndarray:
    """∂fn(x)/∂x, one backward pass per output entry (row i = ∇ fn(x)ᵢ)."""
    rows = []
    out_size = fn(Tensor(x)).size
    for i in range(out_size):
        leaf = Tensor(x, requires_grad=True)
        out = fn(leaf)
        seed = np.zeros(out_size)
        seed[i] = 1.0
        out.backward(seed.reshape(out.shape))
        rows.append(leaf.grad.ravel())
    return np.array(rows)


# ---- the scalar lecture examples, on 0-d tensors -------------------------------------


def test_lecture_y_ln_x1_plus_x1_x2_minus_sin_x2():
    x1, x2 = _leaves(2.0, 5.0)
    y = vecgrad.log(x1) + x1 * x2 - vecgrad.sin(x2)
    y.backward()
    assert round(y.item(), 3) == 11.652
    assert x1.grad == 5.5
    assert round(float(x2.grad), 3) == 1.716


def test_lecture_f_x_plus_y_times_z():
    x, y, z = _leaves(-2.0, 5.0, -4.0)
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_lecture_f_x_over_x_plus_y():
    x, y = _leaves(-1.0, 2.0)
    (x / (x + y)).backward()
    assert x.grad == pytest.approx(2.0, rel=1e-15)


def test_lecture_f_3_times_xy_plus_max_z_w():
    x, y, z, w = _leaves(3.0, -4.0, 2.0, -1.0)
    f = 3 * (x * y + vecgrad.maximum(z, w))
    f.backward()
    assert f.item() == -30.0
    assert [float(v.grad) for v in (x, y, z, w)] == [-12.0, 9.0, 3.0, 0.0]


# ---- vector calculus -----------------------------------------------------------------


def test_gradient_of_y_transpose_x_is_y():
    x_value, y_value = _random(5, 0), _random(5, 1)
    x, y = Tensor(x_value, requires_grad=True), Tensor(y_value, requires_grad=True)
    (y @ x).backward()
    np.testing.assert_array_equal(x.grad, y_value)
    np.testing.assert_array_equal(y.grad, x_value)


def test_gradient_of_squared_norm_is_2x():
    x_value = _random(6, 2)
    for square_norm in (lambda x: x @ x, lambda x: (x * x).sum(), lambda x: (x**2).sum()):
        x = Tensor(x_value, requires_grad=True)
        square_norm(x).backward()
        np.testing.assert_allclose(x.grad, 2 * x_value, rtol=1e-15)


def test_Wx_gradients_are_g_xT_and_WT_g():
    W_value, x_value, g = _random((3, 4), 3), _random(4, 4), _random(3, 5)
    W, x = Tensor(W_value, requires_grad=True), Tensor(x_value, requires_grad=True)
    (W @ x).backward(g)
    np.testing.assert_allclose(W.grad, np.outer(g, x_value), rtol=1e-14)
    np.testing.assert_allclose(x.grad, W_value.T @ g, rtol=1e-14)


def test_XW_gradients_are_g_WT_and_XT_g():
    X_value, W_value, g = _random((5, 3), 6), _random((3, 2), 7), _random((5, 2), 8)
    X, W = Tensor(X_value, requires_grad=True), Tensor(W_value, requires_grad=True)
    (X @ W).backward(g)
    np.testing.assert_allclose(X.grad, g @ W_value.T, rtol=1e-14)
    np.testing.assert_allclose(W.grad, X_value.T @ g, rtol=1e-14)


@pytest.mark.parametrize("fused", [False, True])
def test_minus_log_softmax_of_Wx_plus_b(fused):
    """L = −log softmax(Wx + b)_y:  b̄ = s − e_y,  W̄ = (s − e_y)·xᵀ,  x̄ = Wᵀ·(s − e_y)."""
    W_value, b_value, x_value, label = _random((4, 3), 9), _random(4, 10), _random(3, 11), 2
    W, b, x = (Tensor(v, requires_grad=True) for v in (W_value, b_value, x_value))
    z = W @ x + b
    loss = F.cross_entropy(z, label) if fused else -F.log_softmax(z)[label]
    loss.backward()
    s = _softmax(W_value @ x_value + b_value)
    residual = s - np.eye(4)[label]
    assert loss.item() == pytest.approx(-np.log(s[label]), rel=1e-13)
    np.testing.assert_allclose(b.grad, residual, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W.grad, np.outer(residual, x_value), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad, W_value.T @ residual, rtol=1e-12, atol=1e-15)


def test_skip_connection_adds_the_identity_path():
    """y = W₂·relu(W₁x) + x:  ∂y/∂x = W₂·diag[W₁x > 0]·W₁ + I."""
    W1, W2, x = _random((5, 3), 12), _random((3, 5), 13), _random(3, 14)
    tW1, tW2 = Tensor(W1), Tensor(W2)
    jacobian = _jacobian(lambda v: tW2 @ (tW1 @ v).relu() + v, x)
    gate = np.diag((W1 @ x > 0).astype(float))
    np.testing.assert_allclose(jacobian, W2 @ gate @ W1 + np.eye(3), rtol=1e-12, atol=1e-14)
    without_skip = _jacobian(lambda v: tW2 @ (tW1 @ v).relu(), x)
    np.testing.assert_allclose(jacobian - without_skip, np.eye(3), atol=1e-14)


def test_two_layer_network_cross_entropy_of_sigmoid_xW1_W2():
    """L = ce(σ(XW₁)W₂, y) averaged over n rows; backprop by hand:
    Z̄ = (softmax(Z) − Y)/n,  W̄₂ = Hᵀ·Z̄,  H̄ = Z̄·W₂ᵀ,  Ā = H̄ ⊙ H(1 − H),  W̄₁ = Xᵀ·Ā,  X̄ = Ā·W₁ᵀ.
    """
    n, d, h, k = 6, 4, 5, 3
    X_value, W1_value, W2_value = _random((n, d), 15), _random((d, h), 16), _random((h, k), 17)
    labels = np.random.default_rng(18).integers(0, k, n)
    X, W1, W2 = (Tensor(v, requires_grad=True) for v in (X_value, W1_value, W2_value))
    loss = F.cross_entropy((X @ W1).sigmoid() @ W2, labels)
    loss.backward()

    H = 1 / (1 + np.exp(-X_value @ W1_value))
    Z = H @ W2_value
    Y = np.eye(k)[labels]
    assert loss.item() == pytest.approx(-np.mean(np.log(_softmax(Z)[np.arange(n), labels])))
    Z_bar = (_softmax(Z) - Y) / n
    A_bar = (Z_bar @ W2_value.T) * H * (1 - H)
    np.testing.assert_allclose(W2.grad, H.T @ Z_bar, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W1.grad, X_value.T @ A_bar, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(X.grad, A_bar @ W1_value.T, rtol=1e-12, atol=1e-15)
