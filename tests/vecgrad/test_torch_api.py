"""What a PyTorch user reaches for: PyTorch's names with PyTorch's meaning, against torch.

Every method that computes something is compared with torch (float64): values, gradients,
and for the new ops of vecgrad/torch_ops.py their tangent rules (``jvp``) against
``torch.func.jvp``. Each test skips alone without torch.
"""

import importlib.metadata
import math

import numpy as np
import pytest

import scalargrad
import vecgrad
from vecgrad import Tensor, nn, torch_ops
from vecgrad.optim import SGD, Adam


def _torch():
    return pytest.importorskip("torch")


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _check(vec_fn, torch_fn, *arrays, seed=1):
    """vec_fn on Tensors and torch_fn on torch tensors: same values, same gradients."""
    torch = _torch()
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    out, tout = vec_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    seed_grad = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(seed_grad)
    tout.backward(torch.tensor(seed_grad))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)


# ---- dim= beside axis=, and the calls that mean two things -------------------------------


@pytest.mark.parametrize(
    "vec_fn, torch_fn",
    [
        (lambda x: x.sum(dim=1), lambda x: x.sum(dim=1)),
        (lambda x: x.sum(dim=(0, 2), keepdim=True), lambda x: x.sum(dim=(0, 2), keepdim=True)),
        (lambda x: x.mean(dim=-1), lambda x: x.mean(dim=-1)),
        (lambda x: x.max(dim=1).values, lambda x: x.max(dim=1).values),
        (lambda x: x.min(dim=0, keepdim=True)[0], lambda x: x.min(dim=0, keepdim=True)[0]),
        (lambda x: vecgrad.sum(x, dim=2), lambda x: x.sum(dim=2)),
        (lambda x: vecgrad.mean(x, dim=0), lambda x: x.mean(dim=0)),
        (lambda x: x.softmax(dim=1), lambda x: x.softmax(dim=1)),
        (lambda x: x.log_softmax(dim=-1), lambda x: x.log_softmax(dim=-1)),
        (lambda x: vecgrad.functional.softmax(x, dim=0), lambda x: x.softmax(dim=0)),
        (lambda x: vecgrad.functional.log_softmax(x, dim=2), lambda x: x.log_softmax(dim=2)),
        (lambda x: vecgrad.cat([x, x * 2], dim=1), lambda x: _t().cat([x, x * 2], dim=1)),
        (lambda x: vecgrad.stack([x, x], dim=-1), lambda x: _t().stack([x, x], dim=-1)),
        (lambda x: vecgrad.concatenate([x, x], dim=2), lambda x: _t().cat([x, x], dim=2)),
    ],
)
def test_dim_and_keepdim_are_accepted_wherever_axis_is(vec_fn, torch_fn):
    _check(vec_fn, torch_fn, _random((2, 3, 4)))


def _t():
    return pytest.importorskip("torch")


def test_max_and_min_with_dim_return_values_and_indices_as_torch():
    torch = _torch()
    x = _random((3, 5), seed=4)
    for name in ("max", "min"):
        values, indices = getattr(Tensor(x), name)(dim=1)
        tvalues, tindices = getattr(torch.tensor(x), name)(dim=1)
        np.testing.assert_array_equal(values.data, tvalues.numpy())
        np.testing.assert_array_equal(indices.data, tindices.numpy())
        assert indices.dtype == np.int64
    assert Tensor(x).max(axis=1).shape == (3,)  # numpy's spelling: the values alone


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: x.sum(dim=0, axis=0), "sum: got both dim= and axis= (they are one; give one)"),
        (lambda x: x.mean(0, dim=0), "mean: got both dim= and axis="),
        (lambda x: x.sum(keepdim=True, keepdims=True), "sum: got both keepdim= and keepdims="),
        (lambda x: x.softmax(None), "softmax: dim must be one int (e.g. softmax(dim=-1)), got"),
        (
            lambda x: x.var(axis=0),
            "var: numpy's var(axis=…) divides by n, PyTorch's by n − 1; say which: "
            "var(axis=…, ddof=0) for numpy's, var(dim=…) for PyTorch's",
        ),
        (lambda x: x.std(dim=0, axis=0), "std: got both dim= and axis="),
        (lambda x: x.var(correction=1, ddof=0), "var: got both correction= and ddof="),
        (lambda x: x.var(unbiased=True), "var: unexpected argument 'unbiased'"),
    ],
)
def test_ambiguous_or_doubled_arguments_are_refused_with_what_to_write(call, message):
    with pytest.raises(TypeError) as raised:
        call(Tensor(np.ones((2, 3))))
    assert message in str(raised.value)


