"""In-place changes and the version counter: PyTorch's rules, checked against torch.

The oracle is PyTorch (float64), test by test; the error messages are checked word for word
where they carry the information (the tensor, the op, the versions).
"""

import math

import numpy as np
import pytest

import vecgrad
from vecgrad import Tensor
from vecgrad.optim import SGD, Adam


def _torch():
    return pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    """The same float64 numbers as a vecgrad Tensor and a torch tensor."""
    torch = _torch()
    array = np.asarray(array, dtype=np.float64)
    return (
        Tensor(array.copy(), requires_grad=requires_grad),
        torch.tensor(array.copy(), requires_grad=requires_grad),
    )


# ---- the PyTorch tutorial's training loop ------------------------------------------------


def _cubic_fit(lib, x, y, params, no_grad, steps=2000, lr=1e-6):
    """The tutorial's loop as written there, for either library."""
    a, b, c, d = params
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return loss.item()


def test_the_pytorch_tutorial_cubic_fit_matches_torch_from_the_same_start():
    torch = _torch()
    start = np.random.default_rng(0).standard_normal(4)
    x = vecgrad.linspace(-math.pi, math.pi, 2000, dtype=np.float64)
    params = [Tensor(np.float64(v), requires_grad=True) for v in start]
    arrays = [p.data for p in params]
    loss = _cubic_fit(vecgrad, x, x.sin(), params, vecgrad.no_grad)

    xt = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
    tparams = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in start]
    tloss = _cubic_fit(torch, xt, torch.sin(xt), tparams, torch.no_grad)

    assert loss == pytest.approx(tloss, rel=1e-9)
    for p, tp, array, v0 in zip(params, tparams, arrays, start):
        assert p.item() == pytest.approx(tp.item(), rel=1e-9, abs=1e-12)
        assert p.data is array and p.item() != v0  # changed, in its own array
        assert p.op is None and p.requires_grad and p._version == 2000


# ---- what an in-place op does to the tensor ---------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda t: t.__iadd__(2.0), [3.0, 4.0, 5.0]),
        (lambda t: t.__isub__(np.array([1.0, 1.0, 1.0])), [0.0, 1.0, 2.0]),
        (lambda t: t.__imul__(Tensor([2.0, 0.5, 1.0])), [2.0, 1.0, 3.0]),
        (lambda t: t.__itruediv__(2.0), [0.5, 1.0, 1.5]),
        (lambda t: t.__ipow__(2), [1.0, 4.0, 9.0]),
        (lambda t: t.add_(1.0, alpha=3), [4.0, 5.0, 6.0]),
        (lambda t: t.sub_(Tensor([1.0, 1.0, 1.0]), alpha=2), [-1.0, 0.0, 1.0]),
        (lambda t: t.mul_(3.0), [3.0, 6.0, 9.0]),
        (lambda t: t.div_(Tensor([1.0, 2.0, 3.0])), [1.0, 1.0, 1.0]),
        (lambda t: t.pow_(0.5), [1.0, math.sqrt(2), math.sqrt(3)]),
        (lambda t: t.clamp_(1.5, 2.5), [1.5, 2.0, 2.5]),
        (lambda t: t.zero_(), [0.0, 0.0, 0.0]),
        (lambda t: t.fill_(7.0), [7.0, 7.0, 7.0]),
        (lambda t: t.copy_(np.array([9.0, 8.0, 7.0])), [9.0, 8.0, 7.0]),
        (lambda t: t.__setitem__(slice(1, None), -1.0), [1.0, -1.0, -1.0]),
    ],
)
def test_an_in_place_op_changes_the_tensor_itself_and_bumps_its_version(change, expected):
    t = Tensor([1.0, 2.0, 3.0])
    array = t.data
    result = change(t)
    assert result is t or result is None
    assert t.data is array  # the same array: views and holders of t.data see the change
    np.testing.assert_allclose(t.data, expected, rtol=1e-6)
    assert t._version == 1 and t.op is None and t.dtype == np.float32


