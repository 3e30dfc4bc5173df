"""vecgrad.nn: registration, state dicts, errors, and every layer against torch.nn."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vecgrad
from vecgrad import Tensor, nn
from vecgrad.functional import cross_entropy


def mlp(seed: int = 0, activation=nn.ReLU, dtype=np.float32) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(6, 5, rng=rng, dtype=dtype),
        activation(),
        nn.Linear(5, 3, rng=rng, dtype=dtype),
    )


class Block(nn.Module):
    """A user-defined module: parameters, a buffer and submodules, assigned in this order."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(1)
        self.scale = Tensor(np.ones(4, np.float32), requires_grad=True)
        self.first = nn.Linear(4, 4, rng=rng)
        self.register_buffer("count", np.zeros(1))
        self.norm = nn.BatchNorm1d(4)
        self.note = "not a parameter"
        self.frozen = Tensor(np.ones(4, np.float32))  # needs no grad: a plain attribute

    def forward(self, x):
        return self.norm(self.first(x * self.scale))


# ---- registration and walking ------------------------------------------------------


def test_named_parameters_follow_assignment_order():
    names = [name for name, _ in Block().named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "norm.weight", "norm.bias"]
    model = mlp()
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.parameters() == [model[0].weight, model[0].bias, model[2].weight, model[2].bias]
    assert [p.shape for p in model.parameters()] == [(6, 5), (5,), (5, 3), (3,)]


def test_buffers_are_saved_but_not_parameters():
    block = Block()
    assert all(p is not block.count for p in block.parameters())
    assert [n for n, _ in block.named_buffers()] == [
        "count",
        "norm.running_mean",
        "norm.running_var",
        "norm.num_batches_tracked",
    ]
    assert list(block.state_dict()) == [
        "scale",
        "count",
        "first.weight",
        "first.bias",
        "norm.weight",
        "norm.bias",
        "norm.running_mean",
        "norm.running_var",
        "norm.num_batches_tracked",
    ]


def test_a_shared_parameter_is_listed_once():
    layer = nn.Linear(3, 3, rng=0)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(model.parameters()) == 2  # stepped once per update
    # saved under both names, as torch does, so either module finds its weights
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_reassigning_an_attribute_changes_its_registration():
    layer = nn.Linear(2, 2, rng=0)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    del layer.weight
    assert layer.parameters() == []


def test_zero_grad_clears_every_gradient():
    model = mlp()
    cross_entropy(model(np.ones((4, 6), np.float32)), np.array([0, 1, 2, 0])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_reach_every_submodule():
    block = Block()
    assert block.training and block.norm.training
    assert block.eval() is block
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())
    with pytest.raises(TypeError, match="train: mode must be True or False"):
        block.train("no")


def test_typos_raise_attribute_error_with_a_suggestion():
    layer = nn.Linear(3, 2, rng=0)
    with pytest.raises(AttributeError, match=r"'weigth'; did you mean 'weight'\?"):
        layer.weigth
    with pytest.raises(AttributeError, match="no attribute 'nothing_like_it'"):
        Block().nothing_like_it
    assert not hasattr(layer, "paramters")


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2, rng=0)

    with pytest.raises(RuntimeError, match=r"call super\(\).__init__\(\)"):
        Broken()


def test_a_computed_tensor_cannot_be_a_parameter():
    block = Block()
    with pytest.raises(ValueError, match="must be a leaf tensor"):
        block.doubled = block.scale * 2


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Linear(2, 3, rng=0), nn.Residual(nn.Tanh())))
    assert text == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Residual(\n    (module): Tanh()\n  )\n)"
    )


# ---- state dicts and files ----------------------------------------------------------


def test_state_dict_holds_copies():
    model = mlp()
    state = model.state_dict()
    state["0.weight"][:] = 0
    assert np.abs(model[0].weight.data).sum() > 0


