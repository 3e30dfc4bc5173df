"""vecgrad.apps.descent: descend's path against the closed form, the drawings, the animation."""

from __future__ import annotations

import numpy as np
import pytest

from vecgrad import optim
from vecgrad.apps.descent import Path, animate_paths, descend, draw_paths, to_html


def quadratic(theta):
    # J(θ) = (θ₁ − 3)² + 10·θ₂²: on a Tensor of shape (2,) or a grid of shape (2, rows, columns).
    return (theta[0] - 3) ** 2 + 10 * theta[1] ** 2


def test_descend_follows_the_closed_form_of_plain_gradient_descent():
    # θ₁ − 3 shrinks by 1 − 2α per step and θ₂ by 1 − 20α: θ⁽ᵏ⁾ is known exactly.
    alpha, steps = 0.04, 12
    path = descend(quadratic, [0.0, 1.0], lambda params: optim.SGD(params, lr=alpha), steps)
    k = np.arange(steps + 1)
    expected = np.stack([3 - 3 * (1 - 2 * alpha) ** k, (1 - 20 * alpha) ** k], axis=1)
    assert isinstance(path, Path) and path.steps == steps
    assert path.points.shape == (steps + 1, 2) and path.values.shape == (steps + 1,)
    np.testing.assert_allclose(path.points, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(path.values, quadratic(expected.T), rtol=1e-12, atol=1e-15)


def test_descend_keeps_the_start_and_the_shape_of_a_scalar_parameter():
    path = descend(lambda t: (t - 3) ** 2, 0.0, lambda params: optim.SGD(params, lr=0.5), 3)
    assert path.points.shape == (4,)
    assert path.points.tolist() == [0.0, 3.0, 3.0, 3.0]  # α = 1/L: one step to the minimum
    assert path.values.tolist() == [9.0, 0.0, 0.0, 0.0]


def test_descend_gives_up_on_a_diverging_run_before_it_overflows():
    path = descend(lambda t: (t - 3) ** 2, 0.0, lambda params: optim.SGD(params, lr=1.5), 10_000)
    assert path.steps < 200 and path.values[-1] > 1e100 and np.isfinite(path.values).all()
    assert np.all(np.diff(path.values) > 0)  # each step lands farther from the minimum


def test_descend_runs_momentum_and_adam_to_the_minimum():
    for make in (
        lambda params: optim.SGD(params, lr=0.02, momentum=0.9),
        lambda params: optim.Adam(params, lr=0.1),
    ):
        path = descend(quadratic, [0.0, 1.0], make, 400)
        np.testing.assert_allclose(path.points[-1], [3.0, 0.0], atol=1e-3)


def test_descend_refuses_a_negative_number_of_steps():
    with pytest.raises(ValueError, match="steps must be at least 0, got -1"):
        descend(quadratic, [0.0, 0.0], lambda params: optim.SGD(params, lr=0.1), -1)


def _paths():
    return {
        "SGD": descend(quadratic, [0.0, 1.0], lambda p: optim.SGD(p, lr=0.04), 10),
        "Adam": descend(quadratic, [0.0, 1.0], lambda p: optim.Adam(p, lr=0.3), 20),
    }


def test_draw_paths_draws_one_line_per_path_with_title_and_labels():
    ax = draw_paths(quadratic, _paths(), (-1, 4), (-1.5, 1.5), minimum=(3, 0), title="J")
    assert ax.get_title() == "J" and ax.get_xlabel() == "θ₁" and ax.get_ylabel() == "θ₂"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["SGD", "Adam", "minimum"]
    assert ax.get_lines()[0].get_xydata().shape == (11, 2)


def test_animate_paths_grows_each_path_to_its_end_and_renders_self_contained_html():
    paths = _paths()
    animation = animate_paths(quadratic, paths, (-1, 4), (-1.5, 1.5), frames=5)
    ax = animation._fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    sgd, adam = ax.get_lines()[:2]
    animation._func(0)
    assert len(sgd.get_xdata()) == 1 and len(adam.get_xdata()) == 1
    animation._func(4)  # the last frame: every path is drawn in full
    assert len(sgd.get_xdata()) == 11 and len(adam.get_xdata()) == 21
    html = to_html(animation)
    assert html.count("data:image/png;base64") == 5
    assert "http://" not in html and "https://" not in html  # nothing fetched from a network
    assert "<link" not in html and 'class="fa' not in html  # no icon font: symbols instead
    assert "▶" in html and "⏸" in html and "<script" in html