def test_the_dunder_form_keeps_the_name_bound_to_the_same_object():
    t = Tensor([1.0, 2.0])
    same = t
    t += 1
    t *= t
    assert t is same and t._version == 2
    np.testing.assert_array_equal(t.data, [4.0, 9.0])


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w.__iadd__(1),
        lambda w: w.__isub__(1),
        lambda w: w.__imul__(2),
        lambda w: w.__itruediv__(2),
        lambda w: w.add_(1),
        lambda w: w.mul_(2),
        lambda w: w.zero_(),
        lambda w: w.fill_(1.0),
        lambda w: w.copy_(np.ones(2)),
        lambda w: w.clamp_(0, 1),
        lambda w: w.__setitem__(0, 5.0),
    ],
)
def test_a_leaf_that_requires_grad_changes_only_under_no_grad(change):
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    with pytest.raises(RuntimeError) as raised:
        change(w)
    assert "a leaf tensor that requires grad ('w', shape (2,)) is being used in an in-place " in (
        str(raised.value)
    )
    assert "vecgrad.no_grad()" in str(raised.value)
    assert w._version == 0 and w.data.tolist() == [1.0, 2.0]  # untouched
    with vecgrad.no_grad():
        change(w)
    assert w._version == 1 and w.op is None and w.requires_grad


def test_torch_refuses_the_same_leaf_change():
    torch = _torch()
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w += 1


# ---- in place on tensors that record: the gradient is the one torch gives ----------------


def _assert_matches_torch(build, *arrays, torch_build=None):
    """Run ``build`` on vecgrad and torch leaves; compare the output and every gradient."""
    torch = _torch()
    pairs = [_pair(a) for a in arrays]
    out = build(vecgrad, *[p[0] for p in pairs])
    tout = (torch_build or build)(torch, *[p[1] for p in pairs])
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for v, t in pairs:
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_in_place_ops_on_a_non_leaf_are_recorded():
    def build(lib, x, w):
        y = x * 2
        y += w
        y *= x
        y -= 1
        y /= w
        y **= 2
        return y

    _assert_matches_torch(build, [1.0, -2.0, 3.0], [0.5, 1.5, -2.0])


def test_an_in_place_op_with_itself_as_operand():
    # torch refuses y *= y (mul saved y, then y changed); vecgrad keeps the old value in
    # its own node, so the gradient is right. Oracle: y = 2x², ∂Σy/∂x = 4x.
    x = Tensor([1.0, -2.0, 3.0], dtype=np.float64, requires_grad=True)
    y = x * 1
    y *= y
    y += y
    np.testing.assert_array_equal(y.data, [2.0, 8.0, 18.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, -8.0, 12.0])


def test_a_plain_tensor_changed_by_one_that_requires_grad_joins_the_graph():
    torch = _torch()
    t, tt = vecgrad.zeros(3, dtype=np.float64), torch.zeros(3, dtype=torch.float64)
    array = t.data
    (w, tw) = _pair([1.0, 2.0, 3.0])
    t += w * w
    tt += tw * tw
    assert t.requires_grad and t.op is not None and t.data is array
    (t * t).sum().backward()
    (tt * tt).sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy())


def test_setitem_on_a_recording_tensor_sends_gradients_to_both_sides():
    def build(lib, x, v):
        y = x * 3
        y[1:, 0] = v  # (2,) into a (2,) slot
        y[0] = v[0] * 10  # a scalar broadcast over a row
        return y * y

    _assert_matches_torch(build, np.arange(9.0).reshape(3, 3) - 4, [2.0, -3.0])


def test_zero_fill_and_copy_on_a_recording_tensor():
    def build(lib, x, s):
        y = x * x
        z = y * 1
        z.copy_(s * s)  # z's old value gets no gradient, s does
        w = y * 2
        w.fill_(3.0)
        u = y * 4
        u.zero_()
        return z + w + y + u

    _assert_matches_torch(build, [1.0, 2.0], [3.0, -4.0])


def test_an_op_that_saved_its_output_keeps_it_when_the_output_changes():
    # exp saves its output; vecgrad gives the tensor a new array, so exp's backward still
    # sees e^x (torch refuses this case instead). Oracle: the closed form 2·e^x.
    x = Tensor([0.5, -1.0], dtype=np.float64, requires_grad=True)
    y = x.exp()
    y *= 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([0.5, -1.0]), rtol=1e-14)


