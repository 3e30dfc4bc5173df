"""vecgrad-mnist: the acceptance run on real MNIST (vs PyTorch), determinism, L2, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vecgrad import Tensor
from vecgrad.apps.cli import main
from vecgrad.apps.data import DataLoader
from vecgrad.apps.train_mnist import (
    Config,
    build_model,
    evaluate,
    load_data,
    load_model,
    make_rngs,
    train,
)
from vecgrad.functional import l2_penalty

REPO = Path(__file__).resolve().parents[2]
MNIST_5K = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-5k"
PNGS = [
    "loss.png",
    "accuracy.png",
    "confusion_matrix.png",
    "misclassified.png",
    "first_layer_weights.png",
]


@pytest.fixture(scope="module")
def mnist():
    """(config, data) for the real 5k MNIST subset (skipped where the shared data is absent)."""
    if not (MNIST_5K / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the shared MNIST subset is not at {MNIST_5K}")
    config = Config(data_dir=MNIST_5K, out=None, progress=False)
    return config, load_data(config)


@pytest.fixture(scope="module")
def default_run(mnist):
    """The acceptance setup: 784-100-10, ReLU, SGD lr 0.1, batch 100, 10 epochs, seed 0."""
    config, data = mnist
    return train(config, data, log=None)


def train_with_torch(torch, config: Config, data) -> list[dict]:
    """The same run in PyTorch: vecgrad's initial weights copied, the same batch order."""
    (X_train, y_train), (X_test, y_test) = data
    rngs = make_rngs(config.seed)
    start = build_model(config, X_train.shape[1], 10, rngs)  # consumes rngs.init as train does
    activation = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    sizes = [X_train.shape[1], *config.hidden, 10]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation[config.activation]())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in start.torch_state_dict().items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    weights = [p for p in model.parameters() if p.ndim == 2]
    loader = DataLoader(X_train, y_train, config.batch_size, shuffle=True, rng=rngs.order)
    history = []
    for _ in range(config.epochs):
        total = 0.0
        for X, y in loader:
            data_loss = torch.nn.functional.cross_entropy(
                model(torch.from_numpy(X)), torch.tensor(y)
            )
            loss = data_loss
            if config.l2:
                loss = loss + config.l2 * sum((W * W).sum() for W in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += data_loss.item() * len(y)
        with torch.no_grad():
            predictions = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
        history.append(
            {"train_loss": total / len(X_train), "test_accuracy": (predictions == y_test).mean()}
        )
    return history


# ---- acceptance: real MNIST ----------------------------------------------------------


@pytest.mark.slow
def test_default_mlp_reaches_90_percent_on_real_mnist(default_run):
    assert default_run.test_accuracy >= 0.90
    history = default_run.history
    assert [h["epoch"] for h in history] == list(range(1, 11))
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 3
    assert all(p.dtype == np.float32 for p in default_run.model.parameters())


@pytest.mark.slow
def test_default_mlp_is_within_one_point_of_pytorch(mnist, default_run):
    torch = pytest.importorskip("torch")
    config, data = mnist
    reference = train_with_torch(torch, config, data)
    assert abs(default_run.test_accuracy - reference[-1]["test_accuracy"]) <= 0.01
    # Same start and same batches: the runs agree epoch by epoch up to float32 rounding.
    for ours, theirs in zip(default_run.history, reference):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-3)


@pytest.mark.slow
def test_l2_and_momentum_follow_pytorch(mnist):
    torch = pytest.importorskip("torch")
    config, data = mnist
    config = replace(config, epochs=2, l2=1e-2, momentum=0.9, lr=0.02, activation="tanh")
    ours = train(config, data, log=None)
    reference = train_with_torch(torch, config, data)
    for mine, theirs in zip(ours.history, reference):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-3)
        assert abs(mine["test_accuracy"] - theirs["test_accuracy"]) <= 0.003


@pytest.mark.slow
def test_l2_shrinks_the_weights(mnist):
    config, data = mnist
    plain = train(replace(config, epochs=2), data, log=None)
    shrunk = train(replace(config, epochs=2, l2=1e-2), data, log=None)
    norm = [sum(float((W.data**2).sum()) for W in r.model.parameters() if W.ndim == 2)
            for r in (plain, shrunk)]  # fmt: skip
    assert norm[1] < 0.8 * norm[0]


@pytest.mark.slow
def test_the_same_seed_gives_the_same_run(mnist):
    config, data = mnist
    config = replace(config, epochs=2, hidden=(32,), dropout=0.2)
    runs = [train(config, data, log=None) for _ in range(2)]
    other = train(replace(config, seed=1), data, log=None)

    def without_time(run):
        return [{k: v for k, v in h.items() if k != "seconds"} for h in run.history]

    assert without_time(runs[0]) == without_time(runs[1])
    np.testing.assert_array_equal(runs[0].test_predictions, runs[1].test_predictions)
    for name, array in runs[0].model.state_dict().items():
        np.testing.assert_array_equal(array, runs[1].model.state_dict()[name], err_msg=name)
    assert without_time(other) != without_time(runs[0])


def test_l2_penalty_is_the_sum_of_squares():
    W = Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True)
    b = Tensor(np.array([4.0]), requires_grad=True)
    penalty = l2_penalty([W, b])
    assert penalty.item() == 1 + 4 + 9 + 0.25 + 16
    penalty.backward()
    np.testing.assert_array_equal(W.grad, 2 * W.data)  # ∂Σw²/∂w = 2w
    np.testing.assert_array_equal(b.grad, [8.0])
    with pytest.raises(ValueError, match="l2_penalty: got no parameters"):
        l2_penalty([])
    with pytest.raises(TypeError, match="l2_penalty: parameter 1 is a ndarray"):
        l2_penalty([W, np.ones(2)])


