"""Convolution and pooling (vecgrad/conv.py, conv_functional.py) against independent oracles.

PyTorch float64 (values and every gradient, over generated configurations), central
differences, the adjoint identity ⟨unfold x, c⟩ = ⟨x, fold c⟩, forward mode against
``torch.func.jvp``, and second derivatives through conv and pooling against torch's
double backward. Errors name the op and the shapes.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import vecgrad
from vecgrad import Tensor, conv
from vecgrad import conv_functional as F

# ---- generated configurations ------------------------------------------------------


@st.composite
def conv_configs(draw):
    """A conv2d call: shapes, stride, padding, dilation, groups, rectangular everything."""
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = []
    for k, p, d in zip(kernel, padding, dilation):  # at least one window must fit
        size.append(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 5)))
    return dict(
        x_shape=(draw(st.integers(1, 4)), c_in, *size),
        w_shape=(c_out, c_in // groups, *kernel),
        bias=draw(st.booleans()),
        stride=_maybe_int(draw, stride),
        padding=_maybe_int(draw, padding),
        dilation=_maybe_int(draw, dilation),
        groups=groups,
        seed=draw(st.integers(0, 2**16)),
    )


@st.composite
def pool_configs(draw, dilation: bool = True):
    """A pooling call: kernel, stride (or None), padding ≤ half the kernel, ceil_mode."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    size = []
    for k, p, d in zip(kernel, padding, dil):
        size.append(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 5)))
    config = dict(
        x_shape=(draw(st.integers(1, 4)), draw(st.integers(1, 3)), *size),
        kernel_size=_maybe_int(draw, kernel),
        stride=stride,
        padding=_maybe_int(draw, padding),
        ceil_mode=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )
    if dilation:
        config["dilation"] = _maybe_int(draw, dil)
    return config


def _maybe_int(draw, pair):
    """A pair, or its one int when both entries agree and the draw says so."""
    return pair[0] if pair[0] == pair[1] and draw(st.booleans()) else pair


def _pool_args(config):
    return {k: v for k, v in config.items() if k not in ("x_shape", "seed")}


def _assume_every_window_sees_the_image(x_shape, kw):
    """Skip a dilated window that falls entirely on padding (its max is −∞): there PyTorch
    routes ḡ through an index outside the window (into a neighbouring channel); vecgrad
    gives such a window no input, so its ḡ goes nowhere."""
    out = F.max_pool2d(Tensor(np.zeros(x_shape)), **kw).data
    assume(np.isfinite(out).all())


# ---- comparing with PyTorch ----------------------------------------------------------


def _assert_matches_torch(our_fn, torch_fn, arrays, rng, tol=1e-10):
    """Values and the gradient of every input, for one random output adjoint ḡ."""
    torch = pytest.importorskip("torch")
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    out = our_fn(*ours)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = torch_fn(*theirs)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for mine, theirs_ in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, theirs_.grad.numpy(), rtol=tol, atol=tol)


@given(conv_configs())
def test_conv2d_matches_torch_values_and_every_gradient(config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal(config["x_shape"])
    W = rng.standard_normal(config["w_shape"])
    arrays = [x, W] + ([rng.standard_normal(W.shape[0])] if config["bias"] else [])
    kw = {k: config[k] for k in ("stride", "padding", "dilation", "groups")}
    _assert_matches_torch(
        lambda *t: F.conv2d(*t, **kw),
        lambda *t: torch.nn.functional.conv2d(*t, **kw),
        arrays,
        rng,
    )


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own copy
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 5)])
def test_conv2d_string_padding_matches_torch(padding, kernel):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((2, 3, 6, 10)), rng.standard_normal((4, 3, *kernel))
    _assert_matches_torch(
        lambda x, W: F.conv2d(x, W, padding=padding, dilation=(1, 2)),
        lambda x, W: torch.nn.functional.conv2d(x, W, padding=padding, dilation=(1, 2)),
        [x, W],
        rng,
    )


