"""The graph walk: deep chains, reused nodes, order, accumulation, and no reference cycles."""

from __future__ import annotations

import gc

import pytest

from scalargrad import Value, backward_steps, log, sin, topological_order


def test_million_op_chain_backward():
    x = Value(0.5)
    node = x
    for i in range(1_000_000):
        node = node * 1.000001 if i % 2 else node + 0.25
    node.backward()
    assert x.grad == pytest.approx(1.000001**500_000)


def test_reused_node_gradients_add():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0


def test_a_times_a_keeps_two_parent_slots():
    a = Value(3.0)
    b = a * a
    assert b.parents == (a, a)
    b.backward()
    assert a.grad == 6.0


def test_operand_order_is_kept_for_reflected_ops():
    x = Value(2.0)
    y = 10 - x
    assert y.parents[1] is x and y.parents[0].data == 10.0
    assert y.data == 8.0


def test_topological_order_is_the_lecture_numbering_and_deterministic():
    x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
    v7 = log(x1) + x1 * x2 - sin(x2)
    order = topological_order(v7)
    assert [n.name or n.op.symbol for n in order] == ["x1", "x2", "ln", "×", "sin", "+", "−"]
    assert all([id(n) for n in topological_order(v7)] == [id(n) for n in order] for _ in range(5))
    assert order[-1] is v7


def test_full_adjoint_is_the_sum_of_partial_adjoints():
    x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
    y = log(x1) + x1 * x2 - sin(x2)
    steps = {step.node.name: step for step in backward_steps(y) if step.node.name}
    for name in ("x1", "x2"):
        step = steps[name]
        assert len(step.partials) == 2
        assert step.adjoint == pytest.approx(sum(p.value for p in step.partials))
    assert steps["x1"].adjoint == pytest.approx(5.5)  # v̄1 = v̄3/v1 + v̄4·v2 = 0.5 + 5
    assert sorted(p.value for p in steps["x1"].partials) == pytest.approx([0.5, 5.0])


def test_gradients_accumulate_across_backward_calls_like_pytorch():
    torch = pytest.importorskip("torch")
    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    tx = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    ty = tx * tx
    ty.backward(retain_graph=True)
    ty.backward()
    assert x.grad == tx.grad.item() == 12.0
    x.zero_grad()
    assert x.grad == 0.0


def test_backward_from_an_intermediate_node():
    x, y = Value(2.0), Value(3.0)
    s = x * y
    _ = s + 1.0
    s.backward()
    assert (x.grad, y.grad) == (3.0, 2.0)


def test_constants_get_no_gradient_and_are_not_entered():
    x = Value(2.0)
    y = 3.0 * x
    y.backward()
    constant = y.parents[0]
    assert not constant.requires_grad and constant.grad == 0.0 and constant.name == "3"


def test_graph_is_freed_without_the_cyclic_collector():
    """Deleting the root frees the whole graph by reference counting: nothing is left
    for the cyclic collector (micrograd's closures leave every node in a cycle)."""
    x = Value(1.5)

    def build_and_drop():
        y = (x * x).tanh() + x.exp() * 2.0 - x.sigmoid().log()
        for _ in range(200):
            y = y * 0.999 + x
        y.backward()

    gc.collect()
    gc.disable()
    try:
        build_and_drop()
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0, f"{unreachable} objects were only freed by the cyclic collector"
    assert x.grad != 0.0


def test_ops_do_not_hold_their_output():
    x = Value(2.0)
    y = x.tanh()
    assert all(slot_value is not y for slot_value in _slot_values(y.op))


def _slot_values(op):
    return [getattr(op, s) for s in type(op).__slots__ if hasattr(op, s)]