def test_double_backward_through_recorded_in_place_ops():
    torch = _torch()
    (x, tx) = _pair([0.3, -1.2, 2.0])
    y = x * x
    y *= x  # x³
    y += x.sin()
    y.sum().backward(create_graph=True)
    first = x.grad
    x.grad = None
    first.sum().backward()
    ty = tx * tx
    ty *= tx
    ty += tx.sin()
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(first.data, tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


# ---- the version check: backward refuses numbers that changed after they were saved -------


def test_issue_13_a_step_between_forward_and_backward_is_an_error():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((4, 3)))
    W = Tensor(rng.standard_normal((3, 2)), requires_grad=True, name="W")
    opt = SGD([W], lr=0.1)
    out = (x @ W).sum()
    (W * W).sum().backward()
    opt.step()
    assert W._version == 1
    with pytest.raises(RuntimeError) as raised:
        out.backward()
    assert str(raised.value) == (
        "backward: one of the variables needed for gradient computation has been modified "
        "by an in-place operation: tensor 'W' of shape (3, 2), input 1 of matmul, is at "
        "version 1; it was at version 0 when matmul saved it. Run the forward pass again "
        "after the change, or change a copy (t.clone())"
    )


def test_torch_raises_on_the_issue_13_sequence_too():
    torch = _torch()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)  # so matmul saves W
    W = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([W], lr=0.1)
    out = (x @ W).sum()
    (W * W).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


@pytest.mark.parametrize(
    "change",
    [
        lambda W: W.__isub__(0.1),
        lambda W: W.__setitem__((0, 0), 5.0),
        lambda W: W.zero_(),
        lambda W: W.mul_(2),
    ],
)
def test_every_in_place_change_under_no_grad_is_seen_by_backward(change):
    x = Tensor(np.ones((2, 3)))
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    out = (x @ W).relu().sum()
    with vecgrad.no_grad():
        change(W)
    with pytest.raises(
        RuntimeError, match=r"a tensor of shape \(3, 2\), input 1 of matmul, is at "
    ):
        out.backward()


@pytest.mark.parametrize("make", [lambda: SGD, lambda: Adam, lambda: _momentum])
def test_optimizers_bump_the_version_of_each_parameter_they_move(make):
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0], requires_grad=True)
    opt = make()([a, b], lr=0.1)
    (a * a).sum().backward()  # b gets no gradient: it is skipped, its version stays
    opt.step()
    opt.step()
    assert (a._version, b._version) == (2, 0)


def _momentum(params, lr):
    return SGD(params, lr=lr, momentum=0.9, weight_decay=0.01)


def test_a_changed_non_leaf_is_refused_even_where_torch_would_allow_it():
    # Parents are the tensors themselves: after y += 1, the node y is y's new value, so a
    # consumer recorded before the change would send its gradient through the wrong node.
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y + 1
    y += 1
    with pytest.raises(RuntimeError, match=r"input 0 of add, is at version 1; it was at version 0"):
        z.sum().backward()
    y.sum().backward()  # the new value itself is fine
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_non_leaf_changed_under_no_grad_is_refused_as_an_output():
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = x.relu()
    with vecgrad.no_grad():
        y += 1
    with pytest.raises(RuntimeError) as raised:
        y.sum().backward()
    assert "a tensor of shape (2,), the output of relu, is at version 1; it was at version 0" in (
        str(raised.value)
    )


def test_data_stays_the_escape_hatch():
    x = Tensor(np.ones((2, 3)))
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    out = (x @ W).sum()
    W.data += 1  # not counted, as in PyTorch: the caller takes responsibility
    assert W._version == 0
    out.backward()
    np.testing.assert_array_equal(W.grad, np.full((3, 2), 2.0))


# ---- bad in-place changes name the problem --------------------------------------------


@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            lambda: Tensor([1, 2, 3]).__iadd__(1.5),
            TypeError,
            "+=: the result has dtype float64, which a int64 tensor cannot hold in place; "
            "write t = t … for a new tensor",
        ),
        (
            lambda: Tensor([1.0, 2.0, 3.0]).__iadd__(np.ones((2, 3))),
            ValueError,
            "+=: the result has shape (2, 3) but the tensor has shape (3,); an in-place op "
            "cannot change a tensor's shape",
        ),
        (
            lambda: vecgrad.from_numpy(_read_only()).__imul__(2.0),
            ValueError,
            "*=: this tensor's array is read-only (a broadcast view, or read-only numpy data); "
            "change a copy: t = t.clone()",
        ),
        (
            lambda: vecgrad.from_numpy(_read_only()).__setitem__(0, 2.0),
            ValueError,
            "setitem: this tensor's array is read-only",
        ),
        (
            lambda: Tensor([1.0, 2.0]).__setitem__(5, 1.0),
            IndexError,
            "setitem: index 5 is out of bounds for axis 0 with size 2 (a tensor of shape (2,))",
        ),
        (
            lambda: Tensor([1.0, 2.0]).__setitem__(slice(None), np.ones(3)),
            ValueError,
            "setitem: could not broadcast input array from shape (3,) into shape (2,)",
        ),
        (
            lambda: Tensor([1.0, 2.0]).__itruediv__(0.0),
            ZeroDivisionError,
            "div: division by zero",
        ),
        (
            lambda: Tensor([1.0, 2.0]).clamp_(),
            ValueError,
            "clamp_: give min, max or both",
        ),
        (
            lambda: (Tensor([1.0, 2.0], requires_grad=True) * 1).__setitem__(0, np.ones(3)),
            ValueError,
            "setitem: a value of shape (3,) cannot be written into x[index] of shape ()",
        ),
    ],
)
def test_bad_in_place_changes_name_the_problem(change, error, message):
    with pytest.raises(error) as raised:
        change()
    assert message in str(raised.value)


