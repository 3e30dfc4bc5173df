"""The ``vecgrad-mnist`` command: ``train`` (the default), ``sweep`` and ``predict``.

    vecgrad-mnist --data-dir ../shared/data/mnist-5k             # = vecgrad-mnist train ...
    vecgrad-mnist sweep --data-dir ../shared/data/mnist-5k --l2 0 1e-4 --runs 5
    vecgrad-mnist predict --model out/mnist/model.npz --test-index 7 --data-dir ...
    python -m vecgrad.apps.cli ...                                # the same, as a module

Each command's flags and runner live with the command (`vecgrad.apps.train_mnist`,
`vecgrad.apps.sweep`, `vecgrad.apps.predict`); this module only dispatches, sets the BLAS
thread count (``--threads``) and turns a closed pipe (``vecgrad-mnist … | head``) into a
quiet exit, as Unix tools do.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import signal
import sys
from collections.abc import Iterator

from . import predict, sweep, train_mnist

# One BLAS thread: these matrices (a batch of 100×784 by 784×100) gain little from a second
# one, and on a machine whose cores are busy the threads wait for each other
# (benchmarks/bench_threads.py on 2 busy cores: 0.17 s per epoch on the 5k set with one
# thread, 4.2 s with two; Fashion-MNIST 1.8 s against 30 s).
DEFAULT_THREADS = 1

COMMANDS = {
    "train": (
        train_mnist.add_train_arguments,
        train_mnist.run_train,
        "train one MLP (the default command)",
    ),
    "sweep": (
        sweep.add_sweep_arguments,
        sweep.run_sweep,
        "train one MLP per (λ, seed); table of accuracy",
    ),
    "predict": (
        predict.add_predict_arguments,
        predict.run_predict,
        "classify images with a saved model; top-3 probabilities",
    ),
}


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line (and exit status 2), not the usage text, with
    the closest flag for a typo; and no abbreviations (``--epoch`` is a typo, not --epochs)."""

    known_options: set = set()  # every command's flags, for "did you mean" (build_parser)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        unknown = re.match(r"unrecognized arguments: (-\S+)", message)
        if unknown:
            options = self.known_options or set(self._option_string_actions)
            close = difflib.get_close_matches(unknown.group(1), sorted(options), n=1)
            if close:
                message += f" (did you mean {close[0]}?)"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@contextlib.contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """Exit quietly, status 141 (128 + SIGPIPE, as a Unix tool), when stdout's reader is gone.

    ``vecgrad-mnist … | head -2``: once head exits, the next write raises BrokenPipeError.
    Python would print a traceback, and at exit another warning while flushing; instead
    stdout (and stderr, if it is the same pipe) are pointed at /dev/null and we exit.
    Reusable by any command-line entry point: ``with quiet_broken_pipe(): return main()``.
    """
    try:
        yield
        sys.stdout.flush()  # buffered output may meet the closed pipe only here
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
        os.close(devnull)
        sys.exit(128 + signal.SIGPIPE)


def set_threads(threads: int) -> None:
    """Limit numpy's BLAS (and OpenMP) pools to ``threads`` threads for the rest of the run."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """Return the top-level parser and the parser of each command."""
    parser = Parser(
        prog="vecgrad-mnist",
        description="Train an MLP or LeNet-5 on MNIST or Fashion-MNIST with vecgrad.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    others = ", ".join(f"'vecgrad-mnist {name} --help'" for name in COMMANDS if name != "train")
    subparsers = {}
    for name, (add_arguments, run, summary) in COMMANDS.items():
        extra = {}
        if name == "train":  # `vecgrad-mnist --help` shows these flags: say what else there is
            extra = dict(
                usage="vecgrad-mnist [train] [flags]   (or: vecgrad-mnist sweep|predict ...)",
                description="Train an MLP or LeNet-5 on MNIST or Fashion-MNIST with vecgrad. "
                "train is "
                "the default command: 'vecgrad-mnist --epochs 3' is 'vecgrad-mnist train "
                "--epochs 3'. The other commands: "
                + "; ".join(f"{n}: {COMMANDS[n][2]}" for n in COMMANDS if n != "train")
                + f" (see {others}).",
            )
        # "resolve": sweep reuses train's flags and redefines --l2, --seed and --out
        sub = commands.add_parser(
            name,
            help=summary,
            description=extra.pop("description", summary),
            conflict_handler="resolve",
            **extra,
        )
        add_arguments(sub)
        sub.add_argument(
            "--threads",
            type=int,
            default=DEFAULT_THREADS,
            metavar="N",
            help="BLAS threads for numpy (%(default)s: fastest for these sizes, and on a "
            "busy machine)",
        )
        sub.set_defaults(run=run, parser=sub)
        subparsers[name] = sub
    options = set(parser._option_string_actions)
    for sub in subparsers.values():
        options |= set(sub._option_string_actions)
    for each in (parser, *subparsers.values()):
        each.known_options = options
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    """Run ``vecgrad-mnist [COMMAND] [flags]``; return the exit status."""
    with quiet_broken_pipe():
        argv = list(sys.argv[1:] if argv is None else argv)
        parser, _ = build_parser()
        if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
            close = difflib.get_close_matches(argv[0], list(COMMANDS), n=1)
            hint = f"did you mean {close[0]}?" if close else "the commands: " + ", ".join(COMMANDS)
            parser.error(f"unknown command {argv[0]!r} ({hint})")  # train takes no word
        if not argv or argv[0] not in COMMANDS:
            argv = ["train", *argv]  # train is the default command, --help shows its flags
        args = parser.parse_args(argv)
        if args.threads < 1:
            args.parser.error(f"--threads must be at least 1, got {args.threads}")
        set_threads(args.threads)
        try:
            return args.run(args, args.parser)
        except KeyboardInterrupt:  # Ctrl-C where a command has no word of its own: one line
            print(f"\n{args.parser.prog}: interrupted", file=sys.stderr)
            return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