def test_transpose_of_two_axes_swaps_them_as_in_torch():
    _check(lambda x: x.transpose(0, 1), lambda x: x.transpose(0, 1), _random((2, 3)))
    _check(lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2), _random((2, 3, 4)))
    _check(lambda x: x.transpose(-1, 1), lambda x: x.transpose(-1, 1), _random((2, 3, 4)))
    _check(lambda x: x.transpose(1, 1), lambda x: x.transpose(1, 1), _random((2, 3)))
    # numpy's permutation forms, which torch's transpose refuses, keep numpy's meaning
    _check(lambda x: x.transpose((1, 2, 0)), lambda x: x.permute(1, 2, 0), _random((2, 3, 4)))
    _check(lambda x: x.transpose(), lambda x: x.permute(2, 1, 0), _random((2, 3, 4)))


def test_permute_as_torch_and_its_errors():
    _check(lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), _random((2, 3, 4)))
    _check(lambda x: x.permute((1, 0)), lambda x: x.permute((1, 0)), _random((2, 3)))
    with pytest.raises(ValueError, match=r"permute: dims \(0,\) are not a permutation of the 2 "):
        Tensor(np.ones((2, 3))).permute(0)
    with pytest.raises(ValueError, match=r"permute: axis \(0, 0\) repeats an axis"):
        Tensor(np.ones((2, 3))).permute(0, 0)


def test_size_is_numpys_count_and_size_called_is_torchs_shape():
    torch = _torch()
    x, t = Tensor(np.ones((2, 3, 4))), torch.ones(2, 3, 4)
    assert x.size == 24 == t.numel() and x.numel() == 24
    assert x.size() == tuple(t.size()) == (2, 3, 4)
    assert x.size(1) == t.size(1) == 3 and x.size(-1) == t.size(-1) == 4
    assert x.size + 1 == 25 and isinstance(x.size * 2, int)
    assert x.dim() == t.dim() == 3
    with pytest.raises(ValueError, match=r"size: axis 3 is out of range for shape \(2, 3, 4\)"):
        x.size(3)
    import pickle

    assert pickle.loads(pickle.dumps(x.size)) == 24


# ---- methods a torch user calls on a tensor ----------------------------------------------


