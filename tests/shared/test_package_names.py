"""A misspelled name on either package is answered with the closest public one."""

from __future__ import annotations

import re

import pytest


def test_a_misspelled_package_name_is_answered_with_the_closest_one():
    import scalargrad
    import vecgrad

    for module, typo, hint in [
        (vecgrad, "no_float_check", "did you mean vecgrad.no_float_checks?"),
        (vecgrad, "optm", "did you mean vecgrad.optim?"),
        (scalargrad, "draw_grpah", "did you mean scalargrad.draw_graph?"),
    ]:
        with pytest.raises(AttributeError, match=re.escape(hint)):
            getattr(module, typo)
    assert not hasattr(vecgrad, "__no_such_dunder__")
