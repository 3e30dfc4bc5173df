"""vecgrad.optim against torch.optim: the same parameters and gradients, step by step."""

from __future__ import annotations

import numpy as np
import pytest

from vecgrad import Tensor, nn, optim
from vecgrad.functional import cross_entropy

SHAPES = [(3, 4), (4,), (2, 2, 2)]
STEPS = 6


def _gradient_sequence(seed: int) -> list[list[np.ndarray]]:
    """Gradients for every step and parameter; the second parameter gets none at step 2."""
    rng = np.random.default_rng(seed)
    steps = []
    for step in range(STEPS):
        grads = [rng.standard_normal(shape) for shape in SHAPES]
        if step == 2:
            grads[1] = None  # no backward pass reached it: both libraries skip it
        steps.append(grads)
    return steps


def _assert_steps_match_torch(torch, make_ours, make_theirs, seed=0):
    """Apply the same gradients with both optimizers; compare every parameter after each step."""
    rng = np.random.default_rng(seed + 100)
    start = [rng.standard_normal(shape) for shape in SHAPES]
    ours = [Tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt, ref = make_ours(ours), make_theirs(theirs)
    for step, grads in enumerate(_gradient_sequence(seed)):
        opt.zero_grad()
        ref.zero_grad()
        for p, q, g in zip(ours, theirs, grads):
            if g is not None:
                p.grad = g.copy()
                q.grad = torch.from_numpy(g.copy())
        opt.step()
        ref.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(
                p.data, q.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=f"step {step} p{i}"
            )
    return ours


SGD_SETTINGS = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.01},
    {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
]


@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=lambda s: ",".join(s))
def test_sgd_matches_torch_step_by_step(settings):
    torch = pytest.importorskip("torch")
    _assert_steps_match_torch(
        torch,
        lambda ps: optim.SGD(ps, **settings),
        lambda ps: torch.optim.SGD(ps, **settings),
    )


ADAM_SETTINGS = [
    {},
    {"lr": 0.01, "betas": (0.8, 0.99)},
    {"lr": 0.003, "eps": 1e-6, "weight_decay": 0.05},
]


@pytest.mark.parametrize("settings", ADAM_SETTINGS, ids=lambda s: ",".join(s) or "defaults")
def test_adam_matches_torch_step_by_step(settings):
    torch = pytest.importorskip("torch")
    _assert_steps_match_torch(
        torch,
        lambda ps: optim.Adam(ps, **settings),
        lambda ps: torch.optim.Adam(ps, **settings),
    )


def test_plain_sgd_is_p_minus_lr_g():
    """Closed form, no torch needed: one step moves p by −lr·g exactly."""
    p = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    p.grad = np.array([0.5, 0.25, -1.0])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, [1.0 - 0.05, -2.0 - 0.025, 3.0 + 0.1])


def test_first_adam_step_moves_each_entry_by_lr():
    """Closed form: at t = 1, m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign g."""
    p = Tensor(np.array([1.0, 1.0, 1.0]), requires_grad=True)
    p.grad = np.array([3.0, -0.001, 1e4])
    optim.Adam([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(p.data, [0.99, 1.01, 0.99], rtol=1e-14)


def test_steps_update_in_place_and_training_reduces_the_loss():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(5, 8, rng=rng), nn.Tanh(), nn.Linear(8, 3, rng=rng))
    X, y = rng.standard_normal((32, 5)).astype(np.float32), rng.integers(0, 3, 32)
    arrays = [p.data for p in model.parameters()]
    for opt in (optim.SGD(model.parameters(), 0.5, momentum=0.9), optim.Adam(model.parameters())):
        first = cross_entropy(model(X), y).item()
        for _ in range(20):
            loss = cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert loss.item() < first
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_zero_grad_sets_none():
    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = np.ones(2)
    opt = optim.SGD([p], lr=1.0)
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # nothing to do: no gradient
    np.testing.assert_array_equal(p.data, np.ones(2))


def test_bad_arguments_are_named():
    p = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="SGD: lr must be positive and finite, got 0.0"):
        optim.SGD([p], lr=0)
    with pytest.raises(ValueError, match="SGD: momentum must be at least 0"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum > 0"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="parameter 0 .* does not require grad"):
        optim.SGD([Tensor(np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="parameter 1 .* came from mul"):
        optim.SGD([p, p * 2], lr=0.1)
    with pytest.raises(ValueError, match="listed twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="must be a list of Tensors"):
        optim.Adam(p)
    with pytest.raises(ValueError, match=r"Adam: betas must be two numbers in \[0, 1\)"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Adam: lr must be positive and finite, got nan"):
        optim.Adam([p], lr=float("nan"))


def test_a_gradient_of_another_shape_is_refused_before_any_parameter_moves():
    """numpy would broadcast a (1,) gradient over all three entries, and fail deep inside
    the update for a (3, 1) one; torch refuses at assignment."""
    first = Tensor(np.zeros(2), requires_grad=True)
    q = Tensor(np.ones(3), requires_grad=True)
    for bad in (np.array([1.0]), np.ones((3, 1)), [1.0, 2.0, 3.0]):
        for optimizer in (
            optim.SGD([first, q], lr=0.1),
            optim.SGD([first, q], lr=0.1, momentum=0.9),
            optim.Adam([first, q]),
        ):
            first.grad, q.grad = np.ones(2), bad
            with pytest.raises(ValueError, match="parameter 1 has shape \\(3,\\) but its grad"):
                optimizer.step()
            np.testing.assert_array_equal(first.data, [0.0, 0.0])  # nothing moved
            np.testing.assert_array_equal(q.data, [1.0, 1.0, 1.0])


def test_adams_step_count_loads_as_torch_saves_it_and_must_be_whole():
    p = Tensor(np.ones(3), requires_grad=True)
    adam = optim.Adam([p])
    state = {
        "state": {0: {"step": np.array(2.0), "exp_avg": np.zeros(3), "exp_avg_sq": np.zeros(3)}},
        "param_groups": [
            {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": [0]}
        ],
    }
    adam.load_state_dict(state)  # torch saves step as a 0-d float tensor
    assert adam.state_dict()["state"][0]["step"] == 2
    for bad in (-5, 1.5, np.ones(2)):
        state["state"][0]["step"] = bad
        with pytest.raises(ValueError, match="parameter 0's step must be a whole number"):
            adam.load_state_dict(state)