def _read_only():
    array = np.ones(3)
    array.flags.writeable = False
    return array


def test_a_failed_in_place_change_leaves_the_tensor_as_it_was():
    t = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        t += np.ones((2, 3))
    assert t._version == 0 and t.data.tolist() == [1.0, 2.0, 3.0]


# ---- tensors that share one array share one count ----------------------------------------


def test_a_detached_alias_shares_the_count_as_in_torch():
    torch = _torch()
    x = Tensor(np.ones((2, 3)))
    W = Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    out = (x @ W).sum()
    d = W.detach()
    d += 1  # d needs no gradient: allowed, and it writes W's array
    assert W._version == d._version == 1 and W.data[0, 0] == 2.0
    with pytest.raises(RuntimeError, match=r"tensor 'W' of shape \(3, 2\), input 1 of matmul, is"):
        out.backward()
    tW = torch.ones(3, 2, requires_grad=True)
    tW.detach().add_(1)
    assert tW._version == 1  # torch's detach shares the counter too


@pytest.mark.parametrize(
    "change",
    [
        lambda W: W.T.__setitem__(0, 5.0),
        lambda W: W.reshape(-1).zero_(),
        lambda W: W[1:].__imul__(3.0),
    ],
)
def test_a_change_through_a_view_counts_for_the_tensor_it_views(change):
    x = Tensor(np.ones((2, 3)))
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    out = (x @ W).sum()
    before = W.data.copy()
    with vecgrad.no_grad():
        change(W)
    assert W._version == 1 and not np.array_equal(W.data, before)
    with pytest.raises(
        RuntimeError, match="input 1 of matmul, is at version 1; it was at version 0"
    ):
        out.backward()


def test_a_view_in_a_graph_sees_a_later_change_of_its_base():
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    out = (W.T * 2).sum()  # the transpose is a view of W's array
    with vecgrad.no_grad():
        W -= 1
    with pytest.raises(RuntimeError, match="is at version 1; it was at version 0"):
        out.backward()