@given(pool_configs())
def test_max_pool2d_matches_torch(config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal(config["x_shape"])
    kw = _pool_args(config)
    _assume_every_window_sees_the_image(x.shape, kw)
    _assert_matches_torch(
        lambda x: F.max_pool2d(x, **kw), lambda x: torch.nn.functional.max_pool2d(x, **kw), [x], rng
    )


@given(pool_configs())
def test_max_pool2d_routes_a_tie_to_one_entry_as_torch(config):
    """Few distinct values: most windows hold a tie, and exactly one entry gets ḡ."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    x = rng.integers(0, 2, config["x_shape"]).astype(np.float64)
    kw = _pool_args(config)
    _assume_every_window_sees_the_image(x.shape, kw)
    _assert_matches_torch(
        lambda x: F.max_pool2d(x, **kw), lambda x: torch.nn.functional.max_pool2d(x, **kw), [x], rng
    )


def test_max_pool2d_a_constant_window_gives_its_first_entry_all_of_the_gradient():
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


@given(pool_configs(dilation=False), st.booleans())
def test_avg_pool2d_matches_torch(config, count_include_pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal(config["x_shape"])
    kw = dict(_pool_args(config), count_include_pad=count_include_pad)
    _assert_matches_torch(
        lambda x: F.avg_pool2d(x, **kw), lambda x: torch.nn.functional.avg_pool2d(x, **kw), [x], rng
    )


@given(
    st.lists(st.integers(0, 3), min_size=2, max_size=6).filter(lambda p: len(p) % 2 == 0),
    st.floats(-2, 2),
)
def test_pad_matches_torch(widths, value):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    _assert_matches_torch(
        lambda x: F.pad(x, tuple(widths), value=value),
        lambda x: torch.nn.functional.pad(x, tuple(widths), value=value),
        [x],
        rng,
    )


@given(conv_configs())
def test_unfold_and_fold_match_torch(config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal(config["x_shape"])
    kw = dict(
        kernel_size=config["w_shape"][2:],
        dilation=config["dilation"],
        padding=config["padding"],
        stride=config["stride"],
    )
    _assert_matches_torch(
        lambda x: F.unfold(x, **kw), lambda x: torch.nn.functional.unfold(x, **kw), [x], rng
    )
    cols = F.unfold(Tensor(x), **kw).data
    cols = rng.standard_normal(cols.shape)
    size = config["x_shape"][2:]
    _assert_matches_torch(
        lambda c: F.fold(c, size, **kw),
        lambda c: torch.nn.functional.fold(c, size, **kw),
        [cols],
        rng,
    )


# ---- oracles without torch ------------------------------------------------------------


@given(conv_configs())
def test_fold_is_the_adjoint_of_unfold(config):
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩ for every x and c: col2im is im2col's transpose."""
    rng = np.random.default_rng(config["seed"])
    kernel = config["w_shape"][2:]
    win = conv.window("unfold", kernel, config["stride"], config["padding"], config["dilation"])
    x = rng.standard_normal(config["x_shape"])
    cols = conv.im2col(x, win)
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(
        np.sum(cols * c), np.sum(x * conv.col2im(c, x.shape, win)), rtol=1e-10
    )


def test_conv2d_against_a_loop_over_output_pixels():
    """The definition, written out: out[n, o, p, q] = b[o] + Σ W[o, c, i, j]·xp[…]."""
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((6, 2, 2, 3)), np.arange(6.0)
    s, p, d, G = (2, 1), (1, 0), (1, 2), 2
    out = F.conv2d(Tensor(x), Tensor(W), Tensor(b), s, p, d, G).data
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    expected = np.zeros(out.shape)
    for n, o, r, q in np.ndindex(out.shape):
        g = o // (W.shape[0] // G)
        channels = range(g * W.shape[1], (g + 1) * W.shape[1])
        expected[n, o, r, q] = b[o] + sum(
            W[o, c - channels[0], i, j] * xp[n, c, r * s[0] + i * d[0], q * s[1] + j * d[1]]
            for c in channels
            for i in range(W.shape[2])
            for j in range(W.shape[3])
        )
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "f",
    [
        lambda x, W, b: F.conv2d(x, W, b, stride=2, padding=1, dilation=(2, 1)).tanh().sum(),
        lambda x, W, b: F.max_pool2d(F.conv2d(x, W, b, padding=1), 3, 2, 1).sin().sum(),
        lambda x, W, b: F.avg_pool2d(F.conv2d(x, W, b), (2, 3), 1, ceil_mode=True).exp().sum(),
    ],
    ids=["conv", "conv-maxpool", "conv-avgpool"],
)
def test_gradients_match_central_differences(f):
    rng = np.random.default_rng(5)
    inputs = (
        rng.standard_normal((2, 2, 6, 5)),
        rng.standard_normal((3, 2, 3, 3)) * 0.5,
        rng.standard_normal(3),
    )
    assert vecgrad.gradcheck(f, inputs, names=["x", "W", "b"]).ok


def test_float32_stays_float32_and_is_close_to_float64():
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    single = F.conv2d(Tensor(x.astype(np.float32)), Tensor(W.astype(np.float32)), padding=1)
    double = F.conv2d(Tensor(x), Tensor(W), padding=1)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single.data, double.data, rtol=1e-4, atol=1e-5)