@pytest.mark.parametrize(
    "vec_fn, torch_fn, shape",
    [
        (lambda x: x.pow(3), lambda x: x.pow(3), (3, 4)),
        (lambda x: (x * x + 0.1).sqrt(), lambda x: (x * x + 0.1).sqrt(), (3, 4)),
        (lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), (3, 4)),
        (lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), (3, 4)),
        (lambda x: x.clamp(max=-0.2), lambda x: x.clamp(max=-0.2), (3, 4)),
        (lambda x: x.clip(-0.5, 0.5), lambda x: x.clip(-0.5, 0.5), (3, 4)),
        (lambda x: x.view(-1, 2), lambda x: x.view(-1, 2), (3, 4)),
        (lambda x: x.view(2, -1, 3), lambda x: x.view(2, -1, 3), (3, 4)),
        (lambda x: x.reshape(-1), lambda x: x.reshape(-1), (3, 4)),
        (lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0), (3, 4)),
        (lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), (3, 4)),
        (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1), (3, 4)),
        (lambda x: x.squeeze(), lambda x: x.squeeze(), (3, 1, 4, 1)),
        (lambda x: x.squeeze(1), lambda x: x.squeeze(1), (3, 1, 4, 1)),
        (lambda x: x.squeeze(0), lambda x: x.squeeze(0), (3, 1, 4, 1)),  # size 3: kept
        (lambda x: x.squeeze((1, -1)), lambda x: x.squeeze((1, -1)), (3, 1, 4, 1)),
        (lambda x: x.flatten(), lambda x: x.flatten(), (2, 3, 4)),
        (lambda x: x.flatten(1), lambda x: x.flatten(1), (2, 3, 4)),
        (lambda x: x.flatten(0, 1), lambda x: x.flatten(0, 1), (2, 3, 4)),
        (lambda x: x.flatten(), lambda x: x.flatten(), ()),
        (lambda x: x.var(), lambda x: x.var(), (3, 4)),
        (lambda x: x.var(dim=1), lambda x: x.var(dim=1), (3, 4)),
        (lambda x: x.var(0, correction=0), lambda x: x.var(0, correction=0), (3, 4)),
        (lambda x: x.var(axis=1, ddof=0), lambda x: x.var(dim=1, correction=0), (3, 4)),
        (
            lambda x: x.std(dim=(0, 1), keepdim=True),
            lambda x: x.std(dim=(0, 1), keepdim=True),
            (3, 4, 2),
        ),
        (lambda x: x.std(1, correction=2), lambda x: x.std(1, correction=2), (3, 4)),
        (lambda x: x.norm(), lambda x: x.norm(), (3, 4)),
        (lambda x: x.norm(2, dim=1), lambda x: x.norm(2, dim=1), (3, 4)),
        (lambda x: x.norm(dim=0, keepdim=True), lambda x: x.norm(dim=0, keepdim=True), (3, 4)),
        (lambda x: x.norm(p=1, dim=1), lambda x: x.norm(p=1, dim=1), (3, 4)),
        (lambda x: x.norm(p=math.inf), lambda x: x.norm(p=math.inf), (3, 4)),
        (lambda x: x.clone() * 2, lambda x: x.clone() * 2, (3, 4)),
        (lambda x: x.double() * 2, lambda x: x.double() * 2, (3, 4)),
    ],
)
def test_tensor_methods_match_torch(vec_fn, torch_fn, shape):
    _check(vec_fn, torch_fn, _random(shape, seed=len(shape)))


def test_clamp_at_the_bounds_passes_the_gradient_as_torch():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    _check(lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), x)


def test_norm_of_zero_has_gradient_zero_as_torch():
    _check(lambda x: x.norm(dim=1), lambda x: x.norm(dim=1), np.array([[0.0, 0.0], [3.0, 4.0]]))


def test_argmax_and_argmin_match_torch():
    torch = _torch()
    x = _random((3, 4, 5), seed=9)
    x[1, 2, :] = 7.0  # a tie: the first one, as torch and numpy
    t = torch.tensor(x)
    for name in ("argmax", "argmin"):
        for kwargs in ({}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": 0}):
            ours = getattr(Tensor(x), name)(**kwargs)
            theirs = getattr(t, name)(**kwargs)
            assert ours.dtype == np.int64 and not ours.requires_grad
            np.testing.assert_array_equal(ours.data, theirs.numpy())
    with pytest.raises(ValueError, match=r"argmax: the tensor is empty \(shape \(0,\)\)"):
        Tensor(np.ones(0)).argmax()


def test_dtype_conversions():
    x = Tensor([1.5, -2.5], requires_grad=True)
    assert x.float() is x  # already float32: the tensor itself, as torch
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad and y.op is not None
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, -5.0])
    z = x.astype(np.float32)
    assert z is not x and z.data is not x.data  # numpy's astype: always a copy
    n = x.long()
    assert n.dtype == np.int64 and not n.requires_grad and n.data.tolist() == [1, -2]
    assert x.astype(bool).data.tolist() == [True, True]
    with pytest.raises(TypeError, match="astype: dtype must be a real number type, got complex"):
        x.astype(complex)


def test_python_numbers_follow_torchs_dtype_rule():
    torch = _torch()
    for data in ([1, 2, 3], [1.0, 2.0], 3, 2.5, [True, False], [[1, 2], [3, 4]]):
        ours, theirs = Tensor(data).dtype, torch.tensor(data).dtype
        assert str(ours) == str(theirs).removeprefix("torch.").replace("bool", "bool")
    assert Tensor(np.array([1.0])).dtype == np.float64  # numpy data keeps its dtype