def test_save_and_load_round_trip_through_npz(tmp_path):
    source = nn.Sequential(nn.Linear(6, 5, rng=1), nn.BatchNorm1d(5), nn.Linear(5, 3, rng=2))
    X = np.random.default_rng(3).standard_normal((8, 6)).astype(np.float32)
    source(X)  # moves the running statistics away from their start
    path = source.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary left

    target = nn.Sequential(nn.Linear(6, 5, rng=7), nn.BatchNorm1d(5), nn.Linear(5, 3, rng=8))
    kept = target[0].weight
    assert target.load(path) is target
    assert target[0].weight is kept  # loaded into the same Tensor: optimizers keep it
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype
    source.eval(), target.eval()
    np.testing.assert_array_equal(source(X).data, target(X).data)
    with np.load(path) as archive:  # a plain .npz anyone can read
        assert archive["1.num_batches_tracked"] == 1


def test_a_save_interrupted_midway_keeps_the_previous_model(tmp_path, monkeypatch):
    path = mlp(seed=0).save(tmp_path / "model.npz")
    before = path.read_bytes()
    real_savez = np.savez

    def savez_then_fail(file, **arrays):  # half of the archive written, then the disk fills
        real_savez(file, **dict(list(arrays.items())[:1]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="No space left"):
        mlp(seed=1).save(path)
    assert path.read_bytes() == before  # the old model, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary left


def test_module_machinery_and_layers_live_apart_under_one_name():
    from vecgrad import module

    assert nn.Module is module.Module and issubclass(nn.Linear, module.Module)
    assert nn.Linear.torch_transposed == ("weight",) and nn.BatchNorm1d.torch_transposed == ()


def test_save_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.npz"):
        mlp().save(tmp_path / "model.pt")


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = mlp()
    before = model.state_dict()
    state = mlp(seed=5).state_dict()
    del state["2.bias"]
    state["0.weight"] = np.zeros((5, 6), np.float32)
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing: 2.bias" in message
    assert "unexpected: extra" in message
    assert "0.weight: expected (6, 5), got (5, 6)" in message
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_torch_state_dict_transposes_linear_weights():
    torch = pytest.importorskip("torch")
    model = mlp()
    reference = torch.nn.Sequential(
        torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)
    ).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.torch_state_dict().items()})
    copy = mlp(seed=9).load_torch_state_dict(reference.state_dict())
    np.testing.assert_array_equal(copy[0].weight.data, model[0].weight.data)
    assert copy[0].weight.dtype == np.float32


# ---- layers against torch.nn --------------------------------------------------------


def test_linear_initialisation_matches_torch_default():
    torch = pytest.importorskip("torch")
    fan_in, fan_out = 784, 100
    bound = 1 / math.sqrt(fan_in)
    ours = nn.Linear(fan_in, fan_out, rng=np.random.default_rng(0))
    theirs = torch.nn.Linear(fan_in, fan_out)
    for mine, reference in ((ours.weight.data, theirs.weight), (ours.bias.data, theirs.bias)):
        reference = reference.detach().numpy()
        assert mine.dtype == np.float32
        assert np.abs(mine).max() <= bound and np.abs(reference).max() <= bound
        # uniform(−b, b): mean 0, variance b²/3; both samples agree with that, and each other
        n = mine.size
        assert abs(mine.mean()) < 4 * bound / math.sqrt(3 * n)
        assert abs(mine.var() / (bound**2 / 3) - 1) < 8 / math.sqrt(n) + 0.02
        assert abs(mine.var() / reference.var() - 1) < 16 / math.sqrt(n) + 0.05
        assert np.abs(mine).max() > 0.9 * bound


def test_linear_is_seeded_by_its_generator():
    a = nn.Linear(5, 4, rng=np.random.default_rng(42))
    b = nn.Linear(5, 4, rng=np.random.default_rng(42))
    c = nn.Linear(5, 4, rng=np.random.default_rng(43))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    # W first, then b, from the one stream (documented order)
    draws = np.random.default_rng(42).uniform(-1 / math.sqrt(5), 1 / math.sqrt(5), 24)
    np.testing.assert_array_equal(a.weight.data.ravel(), draws[:20].astype(np.float32))
    np.testing.assert_array_equal(a.bias.data, draws[20:].astype(np.float32))


