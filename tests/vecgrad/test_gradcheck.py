"""``vecgrad.gradcheck``: passes on correct gradients, and on a wrong one names the op.

Correct ops (the shared op table, shape ops, the fused losses) must pass in float64. Then
a backward rule is broken on purpose (monkeypatched, undone after each test) and the
report must name exactly that op, its node, operand slot and shapes; a kink, a cut graph
and float32 are explained rather than blamed on an op.
"""

from __future__ import annotations

import numpy as np
import pytest

import vecgrad
from tests.shared.op_table import OPS
from vecgrad import Tensor, array_ops, ops, softmax_ops
from vecgrad import functional as F
from vecgrad.gradcheck import Culprit, GradcheckError, GradcheckReport


def _fair_inputs(case, shapes, seed=0):
    rng = np.random.default_rng(seed)
    while True:
        xs = [rng.uniform(case.low, case.high, size=s) for s in shapes]
        if case.away_from is None:
            return xs
        if np.vectorize(case.away_from, otypes=[bool])(*np.broadcast_arrays(*xs)).all():
            return xs


# ---- correct gradients pass ------------------------------------------------------------


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_every_op_of_the_table_passes(case):
    xs = _fair_inputs(case, [(2, 3), (3,)][: case.arity])
    report = vecgrad.gradcheck(lambda *ts: case.apply(vecgrad, *ts), xs)
    assert report.ok and bool(report) and report.culprit is None


@pytest.mark.parametrize(
    "f, shapes",
    [
        (lambda x, W: x @ W, [(3, 4), (4, 2)]),
        (lambda x, W: x @ W, [(2, 3, 4), (4,)]),
        (lambda x: x.sum(axis=0) * x.mean(axis=1, keepdims=True), [(3, 4)]),
        (lambda x: x.max(axis=1), [(3, 4)]),
        (lambda x: x.reshape(4, 3).T[1:, ::2], [(3, 4)]),
        (lambda x: x[np.array([0, 2, 0])] * 2, [(3, 4)]),
        (lambda a, b: vecgrad.concatenate([a, b], axis=1).tanh(), [(2, 3), (2, 1)]),
        (lambda a, b: vecgrad.stack([a, b.exp()], axis=0).sum(axis=1), [(2, 3), (2, 3)]),
        (lambda z: F.softmax(z) * F.log_softmax(z, axis=0), [(3, 4)]),
        (lambda z: F.cross_entropy(z, np.array([0, 2, 1])), [(3, 4)]),
        (lambda z: F.nll_loss(F.log_softmax(z), np.array([3, 0, 1])), [(3, 4)]),
        (lambda x, b: (x + b).sigmoid(), [(3, 4), (4,)]),  # b broadcast: a BroadcastTo node
    ],
)
def test_shape_ops_and_losses_pass(f, shapes):
    rng = np.random.default_rng(1)
    report = vecgrad.gradcheck(f, [rng.standard_normal(s) for s in shapes])
    assert report.ok


def test_lecture_example_on_numbers_and_float32_inputs_are_promoted():
    report = vecgrad.gradcheck(
        lambda x1, x2: vecgrad.log(x1) + x1 * x2 - vecgrad.sin(x2), [2.0, 5.0]
    )
    assert [c.name for c in report.inputs] == ["x1", "x2"]
    # uᵀ·J for a random scalar u: the ratio of the two partials is the lecture's 5.5 / 1.716
    ratio = float(report.inputs[0].engine / report.inputs[1].engine)
    assert ratio == pytest.approx(5.5 / (2 - np.cos(5.0)), rel=1e-12)
    x32 = np.ones(3, dtype=np.float32)
    assert vecgrad.gradcheck(lambda x: (x * x).sum(), x32).ok  # run in float64 regardless