def test_requires_grad_detach_tolist_numel_clone():
    x = vecgrad.zeros(3)
    assert x.requires_grad_() is x and x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError) as raised:
        y.requires_grad_(False)
    assert str(raised.value) == (
        "requires_grad_: only a leaf's requires_grad can be changed; this tensor came from mul "
        "(t.detach().requires_grad_() makes a new leaf)"
    )
    with pytest.raises(TypeError, match="requires_grad_: only floating-point data can require"):
        Tensor([1, 2]).requires_grad_()
    d = y.detach()
    assert d.op is None and not d.requires_grad and d.data is y.data
    assert Tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]] and Tensor(3.0).tolist() == 3.0
    c = y.clone()
    assert c.data is not y.data and c.op is not None
    c.data[0] = 9  # the clone's own array
    assert y.data[0] == 2.0


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: x.clamp(), ValueError, "clamp: give min, max or both"),
        (lambda x: x.clamp(1, 0), ValueError, "clamp: min 1 is larger than max 0"),
        (lambda x: x.clamp(math.nan), ValueError, "clamp: min is NaN"),
        (lambda x: x.clamp("0"), TypeError, "clamp: min must be a number or None, got '0'"),
        (lambda x: x.sqrt(), ValueError, "pow: -1.0 ** 0.5 at index (0,) is not a real number"),
        (lambda x: x.norm(p=3), ValueError, "norm: p must be 1, 2, 'fro' or math.inf, got 3"),
        (lambda x: x.unsqueeze(2), ValueError, "unsqueeze: dim 2 is out of range for shape (2,)"),
        (lambda x: x.unsqueeze(0.5), TypeError, "unsqueeze: dim must be one int, got 0.5"),
        (lambda x: x.squeeze(1), ValueError, "squeeze: axis 1 is out of range for shape (2,)"),
        (lambda x: x.reshape(2, 1).flatten(1, 0), ValueError, "flatten: start_dim 1 comes after"),
        (lambda x: x.view(3), ValueError, "reshape: cannot reshape (2,) (2 elements) into (3,)"),
        (lambda x: x.argmax(dim=(0, 0)), ValueError, "argmax: axis (0, 0) repeats an axis"),
        (lambda x: x.var(dim=0, correction=2), ValueError, "var: 2 entries with correction=2"),
    ],
)
def test_bad_calls_name_the_problem(call, error, message):
    with pytest.raises(error) as raised:
        call(Tensor([-1.0, 2.0]))
    assert message in str(raised.value)


# ---- constructors ---------------------------------------------------------------------


def test_constructors_match_torch():
    torch = _torch()
    t = torch.linspace(-math.pi, math.pi, 7, dtype=torch.float64)
    ours = vecgrad.linspace(-math.pi, math.pi, 7, dtype=np.float64)
    np.testing.assert_allclose(ours.data, t.numpy(), rtol=1e-15, atol=1e-15)
    assert vecgrad.linspace(0, 1, 5).dtype == np.float32 == vecgrad.rand(2, rng=_rng()).dtype
    x = Tensor(np.ones((2, 3), dtype=np.float64))
    assert vecgrad.zeros_like(x).data.tolist() == torch.zeros_like(torch.ones(2, 3)).tolist()
    assert vecgrad.ones_like(x).dtype == np.float64 and vecgrad.ones_like(x).shape == (2, 3)
    assert vecgrad.zeros_like(np.ones(2, dtype=np.int64)).dtype == np.int64
    assert vecgrad.ones_like(x, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="linspace: steps must be an int ≥ 0, got 2.5"):
        vecgrad.linspace(0, 1, 2.5)
    with pytest.raises(
        TypeError, match="zeros_like: expected a Tensor or an array, got the number"
    ):
        vecgrad.zeros_like(3)


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_rand_is_uniform_and_explicitly_seeded():
    a, b = vecgrad.rand((1000,), rng=_rng(3)), vecgrad.rand((1000,), rng=_rng(3))
    np.testing.assert_array_equal(a.data, b.data)
    assert 0 <= a.data.min() and a.data.max() < 1 and abs(a.data.mean() - 0.5) < 0.05
    assert vecgrad.rand((2, 3), rng=_rng(), dtype=np.float64, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="rand: rng must be a numpy.random.Generator"):
        vecgrad.rand((2,), rng=0)


