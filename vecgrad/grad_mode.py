"""Grad mode: whether ops record the graph (``with vecgrad.no_grad():`` turns it off).

Evaluation and optimizer steps need no graph; recording one there only costs memory
and time. The switch is per thread, so a data-loading thread cannot turn off another
thread's recording.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar


class _State(threading.local):
    enabled = True  # each thread starts with grad mode on (a class default: a fast lookup)


_state = _State()

F = TypeVar("F", bound=Callable)


def is_grad_enabled() -> bool:
    """Return True when ops record the graph (the default)."""
    return _state.enabled


class _GradMode:
    """A context manager (and decorator) that sets grad mode and restores it on exit."""

    __slots__ = ("enabled", "previous")

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.previous: list[bool] = []  # a stack, so one object can be entered twice

    def __enter__(self) -> None:
        self.previous.append(is_grad_enabled())
        _state.enabled = self.enabled

    def __exit__(self, *exc_info) -> None:
        _state.enabled = self.previous.pop()

    def __call__(self, function: F) -> F:
        @wraps(function)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _GradMode:
    """Return a context manager inside which ops record nothing (results need no grad).

    >>> with no_grad():
    ...     prediction = model(x)   # no graph: fast, and nothing to free
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Return a context manager that records the graph again (inside a ``no_grad``)."""
    return _GradMode(True)
