"""Forward mode over arrays (`vecgrad.forward.Dual`): every rule against PyTorch's
``torch.func.jvp`` and against central differences; the lecture numbers; duals whose
components are Tensors (reverse over forward) against ``torch.autograd.functional.hvp``;
constants, dtypes and error messages.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vecgrad
from tests.shared.op_table import ARRAY_OPS, OPS, array_namespace
from vecgrad import Tensor
from vecgrad import forward as fwd
from vecgrad.forward import Dual

# The op table's namespace for duals: the lecture twins take duals; maximum and minimum
# come from vecgrad.forward (vecgrad.maximum is Tensor-only).
DUAL_NS = SimpleNamespace(
    log=vecgrad.log,
    exp=vecgrad.exp,
    sin=vecgrad.sin,
    cos=vecgrad.cos,
    tanh=vecgrad.tanh,
    sigmoid=vecgrad.sigmoid,
    relu=vecgrad.relu,
    maximum=fwd.maximum,
    minimum=fwd.minimum,
)

SHAPES = {
    1: hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4).map(lambda s: (s,)),
    2: hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4
    ).map(lambda b: b.input_shapes),
}


def _draw_inputs(case, shapes, rng, dtype=np.float64):
    """Uniform inputs in [low, high] on which the case is fair (away from kinks), or None."""
    for _ in range(500):
        xs = [rng.uniform(case.low, case.high, size=shape).astype(dtype) for shape in shapes]
        if case.away_from is None:
            return xs
        fair = np.vectorize(case.away_from, otypes=[bool])(*np.broadcast_arrays(*xs))
        if fair.all():
            return xs
    return None


def _torch_jvp(fn, xs, vs):
    torch = pytest.importorskip("torch")
    primals = tuple(torch.tensor(x) for x in xs)
    tangents = tuple(torch.tensor(v) for v in vs)
    out, tangent = torch.func.jvp(fn, primals, tangents)
    return out.numpy(), tangent.numpy()


def _assert_dual(out, value, tangent, rtol=1e-12, atol=1e-12):
    assert isinstance(out, Dual)
    assert out.value.shape == np.shape(value) and out.tangent.shape == np.shape(value)
    np.testing.assert_allclose(out.value, value, rtol=rtol, atol=atol)
    np.testing.assert_allclose(out.tangent, tangent, rtol=rtol, atol=atol)


# ---- every op of the shared table, on broadcast shapes ---------------------------------


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_op_table_against_torch_jvp(case):
    torch = pytest.importorskip("torch")

    @settings(max_examples=25, deadline=None)
    @given(SHAPES[case.arity], st.integers(0, 2**32 - 1))
    def check(shapes, seed):
        rng = np.random.default_rng(seed)
        xs = _draw_inputs(case, shapes, rng)
        assume(xs is not None)
        vs = [rng.standard_normal(x.shape) for x in xs]
        out = case.apply(DUAL_NS, *(Dual(x, v) for x, v in zip(xs, vs)))
        value, tangent = _torch_jvp(lambda *ts: case.apply(torch, *ts), xs, vs)
        _assert_dual(out, value, tangent, rtol=1e-10, atol=1e-12)

    check()


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_op_table_against_central_differences(case):
    """J·v ≈ (f(x + h·v) − f(x − h·v)) / 2h: an oracle that shares no code with the rules."""
    rng = np.random.default_rng(7)
    shapes = [(2, 3), (3,)][: case.arity]
    xs = _draw_inputs(case, shapes, rng)
    vs = [rng.standard_normal(x.shape) for x in xs]
    out = case.apply(DUAL_NS, *(Dual(x, v) for x, v in zip(xs, vs)))
    h = 1e-6

    def f(*arrays):
        with vecgrad.no_grad():
            return case.apply(vecgrad, *(Tensor(a) for a in arrays)).data

    up = f(*(x + h * v for x, v in zip(xs, vs)))
    down = f(*(x - h * v for x, v in zip(xs, vs)))
    np.testing.assert_allclose(out.tangent, (up - down) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.value, f(*xs), rtol=1e-15)


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_float32_stays_float32(case):
    rng = np.random.default_rng(3)
    xs = _draw_inputs(case, [(4,), (4,)][: case.arity], rng, dtype=np.float32)
    out = case.apply(DUAL_NS, *(Dual(x, np.ones_like(x)) for x in xs))
    assert out.value.dtype == np.float32 and out.tangent.dtype == np.float32


# ---- matrix products, reductions, shapes, softmax ------------------------------------

SHAPE_CASES = {
    # name: (f on duals/tensors, input shapes)
    "matmul_2d": (lambda x, W: x @ W, [(3, 4), (4, 2)]),
    "matmul_vec_mat": (lambda x, W: x @ W, [(4,), (4, 2)]),
    "matmul_mat_vec": (lambda x, W: x @ W, [(3, 4), (4,)]),
    "matmul_batched": (lambda x, W: x @ W, [(2, 3, 4), (4, 5)]),
    "sum_all": (lambda x: x.sum(), [(3, 4)]),
    "sum_axis": (lambda x: x.sum(axis=1), [(3, 4)]),
    "sum_keepdims": (lambda x: x.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    "mean_axis": (lambda x: x.mean(axis=0), [(3, 4)]),
    "mean_all": (lambda x: x.mean(), [(3, 4)]),
    "max_axis": (lambda x: x.max(axis=-1), [(3, 4)]),
    "max_all_keepdims": (lambda x: x.max(axis=None, keepdims=True), [(3, 4)]),
    "reshape": (lambda x: x.reshape(2, -1), [(3, 4)]),
    "transpose": (lambda x: x.transpose(2, 0, 1), [(2, 3, 4)]),
    "T": (lambda x: x.T, [(3, 4)]),
    "swapaxes": (lambda x: x.swapaxes(0, -1), [(2, 3, 4)]),
    "getitem_slice": (lambda x: x[1:, ::2], [(3, 4)]),
    "getitem_int_array_repeats": (lambda x: x[np.array([0, 2, 0]), 1], [(3, 4)]),
    "broadcast_to": (lambda x: x.broadcast_to((2, 3, 4)), [(3, 1)]),
    "chain": (lambda x, W: ((x @ W).tanh() * x.sum()).mean(axis=0), [(3, 4), (4, 2)]),
}


def _torch_shape_fn(name, fn):
    """The same expression in torch (the few spellings that differ are translated)."""
    torch = pytest.importorskip("torch")
    special = {
        "max_axis": lambda x: x.amax(dim=-1),
        "max_all_keepdims": lambda x: x.amax(dim=(0, 1), keepdim=True),
        "sum_keepdims": lambda x: x.sum(dim=(0, 2), keepdim=True),
        "transpose": lambda x: x.permute(2, 0, 1),
        "swapaxes": lambda x: x.transpose(0, -1),
        "getitem_int_array_repeats": lambda x: x[torch.tensor([0, 2, 0]), 1],
        "broadcast_to": lambda x: x.broadcast_to((2, 3, 4)),
        "sum_axis": lambda x: x.sum(dim=1),
        "mean_axis": lambda x: x.mean(dim=0),
        "chain": lambda x, W: ((x @ W).tanh() * x.sum()).mean(dim=0),
    }
    return special.get(name, fn)


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_shape_ops_against_torch_jvp(name):
    fn, shapes = SHAPE_CASES[name]
    rng = np.random.default_rng(11)
    xs = [rng.standard_normal(s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    out = fn(*(Dual(x, v) for x, v in zip(xs, vs)))
    value, tangent = _torch_jvp(_torch_shape_fn(name, fn), xs, vs)
    _assert_dual(out, value, tangent)


def test_max_with_ties_averages_the_tangents():
    """A tie shares the tangent equally: the mean of the tied entries' tangents (as the
    gradient splits ḡ equally, so J·v stays consistent with vᵀJ)."""
    x = Dual(
        np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]), np.array([[5.0, 1.0, 2.0], [4.0, 9.0, 8.0]])
    )
    _assert_dual(x.max(axis=1), [3.0, 2.0], [1.5, 6.0])
    ties = Dual(np.array([2.0, 2.0]), np.array([1.0, 3.0]))
    _assert_dual(fwd.maximum(ties, np.array([2.0, 1.0])), [2.0, 2.0], [0.5, 3.0])


def test_concatenate_and_stack_with_constants_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((1, 3)), rng.standard_normal((2, 3))
    va, vc = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    out = fwd.concatenate([Dual(a, va), b, Dual(c, vc)], axis=0)
    t_b = torch.tensor(b)
    value, tangent = _torch_jvp(lambda x, z: torch.cat([x, t_b, z], dim=0), [a, c], [va, vc])
    _assert_dual(out, value, tangent)
    out = np.stack([Dual(a, va), c], axis=1)  # numpy hands the call to the dual
    t_c = torch.tensor(c)
    value, tangent = _torch_jvp(lambda x: torch.stack([x, t_c], dim=1), [a], [va])
    _assert_dual(out, value, tangent)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_against_torch(axis):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    z, v = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    out = fwd.softmax(Dual(z, v), axis=axis)
    value, tangent = _torch_jvp(lambda t: torch.softmax(t, dim=axis), [z], [v])
    _assert_dual(out, value, tangent)
    out = fwd.log_softmax(Dual(z, v), axis=axis)
    value, tangent = _torch_jvp(lambda t: torch.log_softmax(t, dim=axis), [z], [v])
    _assert_dual(out, value, tangent)


def test_softmax_is_finite_for_huge_logits():
    torch = pytest.importorskip("torch")
    z = np.array([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]])
    v = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    for ours, theirs in ((fwd.softmax, torch.softmax), (fwd.log_softmax, torch.log_softmax)):
        out = ours(Dual(z, v))
        assert np.isfinite(out.value).all() and np.isfinite(out.tangent).all()
        value, tangent = _torch_jvp(lambda t, theirs=theirs: theirs(t, dim=-1), [z], [v])
        _assert_dual(out, value, tangent)


def test_softmax_of_tensors_and_arrays_falls_back_to_vecgrad():
    z = np.array([[1.0, 2.0, 3.0]])
    assert isinstance(fwd.softmax(Tensor(z)), Tensor)
    np.testing.assert_allclose(fwd.log_softmax(z).data, vecgrad.functional.log_softmax(z).data)


# ---- the lecture's numbers ------------------------------------------------------------


def test_lecture_y_one_jvp_per_input():
    """y = ln x1 + x1·x2 − sin x2 at (2, 5): the seed (1, 0) gives ∂y/∂x1, (0, 1) gives ∂y/∂x2."""

    def y(x1, x2):
        return vecgrad.log(x1) + x1 * x2 - vecgrad.sin(x2)

    out = y(Dual(2.0, 1.0), Dual(5.0, 0.0))
    assert round(float(out.value), 3) == 11.652 and float(out.tangent) == pytest.approx(5.5)
    out = y(Dual(2.0, 0.0), Dual(5.0, 1.0))
    assert round(float(out.tangent), 3) == 1.716


def test_lecture_examples_on_arrays():
    """The lecture's three other examples, each gradient by one JVP per input (float64)."""

    def columns(f, point):
        point = np.array(point, dtype=np.float64)
        tangents = []
        for j in range(len(point)):
            e = np.zeros_like(point)
            e[j] = 1.0
            out = f(Dual(point, e))
            tangents.append(float(out.tangent))
        return float(out.value), tangents

    value, grads = columns(lambda v: (v[0] + v[1]) * v[2], [-2.0, 5.0, -4.0])
    assert value == -12.0 and grads == [-4.0, -4.0, 3.0]
    _, grads = columns(lambda v: v[0] / (v[0] + v[1]), [-1.0, 2.0])
    assert grads[0] == pytest.approx(2.0)
    value, grads = columns(lambda v: 3 * (v[0] * v[1] + fwd.maximum(v[2], v[3])), [3, -4, 2, -1])
    assert value == -30.0 and grads == [-12.0, 9.0, 3.0, 0.0]


