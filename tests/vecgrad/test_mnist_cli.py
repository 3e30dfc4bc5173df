"""vecgrad-mnist's command line: --out checked first, closed pipes, --threads, predict, plots.

Most tests train on a tiny synthetic dataset (IDX files written here) so they take
milliseconds; the ones on real MNIST skip where ../shared/data is absent. Oracles: numpy's
softmax of the model's own logits, Pillow's decoding of the PNGs, threadpoolctl's report.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vecgrad.apps import cli, plots
from vecgrad.apps.predict import load_image, softmax
from vecgrad.apps.train_mnist import (
    Config,
    ModelFileError,
    load_model,
    model_from_spec,
    save_model,
    train,
    write_outputs,
)

REPO = Path(__file__).resolve().parents[2]
MNIST_5K = REPO.parent / "shared" / "data" / "mnist-5k"
FOUR = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Four IDX files: 60 training and 20 test images, class k a bright square at row 2k."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for (images_name, labels_name), n in zip([FOUR[:2], FOUR[2:]], (60, 20)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 30, (n, 28, 28))
        for image, label in zip(images, labels):
            image[2 * label + 4 : 2 * label + 8, 8:20] = 255
        write_idx(root / images_name, images)
        write_idx(root / labels_name, labels)
    return root


def run(*flags: str, cwd: Path = REPO, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "vecgrad.apps.cli", *flags],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **kwargs,
    )  # fmt: skip


# ---- --out is checked before any training -------------------------------------------------


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc on this system")
def test_an_unwritable_out_exits_2_in_one_line_before_training(tiny, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--data-dir", str(tiny), "--no-progress", "--out", "/proc/nope"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "--out /proc/nope: cannot write there" in lines[0], captured.err


def test_an_out_that_is_a_file_exits_2_in_one_line_before_training(tiny, tmp_path, capsys):
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--data-dir", str(tiny), "--no-progress", "--out", str(existing)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and f"--out {existing}: exists and is not a directory" in captured.err
    assert existing.read_text() == "keep me"


def test_the_out_check_leaves_no_directory_behind_when_training_fails(tiny, tmp_path, capsys):
    out = tmp_path / "a" / "b"
    with pytest.raises(SystemExit):
        cli.main(["--data-dir", str(tiny), "--lr", "-1", "--out", str(out)])
    from vecgrad.apps.train_mnist import check_output_dir

    check_output_dir(out)  # can be created: and nothing is left
    assert not (tmp_path / "a").exists()


# ---- data directories, in the command line's terms -----------------------------------------


@pytest.mark.skipif(not MNIST_5K.is_dir(), reason="the shared MNIST subset is absent")
def test_mnist_files_as_fashion_mnist_are_refused_with_the_flag_to_use(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(
            ["--dataset", "fashion-mnist", "--data-dir", str(MNIST_5K), "--out", str(tmp_path)]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "is MNIST's t10k-images-idx3-ubyte" in err and "(--dataset mnist?)" in err
    assert len(err.strip().splitlines()) == 1


# ---- a closed pipe: quiet, as Unix tools --------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--help"],
        ["--epochs", "30", "--hidden", "4", "--no-progress"],  # prints an epoch line at a time
    ],
    ids=["help", "train"],
)
def test_a_closed_pipe_ends_quietly(tiny, tmp_path, flags):
    # Unbuffered, as a terminal would be: each line is written when printed, so the lines
    # after the first meet the closed pipe (with a block buffer they would all wait for
    # the exit flush, which the helper covers as well).
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "vecgrad.apps.cli", *flags]
    if flags != ["--help"]:
        command += ["--data-dir", str(tiny), "--out", str(tmp_path / "out")]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.readline()  # `| head -1`: one line, then the reader is gone
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    code = process.wait(60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    if flags == ["--help"]:
        assert code in (0, 141)  # the help may fit in the pipe before it closes
    else:  # the epoch lines and the "wrote" lines come after the close
        assert code == 141


def test_the_broken_pipe_helper_exits_141(monkeypatch):
    with pytest.raises(SystemExit) as exit_info, cli.quiet_broken_pipe():
        monkeypatch.setattr(os, "dup2", lambda *a: None)  # keep pytest's own streams
        raise BrokenPipeError
    assert exit_info.value.code == 141


# ---- --threads ------------------------------------------------------------------------------


def test_threads_flag_reaches_the_blas_pool(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(cli, "set_threads", seen.append)
    with pytest.raises(SystemExit):
        cli.main(["--threads", "3", "--lr", "-1"])  # stops at the flag check, after threads
    assert seen == [3]
    with pytest.raises(SystemExit):
        cli.main(["--lr", "-1"])
    assert seen == [3, cli.DEFAULT_THREADS]


def test_set_threads_limits_openblas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    code = (
        "import numpy, threadpoolctl; from vecgrad.apps import cli; cli.set_threads(1); "
        "print([p['num_threads'] for p in threadpoolctl.threadpool_info() "
        "if p['user_api'] == 'blas'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    if not counts:
        pytest.skip(f"threadpoolctl {threadpoolctl.__version__} sees no BLAS library")
    assert counts == [1] * len(counts)


# ---- the model file: architecture recorded beside the weights -------------------------------


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """A small model trained on the tiny set and written as train writes it."""
    config = Config(data_dir=tiny, hidden=(16,), epochs=8, lr=0.5, out=None, progress=False)
    from vecgrad.apps.train_mnist import load_data

    data = load_data(config)
    result = train(config, data, log=None)
    out = tmp_path_factory.mktemp("run")
    write_outputs(result, data, out)
    return result, data, out


def test_the_model_file_rebuilds_the_same_model(trained):
    result, (_, (X_test, _)), out = trained
    model, spec = load_model(out / "model.npz")
    assert spec["kind"] == "mlp" and spec["sizes"] == [784, 16, 10]
    assert spec["activation"] == "relu" and spec["dataset"] == "mnist"
    assert spec["classes"] == [str(d) for d in range(10)] and spec["input_shape"] == [28, 28]
    from vecgrad import Tensor

    np.testing.assert_array_equal(model(Tensor(X_test)).data, result.model(Tensor(X_test)).data)


def test_model_file_errors_name_the_file(trained, tmp_path):
    result, _, _ = trained
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "none.npz")
    bare = result.model.save(tmp_path / "bare.npz")  # weights only, no record
    with pytest.raises(ModelFileError, match="bare.npz: no architecture record"):
        load_model(bare)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(
        ModelFileError, match="junk.npz: not a model file .an .npz is a zip archive"
    ) as info:
        load_model(tmp_path / "junk.npz")
    assert "pickle" not in str(info.value)
    # A record saying 784-32-10 beside 784-16-10 weights: another architecture.
    other = save_model(result.model, {**result.spec, "sizes": [784, 32, 10]}, tmp_path / "o.npz")
    with pytest.raises(ModelFileError, match=r"o.npz: the weights do not fit the recorded mlp"):
        load_model(other)
    unknown = save_model(result.model, {**result.spec, "kind": "resnet"}, tmp_path / "r.npz")
    with pytest.raises(
        ModelFileError,
        match="r.npz: cannot build the recorded model: unknown model kind 'resnet'; this "
        "vecgrad builds mlp, lenet",
    ):
        load_model(unknown)
    lenet = save_model(result.model, {**result.spec, "kind": "lenet"}, tmp_path / "l.npz")
    with pytest.raises(ModelFileError, match="l.npz: cannot build the recorded model"):
        load_model(lenet)  # an MLP's weights under a LeNet record: no outputs key


def test_a_new_kind_plugs_in_without_changing_the_format(monkeypatch, trained, tmp_path):
    from vecgrad import nn
    from vecgrad.apps import train_mnist

    def build_linear(spec, rng, dropout_rng=None):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10, rng=rng))

    monkeypatch.setitem(train_mnist.MODEL_KINDS, "linear", build_linear)
    spec = {"kind": "linear", "dataset": "mnist", "classes": list("0123456789")}
    model = model_from_spec(spec)
    model, loaded = load_model(save_model(model, spec, tmp_path / "linear.npz"))
    assert loaded["kind"] == "linear"


# ---- predict ------------------------------------------------------------------------------


def png(path: Path, pixels: np.ndarray, mode: str = "L") -> Path:
    from PIL import Image

    Image.fromarray(pixels.astype(np.uint8), mode="L").convert(mode).save(path)
    return path


def test_predict_a_png_prints_the_class_and_top_3(trained, tmp_path, capsys):
    result, ((X_train, y_train), _), out = trained
    image = (X_train[3].reshape(28, 28) * 255).round()
    path = png(tmp_path / "three.png", image)
    assert cli.main(["predict", "--model", str(out / "model.npz"), str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # 28×28 grayscale: nothing converted
    from vecgrad import Tensor

    logits = result.model(Tensor(image.reshape(1, 784).astype(np.float32) / 255)).data
    p = softmax(logits.astype(np.float64))[0]
    top = np.argsort(-p)[:3]
    expected = ", ".join(f"{k} {p[k]:.2%}" for k in top)
    assert captured.out.strip() == f"{path}: {top[0]}   top 3: {expected}"


def test_predict_converts_resizes_and_inverts_and_says_so(trained, tmp_path, capsys):
    _, ((X_train, _), _), out = trained
    small = X_train[3].reshape(28, 28)
    big = 255 - np.kron(small, np.ones((2, 2))) * 255  # 56×56, dark strokes on white, RGB
    path = png(tmp_path / "drawing.png", big, mode="RGB")
    pixels, notes = load_image(path)
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert notes == [
        "converted RGB to grayscale",
        "resized 56×56 to 28×28",
        "inverted it (dark strokes on a light background; MNIST's are light on dark)",
    ]
    assert np.abs(pixels - small).mean() < 0.05  # back to (nearly) the original
    assert cli.main(["predict", "--model", str(out / "model.npz"), str(path)]) == 0
    assert (
        "drawing.png: converted RGB to grayscale, resized 56×56 to 28×28" in capsys.readouterr().err
    )


def test_a_transparent_drawing_and_a_16_bit_image_are_read_as_mnist(trained, tmp_path):
    from PIL import Image

    _, ((X_train, _), _), _ = trained
    digit = X_train[5].reshape(28, 28)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = (digit * 255).round()  # black strokes, opaque only where the digit is
    path = tmp_path / "drawn.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    pixels, notes = load_image(path)
    assert notes[0] == "converted RGBA to grayscale" and notes[-1].startswith("inverted")
    assert np.abs(pixels - digit).max() < 0.01

    deep = tmp_path / "deep.png"
    Image.fromarray((digit * 65535).round().astype(np.uint16)).save(deep)
    pixels, notes = load_image(deep)
    assert notes[0].startswith("scaled I;16") and np.abs(pixels - digit).max() < 0.01


def test_predict_test_indices_and_plot(trained, tiny, tmp_path, capsys):
    result, (_, (X_test, y_test)), out = trained
    plot = tmp_path / "p" / "prediction.png"
    flags = ["predict", "--model", str(out / "model.npz"), "--data-dir", str(tiny)]
    assert cli.main([*flags, "--test-index", "7", "0", "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    predicted = result.test_predictions
    assert lines[0].startswith(f"test image 7 (true {y_test[7]}): {predicted[7]}   top 3: ")
    assert lines[1].startswith(f"test image 0 (true {y_test[0]}): {predicted[0]}   top 3: ")
    assert lines[2] == f"wrote {plot}"
    from PIL import Image

    with Image.open(plot) as image:
        assert image.format == "PNG" and image.size[1] > 300


@pytest.mark.parametrize(
    "args, message",
    [
        (["--test-index", "20"], "--test-index 20: the test set has 20 images (0 to 19)"),
        (["no/such.png"], "image 'no/such.png' does not exist"),
        ([], "nothing to classify: give IMAGE files or --test-index N"),
        (["--test-index", "1", "--plot", "x.svg"], "--plot x.svg: the file name must end in .png"),
        (
            ["--test-index", "1", "--plot", "README.md/p.png"],
            "--plot's directory README.md: exists",
        ),
    ],
)
def test_predict_errors_exit_2_in_one_line(trained, tiny, args, message, capsys):
    _, _, out = trained
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", "--model", str(out / "model.npz"), "--data-dir", str(tiny), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_predict_refuses_a_missing_model_and_a_file_that_is_no_image(trained, tmp_path, capsys):
    _, _, out = trained
    with pytest.raises(SystemExit):
        cli.main(["predict", "--model", str(tmp_path / "none.npz"), "--test-index", "0"])
    assert f"model file '{tmp_path / 'none.npz'}' does not exist" in capsys.readouterr().err
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(SystemExit):
        cli.main(["predict", "--model", str(out / "model.npz"), str(text)])
    assert "notes.png: not an image Pillow can read" in capsys.readouterr().err


# ---- the plots ----------------------------------------------------------------------------


def test_every_plot_is_a_small_png(trained):
    _, _, out = trained
    from PIL import Image

    for name in ["loss", "accuracy", "confusion_matrix", "misclassified", "first_layer_weights"]:
        path = out / f"{name}.png"
        with Image.open(path) as image:
            assert image.format == "PNG", name
        assert path.stat().st_size < 400_000, f"{name}.png is {path.stat().st_size} bytes"


def test_first_layer_plot_has_a_colour_key(tmp_path):
    weights = np.random.default_rng(0).normal(size=(784, 16))
    fig_calls = []
    original = plots.save_png

    def keep(fig, path):
        fig_calls.append(fig)
        return original(fig, path)

    plots.save_png, saved = keep, plots.save_png
    try:
        plots.plot_first_layer(weights, tmp_path / "w.png")
    finally:
        plots.save_png = saved
    [fig] = fig_calls
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert len(fig.axes) == 2 and "weight ÷ the unit's largest |weight|" in labels


def test_predict_plots_at_most_twelve_images(trained, tiny, tmp_path, capsys):
    _, _, out = trained
    plot = tmp_path / "many.png"
    indices = [str(i) for i in range(14)]
    flags = ["predict", "--model", str(out / "model.npz"), "--data-dir", str(tiny)]
    assert cli.main([*flags, "--test-index", *indices, "--plot", str(plot)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 15  # every image printed, then "wrote"
    assert "--plot: drawing the first 12 of 14 images" in captured.err
    from PIL import Image

    with Image.open(plot) as image:
        assert image.size[1] < 12 * 2.3 * 100 + 50  # twelve rows of 2.3 inches at 100 dpi


def test_no_import_circle_between_train_mnist_and_sweep():
    """train_mnist imports neither sweep nor cli (only its __main__ guard reaches cli)."""
    import ast

    tree = ast.parse((REPO / "vecgrad" / "apps" / "train_mnist.py").read_text(encoding="utf-8"))
    guard = next(
        node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node)
    )
    inside_guard = {id(node) for node in ast.walk(guard)}
    imported = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and id(node) not in inside_guard
    ]
    assert "sweep" not in imported and "cli" not in imported, imported
    done = subprocess.run(
        [sys.executable, "-c", "import sys, vecgrad.apps.sweep; print(sorted(m for m in "
         "sys.modules if m.startswith('vecgrad.apps.')))"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "vecgrad.apps.cli" not in done.stdout and "vecgrad.apps.train_mnist" in done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not MNIST_5K.is_dir(), reason="the shared MNIST subset is absent")
def test_model_lenet_trains_saves_its_architecture_and_predicts(tmp_path, capsys):
    """`--model lenet`: LeNet-5 with the MLP's outputs plus its kernels and feature maps;
    the model file records the architecture, so predict rebuilds it without flags."""
    out = tmp_path / "lenet"
    flags = ["--data-dir", str(MNIST_5K), "--model", "lenet", "--epochs", "1", "--out", str(out)]
    cli.main([*flags, "--no-progress"])
    printed = capsys.readouterr().out
    assert "LeNet-5 (relu)" in printed
    for name in ("model.npz", "metrics.json", "loss.png", "first_layer_kernels.png"):
        assert (out / name).is_file(), name
    assert (out / "feature_maps.png").is_file()
    assert not (out / "first_layer_weights.png").exists()  # an MLP's plot, not a CNN's
    model, spec = load_model(out / "model.npz")
    assert spec["kind"] == "lenet" and spec["input_shape"] == [28, 28]
    assert sum(p.size for p in model.parameters()) == 61_706
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == "lenet" and metrics["parameters"] == 61_706
    cli.main(
        [
            "predict",
            "--model",
            str(out / "model.npz"),
            "--data-dir",
            str(MNIST_5K),
            "--test-index",
            "7",
        ]
    )
    assert "test image 7 (true 9)" in capsys.readouterr().out


def test_a_misspelled_flag_is_refused_with_the_closest_one(capsys):
    """argparse would take --epoch for --epochs (a prefix) and overwrite out/mnist silently."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--epoch", "3", "--out", "unused"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "unrecognized arguments: --epoch 3 (did you mean --epochs?)" in error
    assert len(error.splitlines()) == 1


def test_predict_needs_only_the_test_files(trained, tiny, tmp_path, capsys):
    """Before, --test-index loaded (or, from the cache, downloaded) the training set too."""
    _, (_, (_, y_test)), out = trained
    only_test = tmp_path / "only-test"
    only_test.mkdir()
    for name in FOUR[2:]:
        shutil.copy(tiny / name, only_test / name)
    flags = ["predict", "--model", str(out / "model.npz"), "--data-dir", str(only_test)]
    assert cli.main([*flags, "--test-index", "3"]) == 0
    assert capsys.readouterr().out.startswith(f"test image 3 (true {y_test[3]}): ")


@pytest.mark.parametrize(
    "word, hint",
    [
        ("trian", "did you mean train?"),
        ("predcit", "did you mean predict?"),
        ("fit", "the commands"),
    ],
)
def test_a_misspelled_command_is_refused_with_the_closest_one(word, hint, capsys):
    """Before, `vecgrad-mnist trian` said only "unrecognized arguments: trian"."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([word, "--epochs", "1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert f"unknown command {word!r} ({hint}" in error
    assert len(error.splitlines()) == 1