def test_from_numpy_shares_memory_both_ways():
    array = np.arange(3.0)
    t = vecgrad.from_numpy(array)
    assert t.data is array and t.dtype == np.float64
    t += 1
    array[0] = 10
    assert t.data.tolist() == [10.0, 2.0, 3.0] and t._version == 1
    with pytest.raises(TypeError, match=r"from_numpy: expected a numpy.ndarray, got list"):
        vecgrad.from_numpy([1.0])


def test_where_matches_torch_with_broadcasting_and_gradients():
    torch = _torch()
    x, y = _random((3, 4), seed=1), _random((4,), seed=2)
    cond = x > 0
    _check(
        lambda x, y: vecgrad.where(cond, x, y),
        lambda x, y: torch.where(torch.tensor(cond), x, y),
        x,
        y,
    )
    _check(lambda x: vecgrad.where(x > 0, x, 0.0), lambda x: torch.where(x > 0, x, 0.0), x)
    with pytest.raises(TypeError, match="where: cond must be booleans .e.g. x > 0., got dtype"):
        vecgrad.where(np.ones(2), 1.0, 2.0)
    with pytest.raises(ValueError, match=r"where: shapes \(2,\) and \(3,\) do not broadcast"):
        vecgrad.where(np.ones(3, dtype=bool), Tensor(np.ones(2)), Tensor(np.ones(3)))


def test_cat_is_concatenate():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.zeros((2, 1)))
    np.testing.assert_array_equal(
        vecgrad.cat([a, b], dim=1).data, np.concatenate([a.data, b.data], 1)
    )
    np.testing.assert_array_equal(vecgrad.cat([a, a]).data, np.ones((4, 3)))


# ---- the tangent rules (jvp) of the new ops, against torch.func.jvp ----------------------


