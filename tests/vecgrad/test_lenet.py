"""LeNet-5 (vecgrad.apps.models, cnn_plots): its layers and spec, against PyTorch, on real MNIST."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vecgrad import Tensor, nn, optim
from vecgrad.apps import cnn_plots, models
from vecgrad.apps.data import DataLoader
from vecgrad.apps.train_mnist import Config, evaluate, load_data, make_rngs
from vecgrad.functional import cross_entropy

MNIST_5K = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-5k"
LENET_LAYERS = [
    nn.Conv2d,
    nn.ReLU,
    nn.MaxPool2d,
    nn.Conv2d,
    nn.ReLU,
    nn.MaxPool2d,
    nn.Flatten,
    nn.Linear,
    nn.ReLU,
    nn.Linear,
    nn.ReLU,
    nn.Linear,
]


def torch_lenet(torch, dtype=None):
    """PyTorch's LeNet-5 with the layer names of `models.build_lenet` (0, 1, …, 11)."""
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(400, 120),
        tnn.ReLU(),
        tnn.Linear(120, 84),
        tnn.ReLU(),
        tnn.Linear(84, 10),
    )
    return model if dtype is None else model.to(dtype)


def torch_copy(torch, model, dtype=None):
    """A torch LeNet-5 holding ``model``'s weights."""
    theirs = torch_lenet(torch, dtype)
    state = {k: torch.from_numpy(v) for k, v in model.torch_state_dict().items()}
    theirs.load_state_dict({k: v.to(dtype) if dtype else v for k, v in state.items()})
    return theirs


def images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n random 'images' (n, 784) in [0, 1) and labels, float32."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


# ---- the architecture ------------------------------------------------------------------


def test_lenet_has_the_course_layers_and_61706_weights():
    spec = models.lenet_spec()
    model = models.build_model(spec, np.random.default_rng(0))
    assert [type(layer) for layer in model] == LENET_LAYERS
    assert sum(p.size for p in model.parameters()) == 6 * 25 + 6 + 16 * 6 * 25 + 16 + (
        400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    )
    assert sum(p.size for p in model.parameters()) == 61_706
    assert (model[0].padding, model[0].kernel_size, model[3].padding) == (2, (5, 5), 0)


def test_lenet_shapes_layer_by_layer():
    spec = models.lenet_spec()
    model = models.build_model(spec, 0)
    X, _ = images(3)
    x = Tensor(models.as_input(spec, X))
    shapes = []
    for layer in model:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [
        (3, 6, 28, 28),
        (3, 6, 28, 28),
        (3, 6, 14, 14),
        (3, 16, 10, 10),
        (3, 16, 10, 10),
        (3, 16, 5, 5),
        (3, 400),
        (3, 120),
        (3, 120),
        (3, 84),
        (3, 84),
        (3, 10),
    ]


def test_lenet_for_other_image_sizes_and_channels():
    spec = models.lenet_spec(outputs=3, input_shape=(32, 32), channels=3)
    model = models.build_model(spec, 0)
    assert model[6 + 1].in_features == 16 * 6 * 6  # 32 → 16 → 12 → 6
    out = model(Tensor(np.zeros((2, 3, 32, 32), np.float32)))
    assert out.shape == (2, 3)


def test_the_same_seed_gives_the_same_weights():
    a = models.build_model(models.lenet_spec(), np.random.default_rng(7)).state_dict()
    b = models.build_model(models.lenet_spec(), np.random.default_rng(7)).state_dict()
    c = models.build_model(models.lenet_spec(), np.random.default_rng(8)).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_as_input_reshapes_flat_images_without_copying():
    spec = models.lenet_spec()
    X, _ = images(5)
    view = models.as_input(spec, X)
    assert view.shape == (5, 1, 28, 28) and np.shares_memory(view, X)
    assert np.array_equal(view[2, 0, 3], X[2, 3 * 28 : 4 * 28])  # row 3 of image 2
    assert models.as_input(spec, X.reshape(5, 28, 28)).shape == (5, 1, 28, 28)
    assert models.as_input(models.mlp_spec([784, 10]), view).shape == (5, 784)
    with pytest.raises(ValueError, match=r"input of shape \(5, 783\).*\(n, 1, 28, 28\)"):
        models.as_input(spec, X[:, :-1])