def test_huge_and_tiny_magnitudes_keep_their_scale():
    x = np.full((1, 1, 3, 3), 1e150)
    W = np.full((1, 1, 2, 2), 1e-150)
    assert F.conv2d(Tensor(x), Tensor(W)).data.tolist() == [[[[4.0, 4.0], [4.0, 4.0]]]]
    X = Tensor(np.full((1, 1, 2, 2), 1e-300), requires_grad=True)
    out = F.avg_pool2d(X, 2)
    out.backward(np.ones(out.shape))
    assert out.item() == pytest.approx(1e-300) and X.grad.tolist() == [
        [[[0.25, 0.25], [0.25, 0.25]]]
    ]


def test_a_kernel_as_large_as_the_input_and_a_1x1_kernel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    whole = F.conv2d(Tensor(x), Tensor(np.ones((1, 3, 4, 5))))
    assert whole.shape == (2, 1, 1, 1)
    np.testing.assert_allclose(whole.data.ravel(), x.sum(axis=(1, 2, 3)))
    W = rng.standard_normal((2, 3, 1, 1))
    pointwise = F.conv2d(Tensor(x), Tensor(W)).data
    np.testing.assert_allclose(pointwise, np.einsum("oc,nchw->nohw", W[:, :, 0, 0], x))


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_ceil_mode_fits_a_window_exactly_where_torch_does(pool):
    # ceil_mode lets the last window overhang by less than the stride; a kernel larger than
    # the padded input by the stride or more fits none: torch's "Output size is too small"
    torch = pytest.importorskip("torch")
    dilations = (1, 2) if pool == "max_pool2d" else (1,)
    for n, k, s, d in itertools.product(range(1, 6), range(1, 6), range(1, 4), dilations):
        for p in range(k // 2 + 1):
            x = np.arange(float(n * (n + 1))).reshape(1, 1, n, n + 1)
            kw = dict(stride=s, padding=p, ceil_mode=True)
            if d != 1:
                kw["dilation"] = d
            # values only: torch's max_pool2d backward can abort the process (double free)
            # here, e.g. input 1×2, kernel 2, stride 2, padding 1, dilation 2
            try:
                expected = getattr(torch.nn.functional, pool)(torch.tensor(x), k, **kw).numpy()
            except RuntimeError as error:
                assert "Output size is too small" in str(error)
                with pytest.raises(ValueError, match=f"{pool}: the kernel .* is larger than"):
                    getattr(F, pool)(Tensor(x), k, **kw)
                continue
            np.testing.assert_allclose(getattr(F, pool)(Tensor(x), k, **kw).data, expected)


def test_only_the_inputs_that_need_a_gradient_get_one():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((1, 2, 4, 4)))
    W = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    F.conv2d(x, W).sum().backward()
    assert x.grad is None and W.grad.shape == (3, 2, 3, 3)


# ---- forward mode: op.forward then op.jvp against torch.func.jvp ----------------------


def _assert_jvp_matches_torch(op, torch_fn, arrays, tangents):
    torch = pytest.importorskip("torch")
    op.needs_input_grad = (True,) * len(arrays)
    op.forward(*arrays)
    ours = op.jvp(*tangents)
    present = [i for i, t in enumerate(tangents) if t is not None]

    def partial(*moving):
        full = [torch.tensor(a) for a in arrays]
        for i, m in zip(present, moving):
            full[i] = m
        return torch_fn(*full)

    _, expected = torch.func.jvp(
        partial,
        tuple(torch.tensor(arrays[i]) for i in present),
        tuple(torch.tensor(tangents[i]) for i in present),
    )
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-10, atol=1e-12)


@given(conv_configs(), st.sampled_from(["x", "W", "b", "all"]))
def test_conv2d_jvp_matches_torch_func_jvp(config, which):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    arrays = [rng.standard_normal(config["x_shape"]), rng.standard_normal(config["w_shape"])]
    arrays.append(rng.standard_normal(config["w_shape"][0]))
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    keep = {"x": [0], "W": [1], "b": [2], "all": [0, 1, 2]}[which]
    tangents = [t if i in keep else None for i, t in enumerate(tangents)]
    kw = {k: config[k] for k in ("stride", "padding", "dilation", "groups")}
    win = F._conv_window(config["w_shape"][2:], kw["stride"], kw["padding"], kw["dilation"])
    _assert_jvp_matches_torch(
        conv.Conv2d(win, config["groups"]),
        lambda *t: torch.nn.functional.conv2d(*t, **kw),
        arrays,
        tangents,
    )