@pytest.mark.parametrize(
    "make, torch_fn, shapes",
    [
        (lambda: torch_ops.Clamp(-0.3, 0.4), lambda x: x.clamp(-0.3, 0.4), [(3, 4)]),
        (lambda: torch_ops.Clamp(None, 0.4), lambda x: x.clamp(max=0.4), [(3, 4)]),
        (lambda: torch_ops.Cast(np.float64), lambda x: x.double(), [(3,)]),
        (lambda: torch_ops.Clone(), lambda x: x.clone(), [(2, 2)]),
        (lambda: torch_ops.Norm((1,), False), lambda x: x.norm(dim=1), [(3, 4)]),
        (lambda: torch_ops.Norm(None, True), lambda x: x.norm(dim=(0, 1), keepdim=True), [(3, 4)]),
        (
            lambda: torch_ops.Where(np.array([[True, False, True]])),
            lambda x, y: _t().where(_t().tensor([[True, False, True]]), x, y),
            [(1, 3), (1, 3)],
        ),
        (
            lambda: torch_ops.SetItem((slice(None), 1)),
            lambda x, v: x.index_put((_t().arange(3), _t().tensor([1, 1, 1])), v),
            [(3, 4), (3,)],
        ),
    ],
)
def test_the_new_ops_tangent_rules_match_torch_jvp(make, torch_fn, shapes):
    torch = _torch()
    rng = _rng(5)
    xs = [rng.standard_normal(s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    op = make()
    op.forward(*xs)
    _, expected = torch.func.jvp(
        torch_fn, tuple(torch.tensor(x) for x in xs), tuple(torch.tensor(v) for v in vs)
    )
    np.testing.assert_allclose(op.jvp(*vs), expected.numpy(), rtol=1e-12, atol=1e-14)
    if len(xs) == 2:  # one input without a tangent: None, as forward mode passes it
        _, only_x = torch.func.jvp(
            lambda x: torch_fn(x, torch.tensor(xs[1])),
            (torch.tensor(xs[0]),),
            (torch.tensor(vs[0]),),
        )
        np.testing.assert_allclose(op.jvp(vs[0], None), only_x.numpy(), rtol=1e-12, atol=1e-14)


# ---- second derivatives through the new ops (create_graph replays them) ------------------


@pytest.mark.parametrize(
    "vec_fn, torch_fn",
    [
        (lambda x: x.norm() ** 3, lambda x: x.norm() ** 3),
        (
            lambda x: (x.norm(dim=1) * x.sum(dim=1)).sum(),
            lambda x: (x.norm(dim=1) * x.sum(1)).sum(),
        ),
        (
            lambda x: (x.clamp(-0.5, 0.5) * x * x).sum(),
            lambda x: (x.clamp(-0.5, 0.5) * x * x).sum(),
        ),
        (
            lambda x: (vecgrad.where(x > 0, x * x, x.sin()) * x).sum(),
            lambda x: (_t().where(x > 0, x * x, x.sin()) * x).sum(),
        ),
        (lambda x: (x.double().clone() ** 3).sum(), lambda x: (x.double().clone() ** 3).sum()),
        (lambda x: (x.var(dim=0) * x.std()).sum(), lambda x: (x.var(dim=0) * x.std()).sum()),
    ],
)
def test_double_backward_through_the_new_ops_matches_torch(vec_fn, torch_fn):
    torch = _torch()
    a = _random((3, 4), seed=8)
    x = Tensor(a.copy(), requires_grad=True)
    vec_fn(x).backward(create_graph=True)
    first = x.grad
    x.grad = None
    (first * first).sum().backward()
    t = torch.tensor(a.copy(), requires_grad=True)
    (tg,) = torch.autograd.grad(torch_fn(t), t, create_graph=True)
    (tg * tg).sum().backward()
    np.testing.assert_allclose(first.data, tg.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- nn modules -------------------------------------------------------------------------


def test_loss_and_softmax_modules_match_torch():
    torch = _torch()
    z = _random((5, 4), seed=3)
    labels = np.array([0, 3, 1, 1, 2])
    for reduction in ("mean", "sum"):
        _check(
            lambda z, reduction=reduction: nn.CrossEntropyLoss(reduction)(z, labels),
            lambda z, r=reduction: torch.nn.CrossEntropyLoss(reduction=r)(z, torch.tensor(labels)),
            z,
        )
    _check(lambda z: nn.Softmax(dim=1)(z), lambda z: torch.nn.Softmax(dim=1)(z), z)
    _check(lambda z: nn.LogSoftmax(dim=0)(z), lambda z: torch.nn.LogSoftmax(dim=0)(z), z)
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be 'mean' or 'sum'"):
        nn.CrossEntropyLoss("none")
    with pytest.raises(TypeError, match="LogSoftmax: axis must be one int, got None"):
        nn.LogSoftmax(None)


# ---- optimizers: state_dict, load_state_dict, repr -------------------------------------


def _train(opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        ((params[0] * params[0]).sum() + (params[0] * params[1]).sum().sin()).backward()
        opt.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1),
    ],
)
def test_state_dict_round_trip_continues_exactly_where_it_stopped(make):
    start = [_random((2, 3), seed=1), _random((2, 3), seed=2)]
    straight = [Tensor(a.copy(), requires_grad=True) for a in start]
    _train(make(straight), straight, 6)

    first = [Tensor(a.copy(), requires_grad=True) for a in start]
    opt = make(first)
    _train(opt, first, 3)
    saved = opt.state_dict()
    _train(opt, first, 2)  # later steps do not change what was saved
    resumed = [Tensor(p.data.copy(), requires_grad=True) for p in first]
    for p, a in zip(resumed, start):
        p.data[...] = a
    _train(make(resumed), resumed, 3)  # the same 3 steps, from the start ...
    fresh = make(resumed)
    fresh.load_state_dict(saved)  # ... then the saved state
    _train(fresh, resumed, 3)
    for p, q in zip(resumed, straight):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12)