# ---- the spec: saved with the weights, read back ----------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        models.lenet_spec(),
        models.lenet_spec(activation="tanh", dropout=0.25),
        models.lenet_spec(outputs=3, input_shape=(32, 32), channels=3),
        models.mlp_spec([784, 100, 10]),
        models.mlp_spec([784, 256, 128, 10], activation="sigmoid", dropout=0.5),
        models.mlp_spec([784, 10]),
    ],
    ids=["lenet", "lenet-tanh-dropout", "lenet-rgb32", "mlp", "mlp-deep", "softmax"],
)
def test_spec_round_trips_through_json_and_rebuilds_the_weights(spec, tmp_path):
    model = models.build_model(spec, np.random.default_rng(1))
    assert models.spec_of(model) == spec
    saved = json.loads(json.dumps(models.spec_of(model)))  # what a model file records
    model.save(tmp_path / "model.npz")
    rebuilt = models.build_model(saved, np.random.default_rng(99)).load(tmp_path / "model.npz")
    X = np.random.default_rng(2).random((4, *models.model_input_shape(saved)), dtype=np.float32)
    model.eval(), rebuilt.eval()
    assert np.array_equal(model(Tensor(X)).data, rebuilt(Tensor(X)).data)


def test_a_spec_with_the_model_files_extra_keys_builds_and_comes_back_whole():
    """vecgrad-mnist's record adds the image shape, dataset and class names: kept, not used."""
    record = {
        **models.lenet_spec(),
        "dataset": "fashion-mnist",
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"] + list("abcde"),
    }
    model = models.build_model(record, 0)
    assert models.spec_of(model) == record
    mlp_record = {**models.mlp_spec([784, 100, 10]), "input_shape": [28, 28], "dataset": "mnist"}
    assert models.model_input_shape(mlp_record) == (784,)
    assert models.spec_of(models.build_model(mlp_record, 0)) == mlp_record


def test_spec_of_reads_a_lenet_built_by_hand():
    rng = np.random.default_rng(0)
    hand = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120, rng=rng),
        nn.ReLU(),
        nn.Linear(120, 84, rng=rng),
        nn.ReLU(),
        nn.Linear(84, 10, rng=rng),
    )
    assert models.spec_of(hand) == models.lenet_spec()
    mlp = nn.Sequential(nn.Linear(784, 50), nn.Tanh(), nn.Linear(50, 10))
    assert models.spec_of(mlp) == models.mlp_spec([784, 50, 10], activation="tanh")


