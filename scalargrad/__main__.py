"""``python -m scalargrad``: the same as the ``scalargrad`` command."""

import sys

from .apps.cli import main

sys.exit(main())
