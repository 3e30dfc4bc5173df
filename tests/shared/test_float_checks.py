"""The special-value policy (scalargrad/float_checks.py), in both packages and both modes.

Every case of the hardening issue's list: NaN from ∞ − ∞ or ∞·0, an overflow in mul,
sin ∞, an integer too large for a float, a fractional axis, an infinite logit, target rows
that are not distributions. Each raises an error naming the op; inside no_float_checks()
each gives IEEE's silent answer, which PyTorch gives too (checked against it where it runs).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import scalargrad
import vecgrad
from scalargrad import Value
from scalargrad import forward as scalar_forward
from scalargrad.float_checks import float_checks, float_checks_enabled, no_float_checks
from vecgrad import Tensor
from vecgrad import forward as tensor_forward

F = vecgrad.functional
# numpy warns of the overflow or invalid value it met before the policy's error names it
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _raises(error, text, call):
    """Assert that ``call()`` raises ``error`` with ``text`` in its message; return it."""
    with pytest.raises(error) as raised:
        call()
    assert text in str(raised.value), str(raised.value)
    return str(raised.value)


# ---- values: NaN and overflow raise, naming the op -----------------------------------

SCALAR_CASES = [
    (lambda: Value(math.inf) * 0, FloatingPointError, "mul: inf × 0 is undefined (NaN)"),
    (lambda: Value(math.inf) - Value(math.inf), FloatingPointError, "sub: inf − inf is undefined"),
    (lambda: Value(-math.inf) + math.inf, FloatingPointError, "add: -inf + inf is undefined"),
    (lambda: Value(math.inf) / Value(math.inf), FloatingPointError, "div: inf / inf is undefined"),
    (lambda: Value(1e308) * 10, OverflowError, "mul: 1e+308 × 10 overflows"),
    (lambda: Value(1e308) + Value(1e308), OverflowError, "add: 1e+308 + 1e+308 overflows"),
    (lambda: Value(math.inf).sin(), FloatingPointError, "sin: sin(inf) is undefined (NaN)"),
    (lambda: Value(-math.inf).cos(), FloatingPointError, "cos: cos(-inf) is undefined (NaN)"),
    (lambda: Value(1000.0).exp(), OverflowError, "exp: exp(1000) overflows: the result is beyond"),
    (lambda: Value(10**400), OverflowError, "Value: an integer of 401 digits is too large"),
    (lambda: Value(2.0) * 10**400, OverflowError, "mul: an integer of 401 digits is too large"),
    (lambda: Value(float("nan")), ValueError, "Value: got NaN"),
    (
        lambda: scalargrad.summation([Value(1e308)] * 5),
        OverflowError,
        "summation of 5 operands (from 1e+308 to 1e+308) overflows",
    ),
]


@pytest.mark.parametrize("call, error, text", SCALAR_CASES)
def test_scalar_ops_refuse_nan_and_overflow_by_name(call, error, text):
    message = _raises(error, text, call)
    assert "no_float_checks() lets it pass" in message or error is not FloatingPointError


DUAL_CASES = [
    (lambda: scalar_forward.Dual(1e308, 1.0) * 10, OverflowError, "mul: 1e+308 × 10 overflows"),
    (lambda: scalar_forward.Dual(math.inf, 1.0) * 0, FloatingPointError, "mul: inf × 0"),
    (lambda: scalar_forward.Dual(math.inf, 0.0).sin(), FloatingPointError, "sin: sin(inf)"),
    # the values are finite (0 and 1), the tangent ∞·0: jvp's NaN, named
    (
        lambda: scalar_forward.Dual(0.0, math.inf) * scalar_forward.Dual(1.0, 0.0) * 0,
        FloatingPointError,
        "jvp: the derivative of mul's result is NaN, from mul's jvp",
    ),
]


@pytest.mark.parametrize("call, error, text", DUAL_CASES)
def test_forward_mode_follows_the_same_policy(call, error, text):
    _raises(error, text, call)


TENSOR_CASES = [
    (
        lambda: Tensor([1.0, np.inf]) * 0,
        FloatingPointError,
        "mul: inf × 0 is undefined (NaN) at index (1,)",
    ),
    (
        lambda: Tensor([np.inf, 1.0], requires_grad=True) - Tensor([np.inf, 2.0]),
        FloatingPointError,
        "sub: inf − inf is undefined (NaN) at index (0,)",
    ),
    (
        lambda: Tensor([1.0, 1e30]) * Tensor([2.0, 1e30]),
        OverflowError,
        "mul: 1e+30 × 1e+30 overflows at index (1,): the result is beyond the largest float32",
    ),
    (lambda: Tensor([0.0, np.inf]).sin(), FloatingPointError, "sin: sin(inf) is undefined (NaN)"),
    (
        lambda: (
            Tensor(np.full((2, 3), 1e20, np.float32)) @ Tensor(np.full((3, 2), 1e20, np.float32))
        ),
        OverflowError,
        "matmul: (2, 3) @ (3, 2) (largest |operand| 1e+20) overflows at index (0, 0)",
    ),
    (
        lambda: Tensor([[np.inf, 0.0]]) @ Tensor([[0.0], [1.0]]),
        FloatingPointError,
        "matmul: (1, 2) @ (2, 1) (operand 0 holds inf at index (0, 0)) is undefined (NaN)",
    ),
    (lambda: Tensor(np.full(4, 3e38, np.float32)).sum(), OverflowError, "sum: Σ (4,)"),
    (lambda: Tensor(np.ones((2, 3))).sum(axis=1.5), TypeError, "sum: axis must be an int"),
    (lambda: Tensor(np.ones((2, 3))).mean(axis="0"), TypeError, "mean: axis must be an int"),
    (lambda: Tensor([np.nan]), ValueError, "Tensor: got NaN at index (0,)"),
    (
        lambda: Tensor([1.0, 1e300]),  # Python floats become float32: this one would be inf
        OverflowError,
        "Tensor: 1e+300 at index (1,) is beyond the largest float32 (3.4e+38)",
    ),
    (
        lambda: F.cross_entropy(Tensor([[np.inf, 0.0]], requires_grad=True), np.array([1])),
        FloatingPointError,
        "cross_entropy: cross_entropy((1, 2)) (operand 0 holds inf at index (0, 0)) is undefined",
    ),
    (
        lambda: F.cross_entropy(Tensor(np.zeros((2, 3)), requires_grad=True), np.full((2, 3), 5.0)),
        ValueError,
        "cross_entropy: target rows must be probability distributions summing to 1, but row 0 "
        "sums to 15",
    ),
    (
        lambda: F.cross_entropy(
            Tensor(np.zeros((2, 3)), requires_grad=True), np.array([[0.5, 0.6, -0.1], [1, 0, 0]])
        ),
        ValueError,
        "entry -0.1 at index (0, 2) is negative",
    ),
    (
        lambda: (
            tensor_forward.Dual(np.array([1e30], np.float32), np.ones(1, np.float32))
            * np.float32(1e30)
        ),
        OverflowError,
        "mul: 1e+30 × 1e+30 overflows at index (0,)",
    ),
    (
        lambda: tensor_forward.Dual(np.array([0.0, 1.0]), np.array([np.inf, 0.0])) * 0.0,
        FloatingPointError,
        "jvp: the derivative of mul's result is NaN at index (0,), from mul's jvp",
    ),
]


@pytest.mark.parametrize("call, error, text", TENSOR_CASES)
def test_tensor_ops_refuse_nan_and_overflow_by_name_and_index(call, error, text):
    _raises(error, text, call)


def test_probability_targets_that_are_distributions_pass_and_match_pytorch():
    torch = pytest.importorskip("torch")
    logits = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    target = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    ours = F.cross_entropy(Tensor(logits), target).item()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target))
    assert ours == pytest.approx(theirs.item(), rel=1e-12)
    # float32 rounding of a softmax's rows (off 1 by ~1e-7) is still a distribution
    rounded = F.softmax(Tensor(np.random.default_rng(0).standard_normal((50, 7))), axis=1)
    assert np.isfinite(
        F.cross_entropy(Tensor(np.zeros((50, 7))), rounded.data.astype(np.float32)).item()
    )


# ---- an ∞ you give flows on where IEEE gives a number -----------------------------------


def test_an_infinity_given_flows_on_where_the_math_is_defined():
    assert Value(-math.inf).exp().data == 0.0
    assert (Value(math.inf) + 1).data == math.inf
    assert Value(math.inf).tanh().data == 1.0
    assert Value(math.inf).log().data == math.inf
    assert np.array_equal((Tensor([1.0, np.inf]) * 2).data, [2.0, np.inf])
    masked = F.softmax(Tensor([[0.0, -np.inf, 1.0]], requires_grad=True), axis=-1)
    assert masked.data[0, 1] == 0.0 and masked.data.sum() == pytest.approx(1.0)


def test_a_masked_logit_gets_zero_gradient_as_in_pytorch():
    torch = pytest.importorskip("torch")
    logits = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -np.inf]])
    x = Tensor(logits, requires_grad=True)
    F.cross_entropy(x, np.array([0, 1])).backward()
    t = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(t, torch.tensor([0, 1])).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


# ---- derivatives: ±∞ allowed, NaN raises naming the op whose rule made it ----------------


def test_an_infinite_derivative_is_allowed_in_every_mode():
    x = Value(0.0)
    (x**0.5).backward()
    assert x.grad == math.inf  # √x at 0: PyTorch says inf too
    assert scalar_forward.jvp(lambda x: x**0.5, [0.0], [1.0])[1] == math.inf
    y = Value(1e-310)
    y.log().backward()
    assert y.grad == math.inf  # 1/1e-310 is beyond the largest float: IEEE's overflow


def test_an_infinite_slope_met_by_a_zero_is_undefined_in_both_modes():
    """0·√x and √x·√x at 0: the chain rule multiplies ∞ by 0. The true slopes differ (0 and
    1), so no convention for ∞·0 is right: both modes raise (PyTorch returns nan)."""
    for f in (lambda x: x**0.5 * 0, lambda x: x**0.5 * x**0.5):
        x = Value(0.0, name="x")
        _raises(FloatingPointError, "derivative of 'x' is NaN, from pow's backward", f(x).backward)
        _raises(
            FloatingPointError, "from mul's jvp", lambda f=f: scalar_forward.jvp(f, [0.0], [1.0])
        )
        t = Tensor([0.0, 4.0], requires_grad=True)
        _raises(
            FloatingPointError, "is NaN at index (0,), from pow's backward", f(t).sum().backward
        )
    # a direction that does not move x moves nothing: tangent 0, not ∞·0
    assert scalar_forward.jvp(lambda x: x**0.5, [0.0], [0.0])[1] == 0.0


def test_a_nan_adjoint_raises_naming_the_op_that_sent_it():
    """√(a·b) at a = 0: ∂/∂b = a/(2√(ab)) is 0/0, undefined (PyTorch: nan)."""
    a, b = Value(0.0, name="a"), Value(2.0, name="b")
    _raises(
        FloatingPointError,
        "backward: the derivative of 'b' is NaN, from mul's backward (operand 1)",
        ((a * b) ** 0.5).backward,
    )
    ta = Tensor([0.0, 1.0], requires_grad=True, name="a")
    tb = Tensor([2.0, 2.0], requires_grad=True, name="b")
    _raises(
        FloatingPointError,
        "the derivative of tensor 'b' of shape (2,) is NaN at index (0,), from mul's backward "
        "(operand 1)",
        ((ta * tb) ** 0.5).sum().backward,
    )
    assert tb.grad is None  # nothing was added


def test_infinite_partial_adjoints_that_cancel_raise_as_their_sum():
    """√x − √x at 0: partials +∞ and −∞, whose sum is undefined."""
    x = Value(0.0, name="x")
    message = _raises(FloatingPointError, "derivative of 'x' is NaN", (x**0.5 - x**0.5).backward)
    assert "the sum of its partial adjoints (from pow+pow)" in message


def test_a_tangent_of_zero_moves_nothing_even_against_an_infinite_factor():
    """∂(x·y)/∂y at y = ∞ is x: forward mode's ẋ·y + x·ẏ with ẋ = 0 is 0 + x, not
    0·∞ + x = NaN; reverse mode gives the same row."""
    assert scalar_forward.jacobian(lambda x, y: x * y, [2.0, math.inf]) == [[math.inf, 2.0]]
    x, y = Value(2.0), Value(math.inf)
    (x * y).backward()
    assert [x.grad, y.grad] == [math.inf, 2.0]
    assert scalar_forward.jacobian(lambda x, y: x / y, [2.0, math.inf]) == [[0.0, 0.0]]
    dual = tensor_forward.Dual(np.array([2.0]), np.array([0.0]))
    other = tensor_forward.Dual(np.array([np.inf]), np.array([1.0]))
    np.testing.assert_array_equal((dual * other).tangent, [2.0])
    np.testing.assert_array_equal((other * dual).tangent, [2.0])


# ---- the switch --------------------------------------------------------------------------


def test_no_float_checks_gives_ieee_arithmetic_as_pytorch():
    torch = pytest.importorskip("torch")
    with no_float_checks():
        assert not float_checks_enabled()
        assert (Value(1e308) * 10).data == math.inf
        assert math.isnan((Value(math.inf) * 0).data)
        assert math.isnan(Value(math.inf).sin().data)
        assert Value(1000.0).exp().data == math.inf
        assert (Value(-1e200) ** 3).data == -math.inf
        assert math.isnan(Value(float("nan")).data)
        assert np.isnan(Tensor(np.float32([1.0, np.nan])).data[1])  # input not scanned
        ours = (Tensor(np.float32([1e30, np.inf])) * Tensor(np.float32([1e30, 0.0]))).data
        theirs = torch.tensor([1e30, math.inf]) * torch.tensor([1e30, 0.0])
        np.testing.assert_array_equal(ours, theirs.numpy())
        a = Tensor([0.0], requires_grad=True)
        ((a * Tensor([2.0], requires_grad=True)) ** 0.5).sum().backward()
        assert np.isnan(a.grad[0]) or a.grad[0] == math.inf  # IEEE: whatever it gives, silently
    assert float_checks_enabled()


def test_the_switch_nests_decorates_and_is_per_thread():
    @no_float_checks()
    def unchecked():
        return (Value(1e308) * 10).data

    assert unchecked() == math.inf
    seen = []
    with no_float_checks():
        with float_checks():
            _raises(OverflowError, "mul:", lambda: Value(1e308) * 10)
        assert not float_checks_enabled()
        other = threading.Thread(target=lambda: seen.append(float_checks_enabled()))
        other.start()
        other.join()
    assert seen == [True]  # another thread keeps its own setting
    assert float_checks_enabled()


def test_both_packages_export_the_one_switch():
    assert vecgrad.no_float_checks is scalargrad.no_float_checks is no_float_checks


def test_the_exact_edges_stay_exact():
    """The checks never fire on finite answers at the edges of the range."""
    x, y = Value(1e-170), Value(1e-170)
    (x / y).backward()
    assert (x.grad, y.grad) == (1e170, -1e170)
    tiny = Tensor(np.float32([1e-20]), requires_grad=True)
    (tiny / Tensor(np.float32([1e-20]), requires_grad=True)).sum().backward()
    assert tiny.grad[0] == np.float32(1e20)
    assert (Value(1.7e308) * 1).data == 1.7e308


# ---- routing gates select: a loser gets 0 even from an infinite adjoint -------------------


ROUTING = [  # (name, ours on a Tensor or a Dual, PyTorch's), each ≥ 0 so that √ applies
    ("relu", lambda v: v.relu(), lambda t: t.relu()),
    ("maximum", lambda v: tensor_forward.maximum(v, 0.0), lambda t: t.maximum(_zeros(t))),
    ("minimum", lambda v: -tensor_forward.minimum(-v, 0.0), lambda t: -(-t).minimum(_zeros(t))),
    ("clamp", lambda v: v.clamp(min=0.0), lambda t: t.clamp(min=0.0)),
]


def _zeros(t):
    return t.detach() * 0  # a constant operand: no gradient flows into it


@pytest.mark.parametrize("name, ours, theirs", ROUTING, ids=[case[0] for case in ROUTING])
def test_routing_gates_send_a_loser_zero_from_an_infinite_adjoint_as_pytorch(name, ours, theirs):
    """√gate(x): the gate's output is 0 where x loses, so √'s slope there is +∞; the loser
    still gets exactly 0 (the gate does not depend on it nearby), in both modes."""
    torch = pytest.importorskip("torch")
    data = np.array([-2.0, -1.0, 0.5, 4.0])
    x = Tensor(data, requires_grad=True)
    (ours(x) ** 0.5).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (theirs(t) ** 0.5).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=0)  # 0 and inf exact
    # forward mode, one direction per input: the gate is elementwise, so the tangent along
    # e_i is PyTorch's ∂/∂x_i at i and 0 elsewhere (torch.func.jvp gives nan there: 0·∞)
    if name == "clamp":
        return  # Dual has no clamp (README: the PyTorch names are reverse mode's)
    for i in range(len(data)):
        column = (ours(tensor_forward.Dual(data, np.eye(len(data))[i])) ** 0.5).tangent
        expected = np.zeros(len(data))
        expected[i] = t.grad[i].item()
        np.testing.assert_allclose(column, expected, rtol=1e-12, atol=0)


def test_max_pooling_routes_an_infinite_adjoint_to_the_winner_alone():
    torch = pytest.importorskip("torch")
    data = np.array([[[[0.0, -1.0], [-3.0, -2.0]]]])  # the winner is 0: √'s slope +∞ there
    x = Tensor(data, requires_grad=True)
    (F.max_pool2d(x, 2) ** 0.5).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (torch.nn.functional.max_pool2d(t, 2) ** 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    assert x.grad[0, 0, 0, 0] == np.inf and (x.grad.ravel()[1:] == 0).all()


def test_scalar_max_routes_as_vecgrad_does():
    a, b = Value(0.0), Value(-1.0)
    (a.maximum(b) ** 0.5).backward()
    assert (a.grad, b.grad) == (math.inf, 0.0)


def test_gradients_that_cancel_across_passes_raise_and_leave_the_gradient_as_it_was():
    x = Tensor([0.0, 1.0], requires_grad=True, name="x")
    (x**0.5).sum().backward()  # +inf at 0
    before = x.grad.copy()
    _raises(
        FloatingPointError, "plus the one accumulated before is ∞ − ∞", (-(x**0.5)).sum().backward
    )
    np.testing.assert_array_equal(x.grad, before)  # nothing was added
    v = Value(0.0, name="v")
    (v**0.5).backward()
    _raises(FloatingPointError, "plus the one accumulated before is ∞ − ∞", (-(v**0.5)).backward)
    assert v.grad == math.inf


def test_a_checked_tensor_still_pickles():
    import pickle

    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    copy = pickle.loads(pickle.dumps(w))
    np.testing.assert_array_equal(copy.grad, [2.0, 4.0])


def test_scalar_sgd_refuses_a_step_on_an_infinite_gradient_and_changes_nothing():
    from scalargrad.optim import SGD

    a, b = Value(0.0, name="a"), Value(1.0)
    optimizer = SGD([b, a], lr=0.1)
    (a**0.5 + b).backward()  # ∂/∂a = +inf at 0
    _raises(FloatingPointError, "SGD.step: the gradient of parameter 1 'a' is inf", optimizer.step)
    assert (a.data, b.data) == (0.0, 1.0)
    with no_float_checks():
        optimizer.step()
    assert a.data == -math.inf  # IEEE's answer, asked for


def test_the_finite_mark_holds_no_gradient_alive():
    """A leaf marks the gradient it found finite (for the optimizers) only weakly: the
    PyTorch idiom ``p.grad = None`` still frees the array at once."""
    import gc
    import weakref

    w = Tensor(np.ones(1000), requires_grad=True)
    (w * w).sum().backward()
    assert w._finite_grad() is w.grad
    watch = weakref.ref(w.grad)
    w.grad = None
    gc.collect()
    assert watch() is None


@pytest.mark.parametrize(
    "make", [lambda ps: vecgrad.optim.SGD(ps, lr=0.1), lambda ps: vecgrad.optim.Adam(ps, lr=0.1)]
)
def test_tensor_optimizers_refuse_a_non_finite_gradient_and_change_nothing(make):
    a = Tensor([0.0, 1.0], requires_grad=True)
    b = Tensor([1.0], requires_grad=True)
    optimizer = make([b, a])
    ((a**0.5).sum() + b.sum()).backward()  # ∂/∂a₀ = +inf
    message = _raises(
        FloatingPointError,
        "the gradient of parameter 1 (shape (2,)) is inf at index (0,)",
        optimizer.step,
    )
    assert "no parameter was changed" in message
    np.testing.assert_array_equal(a.data, [0.0, 1.0])
    np.testing.assert_array_equal(b.data, [1.0])
    a.grad = np.array([np.nan, 1.0])  # a gradient set by hand is checked too
    _raises(FloatingPointError, "is nan at index (0,)", optimizer.step)
    a.grad = np.array([1.0, 2.0])
    optimizer.step()  # finite: it moves
    assert a.data[0] < 0.0
    a.grad = np.array([np.inf, 0.0])
    with no_float_checks():
        optimizer.step()
    assert not np.isfinite(a.data[0])  # IEEE's answer, asked for: -inf (SGD), nan (Adam)


def test_a_max_reduction_routes_an_infinite_adjoint_to_the_winner_alone():
    torch = pytest.importorskip("torch")
    data = np.array([[0.0, -1.0, -3.0], [-2.0, 0.0, -5.0]])  # each row's max is 0: √' = ∞
    x = Tensor(data, requires_grad=True)
    (x.max(axis=1) ** 0.5).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (t.max(dim=1).values ** 0.5).sum().backward()  # torch's amax multiplies a mask: nan
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    np.testing.assert_array_equal(x.grad, [[np.inf, 0, 0], [0, np.inf, 0]])