@given(pool_configs(dilation=False), st.booleans())
def test_pooling_jvp_matches_torch_func_jvp(config, count_include_pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal(config["x_shape"])
    t = rng.standard_normal(x.shape)
    kw = _pool_args(config)
    win = F._pool_window(
        "pool", x.shape, kw["kernel_size"], kw["stride"], kw["padding"], 1, kw["ceil_mode"]
    )
    _assert_jvp_matches_torch(
        conv.MaxPool2d(win), lambda x: torch.nn.functional.max_pool2d(x, **kw), [x], [t]
    )
    _assert_jvp_matches_torch(
        conv.AvgPool2d(win, count_include_pad),
        lambda x: torch.nn.functional.avg_pool2d(x, **kw, count_include_pad=count_include_pad),
        [x],
        [t],
    )


def test_unfold_fold_and_pad_jvps_match_torch_func_jvp():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 3, 5, 6))
    win = conv.window("unfold", (2, 3), (1, 2), 1, (2, 1))
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    K, N = 3 * 2 * 3, 2  # vecgrad's columns (K, N·L) are torch's (N, K, L) with N inside

    def torch_unfold(x):
        return torch.nn.functional.unfold(x, **kw).transpose(0, 1).reshape(K, -1)

    def torch_fold(c):
        return torch.nn.functional.fold(c.reshape(K, N, -1).transpose(0, 1), (5, 6), **kw)

    _assert_jvp_matches_torch(conv.Unfold(win), torch_unfold, [x], [t])
    cols = rng.standard_normal(conv.Unfold(win).forward(x).shape)
    tc = rng.standard_normal(cols.shape)
    _assert_jvp_matches_torch(conv.Fold(win, (2, 3, 5, 6)), torch_fold, [cols], [tc])
    _assert_jvp_matches_torch(
        conv.Pad(((0, 0), (0, 0), (2, 1), (0, 3)), 7.0),
        lambda x: torch.nn.functional.pad(x, (0, 3, 2, 1), value=7.0),
        [x],
        [t],
    )


# ---- second derivatives (create_graph) against torch's double backward ----------------


def _second_order(fn, arrays, v, u):
    """With g = ∂(v·fn(x))/∂x recorded, return ∂(Σ u·g)/∂x for each input (and the g's)."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    fn(*leaves).backward(v, create_graph=True)
    grads = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.zero_grad()
    sum((g * w).sum() for g, w in zip(grads, u)).backward()
    return [leaf.grad for leaf in leaves], grads


def _assert_second_order_matches_torch(fn, torch_fn, arrays, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(fn(*map(Tensor, arrays)).shape)
    u = [rng.standard_normal(a.shape) for a in arrays]
    ours, our_grads = _second_order(fn, arrays, v, u)
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(torch_fn(*leaves), leaves, torch.tensor(v), create_graph=True)
    total = sum((g * torch.tensor(w)).sum() for g, w in zip(grads, u))
    theirs = torch.autograd.grad(total, leaves, allow_unused=True)
    for g, expected in zip(our_grads, grads):
        assert isinstance(g, Tensor)
        np.testing.assert_allclose(g.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for h, expected, a in zip(ours, theirs, arrays):
        h = np.zeros(a.shape) if h is None else h
        expected = np.zeros(a.shape) if expected is None else expected.numpy()
        np.testing.assert_allclose(h, expected, rtol=1e-9, atol=1e-11)


@given(conv_configs())
def test_second_derivatives_through_conv2d_match_torch(config):
    """conv is bilinear, so its second derivatives pair x with W; tanh adds the curvature."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(config["seed"])
    arrays = [rng.standard_normal(config["x_shape"]), rng.standard_normal(config["w_shape"])]
    arrays.append(rng.standard_normal(config["w_shape"][0]))
    kw = {k: config[k] for k in ("stride", "padding", "dilation", "groups")}
    _assert_second_order_matches_torch(
        lambda x, W, b: F.conv2d(x, W, b, **kw).tanh(),
        lambda x, W, b: torch.nn.functional.conv2d(x, W, b, **kw).tanh(),
        arrays,
        config["seed"],
    )