def test_evaluate_counts_correct_predictions():
    config = Config(hidden=())
    model = build_model(config, 4, 10, make_rngs(0))
    model[0].weight.data[:] = 0
    model[0].bias.data[:] = np.arange(10, dtype=np.float32)  # always predicts class 9
    y = np.array([9, 9, 1, 9, 0])
    accuracy, predictions = evaluate(model, np.zeros((5, 4), np.float32), y)
    assert accuracy == 0.6 and predictions.tolist() == [9] * 5


# ---- the command ------------------------------------------------------------------------


def run_command(*flags: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "vecgrad.apps.cli", *flags],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_command_trains_and_writes_every_output(mnist, tmp_path):
    out = tmp_path / "run"
    done = run_command(
        "--data-dir", "../shared/data/mnist-5k", "--epochs", "1", "--hidden", "16",
        "--seed", "3", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(
        r"epoch  1/1  train loss \d\.\d{4}  train acc \d+\.\d\d%  test acc \d+\.\d\d%  "
        r"\d+\.\d\d s",
        done.stdout,
    ), done.stdout
    assert "MLP 784-16-10 (relu), sgd lr 0.1, batch 100" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(["metrics.json", "model.npz", *PNGS])
    for name in PNGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["hidden"] == [16] and metrics["config"]["seed"] == 3
    assert metrics["parameters"] == 784 * 16 + 16 + 16 * 10 + 10
    assert len(metrics["history"]) == 1
    assert metrics["test_accuracy"] == metrics["history"][0]["test_accuracy"]
    assert f"test accuracy {metrics['test_accuracy']:.2%}" in done.stdout

    # The saved model (rebuilt from its own record) reproduces the reported test accuracy.
    config, data = mnist
    model, spec = load_model(out / "model.npz")
    assert spec["kind"] == "mlp" and spec["sizes"] == [784, 16, 10]
    accuracy, _ = evaluate(model, *data[1])
    assert accuracy == metrics["test_accuracy"]
    # The history's train accuracy is the final model's, measured at the epoch's end.
    assert evaluate(model, *data[0])[0] == metrics["history"][-1]["train_accuracy"]


def test_command_refuses_a_bad_flag_in_one_line(tmp_path):
    done = run_command("--activation", "gelu", "--out", str(tmp_path / "never"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("vecgrad-mnist train: error: argument --activation: invalid choice")
    assert "'gelu'" in lines[0] and lines[0].endswith("(see vecgrad-mnist train --help)")
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
        (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
        (["--hidden", "100", "0"], "hidden layer sizes must be positive, got 0 in (100, 0)"),
        (["--hidden", "-5"], "hidden layer sizes must be positive, got -5"),
        (["--lr", "0"], "the learning rate must be positive, got 0.0"),
        (["--lr", "nan"], "the learning rate must be positive, got nan"),
        (["--l2", "-0.1"], "the L2 weight λ must be ≥ 0, got -0.1"),
        (["--epochs", "0"], "epochs must be at least 1, got 0"),
        (["--batch-size", "0"], "batch_size must be at least 1, got 0"),
        (["--dropout", "1"], "dropout must be in [0, 1), got 1.0"),
        (["--optimizer", "adam", "--momentum", "0.9"], "momentum is an SGD setting"),
        (["--data-dir", "no/such/dir"], "--data-dir no/such/dir does not exist"),
        (["--data-dir", "README.md"], "--data-dir README.md is a file, not a directory"),
        (["--threads", "0"], "--threads must be at least 1, got 0"),
        (["--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    ],
)
def test_bad_flags_exit_2_with_the_message_before_training(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*flags, "--out", str(tmp_path / "never")])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""  # nothing trained, nothing printed
    assert not (tmp_path / "never").exists()


def test_a_data_directory_without_the_files_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "never")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"--data-dir {tmp_path}: 4 of the 4 MNIST files missing" in err
    assert "train-images-idx3-ubyte.gz" in err and "point --data-dir at a directory" in err
    assert "root=" not in err and "download=True" not in err  # Python names, not flags


def test_train_is_the_default_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--lr", "-1"])
    assert exit_info.value.code == 2
    assert "vecgrad-mnist train: error: the learning rate" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    # The README says "--help for the flags": the default command's flags are listed.
    for flag in ("--data-dir", "--epochs", "--hidden", "--l2", "--out", "--threads"):
        assert flag in help_text, flag
    assert "sweep" in help_text and "predict" in help_text


def test_train_validates_its_config_too():
    with pytest.raises(ValueError, match="unknown activation 'gelu'; choose from relu"):
        train(Config(activation="gelu"), data=None, log=None)


def test_no_network_prints_where_to_put_the_files_and_exits_2(monkeypatch, tmp_path, capsys):
    """Without data and without a reachable mirror: the message, no traceback, exit 2."""
    import dataclasses
    import socket

    from vecgrad.apps import cli, data

    with socket.socket() as closed:  # a port nobody listens on: connections are refused
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    monkeypatch.setattr(data, "MNIST", dataclasses.replace(data.MNIST, mirrors=(refused,)))
    monkeypatch.setenv("VECGRAD_DATA", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--epochs", "1", "--no-progress", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "could not download" in err and "Traceback" not in err
    assert str(tmp_path / "cache" / "mnist") in err and "t10k-labels-idx1-ubyte.gz" in err
    assert not (tmp_path / "out").exists()
