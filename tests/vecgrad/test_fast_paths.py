"""The hot path's fast paths: the optimizers' one-pass update (vecgrad.blas), ReLU's kept
zeros and Linear's bias gradient as 1ᵀ·ḡ (vecgrad.shared_arrays). Each must give numpy's
numbers, and fall back to numpy wherever its contract does not hold."""

import numpy as np
import pytest

from vecgrad import Tensor, blas, functional, nn, optim, shared_arrays


def _assert_within_one_rounding(got, y, a, x):
    """axpy may fuse the multiply and the add (one rounding where numpy has two): the
    results differ at most by the rounding of a·x plus that of the result."""
    a = y.dtype.type(a)
    want = y - a * x
    bound = np.spacing(np.abs(want)) + np.spacing(np.abs(a * x))
    assert np.all(np.abs(got - want) <= bound), np.max(np.abs(got - want) / bound)
    assert np.mean(got == want) > 0.5  # mostly the very same numbers


def test_numpys_own_openblas_is_found_here():
    """numpy's wheels bundle scipy-openblas; on such a numpy the fast path must be on."""
    blas_info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if blas_info.get("name") != "scipy-openblas":
        pytest.skip(f"numpy is built against {blas_info.get('name')}: the numpy path runs")
    assert set(blas._AXPY) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(784, 100), (5000,), (3, 4096)])
def test_subtract_scaled_is_y_minus_a_x(dtype, shape):
    rng = np.random.default_rng(0)
    y = rng.standard_normal(shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype) * 1e3
    before = y.copy()
    blas.subtract_scaled(y, 0.05, x)
    _assert_within_one_rounding(y, before, 0.05, x)


@pytest.mark.parametrize("a", [np.float32(0.1), np.float64(0.1), 1, 0.1])
def test_subtract_scaled_takes_any_real_number(a):
    y, x = np.ones(5000, np.float32), np.arange(5000, dtype=np.float32)
    blas.subtract_scaled(y, a, x)
    _assert_within_one_rounding(y, np.ones(5000, np.float32), a, x)


def _cases_axpy_must_not_take():
    rng = np.random.default_rng(1)
    big = rng.standard_normal((200, 100)).astype(np.float32)
    yield "strided x", big.copy(), big[:, ::1].T.copy().T  # F-order x of the same shape
    yield "a view of every other row", big.copy()[::2], big[::2]
    yield "float16", big.astype(np.float16), big.astype(np.float16)
    yield "mixed dtypes", big.copy(), big.astype(np.float64)
    yield "small", big[:2].copy(), big[:2].copy()
    yield "broadcast x", big.copy(), big[0]
    yield "x is y", big.copy(), None


@pytest.mark.parametrize("name, y, x", list(_cases_axpy_must_not_take()))
def test_subtract_scaled_falls_back_to_numpy_outside_axpys_contract(name, y, x):
    if x is None:
        x = y  # the same memory: axpy's contract excludes it
    want = y.copy()
    want -= 0.5 * (want if x is y else x)
    blas.subtract_scaled(y, 0.5, x)
    np.testing.assert_array_equal(y, want)  # numpy's expression, to the last bit


def test_subtract_scaled_refuses_a_read_only_parameter_as_numpy_does():
    y = np.ones(5000, np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.subtract_scaled(y, 0.1, np.ones(5000, np.float32))


def test_a_routine_that_ignores_n_or_writes_nothing_is_not_used():
    def ignores_n(n, a, x_address, incx, y_address, incy):  # as if n were read as 8
        x = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_float * 8).from_address(x_address))
        y = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_float * 8).from_address(y_address))
        y += a * x

    def writes_nothing(*args):
        return None

    float32 = np.dtype(np.float32)
    assert not blas._agrees((float32, ignores_n))
    assert not blas._agrees((float32, writes_nothing))
    assert blas._agrees((float32, blas._AXPY[float32])) if blas._AXPY else True


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: optim.SGD(params, lr=0.1),
        lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
        lambda params: optim.Adam(params, lr=1e-3),
    ],
    ids=["sgd", "sgd-momentum", "adam"],
)
def test_optimizer_steps_with_and_without_the_fast_path_agree(monkeypatch, make_optimizer):
    """One run through axpy and one through numpy: the same weights to one rounding per
    step (axpy may fuse), the gradients left as they were."""
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((100, 784)).astype(np.float32), rng.integers(0, 10, 100)

    def run():
        model = nn.Sequential(
            nn.Linear(784, 100, rng=np.random.default_rng(0)),
            nn.ReLU(),
            nn.Linear(100, 10, rng=np.random.default_rng(1)),
        )
        opt = make_optimizer(model.parameters())
        for _ in range(3):
            loss = functional.cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            grads = [p.grad.copy() for p in model.parameters()]
            opt.step()
            for p, g in zip(model.parameters(), grads):
                np.testing.assert_array_equal(p.grad, g)  # the step left p.grad alone
        return [p.data.copy() for p in model.parameters()]

    fast = run()
    monkeypatch.setattr(blas, "_AXPY", {})
    plain = run()
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_relus_zeros_are_kept_read_only_and_bounded():
    x = Tensor(np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32), requires_grad=True)
    out = x.relu()
    np.testing.assert_array_equal(out.data, [[0, 2], [3, 0]])
    assert out.data.flags.writeable  # the output is the op's own array
    zeros = shared_arrays.zeros((2, 2), np.dtype(np.float32))
    assert zeros is shared_arrays.zeros((2, 2), np.dtype(np.float32))
    assert not zeros.flags.writeable and not zeros.any()
    with pytest.raises(ValueError, match="read-only"):
        zeros[0, 0] = 1
    for n in range(1, 40):  # many shapes, some large: what is kept stays within budget
        shared_arrays.zeros((n, 2**18), np.dtype(np.float32))  # n MiB each
        kept = sum(a.nbytes for a in shared_arrays._KEPT.values())
        assert kept <= shared_arrays._BUDGET
    huge = shared_arrays.zeros((2**25,), np.dtype(np.float32))  # 128 MiB: made, not kept
    assert not huge.any() and all(a is not huge for a in shared_arrays._KEPT.values())
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1], [1, 0]])