def test_state_dict_has_torchs_layout_and_values():
    torch = _torch()
    a = _random((2, 3), seed=1)
    p, t = Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    opt, topt = Adam([p], lr=0.01), torch.optim.Adam([t], lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        topt.zero_grad()
        (p * p * p).sum().backward()
        (t * t * t).sum().backward()
        opt.step()
        topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert set(ours) == set(theirs) and set(ours["state"]) == set(theirs["state"]) == {0}
    assert set(ours["state"][0]) == set(theirs["state"][0])
    assert ours["state"][0]["step"] == int(theirs["state"][0]["step"]) == 2
    for name in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(ours["state"][0][name], theirs["state"][0][name].numpy())
    group, tgroup = ours["param_groups"][0], theirs["param_groups"][0]
    assert set(group) <= set(tgroup) and group["params"] == tgroup["params"] == [0]
    for name in ("lr", "eps", "weight_decay"):
        assert group[name] == tgroup[name]
    assert tuple(group["betas"]) == tuple(tgroup["betas"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("state"), "expected a dict with 'state' and 'param_groups'"),
        (
            lambda s: s["param_groups"][0]["params"].append(1),
            "the state is for 2 parameters, this optimizer has 1",
        ),
        (
            lambda s: s["param_groups"][0].update(betas=(0.9, 0.99)),
            "the state has hyperparameters ['betas', 'lr', 'momentum', 'nesterov', "
            "'weight_decay'], SGD has ['lr', 'momentum', 'nesterov', 'weight_decay']",
        ),
        (
            lambda s: s["state"][0].update(momentum_buffer=np.ones(5)),
            "parameter 0's momentum_buffer has shape (5,), the parameter has shape (2,)",
        ),
        (lambda s: s["state"].update({3: {}}), "state for parameter 3, which does not exist"),
        (lambda s: s["param_groups"][0].update(lr=-1.0), "SGD: lr must be positive and finite"),
    ],
)
def test_load_state_dict_refuses_state_that_does_not_fit(change, message):
    p = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.5)
    (p * p).sum().backward()
    opt.step()
    state = opt.state_dict()
    change(state)
    with pytest.raises(ValueError) as raised:
        opt.load_state_dict(state)
    assert message in str(raised.value) and "SGD.load_state_dict: " in str(raised.value)
    assert opt.lr == 0.1 and opt.momentum == 0.5  # nothing changed


def test_optimizer_repr_is_readable():
    ps = [Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)]
    assert repr(SGD(ps, lr=0.1, momentum=0.9)) == (
        "SGD(2 parameters, lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"
    )
    assert repr(Adam(ps)) == (
        "Adam(2 parameters, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)"
    )


# ---- scalargrad's Value, and the versions -------------------------------------------------


def test_value_float_and_detach():
    x = scalargrad.Value(2.0, name="x")
    y = x * x
    assert float(y) == 4.0 and isinstance(float(y), float)
    d = y.detach()
    assert d.data == 4.0 and d.op is None and d.parents == () and d.name == ""
    (d * x).backward()  # no gradient flows back through d into y's history
    assert x.grad == 4.0 and y.grad == 0.0
    assert x.detach().name == "x"


def test_version_comes_from_the_package_metadata_in_both_packages():
    installed = importlib.metadata.version("scalargrad")
    assert scalargrad.__version__ == vecgrad.__version__ == installed
    assert "__version__" in vecgrad.__all__ and "__version__" in scalargrad.__all__


def test_transpose_errors_name_transpose():
    with pytest.raises(ValueError, match=r"transpose: axis 1 is out of range for shape \(3,\)"):
        Tensor(np.ones(3)).transpose(0, 1)


def test_a_numpy_float_scalar_keeps_a_float32_tensor_float32_as_in_pytorch():
    """np.sqrt(2.0) is a numpy float64 scalar: numpy 2 would make x·√2 float64 (and the next
    float32 layer refuse it); PyTorch, like a Python float, keeps the tensor's float32."""
    torch = pytest.importorskip("torch")
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    for ours, theirs in (
        (x * np.sqrt(2.0), torch.ones(3) * np.sqrt(2.0)),
        (np.float64(0.5) - x, np.float64(0.5) - torch.ones(3)),
        (x / np.float64(4.0), torch.ones(3) / np.float64(4.0)),
    ):
        assert ours.dtype == np.float32 and theirs.dtype == torch.float32
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    (x * np.sqrt(2.0)).sum().backward()
    assert x.grad.dtype == np.float32
    assert (Tensor(np.ones(2)) * np.float32(2.0)).dtype == np.float64  # float64 stays float64