@pytest.mark.parametrize("activation", ["ReLU", "Tanh", "Sigmoid"])
def test_mlp_forward_and_gradients_match_torch(activation):
    torch = pytest.importorskip("torch")
    model = mlp(seed=3, activation=getattr(nn, activation), dtype=np.float64)
    reference = torch.nn.Sequential(
        torch.nn.Linear(6, 5), getattr(torch.nn, activation)(), torch.nn.Linear(5, 3)
    ).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.torch_state_dict().items()})
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)

    loss = cross_entropy(model(X), y)
    loss.backward()
    expected = torch.nn.functional.cross_entropy(reference(torch.from_numpy(X)), torch.tensor(y))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        grad = q.grad.numpy().T if name.endswith("weight") else q.grad.numpy()
        np.testing.assert_allclose(p.grad, grad, rtol=1e-10, atol=1e-12, err_msg=name)


def _batchnorm_pair(torch, features, **options):
    ours = nn.BatchNorm1d(features, dtype=np.float64, **options)
    theirs = torch.nn.BatchNorm1d(features, **options).double()
    if ours.weight is not None:  # start γ, β away from 1, 0 so they matter
        rng = np.random.default_rng(11)
        ours.weight.data = 1 + rng.standard_normal(features)
        ours.bias.data = rng.standard_normal(features)
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def _compare_batchnorm_step(torch, ours, theirs, X, upstream):
    x = Tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    out, expected = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * upstream).sum().backward()
    (expected * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    if ours.weight is not None:
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10)
        ours.zero_grad(), theirs.zero_grad()
    for name, value in theirs.state_dict().items():  # running statistics, batches counted
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "shape, options",
    [
        ((16, 5), {}),
        ((16, 5), {"momentum": None}),  # cumulative average
        ((16, 5), {"affine": False}),
        ((6, 5, 3), {"momentum": 0.3}),  # (n, C, L): statistics over n and L
        ((2, 5), {}),  # the smallest batch: the unbiased variance divides by 1
    ],
)
def test_batchnorm1d_matches_torch_over_several_steps(shape, options):
    torch = pytest.importorskip("torch")
    features = shape[1]
    ours, theirs = _batchnorm_pair(torch, features, **options)
    rng = np.random.default_rng(5)
    for step in range(4):  # train: batch statistics; running statistics move
        X = 3 + 2 * rng.standard_normal(shape) * (step + 1)
        _compare_batchnorm_step(torch, ours, theirs, X, rng.standard_normal(shape))
    ours.eval(), theirs.eval()
    for _ in range(2):  # eval: running statistics only, and they stay put
        X = 3 + 2 * rng.standard_normal(shape)
        _compare_batchnorm_step(torch, ours, theirs, X, rng.standard_normal(shape))
    assert int(ours.num_batches_tracked) == 4


def test_batchnorm1d_in_float32_stays_float32():
    bn = nn.BatchNorm1d(3)
    out = bn(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32
    bn.eval()
    assert bn(np.ones((4, 3), np.float32)).dtype == np.float32


def test_batchnorm1d_errors_name_the_shapes():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): expected input of shape \(n, 4\)"):
        bn(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="more than one value per feature"):
        bn(np.zeros((1, 4), np.float32))
    bn.eval()
    assert bn(np.zeros((1, 4), np.float32)).shape == (1, 4)  # eval needs no batch


