"""The graph walk shared by scalargrad's `Value` and vecgrad's `Tensor`.

Both node types follow one small protocol, so one backward pass serves both:

    node.data      the number (or array) computed by the forward pass
    node.grad      the adjoint ∂root/∂node accumulated by backward passes
    node.parents   the operands, an ordered tuple (``a*a`` has two slots)
    node.op        the op that made the node (None for an input)
    node.name      a label for drawings and traces ("" for none)
    node.requires_grad          False for constants: the walk does not enter them
    node.accumulate_grad(g, partials)  adds one backward pass's adjoint g into
                                ``node.grad``; g is the sum of ``partials``, the
                                (child, slot, value) terms the node received. How the
                                node stores g (copied or not) is the node's business.

An op has ``backward(g)``: given the node's full adjoint ḡ it returns one partial
adjoint per parent slot (None where that parent needs none).

Nodes are dict keys by identity: a node type that overrides ``__eq__`` (elementwise, like
a tensor's) keeps ``__hash__ = object.__hash__``, as PyTorch's Tensor does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from copy import copy
from typing import Any, NamedTuple


def topological_order(root: Any) -> list:
    """Return every node reachable from ``root``, each after all of its parents.

    Nodes come in the order the lecture notes number them: all inputs first, then
    ops level by level (an op's level is one more than its deepest operand's), and
    within a level in depth-first order of the operands. The result is deterministic.
    The walk is an explicit stack, not recursion, so a chain of a million ops works.
    """
    level = {root: -1}  # node -> its level; -1 while the node is still on the stack
    by_level: list[list] = []  # grouping by level keeps post-order within a level
    stack = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in level:
                if not parent.parents:  # an input: level 0 at once, no need to stack it
                    level[parent] = 0
                    if not by_level:
                        by_level.append([])
                    by_level[0].append(parent)
                    continue
                level[parent] = -1
                stack.append((parent, iter(parent.parents)))
                break
        else:  # every parent is placed: place the node one level above the deepest
            stack.pop()
            node_level = 0
            for parent in node.parents:
                if level[parent] >= node_level:
                    node_level = level[parent] + 1
            level[node] = node_level
            if node_level == len(by_level):
                by_level.append([])
            by_level[node_level].append(node)
    return [node for nodes in by_level for node in nodes]


class PartialAdjoint(NamedTuple):
    """One term of a node's adjoint: ``child``'s adjoint times ∂child/∂node at ``slot``."""

    child: Any  # the node whose op sent this term (None for the seed of the root)
    slot: int  # which operand slot of child.op the node sits in
    value: Any  # the term's value


class BackwardStep(NamedTuple):
    """One step of reverse mode: a node's full adjoint as the sum of its partials."""

    node: Any
    adjoint: Any
    partials: tuple  # of PartialAdjoint, in the order they arrived


def backward_steps(
    root: Any,
    seed: Any = 1.0,
    vjp: Callable[[Any, Any], tuple] | None = None,
) -> Iterator[BackwardStep]:
    """Yield one `BackwardStep` per node, in reverse topological order, as the pass runs.

    This *is* the backward pass: each step adds the node's adjoint into ``node.grad``
    and sends one partial adjoint to each parent (v̄_i = Σ_children v̄_child·∂v_child/∂v_i).
    ``Value.backward()`` runs the same steps to the end. ``vjp(node, adjoint)`` replaces
    ``node.op.backward(adjoint)`` where a caller needs another rule (vecgrad's
    ``create_graph``).
    """
    for node, adjoint, partials in _steps(root, seed, vjp):
        # A step is a snapshot: the node may keep its adjoint (its one partial) as its
        # gradient, which later passes or the user may change. (A float copies for free.)
        snapshot = copy(adjoint)
        terms = tuple(
            PartialAdjoint(child, slot, snapshot if value is adjoint else value)
            for child, slot, value in partials
        )
        yield BackwardStep(node, snapshot, terms)


def backward(root: Any, seed: Any = 1.0, vjp: Callable | None = None) -> None:
    """Run the whole backward pass from ``root`` (the steps of `backward_steps`)."""
    deque(_steps(root, seed, vjp), maxlen=0)  # consume at C speed, keep nothing


def _steps(root, seed, vjp):
    """The backward pass itself, as plain tuples (named by `backward_steps`)."""
    received = {root: [(None, 0, seed)]}  # node -> its partial adjoints so far
    for node in reversed(topological_order(root)):
        partials = received.pop(node, None)
        if partials is None:  # reached only through constants: nothing flows here
            continue
        adjoint = partials[0][2]
        for extra in partials[1:]:  # the full adjoint is the sum of the partial adjoints
            adjoint = adjoint + extra[2]  # out of place: never alias a parent's array
        node.accumulate_grad(adjoint, partials)
        yield node, adjoint, partials
        op = node.op
        if op is None:
            continue
        partials_out = op.backward(adjoint) if vjp is None else vjp(node, adjoint)
        for slot, (parent, partial) in enumerate(zip(node.parents, partials_out)):
            if partial is not None and parent.requires_grad:
                if parent in received:
                    received[parent].append((node, slot, partial))
                else:
                    received[parent] = [(node, slot, partial)]
