"""A per-thread on/off setting, and the context manager (also a decorator) that sets it.

vecgrad's grad mode (``no_grad()``) and the float checks of both packages
(``no_float_checks()``) are two such switches. Per thread, so that one thread turning a
switch off never changes another's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

F = TypeVar("F", bound=Callable)


class Switch:
    """One on/off setting per thread; every thread starts at ``default``."""

    __slots__ = ("state",)

    def __init__(self, default: bool):
        # A class attribute as the default: each thread starts there, and reads it fast.
        self.state = type("State", (threading.local,), {"enabled": default})()

    def is_on(self) -> bool:
        return self.state.enabled

    def setting(self, enabled: bool) -> Setting:
        """A context manager (and decorator) that sets the switch and restores it on exit."""
        return Setting(self.state, enabled)


class Setting:
    """Sets a switch on entry and restores it on exit; also a decorator."""

    __slots__ = ("state", "enabled", "previous")

    def __init__(self, state: threading.local, enabled: bool):
        self.state, self.enabled = state, enabled
        self.previous: list[bool] = []  # a stack, so one object can be entered twice

    def __enter__(self) -> None:
        self.previous.append(self.state.enabled)
        self.state.enabled = self.enabled

    def __exit__(self, *exc_info) -> None:
        self.state.enabled = self.previous.pop()

    def __call__(self, function: F) -> F:
        @wraps(function)
        def wrapper(*args, **kwargs):
            with Setting(self.state, self.enabled):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
