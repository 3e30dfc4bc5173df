"""scalargrad.nn on the two moons: the demo reaches 100% training accuracy."""

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
