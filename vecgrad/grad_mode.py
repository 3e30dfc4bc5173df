"""Grad mode: whether ops record the graph (``with vecgrad.no_grad():`` turns it off).

Evaluation and optimizer steps need no graph; recording one there only costs memory
and time. The switch is per thread, so a data-loading thread cannot turn off another
thread's recording.
"""

from __future__ import annotations

from scalargrad.switch import Setting, Switch

_mode = Switch(True)
_state = _mode.state


def is_grad_enabled() -> bool:
    """Return True when ops record the graph (the default)."""
    return _state.enabled


def no_grad() -> Setting:
    """Return a context manager inside which ops record nothing (results need no grad).

    >>> with no_grad():
    ...     prediction = model(x)   # no graph: fast, and nothing to free
    """
    return _mode.setting(False)


def enable_grad() -> Setting:
    """Return a context manager that records the graph again (inside a ``no_grad``)."""
    return _mode.setting(True)