def test_second_derivatives_through_a_small_cnn_match_torch():
    """conv → relu → max-pool → conv → avg-pool → padded → tanh → sum, double backward."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(7)
    arrays = [
        rng.standard_normal((2, 2, 9, 8)),
        rng.standard_normal((4, 2, 3, 3)),
        rng.standard_normal((3, 4, 2, 2)),
    ]

    def ours(x, W1, W2):
        h = F.max_pool2d(F.conv2d(x, W1, padding=1).relu(), 2, padding=1)
        return F.pad(F.avg_pool2d(F.conv2d(h, W2), 2, 1), (1, 0, 0, 1)).tanh()

    def theirs(x, W1, W2):
        h = tf.max_pool2d(tf.conv2d(x, W1, padding=1).relu(), 2, padding=1)
        return tf.pad(tf.avg_pool2d(tf.conv2d(h, W2), 2, 1), (1, 0, 0, 1)).tanh()

    _assert_second_order_matches_torch(ours, theirs, arrays)


def test_hessian_vector_product_of_a_conv_loss_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, labels = rng.standard_normal((3, 1, 6, 6)), np.array([0, 2, 1])
    W = rng.standard_normal((3, 1, 3, 3))
    v = rng.standard_normal(W.shape)

    def loss(W, F=F, cross_entropy=vecgrad.functional.cross_entropy):
        h = F.max_pool2d(F.conv2d(x, W).tanh(), 2)  # (3, 3, 2, 2)
        return cross_entropy(h.mean(axis=(2, 3)), labels)

    Wt = Tensor(W, requires_grad=True)
    loss(Wt).backward(create_graph=True)
    gW = Wt.grad
    Wt.zero_grad()
    (gW * v).sum().backward()

    def torch_loss(W):
        h = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(torch.tensor(x), W).tanh(), 2)
        return torch.nn.functional.cross_entropy(h.mean(dim=(2, 3)), torch.tensor(labels))

    _, hvp = torch.autograd.functional.hvp(torch_loss, torch.tensor(W), torch.tensor(v))
    np.testing.assert_allclose(Wt.grad, hvp.numpy(), rtol=1e-9, atol=1e-12)


# ---- bad input: a clear error naming the op and the shapes ------------------------------


def _x(*shape):
    return Tensor(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 2, 3, 3), groups=2),
            ValueError,
            r"conv2d: input has 3 channels, weight expects 2·groups = 4",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 4, 4), _x(3, 2, 5, 5), padding=0),
            ValueError,
            r"conv2d: the kernel 5×5 is larger than the padded input 4×4",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 4, 4), _x(3, 2, 3, 3), dilation=2),
            ValueError,
            r"conv2d: the kernel 3×3 \(dilated to 5×5\) is larger than the padded input 4×4",
        ),
        (
            lambda: F.conv2d(_x(3, 28, 28), _x(6, 3, 5, 5)),
            ValueError,
            r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 28, 28\): the batch "
            r"axis is missing \(for one image use x.reshape\(1, 3, 28, 28\)\)",
        ),
        (
            lambda: F.conv2d(_x(1, 4, 5, 5), _x(6, 1, 3, 3), groups=4),
            ValueError,
            r"conv2d: groups = 4 must divide the output channels, but weight of shape "
            r"\(6, 1, 3, 3\) has 6",
        ),
        (
            lambda: F.conv2d(_x(1, 6, 5, 5), _x(4, 2, 3, 3), groups=4),
            ValueError,
            r"conv2d: input has 6 channels, weight expects 2·groups = 8 .*; groups = 4 must "
            r"also divide the input channels 6",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), stride=0),
            ValueError,
            r"conv2d: stride must be positive, got 0",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), stride=(1, -2)),
            ValueError,
            r"conv2d: stride must be positive, got \(1, -2\)",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), padding=-1),
            ValueError,
            r"conv2d: padding must be non-negative",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), groups=0),
            ValueError,
            r"conv2d: groups must be a positive int, got 0",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3)),
            ValueError,
            r"conv2d: weight must be 4-D \(C_out, C_in/groups, kH, kW\), got shape \(4, 2, 3\)",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), _x(3)),
            ValueError,
            r"conv2d: bias of shape \(3,\) does not match the 4 output channels",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), Tensor(np.zeros((4, 2, 3, 3)))),
            TypeError,
            r"conv2d: input, weight and bias need one floating-point dtype, got input "
            r"float32, weight float64",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), stride=2, padding="same"),
            ValueError,
            r"conv2d: padding='same' needs stride 1",
        ),
        (
            lambda: F.conv2d(_x(1, 2, 5, 5), _x(4, 2, 3, 3), stride=1.5),
            TypeError,
            r"conv2d: stride must be an int or a pair of ints, got 1.5",
        ),
        (
            lambda: F.max_pool2d(_x(2, 5, 5), 2),
            ValueError,
            r"max_pool2d: expected a 4-D input \(N, C, H, W\), got shape \(2, 5, 5\): the batch",
        ),
        (
            lambda: F.max_pool2d(_x(1, 1, 2, 2), 3),
            ValueError,
            r"max_pool2d: the kernel 3×3 is larger than the padded input 2×2",
        ),
        (
            lambda: F.max_pool2d(_x(1, 1, 2, 3), 3, stride=1, ceil_mode=True),
            ValueError,
            r"max_pool2d: the kernel 3×3 is larger than the padded input 2×3",
        ),
        (
            lambda: F.avg_pool2d(_x(1, 1, 4, 2), (2, 5), stride=1, padding=(0, 1), ceil_mode=True),
            ValueError,
            r"avg_pool2d: the kernel 2×5 is larger than the padded input 4×4",
        ),
        (
            lambda: F.max_pool2d(_x(1, 1, 6, 6), 2, padding=2),
            ValueError,
            r"max_pool2d: padding 2 must be at most half the kernel size 2",
        ),
        (
            lambda: F.avg_pool2d(_x(1, 1, 6, 6), 2, stride=0),
            ValueError,
            r"avg_pool2d: stride must be positive, got 0",
        ),
        (
            lambda: F.avg_pool2d(_x(1, 1, 6, 6), (2, 0)),
            ValueError,
            r"avg_pool2d: kernel_size must be positive, got \(2, 0\)",
        ),
        (
            lambda: F.max_pool2d(Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2),
            TypeError,
            r"max_pool2d: expected floating-point input, got int64",
        ),
        (lambda: F.pad(_x(2, 3), (1,)), ValueError, r"pad: pad needs an even number of widths"),
        (lambda: F.pad(_x(2, 3), (1, -1)), ValueError, r"pad: widths must be non-negative"),
        (lambda: F.pad(_x(2, 3), (1, 1), mode="reflect"), ValueError, r"only mode='constant'"),
        (
            lambda: F.fold(_x(1, 5, 4), (3, 3), 2),
            ValueError,
            r"fold: input of shape \(1, 5, 4\) needs C·2·2 rows and 4 columns",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_op_and_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- the modules: vecgrad.nn.Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d ------------------


def _lenet(nn, **kw):
    """LeNet-5 for (N, 1, 28, 28) in either library (``kw``: vecgrad's rng, or nothing)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, **kw),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, **kw),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120, **kw),
        nn.ReLU(),
        nn.Linear(120, 10, **kw),
    )


