"""Print the N-th fenced ```bash block of README.md (1-based), exactly as written.

`.ci/run` runs the README's first two blocks through this, so CI types what a newcomer
types: if the README's command is wrong, CI fails.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def bash_blocks(text: str) -> list[str]:
    """The bodies of the README's ```bash fences, in order."""
    return re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)


def main() -> None:
    index = int(sys.argv[1])
    blocks = bash_blocks(README.read_text(encoding="utf-8"))
    if not 1 <= index <= len(blocks):
        sys.exit(f"readme_block: README.md has {len(blocks)} bash blocks, asked for {index}")
    sys.stdout.write(blocks[index - 1])


if __name__ == "__main__":
    main()