# ---- constants, numpy interop, Tensors as constants -------------------------------------


def test_constants_have_zero_tangent_and_broadcast():
    x = Dual(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0]))
    big = np.ones((2, 3))
    out = x + big
    assert out.shape == (2, 3) and out.tangent.shape == (2, 3)
    np.testing.assert_array_equal(out.tangent, [[1.0, 0.0, -1.0]] * 2)
    out = 2.5 * x - 1
    np.testing.assert_array_equal(out.tangent, [2.5, 0.0, -2.5])


def test_numpy_arrays_and_tensors_as_weights():
    """W @ x with W an array (numpy hands the product to the dual) or x @ W with W a Tensor."""
    rng = np.random.default_rng(0)
    W, x, v = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)
    out = np.tanh(W @ Dual(x, v))
    expected = (1 - np.tanh(W @ x) ** 2) * (W @ v)
    np.testing.assert_allclose(out.tangent, expected, rtol=1e-13)
    W_t = Tensor(W.T.copy(), requires_grad=True)
    out = Dual(x, v) @ W_t
    assert isinstance(out.tangent, Tensor)  # W requires grad: the tangent is a graph in W
    np.testing.assert_allclose(out.tangent.data, W @ v, rtol=1e-13)


def test_a_tensor_on_the_left_gives_a_clear_error():
    W = Tensor(np.ones((2, 3)))
    x = Dual(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="x @ W"):
        W @ x
    with pytest.raises(TypeError, match="vecgrad.forward.softmax"):
        vecgrad.functional.softmax(x)