def test_a_lenet_moves_between_vecgrad_and_torch_with_equal_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    from vecgrad import nn

    ours = _lenet(nn, rng=np.random.default_rng(0), dtype=np.float64)
    theirs = _lenet(torch.nn).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.torch_state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((3, 1, 28, 28)), np.array([1, 7, 3])
    loss = vecgrad.functional.cross_entropy(ours(x), labels)
    loss.backward()
    expected = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(labels))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    grads = {name: p.grad for name, p in ours.named_parameters()}
    for name, p in theirs.named_parameters():
        mine = grads[name].T if name.startswith(("7.", "9.")) and p.ndim == 2 else grads[name]
        np.testing.assert_allclose(mine, p.grad.numpy(), rtol=1e-9, atol=1e-12)
    back = _lenet(nn, rng=np.random.default_rng(5), dtype=np.float64)
    back.load_torch_state_dict(theirs.state_dict())
    for name, value in ours.state_dict().items():  # the round trip loses nothing
        np.testing.assert_array_equal(back.state_dict()[name], value)


@pytest.mark.parametrize("args", [(3, 8, 3), (4, 6, (2, 5), 1, 0, 1, 2), (16, 4, 1)])
def test_conv2d_initialisation_follows_torch(args):
    """Uniform in ±1/√fan_in for weight and bias, fan_in = C_in/groups·kH·kW, as torch."""
    torch = pytest.importorskip("torch")
    from vecgrad import nn

    ours, theirs = nn.Conv2d(*args, rng=0), torch.nn.Conv2d(*args)
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.weight.dtype == np.float32
    fan_in = math.prod(theirs.weight.shape[1:])
    for mine, torch_param in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        # torch's own draw has this bound too: the same distribution, not just our formula
        assert np.abs(torch_param.detach().numpy()).max() <= 1 / math.sqrt(fan_in)
        assert np.abs(mine.data).max() <= 1 / math.sqrt(fan_in)
    big = nn.Conv2d(64, 64, 3, rng=1).weight.data  # 36,864 draws: the spread of U(−a, a)
    a = 1 / math.sqrt(64 * 9)
    assert np.abs(big).max() > 0.99 * a and big.std() == pytest.approx(a / math.sqrt(3), rel=0.02)