def test_spec_of_refuses_what_it_cannot_rebuild():
    with pytest.raises(ValueError, match="not an mlp or a lenet.*Conv2d, ReLU, Flatten, Linear"):
        models.spec_of(
            nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
        )
    with pytest.raises(ValueError, match="not an mlp or a lenet"):  # two activations
        models.spec_of(
            nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
        )
    model = models.build_model(models.lenet_spec(), 0)
    model.spec["outputs"] = 7  # a record that no longer matches the layers is not trusted
    assert models.spec_of(model)["outputs"] == 10


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "resnet"}, "unknown model kind 'resnet'; vecgrad builds mlp, lenet"),
        ("lenet", "a model spec is a dict with a 'kind', got str"),
        (
            {"kind": "lenet", "channels": 1, "input_shape": [1, 28, 28], "outputs": 10},
            "'input_shape' must be \\[height, width\\]",
        ),
        (
            {"kind": "lenet", "input_shape": [28, 28], "outputs": 10},
            "'channels' must be a positive int, got None",
        ),
        (
            {"kind": "lenet", "channels": 1, "input_shape": [10, 10], "outputs": 10},
            "10×10 are too small",
        ),
        (
            {"kind": "lenet", "channels": 1, "input_shape": [28, 28], "outputs": 0},
            "'outputs' must be",
        ),
        (
            {
                "kind": "lenet",
                "channels": 1,
                "input_shape": [28, 28],
                "outputs": 10,
                "activation": "gelu",
            },
            "lenet: unknown activation 'gelu'",
        ),
        ({"kind": "mlp", "sizes": [784]}, "'sizes' must list two or more positive ints"),
        ({"kind": "mlp", "sizes": [784, -5, 10]}, "'sizes' must list"),
        ({"kind": "mlp", "sizes": [784, 10], "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_specs_are_refused_by_name(spec, message):
    with pytest.raises(ValueError, match=message):
        models.build_model(spec, 0)


def test_penalised_and_first_layer_weights():
    model = models.build_model(models.lenet_spec(), 0)
    penalised = models.penalised_weights(model)
    assert [p.shape for p in penalised] == [
        (6, 1, 5, 5),
        (16, 6, 5, 5),
        (400, 120),
        (120, 84),
        (84, 10),
    ]
    assert models.first_layer_weights(model).shape == (6, 1, 5, 5)
    mlp = models.build_model(models.mlp_spec([784, 100, 10]), 0)
    assert models.first_layer_weights(mlp).shape == (784, 100)
    assert [p.shape for p in models.penalised_weights(mlp)] == [(784, 100), (100, 10)]


# ---- against PyTorch ----------------------------------------------------------------------


def test_lenet_forward_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    spec = models.lenet_spec()
    model = models.build_model(spec, np.random.default_rng(3))
    X, y = images(8, seed=4)
    loss = cross_entropy(model(Tensor(models.as_input(spec, X))), y)
    loss.backward()
    theirs = torch_copy(torch, model, torch.float64)
    their_loss = torch.nn.functional.cross_entropy(
        theirs(torch.from_numpy(models.as_input(spec, X)).double()), torch.from_numpy(y)
    )
    their_loss.backward()
    assert np.isclose(loss.item(), their_loss.item(), rtol=1e-5)
    grads = {name: p.grad for name, p in model.named_parameters()}
    for name, p in theirs.named_parameters():
        expected = p.grad.numpy()
        ours = grads[name].T if name.endswith("weight") and expected.ndim == 2 else grads[name]
        scale = np.abs(expected).max()
        assert np.allclose(ours, expected, atol=1e-5 * scale + 1e-7), name


def test_twenty_sgd_steps_follow_pytorch():
    torch = pytest.importorskip("torch")
    spec = models.lenet_spec()
    model = models.build_model(spec, np.random.default_rng(5))
    theirs = torch_copy(torch, model)
    ours_opt = optim.SGD(model.parameters(), lr=0.1)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    X, y = images(200, seed=6)
    X = models.as_input(spec, X)
    for step in range(20):
        rows = slice(10 * step, 10 * step + 10)
        loss = cross_entropy(model(Tensor(X[rows])), y[rows])
        ours_opt.zero_grad(), loss.backward(), ours_opt.step()
        their_loss = torch.nn.functional.cross_entropy(
            theirs(torch.from_numpy(X[rows])), torch.from_numpy(y[rows])
        )
        theirs_opt.zero_grad(), their_loss.backward(), theirs_opt.step()
        assert np.isclose(loss.item(), their_loss.item(), rtol=1e-4, atol=1e-5), step
    ours = model.torch_state_dict()
    for name, p in theirs.state_dict().items():
        assert np.allclose(ours[name], p.numpy(), atol=1e-5), name


# ---- the pictures --------------------------------------------------------------------------


def test_cnn_plots_write_pngs(tmp_path):
    model = models.build_model(models.lenet_spec(), 0)
    X, y = images(1)
    kernels = cnn_plots.plot_kernels(model[0].weight.data, tmp_path / "kernels.png")
    maps = cnn_plots.plot_feature_maps(model, X[0], tmp_path / "maps.png", label=str(y[0]))
    for path in (kernels, maps):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    with pytest.raises(
        ValueError, match=r"plot_kernels: expected a convolution weight.*\(784, 100\)"
    ):
        cnn_plots.plot_kernels(np.zeros((784, 100)), tmp_path / "no.png")


def test_write_cnn_plots_writes_the_kernels_and_feature_maps(tmp_path):
    model = models.build_model(models.lenet_spec(), 0)
    X, y = images(3)
    paths = cnn_plots.write_cnn_plots(model, X, y, tmp_path / "out", [f"c{i}" for i in range(10)])
    assert [p.name for p in paths] == ["first_layer_kernels.png", "feature_maps.png"]
    assert all(p.stat().st_size > 5000 for p in paths)


def test_feature_maps_are_each_convolutions_activations():
    model = models.build_model(models.lenet_spec(), 0)
    X, _ = images(1)
    maps = cnn_plots.feature_maps(model, X[0])
    assert [(name, m.shape) for name, m in maps] == [
        ("conv 1 + ReLU", (6, 28, 28)),
        ("conv 2 + ReLU", (16, 10, 10)),
    ]
    first = model[1](model[0](Tensor(X[:1].reshape(1, 1, 28, 28)))).data[0]
    assert np.array_equal(maps[0][1], first) and maps[0][1].min() >= 0  # after the ReLU
    assert model.training  # left as found
    with pytest.raises(ValueError, match="has no Conv2d"):
        cnn_plots.feature_maps(models.build_model(models.mlp_spec([784, 10]), 0), X[0])


def test_the_graph_of_one_images_loss_shows_every_shape():
    from scalargrad import to_dot

    spec = models.lenet_spec()
    model = models.build_model(spec, 0)
    X, y = images(1)
    dot = to_dot(cross_entropy(model(Tensor(models.as_input(spec, X))), y))
    for shape in [
        (1, 1, 28, 28),
        (6, 1, 5, 5),
        (1, 6, 28, 28),
        (1, 6, 14, 14),
        (16, 6, 5, 5),
        (1, 16, 10, 10),
        (1, 16, 5, 5),
        (1, 400),
        (400, 120),
        (1, 120),
        (1, 84),
        (1, 10),
    ]:
        assert f"data {shape}" in dot, shape
    assert dot.count("label=conv2d") == 2 and dot.count("label=maxpool") == 2


# ---- acceptance: real MNIST -----------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    """The real 5k MNIST subset (skipped where the shared data is absent)."""
    if not (MNIST_5K / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the shared MNIST subset is not at {MNIST_5K}")
    return load_data(Config(data_dir=MNIST_5K, out=None, progress=False))


def train_lenet(data, seed: int = 0, epochs: int = 10, batch_size: int = 100, lr: float = 0.1):
    """vecgrad-mnist's loop for LeNet-5: seeds as `make_rngs`, SGD, batches reshuffled."""
    (X_train, y_train), (X_test, y_test) = data
    spec = models.lenet_spec()
    rngs = make_rngs(seed)
    model = models.build_model(spec, rngs.init, rngs.dropout)
    start = {k: v.copy() for k, v in model.torch_state_dict().items()}
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(models.as_input(spec, X_train), y_train, batch_size, True, rngs.order)
    for _ in range(epochs):
        model.train()
        for X, y in loader:
            loss = cross_entropy(model(Tensor(X)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    accuracy, _ = evaluate(model, models.as_input(spec, X_test), y_test)
    return accuracy, start


def train_torch_lenet(torch, data, start, seed=0, epochs=10, batch_size=100, lr=0.1):
    """The same run in PyTorch: ``start`` weights, the batch order of `train_lenet`."""
    (X_train, y_train), (X_test, y_test) = data
    spec = models.lenet_spec()
    model = torch_lenet(torch)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    order = make_rngs(seed).order
    loader = DataLoader(models.as_input(spec, X_train), y_train, batch_size, True, order)
    for _ in range(epochs):
        for X, y in loader:
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.tensor(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        logits = model(torch.from_numpy(models.as_input(spec, X_test)))
    return float((logits.argmax(dim=1).numpy() == y_test).mean())


@pytest.fixture(scope="module")
def lenet_run(mnist):
    """The acceptance run: LeNet-5, SGD lr 0.1, batch 100, 10 epochs, seed 0."""
    return train_lenet(mnist, seed=0)


@pytest.mark.slow
def test_lenet_reaches_94_5_percent_on_real_mnist(lenet_run):
    accuracy, _ = lenet_run
    assert accuracy >= 0.945, f"LeNet-5 test accuracy {accuracy:.2%} < 94.5%"


@pytest.mark.slow
def test_lenet_is_within_one_point_of_pytorch(mnist, lenet_run):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    accuracy, start = lenet_run
    reference = train_torch_lenet(torch, mnist, start, seed=0)
    assert abs(accuracy - reference) <= 0.01, (
        f"vecgrad {accuracy:.2%}, PyTorch from the same weights and batches {reference:.2%}"
    )
