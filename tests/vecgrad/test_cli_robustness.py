"""vecgrad-mnist when things go wrong: kills, Ctrl-C, damaged files, diverging runs.

Each test is one confirmed QA report: the command must answer in one line (no traceback),
with exit status 2 (bad input) or 130 (Ctrl-C), and never leave a half-written file nor
one run's metrics beside another run's model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vecgrad.apps import cli, plots, train_mnist
from vecgrad.apps.train_mnist import (
    OUTPUT_NAMES,
    STAGING_PREFIX,
    Config,
    ModelFileError,
    Result,
    TrainingDiverged,
    load_model,
    publish,
    save_model,
    train,
)

from . import test_mnist_cli
from .test_mnist_cli import FOUR, REPO

SHARED = REPO.parent / "shared" / "data" / "mnist-5k"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """test_mnist_cli's four tiny IDX files: 60 training and 20 test images."""
    return test_mnist_cli.tiny.__wrapped__(tmp_path_factory)


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """test_mnist_cli's small trained model: (result, data, the run's --out)."""
    return test_mnist_cli.trained.__wrapped__(tiny, tmp_path_factory)


def one_line_error(capsys, *argv: str, code: int = 2) -> str:
    """Run ``vecgrad-mnist argv``; check the exit status and one line on stderr; return it."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- 2. outputs: atomic files, never two runs mixed ---------------------------------------


def previous_run(out: Path) -> None:
    """A finished earlier run in ``out``: its metrics and model say "old"."""
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_NAMES:
        if name.endswith((".png", ".npz")):
            (out / name).write_bytes(b"old")
    (out / "metrics.json").write_text('{"run": "old"}')


def test_a_failure_while_writing_leaves_the_last_run_whole(tmp_path):
    out = tmp_path / "out"
    previous_run(out)
    (out / "notes.txt").write_text("mine")

    def write(folder: Path) -> list[Path]:
        (folder / "metrics.json").write_text('{"run": "new"}')
        raise KeyboardInterrupt  # Ctrl-C halfway through the plots

    with pytest.raises(KeyboardInterrupt):
        publish(out, write)
    assert (out / "metrics.json").read_text() == '{"run": "old"}'
    assert (out / "model.npz").read_bytes() == b"old"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [n for n in OUTPUT_NAMES if n.endswith((".png", ".npz"))] + ["metrics.json", "notes.txt"]
    )  # no staging folder left


def test_a_new_run_replaces_the_whole_set(tmp_path):
    out = tmp_path / "out"
    previous_run(out)

    def write(folder: Path) -> list[Path]:  # a diverged run: metrics only
        (folder / "metrics.json").write_text('{"run": "new"}')
        return [folder / "metrics.json"]

    assert publish(out, write) == [out / "metrics.json"]
    assert [p.name for p in out.iterdir()] == ["metrics.json"]  # no old model beside it
    assert (out / "metrics.json").read_text() == '{"run": "new"}'


def test_a_run_killed_while_writing_changes_nothing_and_its_leftovers_go(tmp_path):
    out = tmp_path / "out"
    previous_run(out)
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from vecgrad.apps.train_mnist import publish\n"
        "def write(folder):\n"
        "    (folder / 'metrics.json').write_text('new')\n"
        "    (folder / 'model.npz').write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "publish(Path(sys.argv[1]), write)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, str(out)], env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert (out / "metrics.json").read_text() == '{"run": "old"}'
    assert (out / "model.npz").read_bytes() == b"old"
    assert len(list(out.glob(f"{STAGING_PREFIX}*"))) == 1  # the dead run's folder
    publish(out, lambda folder: [])  # the next run tidies it
    assert not list(out.glob(f"{STAGING_PREFIX}*"))


def test_a_plot_interrupted_mid_write_leaves_no_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def half_then_interrupt(self, file, **kwargs):
        file.write(b"\x89PNG\r\n\x1a\n")  # the start of a PNG, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_then_interrupt)
    path = tmp_path / "loss.png"
    with pytest.raises(KeyboardInterrupt):
        plots.plot_loss([{"epoch": 1, "train_loss": 1.0}], path)
    assert list(tmp_path.iterdir()) == []


def test_training_writes_a_consistent_set(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    previous_run(out)
    argv = ["--data-dir", str(tiny), "--hidden", "8", "--epochs", "1", "--no-progress"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    _, spec = load_model(out / "model.npz")
    assert spec["sizes"] == [784, *metrics["config"]["hidden"], 10] == [784, 8, 10]
    assert not (out / "first_layer_kernels.png").exists()  # the old run's LeNet plots went
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_sweep_publishes_its_table_and_plot_together(tiny, tmp_path, capsys):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "table.md").mkdir()  # taken by a directory: refused before any run
    line = one_line_error(
        capsys, "sweep", "--data-dir", str(tiny), "--l2", "0", "--runs", "1", "--out", str(out)
    )
    assert "table.md is a directory" in line
    (out / "table.md").rmdir()
    argv = ["sweep", "--data-dir", str(tiny), "--l2", "0", "--runs", "1", "--epochs", "1"]
    assert cli.main([*argv, "--no-progress", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["l2_sweep.png", "results.jsonl", "table.md"]


# ---- 3. a damaged or inconsistent model file ----------------------------------------------


def rewritten(model_path: Path, path: Path, **changes) -> Path:
    """A copy of ``model_path`` whose architecture record has ``changes`` (None: removed)."""
    model, spec = load_model(model_path)
    spec = {k: v for k, v in {**spec, **changes}.items() if v is not None}
    spec.pop("format")
    return save_model(model, spec, path)


def test_predict_refuses_a_damaged_or_inconsistent_model_in_one_line(trained, tmp_path, capsys):
    _, _, run = trained
    good = run / "model.npz"
    image = tmp_path / "x.png"
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)

    flipped = bytearray(good.read_bytes())  # one byte of a stored weight: its CRC-32 fails
    with zipfile.ZipFile(good) as archive:
        member = archive.getinfo("0.weight.npy")
    flipped[member.header_offset + 30 + len(member.filename) + 200] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    cases = {
        "flipped.npz": "damaged",
        "noclasses.npz": "no 'classes'",
        "twoclasses.npz": "10 outputs but the record names 2 classes",
        "shape.npz": "cannot read inputs of the recorded shape [20, 20]",
        "nan.npz": "NaN or infinity",
    }
    rewritten(good, tmp_path / "noclasses.npz", classes=None)
    rewritten(good, tmp_path / "twoclasses.npz", classes=["a", "b"])
    rewritten(good, tmp_path / "shape.npz", input_shape=[20, 20])
    model, spec = load_model(good)
    model[0].weight.data[0, 0] = np.nan
    save_model(model, {k: v for k, v in spec.items() if k != "format"}, tmp_path / "nan.npz")
    for name, message in cases.items():
        path = tmp_path / name
        with pytest.raises(ModelFileError):
            load_model(path)
        line = one_line_error(capsys, "predict", "--model", str(path), str(image))
        assert str(path) in line and message in line, line


# ---- 4. a diverging run -------------------------------------------------------------------


def test_a_diverging_run_says_where_in_one_line_and_keeps_the_epochs_metrics(
    tiny, tmp_path, capsys
):
    out = tmp_path / "out"
    previous_run(out)
    # λ = 100 with lr 0.1 multiplies the weights by −19 a step: overflow in epoch 3.
    flags = ["--data-dir", str(tiny), "--batch-size", "10", "--epochs", "6", "--no-progress"]
    line = one_line_error(capsys, *flags, "--l2", "100", "--out", str(out))
    assert "training diverged at epoch 3, batch" in line and "smaller L2 weight λ" in line
    assert "2 finished epochs' metrics are in" in line
    assert [p.name for p in out.iterdir()] == ["metrics.json"]  # not beside the old model
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["diverged"].startswith("training diverged at epoch 3")


@pytest.mark.parametrize("flag", [["--lr", "1e10"], ["--l2", "1e30"]])
def test_a_run_diverging_at_once_leaves_out_untouched(tiny, tmp_path, capsys, flag):
    out = tmp_path / "out"
    previous_run(out)
    flags = ["--data-dir", str(tiny), "--batch-size", "10", "--no-progress", "--out", str(out)]
    line = one_line_error(capsys, *flags, *flag)
    assert "training diverged at epoch 1" in line and "try a smaller learning rate" in line
    assert f"no epoch finished; {out} is untouched" in line
    assert (out / "model.npz").read_bytes() == b"old"


def test_train_raises_training_diverged_with_the_history_so_far(tiny):
    config = Config(data_dir=tiny, batch_size=10, epochs=6, l2=100.0, out=None, progress=False)
    with pytest.raises(TrainingDiverged, match="epoch 3") as info:
        train(config, log=None)
    assert [h["epoch"] for h in info.value.result.history] == [1, 2]
    assert isinstance(info.value, FloatingPointError)  # what callers caught before


# ---- 5, 10. flags checked up front -------------------------------------------------------


def test_a_negative_seed_is_refused_up_front(tiny, capsys):
    line = one_line_error(capsys, "--data-dir", str(tiny), "--seed", "-1", "--out", "x")
    assert "the seed must be ≥ 0, got -1" in line.replace(" (numpy's SeedSequence)", "")


def test_hidden_sizes_with_lenet_are_refused_and_not_recorded(tiny, capsys):
    for command in ([], ["sweep", "--l2", "0"]):
        line = one_line_error(
            capsys, *command, "--data-dir", str(tiny), "--model", "lenet", "--hidden", "50"
        )
        assert "--hidden is an MLP setting" in line
    with pytest.raises(ValueError, match="MLP setting"):
        train_mnist.validate(Config(model="lenet", hidden=(50,)))
    from vecgrad import nn

    metrics = Result(Config(model="lenet"), nn.Sequential()).metrics()
    assert metrics["config"]["hidden"] is None


# ---- 6. Ctrl-C -------------------------------------------------------------------------


def test_ctrl_c_during_training_is_one_line_and_exit_130(tiny, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    previous_run(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mnist, "train", interrupted)
    flags = ["--data-dir", str(tiny), "--no-progress", "--out", str(out)]
    line = one_line_error(capsys, *flags, code=130)
    assert "interrupted during training" in line and f"{out} is untouched" in line
    assert (out / "model.npz").read_bytes() == b"old"


def test_ctrl_c_in_another_command_is_one_line_and_exit_130(trained, monkeypatch, capsys):
    _, _, run = trained
    from vecgrad.apps import predict

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "_test_set", interrupted)  # as during a download
    assert cli.main(["predict", "--model", str(run / "model.npz"), "--test-index", "0"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "vecgrad-mnist predict: interrupted", err


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared MNIST subset is absent")
def test_a_real_sigint_during_training(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "vecgrad.apps.cli", "--data-dir", str(SHARED)]
    argv += ["--epochs", "50", "--no-progress", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background job ignores SIGINT, and so would Python started from it:
        # the child starts with the default action, so that Python installs its handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout.readline().startswith(b"mnist:")  # training has begun
        assert process.stdout.readline().startswith(b"epoch  1/50")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.decode().strip().splitlines() == [
        f"vecgrad-mnist train: interrupted during training; {out} is untouched"
    ]
    assert not out.exists()


# ---- 7. a damaged file in the download cache ---------------------------------------------


@pytest.mark.skipif(not (SHARED / "SHA256SUMS").is_file(), reason="no shared MNIST copy")
def test_a_truncated_file_in_the_cache_is_downloaded_again(tmp_path, monkeypatch, capsys):
    from vecgrad.apps import data
    from vecgrad.apps.idx import IDXFormatError

    sums = dict(line.split()[::-1] for line in (SHARED / "SHA256SUMS").read_text().splitlines())
    spec = dataclasses.replace(
        data.MNIST,
        files={name: sums[name] for name in FOUR},
        sizes={name: (SHARED / name).stat().st_size for name in FOUR},
        mirrors=(SHARED.as_uri(),),  # a file:// mirror: the shared copy
    )
    monkeypatch.setenv("VECGRAD_DATA", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "mnist"
    cached.mkdir(parents=True)
    for name in FOUR[2:]:
        shutil.copy(SHARED / name, cached / name)
    damaged = cached / FOUR[2]
    damaged.write_bytes(damaged.read_bytes()[:100_000])  # a download cut short

    with pytest.raises(IDXFormatError, match="damaged copy: delete it and download it again"):
        data.load_idx_dataset(spec, None, download=False, splits=("test",))
    ((X_test, _),) = data.load_idx_dataset(spec, None, progress=False, splits=("test",))
    assert X_test.shape == (10000, 784)
    assert damaged.stat().st_size == (SHARED / FOUR[2]).stat().st_size
    assert "damaged" in capsys.readouterr().err


def test_the_cli_download_error_names_the_flag_not_a_python_argument(
    trained, tmp_path, monkeypatch, capsys
):
    import socket

    from vecgrad.apps import data

    _, _, run = trained
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    monkeypatch.setattr(data, "MNIST", dataclasses.replace(data.MNIST, mirrors=(refused,)))
    monkeypatch.setenv("VECGRAD_DATA", str(tmp_path / "cache"))
    argv = ["predict", "--model", str(run / "model.npz"), "--test-index", "0", "--no-progress"]
    line = one_line_error(capsys, *argv)
    assert "--data-dir" in line and "root=" not in line


# ---- 8, 9. outputs checked up front; images that are not numbers ---------------------------


def test_an_output_file_taken_by_a_directory_is_refused_before_training(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "model.npz").mkdir(parents=True)
    start = time.perf_counter()
    line = one_line_error(capsys, "--data-dir", str(tiny), "--out", str(out))
    assert f"{out / 'model.npz'} is a directory" in line
    assert time.perf_counter() - start < 5  # before the training (10 epochs)


def test_predict_refuses_a_plot_path_that_is_a_directory(trained, tmp_path, capsys):
    _, _, run = trained
    (tmp_path / "d.png").mkdir()
    argv = ["predict", "--model", str(run / "model.npz"), "--test-index", "0"]
    line = one_line_error(capsys, *argv, "--plot", str(tmp_path / "d.png"))
    assert "is a directory" in line


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_float_image_with_nan_or_inf_is_refused(trained, tmp_path, capsys, bad):
    from PIL import Image

    _, _, run = trained
    pixels = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    pixels[3, 4] = bad
    path = tmp_path / "f.tiff"
    Image.fromarray(pixels, mode="F").save(path)
    line = one_line_error(capsys, "predict", "--model", str(run / "model.npz"), str(path))
    assert "f.tiff: 1 of its 784 pixels are NaN or infinite" in line