def test_conv2d_module_without_bias_and_seeded_draws_repeat():
    from vecgrad import nn

    layer = nn.Conv2d(2, 3, 3, bias=False, rng=4)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(
        layer.weight.data, nn.Conv2d(2, 3, 3, bias=False, rng=4).weight.data
    )
    assert repr(layer) == "Conv2d(2, 3, kernel_size=(3, 3), bias=False)"


@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([0.1, 0.5, None]),
)
def test_batchnorm2d_matches_torch_in_training_and_eval(n, c, h, w, affine, momentum):
    torch = pytest.importorskip("torch")
    from vecgrad import nn

    assume(n * h * w > 1)
    rng = np.random.default_rng(n * 100 + c * 10 + h + w)
    ours = nn.BatchNorm2d(c, momentum=momentum, affine=affine, dtype=np.float64)
    theirs = torch.nn.BatchNorm2d(c, momentum=momentum, affine=affine).double()
    if affine:  # γ, β away from 1, 0 so that their gradients are tested
        gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
        ours.weight.data, ours.bias.data = gamma.copy(), beta.copy()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(gamma))
            theirs.bias.copy_(torch.tensor(beta))
    for step in range(3):
        x = rng.standard_normal((n, c, h, w)) * (step + 1) + step
        arrays = [x]
        _assert_matches_torch(ours, theirs, arrays, rng)
        if affine:
            np.testing.assert_allclose(
                ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-12
            )
            np.testing.assert_allclose(
                ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-9, atol=1e-12
            )
            ours.zero_grad()
            theirs.zero_grad()
        for name, buffer in theirs.named_buffers():
            np.testing.assert_allclose(ours.state_dict()[name], buffer.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    _assert_matches_torch(ours, theirs, [rng.standard_normal((n, c, h, w))], rng)


def test_batchnorm2d_refuses_bad_shapes_and_a_single_value_per_channel():
    from vecgrad import nn

    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d\(3\): expected input of shape \(N, 3, H, W\), "
        r"got \(3, 4, 4\) \(a batch axis is missing\)",
    ):
        nn.BatchNorm2d(3)(np.zeros((3, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"more than one value per channel"):
        nn.BatchNorm2d(3)(np.zeros((1, 3, 1, 1), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d: eps must be positive"):
        nn.BatchNorm2d(3, eps=0)
    nn.BatchNorm2d(3).eval()(np.zeros((1, 3, 1, 1), np.float32))  # eval needs no batch


def test_pooling_modules_match_the_functions_and_torch_reprs():
    torch = pytest.importorskip("torch")
    from vecgrad import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    for ours, theirs in [
        (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
        (nn.MaxPool2d((2, 3), ceil_mode=True), torch.nn.MaxPool2d((2, 3), ceil_mode=True)),
        (
            nn.AvgPool2d(2, 1, 1, count_include_pad=False),
            torch.nn.AvgPool2d(2, 1, 1, count_include_pad=False),
        ),
    ]:
        _assert_matches_torch(ours, theirs, [x], rng)
    assert repr(nn.MaxPool2d(2)) == repr(torch.nn.MaxPool2d(2))


def test_module_construction_refuses_bad_arguments():
    from vecgrad import nn

    with pytest.raises(
        ValueError, match=r"Conv2d: in_channels = 3 must be divisible by groups = 2"
    ):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: stride must be positive, got 0"):
        nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match=r"MaxPool2d: padding 2 must be at most half"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match=r"conv2d: input has 1 channels, weight expects 3"):
        nn.Conv2d(3, 4, 3)(np.zeros((1, 1, 5, 5), np.float32))


def test_a_small_cnn_draws_with_a_shape_on_every_node():
    """The graph of conv → relu → pool → flatten → linear → loss reads like the lecture's
    diagram: every tensor node is labelled with its shape."""
    from scalargrad.display.draw import to_dot
    from vecgrad import nn

    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3, rng=0)
    )
    loss = vecgrad.functional.cross_entropy(model(np.zeros((2, 1, 6, 6), np.float32)), [0, 2])
    dot = to_dot(loss)
    for text in [
        "conv2d",
        "maxpool",
        "(2, 2, 4, 4)",
        "(2, 2, 2, 2)",
        "(2, 8)",
        "(2, 1, 6, 6)",
        "(2, 1, 3, 3)",
    ]:
        assert text in dot, text


def test_gradients_never_share_memory_with_the_output_adjoint_or_each_other():
    """A 1×1 kernel on one image: the windows are the image itself, yet every partial
    adjoint handed to a leaf must be an array of its own (they are kept without copying)."""
    x = Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    cols = F.unfold(x, 1)
    g = np.arange(9.0).reshape(cols.shape)
    cols.backward(g)
    assert not np.shares_memory(x.grad, g)
    c = Tensor(np.ones((1, 1, 9)), requires_grad=True)
    out = F.fold(c, (3, 3), 1)
    seed = np.arange(9.0).reshape(1, 1, 3, 3)
    out.backward(seed)
    assert not np.shares_memory(c.grad, seed)
    c.grad[...] = 0  # writing into one gradient changes nothing else
    assert seed.sum() == 36


def test_an_empty_batch_gives_an_empty_output_and_zero_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    _assert_matches_torch(
        lambda x, W: F.max_pool2d(F.conv2d(x, W, padding=1), 2),
        lambda x, W: torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(x, W, padding=1), 2),
        [np.zeros((0, 2, 4, 4)), rng.standard_normal((3, 2, 3, 3))],
        rng,
    )


@pytest.mark.parametrize(
    "make_op, shape",
    [
        (lambda: conv.Unfold(conv.window("unfold", (2, 3), 1, 1)), (2, 3, 4, 5)),
        (lambda: conv.Fold(conv.window("fold", 2, 2, 0), (2, 3, 4, 4)), (12, 8)),
        (lambda: conv.MaxPool2d(conv.window("max_pool2d", 3, 2, 1)), (2, 3, 5, 6)),
        (lambda: conv.AvgPool2d(conv.window("avg_pool2d", 2, 1, 1), False), (2, 3, 5, 6)),
        (lambda: conv.Pad(((0, 0), (1, 2), (3, 0)), 0.5), (2, 3, 4)),
    ],
    ids=["unfold", "fold", "maxpool", "avgpool", "pad"],
)
def test_forward_on_tensors_records_a_node_with_the_same_numbers_and_gradient(make_op, shape):
    """Given Tensors (a create_graph replay; forward mode carrying Tensors), an op's forward
    keeps the graph, as the ops of ops.py do."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    leaf = Tensor(x, requires_grad=True)
    out = make_op().forward(leaf)
    assert isinstance(out, Tensor) and out.requires_grad
    g = rng.standard_normal(out.shape)
    out.backward(g)
    op = make_op()
    op.needs_input_grad = (True,)
    np.testing.assert_array_equal(out.data, op.forward(x))
    np.testing.assert_array_equal(leaf.grad, op.backward(g)[0])


@pytest.mark.parametrize("with_bias", [False, True])
def test_forward_mode_through_conv_and_pooling_matches_torch_func_jvp(with_bias):
    """Duals run each op's forward and jvp: x, W and b all carry tangents here."""
    torch = pytest.importorskip("torch")
    from vecgrad import forward as fw

    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), None
    primals, tangents = [x, w], [rng.standard_normal(x.shape), rng.standard_normal(w.shape)]
    if with_bias:
        b = rng.standard_normal(4)
        primals.append(b)
        tangents.append(rng.standard_normal(4))

    def ours(x, w, b=None):
        y = fw.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1))
        return fw.avg_pool2d(fw.max_pool2d(y.tanh(), 2, stride=1), 2, ceil_mode=True)

    def theirs(x, w, b=None):
        F = torch.nn.functional
        y = F.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1))
        return F.avg_pool2d(F.max_pool2d(y.tanh(), 2, stride=1), 2, ceil_mode=True)

    value, tangent = vecgrad.jvp(ours, tuple(primals), tuple(tangents))
    t_value, t_tangent = torch.func.jvp(
        theirs, tuple(map(torch.tensor, primals)), tuple(map(torch.tensor, tangents))
    )
    np.testing.assert_allclose(value, t_value.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tangent, t_tangent.numpy(), rtol=1e-10, atol=1e-12)


def test_forward_module_conv_functions_fall_back_to_tensors_and_refuse_in_functional():
    from vecgrad import forward as fw

    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    expected = F.conv2d(Tensor(x), Tensor(w)).data
    np.testing.assert_allclose(fw.conv2d(Tensor(x), Tensor(w)).data, expected)
    dual = fw.Dual(x, np.ones_like(x))
    with pytest.raises(TypeError, match="vecgrad.forward.softmax, log_softmax, conv2d"):
        F.conv2d(dual, Tensor(w))
