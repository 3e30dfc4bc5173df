"""scalargrad.nn on the two moons: the demo reaches 100% training accuracy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scalargrad import Value
from scalargrad.apps.datasets import make_moons
from scalargrad.apps.train_moons import Config, train
from scalargrad.nn import MLP
from scalargrad.optim import SGD


def test_make_moons_is_balanced_and_seeded():
    X, y = make_moons(100, 0.1, np.random.default_rng(0))
    X2, y2 = make_moons(100, 0.1, np.random.default_rng(0))
    assert X.shape == (100, 2) and np.bincount(y).tolist() == [50, 50]
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_mlp_parameter_count_and_zero_grad():
    model = MLP(2, [16, 16, 1], rng=np.random.default_rng(0))
    assert len(model.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    out = model([Value(0.3), Value(-0.2)])
    out.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_module_machinery_lives_in_scalargrad_module_and_nn_re_exports_it():
    from scalargrad import module, nn

    assert nn.Module is module.Module and issubclass(MLP, module.Module)

    class Pair(module.Module):  # a user's own module gets zero_grad from the machinery
        def __init__(self):
            self.a, self.b = Value(1.0), Value(2.0)

        def parameters(self):
            return [self.a, self.b]

    pair = Pair()
    (pair.a * pair.b).backward()
    assert (pair.a.grad, pair.b.grad) == (2.0, 1.0)
    pair.zero_grad()
    assert (pair.a.grad, pair.b.grad) == (0.0, 0.0)


def test_sgd_step_moves_against_the_gradient():
    w = Value(2.0)
    loss = (w - 5.0) ** 2
    loss.backward()
    SGD([w], lr=0.1).step()
    assert w.data == pytest.approx(2.0 - 0.1 * 2 * (2.0 - 5.0))


@pytest.mark.slow
def test_moons_mlp_reaches_full_training_accuracy():
    _, history = train(Config(seed=1337), verbose=False)
    assert history[-1]["accuracy"] == 1.0
    assert history[-1]["loss"] < history[0]["loss"] / 10


# ---- the scalargrad-moons command (issue #16) ------------------------------------------


@pytest.mark.parametrize("kind", ["under /proc", "an existing file"])
def test_moons_checks_out_before_any_training(kind, tmp_path, capsys):
    from scalargrad.apps.train_moons import main

    if kind == "an existing file":
        out = tmp_path / "taken"
        out.write_text("not a folder")
    else:
        out = Path("/proc/scalargrad-moons")
    assert main(["--steps", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not one training step was run
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"scalargrad-moons: error: --out {out}: ")
    if kind == "an existing file":
        assert out.read_text() == "not a folder"


def test_moons_refuses_zero_steps_in_one_line(capsys):
    from scalargrad.apps.train_moons import main

    assert main(["--steps", "0"]) == 2
    assert capsys.readouterr().err == "scalargrad-moons: error: --steps must be at least 1, got 0\n"


@pytest.mark.parametrize(
    "argv, part",
    [
        (["--stpes", "3"], "unrecognized arguments: --stpes 3 (did you mean --steps?)"),
        (["--steps", "abc"], "argument --steps: invalid int value: 'abc'"),
    ],
)
def test_moons_usage_errors_are_one_line(argv, part, capsys):
    from scalargrad.apps.train_moons import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scalargrad-moons: error: ") and part in err


def test_moons_prints_the_paths_it_wrote_not_their_markup(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` is not installed (apt-get install graphviz)")
    from scalargrad.apps.train_moons import main

    assert main(["--steps", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "<" not in out  # no SVG markup
    wrote = [line.removeprefix("wrote ") for line in out.splitlines() if line.startswith("wrote")]
    names = ["decision_boundary.png", "ln_x1_x1x2_sin_x2.svg"]
    assert [Path(p).name for p in wrote][:2] == names and len(wrote) == 4
    assert sorted(Path(p) for p in wrote) == sorted(tmp_path.iterdir())
    assert all(Path(p).stat().st_size > 0 for p in wrote)


def test_moons_into_a_closed_pipe_ends_quietly(tmp_path):
    read, write = os.pipe()
    os.close(read)  # `scalargrad-moons | head -0`: the reader is gone before the first line
    try:
        result = subprocess.run(
            [sys.executable, "-m", "scalargrad.apps.train_moons", "--steps", "3", "--out", "o"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        os.close(write)
    assert result.stderr == "" and result.returncode == 141
    assert list((tmp_path / "o").iterdir()) == []  # stopped, and left no partial file