def test_a_fresh_forward_after_a_step_is_fine():
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    opt = SGD([W], lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        (W.T * W.T).sum().backward()
        opt.step()
    np.testing.assert_allclose(W.data, np.zeros((3, 2)))  # W ← W − 0.5·2W = 0 at once
    assert W._version == 3


def test_a_graph_with_recorded_in_place_ops_holds_no_reference_cycle():
    import gc
    import weakref

    x = Tensor([1.0, 2.0], requires_grad=True)
    gc.disable()
    try:
        y = x * 2
        y += x
        y[0] = x[1] * 3
        y *= y
        nodes = [weakref.ref(y), weakref.ref(y.parents[0])]
        del y
        assert all(ref() is None for ref in nodes)  # freed by reference counting alone
    finally:
        gc.enable()


def test_augmented_assignment_on_an_index_changes_the_tensor_itself_as_in_torch():
    def build(lib, w):
        x = w * 1
        x[0] += w[1] * 2  # x.__getitem__, +=, then x.__setitem__: recorded on x
        x[:, 1] *= 3
        return x

    _assert_matches_torch(build, np.arange(6.0).reshape(2, 3) - 2)


def test_operands_computed_from_the_tensor_read_its_old_value_as_in_torch():
    def build(lib, w):
        y = w * 1
        y += y * 2  # y * 2 was computed from y before the change
        x = y.sin()
        x[:, 0] = x[:, 0] * 2 + x[:, 1]
        x -= x.sum(1, keepdim=True)  # (torch refuses x -= (x * x).sum(…); vecgrad does not)
        return x

    _assert_matches_torch(build, np.arange(6.0).reshape(2, 3) / 7 - 0.3)


def test_accumulating_a_loss_in_place_over_a_loop_as_in_torch():
    def build(lib, w):
        total = w.sum() * 0
        for k in range(5):
            total += (w * k).tanh().sum()
        return total

    _assert_matches_torch(build, [0.1, -0.4, 0.9])


def test_an_operand_that_saved_the_old_value_keeps_it():
    # torch refuses z -= (z * z).sum() (mul saved z, then z changed); vecgrad's operand
    # reads the old value's node. Oracle: zᵢ = xᵢ − Σx², so Σz = Σx − 3Σx², ∂/∂x = 1 − 6x.
    x = Tensor([1.0, 2.0, -0.5], dtype=np.float64, requires_grad=True)
    z = x * 1
    z -= (z * z).sum()
    z.sum().backward()
    np.testing.assert_allclose(x.grad, 1 - 6 * x.data, rtol=1e-15)


def test_a_plain_leaf_changed_by_an_operand_that_saved_it_is_refused_as_in_torch():
    torch = _torch()
    w = Tensor([0.5, 2.0], requires_grad=True)
    t = Tensor([1.0, 2.0])
    t += t * w  # mul saved t's array, which the change overwrites (t keeps its array)
    with pytest.raises(RuntimeError, match="input 0 of mul, is at version 1; it was at version 0"):
        t.sum().backward()
    tw, tt = torch.tensor([0.5, 2.0], requires_grad=True), torch.tensor([1.0, 2.0])
    tt += tt * tw
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tt.sum().backward()


def test_index_updates_of_a_plain_tensor_by_tensors_that_require_grad_as_in_torch():
    def build(lib, w):
        x = lib.zeros(3, dtype=w.dtype)
        x[0] += w[1] * 5  # a plain tensor joins the graph ...
        x[1:] += w[:2]  # ... and then changes as a node, through a view of itself
        x[1:] *= x[:2] if lib is vecgrad else x[:2].clone()  # torch needs the clone
        return x * x

    _assert_matches_torch(build, [1.0, 2.0, 3.0])


def test_a_gradient_graph_checks_its_inputs_too():
    # create_graph: x.grad is a node of its own made from the adjoint's op (a mul that saved
    # w); it checks w's version like every recorded node does.
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, -1.0], requires_grad=True, name="w")
    (x * w).sum().backward(create_graph=True)
    with vecgrad.no_grad():
        w += 1
    with pytest.raises(RuntimeError, match="tensor 'w' of shape .2,., input 1 of mul, is at"):
        x.grad.sum().backward()


@pytest.mark.parametrize("seed", range(24))
def test_random_programs_of_in_place_ops_match_torch(seed):
    """Seeded random sequences of in-place changes (all of them ones torch accepts)."""
    steps = np.random.default_rng(seed).integers(0, 7, size=8).tolist()

    def build(lib, x, w):
        y = x * 1
        for k, step in enumerate(steps):
            i, j = k % 3, (k + 1) % 3
            if step == 0:
                y += w
            elif step == 1:
                y.sub_(w, alpha=0.5)
            elif step == 2:
                y *= 1.5
            elif step == 3:
                y /= -2.0
            elif step == 4:
                y[i] = w[j] * 2
            elif step == 5:
                y[i] += w[j].sin()
            else:
                y = y.sin()  # a new tensor (sin saves its input; torch refuses tanh here)
        return y

    _assert_matches_torch(build, [0.3, -0.7, 1.1], [0.5, 0.2, -0.4])


@pytest.mark.parametrize("seed", range(12))
def test_random_programs_torch_refuses_match_central_differences(seed):
    """In-place changes after ops that saved their output or input (tanh, exp, y *= y):
    torch refuses them; vecgrad's gradient must match central differences."""
    steps = np.random.default_rng(seed).integers(0, 6, size=7).tolist()

    def f(x, w):
        y = x * 1
        for k, step in enumerate(steps):
            if step == 0:
                y = y.tanh()
            elif step == 1:
                y *= y
            elif step == 2:
                y += w.exp()
            elif step == 3:
                y[k % 3] = y[(k + 1) % 3] * w[k % 3]
            elif step == 4:
                y = y.exp() * 0.1
            else:
                y -= (y * w).sum() * 0.1
        return y

    vecgrad.gradcheck(f, (np.array([0.3, -0.7, 0.4]), np.array([0.5, 0.2, -0.4])))