def _assert_sums_agree(got, g):
    """1ᵀ·g through BLAS adds the rows in another order than numpy: the same sum to within
    the rounding of n additions (relative to Σ|g|, float64 as the oracle)."""
    exact = g.astype(np.float64).sum(axis=0)
    bound = len(g) * np.finfo(g.dtype).eps * np.abs(g.astype(np.float64)).sum(axis=0)
    assert got.shape == exact.shape and got.dtype == g.dtype
    assert np.all(np.abs(got - exact) <= bound), np.max(np.abs(got - exact) / bound)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(100, 10), (100, 512), (1, 7), (7, 1), (3000, 3)])
def test_sum_over_rows_is_numpys_sum_over_axis_0(dtype, shape):
    g = (np.random.default_rng(1).standard_normal(shape) * 1e3).astype(dtype)
    _assert_sums_agree(shared_arrays.sum_over_rows(g), g)
    _assert_sums_agree(shared_arrays.sum_over_rows(g[:, ::-1]), g[:, ::-1])  # strided
    tiny = g * dtype(np.finfo(dtype).tiny)  # subnormal rows: no flush to zero on the way
    np.testing.assert_array_equal(shared_arrays.sum_over_rows(tiny) != 0, tiny.sum(0) != 0)


def test_sum_over_rows_keeps_infinities_and_nan_and_falls_back_elsewhere():
    g = np.array([[1.0, np.inf, np.inf, np.nan], [2.0, 1.0, -np.inf, 0.0]], np.float32)
    with np.errstate(invalid="ignore"):  # ∞ − ∞, as numpy's sum warns too
        np.testing.assert_array_equal(shared_arrays.sum_over_rows(g), [3, np.inf, np.nan, np.nan])
    for g in (
        np.arange(12, dtype=np.float16).reshape(4, 3),  # no BLAS for float16
        np.arange(12).reshape(4, 3),  # integers stay integers
        np.zeros((0, 3), np.float32),  # no rows: zeros
        np.ones((2, 3, 4), np.float32),  # not a matrix
    ):
        got = shared_arrays.sum_over_rows(g)
        assert got.dtype == g.dtype
        np.testing.assert_array_equal(got, g.sum(axis=0))
    ones = shared_arrays._kept(1, (4,), np.dtype(np.float32))
    assert not ones.flags.writeable and (ones == 1).all()


def test_linears_bias_gradient_is_the_sum_over_rows_also_when_recorded():
    """Linear's b̄ goes through 1ᵀ·ḡ; under create_graph the same rule is recorded, so b̄
    can be differentiated again (the oracle: the second derivative of tanh by hand)."""
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    W = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    seed = rng.standard_normal((5, 4))
    functional.linear(x, W, b).backward(seed)
    np.testing.assert_allclose(b.grad, seed.sum(axis=0), rtol=1e-12)
    b.zero_grad()
    functional.linear(x, W, b).tanh().sum().backward(create_graph=True)
    bias_grad = b.grad  # Σ over rows of 1 − tanh²(z), as a Tensor
    t = np.tanh(x.data @ W.data + b.data)
    np.testing.assert_allclose(bias_grad.data, (1 - t**2).sum(axis=0), rtol=1e-12)
    x.grad = W.grad = b.grad = None
    bias_grad.sum().backward()  # ∂/∂b_j of Σ_ij (1 − tanh² z_ij) = Σ_i −2·t·(1 − t²)
    np.testing.assert_allclose(b.grad, (-2 * t * (1 - t**2)).sum(axis=0), rtol=1e-10)