def test_comparisons_read_values():
    x = Dual(np.array([-1.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(x > 0, [False, True])
    np.testing.assert_array_equal(np.less(x, 0), [True, False])


# ---- reverse over forward: components that are Tensors ----------------------------------


def test_reverse_over_forward_hvp_against_torch():
    """A dual whose value is a Tensor leaf: its tangent ∇f·v is a graph, and backward gives H·v."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    W, x, v = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)

    def f(x, ns, W):
        h = ns.tanh(x @ W.T)
        return (h * h).sum() + (x * x).sum().sin() + ns.log((x * x).sum() + 1)

    leaf = Tensor(x, requires_grad=True)
    out = f(Dual(leaf, v), DUAL_NS, W)
    assert isinstance(out.tangent, Tensor)
    out.tangent.backward()
    _, hvp = torch.autograd.functional.hvp(
        lambda t: f(t, torch, torch.tensor(W)), torch.tensor(x), torch.tensor(v)
    )
    np.testing.assert_allclose(leaf.grad, hvp.numpy(), rtol=1e-10, atol=1e-12)


# ---- errors ---------------------------------------------------------------------------


def test_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match="log: input must be positive"):
        Dual(np.array([1.0, -2.0]), np.ones(2)).log()
    with pytest.raises(
        ValueError, match=r"tangent has shape \(3,\) but the value has shape \(2,\)"
    ):
        Dual(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(3,\)"):
        Dual(np.ones((3, 4)), np.ones((3, 4))) @ np.ones(3)
    with pytest.raises(ZeroDivisionError, match="div"):
        Dual(np.ones(2), np.ones(2)) / np.array([1.0, 0.0])
    with pytest.raises(ZeroDivisionError, match=r"pow: 0 \*\* -0.5 divides by zero"):
        Dual(np.array([0.0, 1.0]), np.ones(2)) ** -0.5
    with pytest.raises(TypeError, match="bool"):
        Dual(np.ones(2), np.ones(2)) * True
    with pytest.raises(TypeError, match="cannot combine a Dual with str"):
        Dual(np.ones(2), np.ones(2)) + "a"
    with pytest.raises(TypeError, match="nested forward mode"):
        Dual(Dual(1.0, 1.0), 1.0)
    with pytest.raises(TypeError, match="floating-point"):
        Dual(np.array([1, 2]))
    with pytest.raises(TypeError, match="numpy.sort is not supported"):
        np.sort(Dual(np.ones(2), np.ones(2)))


# ---- the ops of whole arrays from the op table ----------------------------------------


@pytest.mark.parametrize("case", [c for c in ARRAY_OPS if c.dual], ids=repr)
@pytest.mark.parametrize("seed", [0, 1])
def test_array_op_table_against_torch_jvp(case, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(case.low, case.high, size=shape) for shape in case.shapes]
    vs = [rng.standard_normal(x.shape) for x in xs]
    out = case.apply(array_namespace("dual", fwd), *(Dual(x, v) for x, v in zip(xs, vs)))
    ns = array_namespace("torch", torch)
    value, tangent = _torch_jvp(lambda *ts: case.apply(ns, *ts), xs, vs)
    _assert_dual(out, value, tangent, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in ARRAY_OPS if c.dual], ids=repr)
def test_array_op_table_against_central_differences(case):
    rng = np.random.default_rng(11)
    xs = [rng.uniform(case.low, case.high, size=shape) for shape in case.shapes]
    vs = [rng.standard_normal(x.shape) for x in xs]
    duals = [Dual(x, v) for x, v in zip(xs, vs)]
    out = case.apply(array_namespace("dual", fwd), *duals)
    ns, h = array_namespace("vecgrad", vecgrad), 1e-6

    def f(*arrays):
        with vecgrad.no_grad():
            return case.apply(ns, *(Tensor(a) for a in arrays)).data

    up = f(*(x + h * v for x, v in zip(xs, vs)))
    down = f(*(x - h * v for x, v in zip(xs, vs)))
    np.testing.assert_allclose(out.tangent, (up - down) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.value, f(*xs), rtol=1e-14)
    if len(xs) > 1:  # the first operand a constant: the tangent is the other operands' part
        partial = case.apply(array_namespace("dual", fwd), xs[0], *duals[1:])
        up = f(xs[0], *(x + h * v for x, v in zip(xs[1:], vs[1:])))
        down = f(xs[0], *(x - h * v for x, v in zip(xs[1:], vs[1:])))
        np.testing.assert_allclose(partial.tangent, (up - down) / (2 * h), rtol=1e-6, atol=1e-7)
