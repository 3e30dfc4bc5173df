"""Tensor itself: making tensors, dtypes, the backward pass's bookkeeping (accumulation,
leaves only, no aliasing, freed graphs), no_grad, numpy interoperation, errors that name
the op and the shapes, and scalargrad's drawing and traces on tensors."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

import scalargrad
import vecgrad
from scalargrad.display.trace import forward_rows
from vecgrad import Tensor
from vecgrad import functional as F

# ---- making tensors ------------------------------------------------------------------


def test_python_floats_become_float32_and_numpy_keeps_its_dtype():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(2.5).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.int64  # labels stay integers
    assert Tensor([1, 2], requires_grad=True).dtype == np.float32  # as Value(2) is a float
    assert Tensor(np.zeros(3)).dtype == np.float64
    assert Tensor(np.float64(1.0)).dtype == np.float64
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor(np.zeros(2, dtype=np.float16)).dtype == np.float16


def test_a_numpy_array_is_shared_not_copied():
    array = np.zeros(3, dtype=np.float32)
    x = Tensor(array)
    assert x.data is array and x.numpy() is array


def test_properties_item_detach_repr():
    x = Tensor([[1.0, 2.0, 3.0]], requires_grad=True, name="x")
    assert (x.shape, x.ndim, x.size, len(x)) == ((1, 3), 2, 3, 1)
    assert x.grad is None and x.parents == () and x.op is None
    assert Tensor([4.0]).item() == 4.0 and isinstance(Tensor([4.0]).item(), float)
    with pytest.raises(ValueError, match=r"item: the tensor has shape \(1, 3\) \(3 elements\)"):
        x.item()
    d = (x * 2).detach()
    assert not d.requires_grad and d.op is None and d.parents == ()
    assert repr(x) == "Tensor([[1., 2., 3.]], requires_grad=True, name='x')"
    assert repr(Tensor(np.array([0.5]))) == "Tensor([0.5], dtype=float64)"


def test_factories():
    rng = np.random.default_rng(0)
    assert vecgrad.zeros((2, 3)).data.tolist() == [[0.0] * 3] * 2
    assert vecgrad.ones(2, requires_grad=True).requires_grad
    assert vecgrad.tensor([1.0], requires_grad=True, name="w").name == "w"
    a = vecgrad.randn((2, 2), rng=np.random.default_rng(1))
    b = vecgrad.randn((2, 2), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and vecgrad.randn(3, rng=rng, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        vecgrad.randn((2,), rng=0)
    assert vecgrad.arange(4).data.tolist() == [0, 1, 2, 3]
    assert vecgrad.arange(0.0, 1.0, 0.5).dtype == np.float32


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (["a", "b"], TypeError, "expected real numbers, got strings"),
        ([1 + 2j], TypeError, "complex numbers"),
        ([None, 1.0], TypeError, "Python objects"),
        ({"x": 1.0}, TypeError, "Python objects"),
        ([[1.0, 2.0], [3.0]], ValueError, "cannot make an array from this list"),
        ([1.0, float("nan")], ValueError, r"NaN at index \(1,\)"),
        (Tensor([1.0]), TypeError, "got a Tensor"),
    ],
)
def test_bad_data_is_refused_with_a_clear_error(data, error, message):
    with pytest.raises(error, match=message):
        Tensor(data)


def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="only floating-point data can require grad, got int64"):
        Tensor(np.array([1, 2]), requires_grad=True)


# ---- dtype through ops ------------------------------------------------------------------


def test_python_numbers_do_not_upcast_float32():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (2.5 * x + 1) / 3.0 - 0.5
    y = vecgrad.maximum(y**2, 0.1).sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_float64_given_is_kept():
    x = Tensor(np.ones(3), requires_grad=True)
    (x * 2.0).sum().backward()
    assert x.grad.dtype == np.float64


def test_a_leaf_gradient_keeps_the_leafs_dtype():
    """float32 weights in a float64 expression still get a float32 gradient."""
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    out = (w * np.ones(3, dtype=np.float64)).sum()
    assert out.dtype == np.float64  # numpy's rule for the values
    out.backward()
    assert w.grad.dtype == np.float32


# ---- the backward pass's bookkeeping ------------------------------------------------------


def test_gradients_accumulate_and_zero_grad_resets_them():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None


def test_only_leaves_keep_grad_unless_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    kept = h + 1.0
    kept.retain_grad()
    loss = (kept * h).sum()
    loss.backward()
    assert h.grad is None and loss.grad is None
    np.testing.assert_array_equal(kept.grad, h.data)
    np.testing.assert_array_equal(x.grad, 3.0 * (2 * h.data + 1.0))


def test_two_leaves_never_share_one_gradient_array():
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()  # Add sends the very same ḡ to both operands
    assert not np.shares_memory(x.grad, y.grad)
    x.grad *= 10  # an optimizer might update in place
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_reused_node_gets_the_sum_of_its_partial_adjoints():
    a = Tensor([1.0, -2.0], requires_grad=True)
    b = a + a
    c = b * b
    c.sum().backward()
    np.testing.assert_array_equal(a.grad, 8 * a.data)
    steps = list(scalargrad.backward_steps(c.sum(), 1.0))
    for step in steps:
        total = sum(p.value for p in step.partials)
        np.testing.assert_allclose(step.adjoint, total)


def test_backward_needs_a_seed_for_a_non_scalar_output():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"output has shape \(3, 4\).*loss.sum\(\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(4,\) but the output has shape"):
        (x * 2).backward(np.ones(4))
    (x * 2).backward(np.ones((3, 4)))
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 2.0))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_a_deep_chain_does_not_recurse():
    x = Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad[0] == 1.0


def test_graphs_are_freed_without_the_cycle_collector():
    """Ops keep arrays, never their output node: deleting the loss frees the whole graph."""
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        x = Tensor(np.ones((2, 4)))
        hidden = (x @ w).tanh()
        watch = weakref.ref(hidden)
        loss = F.cross_entropy(hidden * 2 + 1, [0, 2])
        loss.backward()
        del hidden, loss
        assert watch() is None  # freed by reference counting alone
        assert gc.collect() == 0  # and nothing left for the cycle collector
    finally:
        gc.enable()


# ---- no_grad ---------------------------------------------------------------------------


def test_no_grad_records_nothing():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with vecgrad.no_grad():
        out = (w * 3).exp().sum()
        with vecgrad.enable_grad():
            recorded = w * 3
        assert not vecgrad.is_grad_enabled()
    assert vecgrad.is_grad_enabled()
    assert not out.requires_grad and out.parents == () and out.op is None
    assert recorded.requires_grad and recorded.parents[0] is w


def test_no_grad_as_a_decorator():
    @vecgrad.no_grad()
    def predict(w):
        return w * 2

    assert not predict(Tensor([1.0], requires_grad=True)).requires_grad


def test_nothing_is_recorded_without_an_input_that_requires_grad():
    out = Tensor([1.0, 2.0]) * Tensor([3.0, 4.0]) + 1
    assert out.parents == () and out.op is None and not out.requires_grad


# ---- numpy interoperation --------------------------------------------------------------


def test_numpy_reads_a_tensor_without_grad_but_not_one_with_grad():
    assert np.asarray(Tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="detach"):
        np.asarray(Tensor([1.0], requires_grad=True))


def test_numpy_functions_route_to_vecgrad_ops():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = np.sum(np.tanh(np.transpose(x)) * 2, axis=0)
    assert isinstance(out, Tensor)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * (1 - np.tanh(x.data) ** 2))
    with pytest.raises(TypeError, match="numpy.cumsum is not supported"):
        np.cumsum(x)
    with pytest.raises(TypeError, match="numpy.arctan is not supported"):
        np.arctan(x)


def test_comparisons_give_plain_bool_arrays_and_equality_is_identity():
    x = Tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x <= Tensor([1.0, 1.0, 1.0])).tolist() == [True, False, False]
    assert x == x and x != Tensor([1.0, 2.0, 3.0])
    assert len({x, x}) == 1


def test_iteration_yields_rows_that_are_graph_nodes():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.data.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[1] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0], [2.0, 2.0]])


# ---- errors that name the op and the shapes -------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: vecgrad.zeros((64, 784)) @ vecgrad.zeros((100, 10)),
            ValueError,
            "matmul: (64, 784) @ (100, 10): inner dimensions 784 and 100 differ",
        ),
        (
            lambda: vecgrad.zeros((2, 3, 4)) @ vecgrad.zeros((5, 4, 6)),
            ValueError,
            "matmul: (2, 3, 4) @ (5, 4, 6): batch dimensions (2,) and (5,) do not broadcast",
        ),
        (
            lambda: vecgrad.matmul(vecgrad.zeros(()), vecgrad.zeros(3)),
            ValueError,
            "at least one dimension",
        ),
        (
            lambda: vecgrad.zeros((3, 4)) + vecgrad.zeros(5),
            ValueError,
            "add: shapes (3, 4) and (5,) do not broadcast",
        ),
        (
            lambda: vecgrad.maximum(vecgrad.zeros((2, 2)), np.zeros(3)),
            ValueError,
            "maximum: shapes (2, 2) and (3,) do not broadcast",
        ),
        (lambda: vecgrad.zeros(3) * "a", TypeError, "mul: expected real numbers, got strings"),
        (lambda: vecgrad.zeros(3) + [1j, 2j, 3j], TypeError, "add: expected real numbers"),
        (lambda: vecgrad.zeros(3) + True, TypeError, "add: expected a number"),
        (
            lambda: vecgrad.log(Tensor([[1.0, 2.0], [0.0, 3.0]])),
            ValueError,
            "log: input must be positive, got 0.0 at index (1, 0)",
        ),
        (
            lambda: Tensor([1.0, 2.0]) / Tensor([1.0, 0.0]),
            ZeroDivisionError,
            "div: division by zero: the divisor is 0 at index (1,)",
        ),
        (lambda: 1.0 / Tensor([0.0]), ZeroDivisionError, "div: division by zero"),
        (
            lambda: vecgrad.exp(Tensor([1.0, 100.0])),
            OverflowError,
            "exp: exp(100) overflows at index (1,): the result is beyond the largest float32",
        ),
        (
            lambda: Tensor([4.0, -1.0]) ** 0.5,
            ValueError,
            "pow: -1.0 ** 0.5 at index (1,) is not a real number",
        ),
        (lambda: Tensor([0.0]) ** -1, ZeroDivisionError, "pow: 0 ** -1.0 divides by zero"),
        (
            lambda: Tensor([-2.0]) ** Tensor([2.0], requires_grad=True),
            ValueError,
            "pow: base -2.0 at index (0,) is negative",
        ),
        (
            lambda: vecgrad.zeros((3, 4)).reshape(5, -1),
            ValueError,
            "reshape: cannot reshape (3, 4) (12 elements) into (5, -1)",
        ),
        (
            lambda: vecgrad.zeros((3, 4)).sum(axis=2),
            ValueError,
            "sum: axis 2 is out of range for shape (3, 4)",
        ),
        (
            lambda: vecgrad.zeros((3, 4))[5],
            IndexError,
            "getitem: index 5 is out of bounds for axis 0 with size 3",
        ),
        (
            lambda: vecgrad.zeros((3, 4))[np.array([0.5])],
            IndexError,
            "index arrays must hold integers",
        ),
        (
            lambda: vecgrad.concatenate([vecgrad.zeros((2, 3)), vecgrad.zeros((2, 4))]),
            ValueError,
            "concatenate: shapes (2, 3) and (2, 4) differ outside axis 0",
        ),
        (
            lambda: vecgrad.stack([vecgrad.zeros(2), vecgrad.zeros(3)]),
            ValueError,
            "stack: all inputs need one shape",
        ),
        (
            lambda: vecgrad.zeros((2, 3)).transpose((0, 0)),  # transpose(0, 0) swaps: torch
            ValueError,
            "transpose: axis (0, 0) repeats an axis",
        ),
        (
            lambda: vecgrad.zeros(2).max(vecgrad.zeros(2)),
            TypeError,
            "vecgrad.maximum(a, b)",
        ),
    ],
)
def test_errors_name_the_op_the_shapes_and_the_value(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert message in str(raised.value)


def test_sqrt_at_zero_has_an_infinite_slope_as_in_pytorch():
    x = Tensor([0.0, 4.0], requires_grad=True)
    y = (x**0.5).sum()
    np.testing.assert_array_equal(y.data, 2.0)
    y.backward()
    np.testing.assert_array_equal(x.grad, [np.inf, 0.25])  # torch: tensor([inf, 0.2500])


# ---- scalargrad's functions, drawing and traces on tensors ----------------------------------


def test_scalargrad_functions_work_on_tensors():
    x = Tensor([2.0], requires_grad=True, dtype=np.float64)
    y = scalargrad.log(x) + scalargrad.sin(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1 / 2.0 + np.cos(2.0))


def test_drawing_and_traces_show_shapes_and_small_values():
    x = Tensor(np.array([[1.0, 2.0]]), name="x")
    W = Tensor(np.ones((2, 3)), requires_grad=True, name="W")
    b = Tensor(np.zeros(3), requires_grad=True, name="b")
    loss = F.cross_entropy(x @ W + b, [1])
    dot = scalargrad.to_dot(loss)
    assert "(2, 3) float64" in dot and "broadcast" in dot and "@" in dot
    rows = [str(row) for row in forward_rows(loss)]
    assert rows[3:6] == [
        "v4 = v1 @ v2 = (1, 3) float64 [[3, 3, 3]]",
        "v5 = broadcast(v3) = (1, 3) float64 [[0, 0, 0]]",
        "v6 = v4 + v5 = (1, 3) float64 [[3, 3, 3]]",
    ]
    backward = scalargrad.backward_trace(loss).to_text()
    assert "v1ᵀ·v̄" in backward  # W̄ = xᵀ·ḡ, in the right order


def test_backward_steps_run_the_same_pass():
    W = Tensor(np.ones((2, 2)), requires_grad=True)
    loss = (W @ np.array([1.0, 2.0])).sum()
    steps = list(loss.backward_steps())
    assert steps[0].node is loss and steps[-1].node is W
    np.testing.assert_array_equal(W.grad, [[1.0, 2.0], [1.0, 2.0]])


def test_import_vecgrad_leaves_the_heavy_submodules_for_later():
    code = "import sys, vecgrad; print(sorted(m for m in sys.modules if m.startswith('vecgrad')))"
    repo = Path(__file__).resolve().parents[2]
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    for lazy in ("vecgrad.nn", "vecgrad.optim", "vecgrad.apps.data", "vecgrad.apps.download"):
        assert lazy not in loaded.stdout


SCALAR_ROOTS = {
    "sum": lambda x: (x * x).sum(),
    "mean_axis": lambda x: x.mean(axis=0).max(),
    "max": lambda x: x.tanh().max(),
    "dot": lambda x: x[0] @ x[1],
    "index": lambda x: x.exp()[1, 2],
    "reshape": lambda x: x[:1, :1].reshape(()),
    "cross_entropy": lambda x: F.cross_entropy(x, [2, 0]),
    "log_softmax": lambda x: F.log_softmax(x)[0, 1],
    "stack": lambda x: vecgrad.stack([x[0], x[1]]).sum(),
}


@pytest.mark.parametrize("name", SCALAR_ROOTS)
def test_scalargrad_backward_steps_with_its_default_seed_matches_backward(name):
    """The traces and the stepper seed the pass with the number 1.0, as for a Value."""
    data = np.random.default_rng(0).standard_normal((2, 3))
    expression = SCALAR_ROOTS[name]
    x = Tensor(data, requires_grad=True)
    expression(x).backward()
    y = Tensor(data, requires_grad=True)
    steps = list(scalargrad.backward_steps(expression(y)))  # seed=1.0
    assert steps[-1].node is y
    np.testing.assert_allclose(y.grad, x.grad, rtol=1e-15)
    assert y.grad.dtype == np.float64