def test_report_table_renders():
    rng = np.random.default_rng(2)
    report = vecgrad.gradcheck(
        lambda W, x: (W @ x).tanh(), [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    )
    text = report.table().to_text()
    assert "∂f/∂W" in text and "(2, 3)" in text and "ok" in text
    assert "matches central differences for W, x" in report.message


# ---- a wrong backward is named ----------------------------------------------------------


def _check_culprit(report: GradcheckReport, op_class, slot: int, operand_shape, output_shape):
    assert not report.ok
    culprit = report.culprit
    assert isinstance(culprit, Culprit) and not culprit.at_kink
    assert type(culprit.op) is op_class
    assert culprit.slot == slot
    assert culprit.operand_shape == operand_shape and culprit.output_shape == output_shape
    assert op_class.__name__ in report.message and culprit.node in report.message
    return culprit


def test_wrong_tanh_backward_is_named(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "backward", lambda self, g: (g * (1 - self.out),))
    rng = np.random.default_rng(3)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    with pytest.raises(GradcheckError) as error:
        vecgrad.gradcheck(lambda W, x: (W @ x).tanh().sum() * x.exp().mean(), [W, x])
    culprit = _check_culprit(error.value.report, ops.Tanh, 0, (3,), (3,))
    assert "tanh(" in culprit.formula
    assert "Tanh (tanh) at" in str(error.value)


def test_wrong_matmul_backward_names_the_slot(monkeypatch):
    right = array_ops.MatMul.backward

    def wrong(self, g):  # W̄ forgets to transpose x: xᵀ·ḡ becomes x·ḡ (square shapes)
        gx, _ = right(self, g)
        return gx, self.x @ g

    monkeypatch.setattr(array_ops.MatMul, "backward", wrong)
    rng = np.random.default_rng(4)
    x, W = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    report = vecgrad.gradcheck(lambda x, W: (x @ W).sin(), [x, W], raise_exception=False)
    assert report.inputs[0].ok and not report.inputs[1].ok  # only W's gradient is wrong
    culprit = _check_culprit(report, array_ops.MatMul, 1, (3, 3), (3, 3))
    assert culprit.operand == "W" and culprit.formula == "x @ W"


def test_wrong_broadcast_backward_is_named(monkeypatch):
    """The one place where broadcast gradients are summed: averaging instead is caught."""
    monkeypatch.setattr(
        array_ops.BroadcastTo,
        "backward",
        lambda self, g: (array_ops.unbroadcast(g, self.in_shape) / 3,),
    )
    rng = np.random.default_rng(5)
    report = vecgrad.gradcheck(
        lambda x, b: (x + b).tanh(),
        [rng.standard_normal((3, 2)), rng.standard_normal(2)],
        raise_exception=False,
    )
    assert report.inputs[0].ok and not report.inputs[1].ok
    _check_culprit(report, array_ops.BroadcastTo, 0, (2,), (3, 2))


def test_wrong_softmax_backward_is_named(monkeypatch):
    monkeypatch.setattr(softmax_ops.Softmax, "backward", lambda self, g: (self.out * g,))
    z = np.random.default_rng(6).standard_normal((2, 4))
    report = vecgrad.gradcheck(lambda z: F.softmax(z * 2) ** 2, [z], raise_exception=False)
    _check_culprit(report, softmax_ops.Softmax, 0, (2, 4), (2, 4))


def test_the_first_wrong_op_is_named_not_a_later_one(monkeypatch):
    """With Mul broken, the first Mul on the path is named, though later ops feed on it."""
    monkeypatch.setattr(ops.Mul, "backward", lambda self, g: (g * self.y * 2, g * self.x))
    x = np.random.default_rng(7).standard_normal(3)
    report = vecgrad.gradcheck(lambda x: ((x * x).exp() * 3).sum(), [x], raise_exception=False)
    culprit = _check_culprit(report, ops.Mul, 0, (3,), (3,))
    assert culprit.node == "v2" and culprit.formula == "x × x"


def test_a_backward_of_the_wrong_shape_is_named(monkeypatch):
    """The engine's pass fails (deep inside numpy); gradcheck still names the op."""
    monkeypatch.setattr(array_ops.Reshape, "backward", lambda self, g: (g,))  # forgot to reshape
    x = np.random.default_rng(8).standard_normal((2, 3))
    with pytest.raises(GradcheckError) as error:
        vecgrad.gradcheck(lambda x: x.sin().reshape(3, 2).exp(), [x])
    report = error.value.report
    assert report.engine_error and not report.ok
    assert type(report.culprit.op) is array_ops.Reshape
    assert "backward pass itself failed" in str(error.value)
    assert "backward returned shape (3, 2) for this operand" in str(error.value)


# ---- what is not a wrong backward --------------------------------------------------------


def test_a_kink_is_explained_not_blamed():
    report = vecgrad.gradcheck(
        lambda x: (x * 2 - 1).relu().sum(), [np.array([0.5, 1.0])], raise_exception=False
    )
    assert not report.ok and report.culprit.at_kink
    assert type(report.culprit.op) is ops.ReLU
    assert "kink or tie" in report.message and "move the point" in report.message


def test_a_cut_graph_is_explained():
    report = vecgrad.gradcheck(
        lambda x: Tensor(x.data * 2).sum(), [np.ones(3)], raise_exception=False
    )
    assert report.graph_cut and not report.ok
    assert "does not depend on the inputs through the graph" in report.message


def test_bad_use_is_refused_clearly():
    with pytest.raises(TypeError, match="float64"):
        vecgrad.gradcheck(lambda x: vecgrad.ones(3) * 2, [np.ones(3)])
    with pytest.raises(TypeError, match="must return a vecgrad Tensor"):
        vecgrad.gradcheck(lambda x: float(x.data.sum()), [np.ones(3)])
    with pytest.raises(ValueError, match="2 inputs but 1 names"):
        vecgrad.gradcheck(lambda a, b: a * b, [1.0, 2.0], names=["a"])
    with pytest.raises(ValueError, match="infinite"):
        vecgrad.gradcheck(lambda x: x * 2, [np.array([1.0, np.inf])])


def test_each_failing_input_gets_its_culprit_and_the_first_is_named(monkeypatch):
    """The search of scalargrad/gradcheck.py, per input: x meets the broken Exp before Mul."""
    monkeypatch.setattr(ops.Exp, "backward", lambda self, g: (g * self.out * 2,))
    rng = np.random.default_rng(9)
    W, x = rng.standard_normal((3, 2)), rng.standard_normal(2)
    report = vecgrad.gradcheck(lambda W, x: (W @ x.exp()).sin(), [W, x], raise_exception=False)
    assert report.inputs[0].ok and not report.inputs[1].ok  # W's path never meets Exp
    assert list(report.culprits) == ["x"] and type(report.culprit.op) is ops.Exp
    assert "first op on the path from x where they disagree: Exp (exp)" in report.message
    assert "(ḡ random)" in report.message and "gradcheck (uᵀ·J, u random)" in str(
        report.table().to_text()
    )
