"""Forward against reverse mode: the Jacobian of f: Rⁿ → Rᵐ by n JVPs or by m VJPs.

    python benchmarks/bench_jacobian.py            # n, m ∈ {1, 4, 16, 64, 256}
    python benchmarks/bench_jacobian.py --sizes 1 8 64 --markdown

f(x) = tanh(W2·tanh(W1·x)) with W1: (hidden, n), W2: (m, hidden), float64. Forward mode
(`vecgrad.forward.Dual`) runs f once per input entry and gets a column each time; reverse
mode runs f once and then one backward pass per output entry, a row each. Both fill the
same Jacobian (checked), and the pass counts come from ``vecgrad.jacobian`` itself: the
course's argument, O(n·cost f) against O(m·cost f), measured. Each time is the best of
``repeats`` runs, so a busy machine's spikes do not count.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import numpy as np

import vecgrad
from scalargrad.display.tables import Table


@dataclass
class Config:
    sizes: list[int] = field(default_factory=lambda: [1, 4, 16, 64, 256])  # n and m values
    hidden: int = 32  # width of the hidden layer of f
    repeats: int = 3  # best of this many timings per Jacobian
    seed: int = 0  # for the weights and the point x


def best_time(run, repeats: int) -> tuple[float, object]:
    """The fastest of ``repeats`` runs, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(config: Config) -> Table:
    """Time both modes for every (n, m) and return the rows as a `Table`."""
    rng = np.random.default_rng(config.seed)
    rows = []
    for n in config.sizes:
        for m in config.sizes:
            W1 = rng.standard_normal((config.hidden, n)) / np.sqrt(n)
            W2 = rng.standard_normal((m, config.hidden)) / np.sqrt(config.hidden)
            x = rng.standard_normal(n)

            def f(x, W1=W1, W2=W2):
                return np.tanh(W2 @ np.tanh(W1 @ x))  # Tensors and duals alike

            t_fwd, fwd = best_time(
                lambda f=f, x=x: vecgrad.jacobian(f, x, "forward"), config.repeats
            )
            t_rev, rev = best_time(
                lambda f=f, x=x: vecgrad.jacobian(f, x, "reverse"), config.repeats
            )
            np.testing.assert_allclose(fwd.value, rev.value, rtol=1e-10, atol=1e-12)
            winner = "forward" if t_fwd < t_rev else "reverse"
            ratio = max(t_fwd, t_rev) / min(t_fwd, t_rev)
            rows.append(
                [
                    str(n),
                    str(m),
                    _passes(fwd.passes, "JVP"),
                    f"{t_fwd * 1e3:.2f}",
                    _passes(rev.passes, "VJP"),
                    f"{t_rev * 1e3:.2f}",
                    f"{winner} ×{ratio:.1f}",
                ]
            )
    header = ["n", "m", "forward", "ms", "reverse", "ms", "faster"]
    return Table(f"Jacobian of tanh(W2·tanh(W1·x)), hidden {config.hidden}", header, rows)


def _passes(count: int, kind: str) -> str:
    return f"{count} {kind}" + ("s" if count != 1 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=Config().sizes)
    parser.add_argument("--hidden", type=int, default=Config.hidden)
    parser.add_argument("--repeats", type=int, default=Config.repeats)
    parser.add_argument("--seed", type=int, default=Config.seed)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.hidden < 1 or args.repeats < 1:
        parser.error("sizes, --hidden and --repeats must be positive")
    config = Config(args.sizes, args.hidden, args.repeats, args.seed)
    table = measure(config)
    print(table.to_markdown() if args.markdown else table.to_text())


if __name__ == "__main__":
    main()