def test_dropout_in_eval_is_the_identity_as_in_torch():
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(0).standard_normal((5, 7))
    drop = nn.Dropout(0.4, rng=0).eval()
    x = Tensor(X, requires_grad=True)
    out = drop(x)
    np.testing.assert_array_equal(out.data, torch.nn.Dropout(0.4).eval()(torch.from_numpy(X)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(X))


def test_dropout_in_training_scales_the_survivors():
    p = 0.3
    X = np.random.default_rng(0).uniform(1, 2, (200, 100))
    x = Tensor(X, requires_grad=True)
    out = nn.Dropout(p, rng=np.random.default_rng(1))(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], X[kept] / (1 - p), rtol=1e-12)
    dropped = 1 - kept.mean()
    assert abs(dropped - p) < 4 * math.sqrt(p * (1 - p) / X.size)  # binomial, 4σ
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / (1 - p))  # ∂out/∂x = mask/(1 − p)
    # seeded: the same generator state gives the same mask
    again = nn.Dropout(p, rng=np.random.default_rng(1))(X)
    np.testing.assert_array_equal(again.data, out.data)
    assert np.array_equal(nn.Dropout(1.0)(X).data, np.zeros_like(X))
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\]"):
        nn.Dropout(1.5)


def test_residual_adds_the_input_and_its_gradient():
    layer = nn.Linear(4, 4, rng=0, dtype=np.float64)
    block = nn.Residual(layer)
    X = np.random.default_rng(1).standard_normal((3, 4))
    x = Tensor(X, requires_grad=True)
    out = block(x)
    np.testing.assert_allclose(out.data, X + X @ layer.weight.data + layer.bias.data)
    out.sum().backward()
    # ∂Σ(x + xW + b)/∂x = 1 + row sums of W: the skip adds the identity to the Jacobian
    expected = 1 + layer.weight.data.sum(axis=1)
    np.testing.assert_allclose(x.grad, np.broadcast_to(expected, X.shape))
    with pytest.raises(ValueError, match=r"Residual: Linear maps shape \(3, 4\) to \(3, 2\)"):
        nn.Residual(nn.Linear(4, 2, rng=0))(X)


def test_flatten_matches_torch():
    torch = pytest.importorskip("torch")
    X = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(
        nn.Flatten()(X).data, torch.nn.Flatten()(torch.from_numpy(X)).numpy()
    )


def test_layer_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(784, 100\): input of shape \(2, 100\)"):
        nn.Linear(784, 100, rng=0)(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="Linear: in_features must be a positive int, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError, match="Linear: rng must be a numpy.random.Generator"):
        nn.Linear(2, 3, rng="seed")
    with pytest.raises(TypeError, match="Sequential: argument 1 must be a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_layers_work_under_no_grad():
    model = mlp()
    with vecgrad.no_grad():
        out = model(np.ones((2, 6), np.float32))
    assert not out.requires_grad and out.shape == (2, 3)


# ---- misuse that used to pass in silence (QA) ---------------------------------------------


def test_a_parameters_name_takes_only_a_parameter_or_none():
    """As torch: a plain tensor or array assigned to W would drop out of parameters() and
    state_dict() while the forward pass still used it."""
    layer = nn.Linear(3, 2, rng=0)
    for value in (Tensor(np.zeros((3, 2), np.float32)), np.zeros((3, 2))):
        with pytest.raises(TypeError, match="Linear.weight is a parameter: assign a Tensor"):
            layer.weight = value
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.weight = Tensor(np.ones((3, 2), np.float32), requires_grad=True)  # a new parameter
    layer.bias = None  # and no bias
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_a_slice_of_a_sequential_is_a_sequential_under_the_same_names():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU(), nn.Linear(2, 2, rng=1))
    features = model[:-1]
    assert isinstance(features, nn.Sequential) and len(features) == 2
    x = Tensor(np.ones((1, 3), np.float32))
    np.testing.assert_array_equal(features(x).data, model[1](model[0](x)).data)
    assert list(model[1:].state_dict()) == ["2.weight", "2.bias"]  # torch keeps the names
    assert model[-1] is model[2]


def test_torchs_layout_is_named_when_a_torch_weight_has_the_wrong_shape():
    with pytest.raises(ValueError, match=r"torch's layout \(out, in\) for this model is \(3, 4\)"):
        nn.Linear(4, 3, rng=0).load_torch_state_dict(
            {"weight": np.zeros((4, 3), np.float32), "bias": np.zeros(3, np.float32)}
        )
