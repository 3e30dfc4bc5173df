"""The hot path's fast paths: the optimizers' one-pass update (vecgrad.blas) and ReLU's
kept zeros (vecgrad.shared_arrays). Each must give numpy's numbers, and fall back to numpy
wherever its contract does not hold."""

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
        kept = sum(a.nbytes for a in shared_arrays._ZEROS.values())
        assert kept <= shared_arrays._BUDGET
    huge = shared_arrays.zeros((2**25,), np.dtype(np.float32))  # 128 MiB: made, not kept
    assert not huge.any() and all(a is not huge for a in shared_arrays._ZEROS.values())
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1], [1, 0]])
