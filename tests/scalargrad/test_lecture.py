"""The lecture's worked examples must come out exactly."""

import pytest

from scalargrad import Value, sigmoid
from scalargrad.apps import lecture


def test_ln_x1_plus_x1x2_minus_sin_x2():
    y = lecture.ln_x1_x1x2_sin_x2(2.0, 5.0)
    y.backward()
    x1, x2 = y.parents[0].parents[0].parents[0], y.parents[1].parents[0]
    assert (x1.name, x2.name) == ("x1", "x2")
    assert round(y.data, 3) == 11.652
    assert x1.grad == pytest.approx(5.5, abs=1e-12)
    assert round(x2.grad, 3) == 1.716


def test_sum_times():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_x_over_x_plus_y_gradients_add_over_branches():
    x, y = Value(-1.0), Value(2.0)
    f = x / (x + y)
    f.backward()
    assert f.data == -1.0
    assert x.grad == pytest.approx(2.0)
    assert y.grad == pytest.approx(1.0)


def test_three_xy_plus_max_routes_the_gradient():
    x, y, z, w = Value(3.0), Value(-4.0), Value(2.0), Value(-1.0)
    f = 3 * (x * y + z.maximum(w))
    f.backward()
    assert f.data == -30.0
    assert (x.grad, y.grad, z.grad, w.grad) == (-12.0, 9.0, 3.0, 0.0)


def test_logistic_neuron_fine_gates_equal_one_sigmoid_gate():
    w0, w1, w2 = Value(-3.0), Value(2.0), Value(-3.0)
    x1, x2 = Value(-1.0), Value(-2.0)
    fine = 1 / (1 + (-(w0 + w1 * x1 + w2 * x2)).exp())
    fine.backward()
    fine_grads = [v.grad for v in (w0, w1, w2, x1, x2)]

    coarse = lecture.logistic_neuron((-3.0, 2.0, -3.0), (-1.0, -2.0))
    coarse.backward()
    leaves = {n.name: n for n in _leaves(coarse)}
    coarse_grads = [leaves[k].grad for k in ("w0", "w1", "w2", "x1", "x2")]

    assert fine.data == pytest.approx(coarse.data) == pytest.approx(0.7310585786)
    # σ'(1) = σ(1)(1 − σ(1)) = 0.19661…; the lecture's gradients (w0, w1, w2, x1, x2):
    s = 0.7310585786 * (1 - 0.7310585786)
    expected = [s, s * -1.0, s * -2.0, s * 2.0, s * -3.0]
    assert fine_grads == pytest.approx(expected)
    assert coarse_grads == pytest.approx(expected)
    assert round(coarse_grads[0], 2) == 0.20 and round(coarse_grads[1], 2) == -0.20
    assert sigmoid(1.0) == pytest.approx(0.7310585786)


def _leaves(root):
    from scalargrad import topological_order

    return [n for n in topological_order(root) if n.op is None]
