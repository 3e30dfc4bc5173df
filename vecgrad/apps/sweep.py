"""Train one MLP per (λ, seed) and tabulate test accuracy against λ: ``vecgrad-mnist sweep``.

    vecgrad-mnist sweep --data-dir ../shared/data/mnist-5k \\
        --l2 0 1e-7 1e-6 1e-5 1e-4 1e-3 1e-2 --runs 50 --workers 2
    vecgrad-mnist sweep ... --dask tcp://scheduler:8786      # on a running Dask cluster

The course's L2 table, reproduced: every (λ, seed) is one `train` run, fully determined by
the training config, λ and the seed, so the table does not depend on where runs execute.
Runs go through a ``concurrent.futures`` executor that an existing engine provides: this
process, loky's process pool (``--workers N``), or a Dask cluster's ``Client``. Each
finished run is appended at once to a JSON-lines results file (one ``write`` and an
``fsync`` per line), so a sweep that is killed and started again skips the finished runs
and ends with the same table. A failed run is logged with its error and retried once; a
run that fails twice is listed at the end (exit status 1) while every successful run is kept.
The results file is `vecgrad.apps.sweep_results`; the table and the plot are
`vecgrad.apps.sweep_table`.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scalargrad.files import atomic_write

from .sweep_results import ResultsFile, ResultsFileWarning, finished_runs, read_results
from .sweep_table import format_l2, markdown_table, plot_sweep, summarize
from .train_mnist import (
    Config,
    Split,
    add_train_arguments,
    check_output_names,
    config_from_flags,
    load_data,
    publish,
    train,
    validate,
)

ATTEMPTS = 2  # a failed run is retried once
SWEEP_OUTPUTS = ("l2_sweep.png", "table.md")  # what --out receives besides the results file
FAIL_ENV = "VECGRAD_SWEEP_FAIL"  # testing aid, see `parse_fail_hook`
FAIL_MODES = ("once", "always", "crash")
ONE_BLAS_THREAD = {
    name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
}


class SweepError(ValueError):
    """A sweep that cannot start: bad arguments, an unreachable scheduler."""


# ---- the plan: one run per (λ, seed) ------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One training run of the sweep, as sent to a worker."""

    config: Config  # the training config with this run's l2 and seed, out=None
    config_hash: str  # `config_hash` of the config (without l2 and seed) and the data
    fingerprint: str  # `data_fingerprint` of the data the driver loaded
    attempt: int = 1  # 1, then 2 for the retry
    fail: str | None = None  # testing aid: "once", "always" or "crash" (see parse_fail_hook)

    @property
    def key(self) -> tuple[str, float, int]:
        """Return (config hash, λ, seed): the run's identity in the results file."""
        return (self.config_hash, self.config.l2, self.config.seed)

    def label(self) -> str:
        """Return 'λ=1e-4 seed 3' for messages."""
        return f"λ={format_l2(self.config.l2)} seed {self.config.seed}"


def data_fingerprint(data: tuple[Split, Split]) -> str:
    """Return a short hash of the four arrays (dtype, shape and bytes).

    It names the data in the config hash without naming its path, which may differ
    between the driver and the workers of a cluster.
    """
    digest = hashlib.blake2b(digest_size=8)
    for array in (a for split in data for a in split):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


# The fields that change a run's result besides λ and the seed. Not data_dir (the
# fingerprint names the data), nor out and progress (they change no number).
HASHED_FIELDS = (
    "dataset",
    "hidden",
    "activation",
    "epochs",
    "batch_size",
    "lr",
    "momentum",
    "optimizer",
    "dropout",
)


def config_hash(config: Config, fingerprint: str) -> str:
    """Return a 12-hex-digit hash of the training settings and the data, not of λ or seed."""
    settings = {name: getattr(config, name) for name in HASHED_FIELDS}
    settings["hidden"] = list(config.hidden)
    settings["data"] = fingerprint
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def validate_sweep(config: Config, l2s: Sequence[float], runs: int) -> None:
    """Raise SweepError with a one-line message if the sweep cannot be planned."""
    if not l2s:
        raise SweepError("sweep: give at least one L2 weight λ (--l2 0 1e-4 ...)")
    for l2 in l2s:
        if not (isinstance(l2, int | float) and math.isfinite(l2) and l2 >= 0):
            raise SweepError(f"sweep: every L2 weight λ must be finite and ≥ 0, got {l2}")
    for i, l2 in enumerate(l2s):  # 1e-3 and 0.001 are one λ: its second copy trains nothing
        if float(l2) in map(float, l2s[:i]):
            raise SweepError(f"sweep: λ = {format_l2(float(l2))} is given twice; give each λ once")
    if not (isinstance(runs, int) and runs >= 1):
        raise SweepError(f"sweep: --runs must be at least 1, got {runs}")
    if config.seed < 0:
        raise SweepError(f"sweep: the first seed must be ≥ 0, got {config.seed}")
    try:
        validate(replace(config, l2=0.0))
    except ValueError as error:
        raise SweepError(f"sweep: {error}") from None


def make_plan(
    config: Config,
    l2s: Sequence[float],
    seeds: Sequence[int],
    fingerprint: str,
    fail: dict[tuple[float, int], str] | None = None,
) -> list[RunSpec]:
    """Return one RunSpec per (λ, seed), λ-major, λ ascending; a repeated λ is a SweepError."""
    validate_sweep(config, l2s, len(seeds))
    base = replace(config, out=None, progress=False)
    digest = config_hash(base, fingerprint)
    fail = fail or {}
    return [
        RunSpec(
            replace(base, l2=float(l2), seed=int(seed)),
            digest,
            fingerprint,
            fail=fail.get((float(l2), int(seed))),
        )
        for l2 in sorted(float(x) for x in l2s)
        for seed in seeds
    ]


def parse_fail_hook(text: str | None) -> dict[tuple[float, int], str]:
    """Return {(λ, seed): mode} from ``"1e-3:4:once,0:1:always"`` (a testing aid).

    ``$VECGRAD_SWEEP_FAIL`` makes chosen runs fail on purpose, to exercise retries and
    resuming: ``once`` raises on the first attempt only, ``always`` raises every time,
    ``crash`` kills the worker process on the first attempt (worker processes only).
    """
    hooks: dict[tuple[float, int], str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        parts = item.strip().split(":")
        try:
            l2, seed, mode = float(parts[0]), int(parts[1]), parts[2]
            if len(parts) != 3 or mode not in FAIL_MODES:
                raise ValueError
        except (ValueError, IndexError):
            raise SweepError(
                f"sweep: ${FAIL_ENV} item {item.strip()!r} is not λ:seed:mode "
                f"with mode one of {', '.join(FAIL_MODES)}"
            ) from None
        hooks[(l2, seed)] = mode
    return hooks


# ---- the worker side: what runs in another process or on another machine ------------

# A worker process trains many runs on one copy of the data: it is loaded once per process
# and kept here, keyed by (dataset, data_dir). A lock because Dask workers use threads.
_WORKER_DATA: dict[tuple[str, str], tuple[tuple[Split, Split], str]] = {}
_WORKER_DATA_LOCK = threading.Lock()


def keep_worker_data(config: Config, data: tuple[Split, Split], fingerprint: str) -> None:
    """Hand data already loaded to the runs of this process (no second load in-process)."""
    with _WORKER_DATA_LOCK:
        _WORKER_DATA[(config.dataset, str(config.data_dir))] = (data, fingerprint)


def _worker_data(config: Config) -> tuple[tuple[Split, Split], str]:
    key = (config.dataset, str(config.data_dir))
    with _WORKER_DATA_LOCK:
        if key not in _WORKER_DATA:
            data = load_data(config)
            _WORKER_DATA[key] = (data, data_fingerprint(data))
        return _WORKER_DATA[key]


def run_one(spec: RunSpec) -> dict:
    """Train the run ``spec`` describes; return its JSON-ready record (status "ok")."""
    if spec.fail == "always" or (spec.fail == "once" and spec.attempt == 1):
        raise RuntimeError(f"{FAIL_ENV} asked run {spec.label()} to fail ({spec.fail})")
    if spec.fail == "crash" and spec.attempt == 1:
        os._exit(17)  # a worker dying abruptly, as under the out-of-memory killer
    data, fingerprint = _worker_data(spec.config)
    if fingerprint != spec.fingerprint:
        raise ValueError(
            f"sweep: the {spec.config.dataset} data at {spec.config.data_dir} on "
            f"{socket.gethostname()} differs from the driver's "
            f"(fingerprint {fingerprint}, expected {spec.fingerprint})"
        )
    start = time.perf_counter()
    result = train(spec.config, data, log=None)
    last = result.history[-1]
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(spec.config).items()}
    for name in ("l2", "seed", "out", "progress"):  # l2 and seed are top-level fields
        config.pop(name)
    return {
        "config_hash": spec.config_hash,
        "l2": spec.config.l2,
        "seed": spec.config.seed,
        "status": "ok",
        "attempt": spec.attempt,
        "test_accuracy": result.test_accuracy,
        "train_loss": last["train_loss"],
        "train_accuracy": last["train_accuracy"],
        "test_accuracy_per_epoch": [h["test_accuracy"] for h in result.history],
        "seconds": time.perf_counter() - start,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "finished": _now(),
        "config": config,
        "data": spec.fingerprint,
    }


def _failure_record(spec: RunSpec, message: str) -> dict:
    return {
        "config_hash": spec.config_hash,
        "l2": spec.config.l2,
        "seed": spec.config.seed,
        "status": "failed",
        "attempt": spec.attempt,
        "error": message,
        "finished": _now(),
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---- engines: where the runs execute --------------------------------------------------


class InProcessExecutor(cf.Executor):
    """A ``concurrent.futures`` executor that runs each call in ``submit``, in this process."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` now; return a finished Future with its result or error."""
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # KeyboardInterrupt passes through and stops the sweep
            future.set_exception(error)
        return future


@dataclass
class Engine:
    """Where a sweep's runs execute: an existing engine's ``concurrent.futures`` executor.

    The sweep calls ``submit``, ``concurrent.futures.wait``, ``Future.result`` and
    ``shutdown``; ``start`` is called again when a worker's death broke the executor.
    """

    name: str  # for messages: "in-process", "2 worker processes", "dask tcp://..."
    start: Callable[[], cf.Executor]  # a working executor
    in_flight: int  # runs submitted ahead of their results
    stop: Callable[[cf.Executor], None]  # end the executor and its runs now (Ctrl-C)
    close: Callable[[], None] = lambda: None  # let the engine go (the Dask client)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def in_process() -> Engine:
    """Return the engine that trains each run in this process, one after another.

    One run in flight, so each is saved as soon as it ends. Its BLAS threads are those numpy
    started with (OPENBLAS_NUM_THREADS=1 matches the workers).
    """
    return Engine("in-process", InProcessExecutor, 1, stop=lambda executor: None)


def worker_processes(workers: int) -> Engine:
    """Return an engine of ``workers`` loky processes, each with one BLAS thread.

    loky sets the BLAS variables before a worker imports numpy (N workers × M cores
    threads would fight), replaces a pool whose worker died, and kills its workers on
    ``shutdown(kill_workers=True)``. Each worker also exits when the driver dies, however
    it dies (see `_start_worker`). One run in flight per worker: a worker's death then
    fails only the runs it interrupted.
    """
    import loky  # here, not at the top: 0.3 s that `vecgrad-mnist train` need not pay

    if not (isinstance(workers, int) and workers >= 1):
        raise SweepError(f"sweep: --workers must be at least 1, got {workers}")
    return Engine(
        f"{workers} worker process{'es' if workers > 1 else ''}",
        lambda: loky.ProcessPoolExecutor(
            workers, initializer=_start_worker, initargs=(os.getpid(),), env=ONE_BLAS_THREAD
        ),
        workers,
        stop=lambda executor: executor.shutdown(wait=False, kill_workers=True),
    )


def _start_worker(driver: int) -> None:
    """Prepare a worker process: Ctrl-C is the driver's to handle; exit when it is gone.

    A terminal's Ctrl-C reaches the whole process group; the driver answers it by
    stopping the workers. A driver killed outright (SIGKILL, the OOM killer) runs no code,
    so each worker watches for it: once its parent is no longer the driver (it was
    reparented), it exits, and with the last worker loky's resource tracker ends too.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def exit_when_orphaned() -> None:
        while os.getppid() == driver:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=exit_when_orphaned, name="driver-watch", daemon=True).start()


def dask_cluster(address: str, timeout: float = 10.0) -> Engine:
    """Return an engine on the Dask scheduler at ``address``; fail now if it is unreachable.

    Workers started by a Dask nanny already run with one BLAS thread (Dask's
    ``distributed.nanny.pre-spawn-environ``). They need this package and the data
    directory at the same path.
    """
    try:
        from distributed import Client
    except ImportError:
        raise SweepError(
            "sweep: --dask needs dask.distributed: pip install -e '.[dask]' in this repository"
        ) from None
    if "://" not in address:
        raise SweepError(
            f"sweep: --dask wants a scheduler address like tcp://host:8786, got {address!r}"
        )
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise SweepError(
            f"sweep: cannot reach the Dask scheduler at {address} within {timeout:g} s "
            f"({error}); is it running?"
        ) from None
    # pure=False: a retried run must run again, not return the failed first attempt
    return Engine(
        f"dask {address}",
        lambda: client.get_executor(pure=False),
        1_000_000,  # Dask queues and balances the runs itself
        stop=lambda executor: executor.shutdown(wait=False),  # cancels the runs
        close=client.close,
    )


# ---- the sweep ---------------------------------------------------------------------


@dataclass
class SweepReport:
    """What `sweep` returns: the plan's successful runs and the runs that failed twice."""

    plan: list[RunSpec]
    records: list[dict]  # one per successful run of the plan, in plan order
    failures: list[tuple[RunSpec, str]]  # (run, its last error) after both attempts failed
    skipped: int  # runs already in the results file when the sweep started
    seconds: float  # wall-clock time of this invocation


def sweep(
    plan: Sequence[RunSpec],
    results: Path,
    engine: Engine | None = None,
    *,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> SweepReport:
    """Run every run of ``plan`` not yet in ``results`` on ``engine``; return a SweepReport.

    Each finished run is appended to ``results`` as it completes; a failed attempt is
    appended too (status "failed", with its error), logged, and retried once.
    """
    from tqdm import tqdm

    engine = engine or in_process()
    start = time.perf_counter()
    with ResultsFile(results) as out:
        done = finished_runs(read_results(results))
        todo = deque(spec for spec in plan if spec.key not in done)
        skipped = len(plan) - len(todo)
        if skipped:
            log(f"resuming: {skipped} of {len(plan)} runs are already in {results}")
        failures: list[tuple[RunSpec, str]] = []
        bar = tqdm(total=len(plan), initial=skipped, unit="run", disable=not progress, leave=False)
        executor = engine.start()
        running: dict[cf.Future, tuple[RunSpec, cf.Executor]] = {}  # and who runs it
        try:
            while todo or running:
                while todo and len(running) < engine.in_flight:
                    spec = todo.popleft()
                    try:
                        future = executor.submit(run_one, spec)
                    except cf.BrokenExecutor:  # a worker died since we last looked
                        executor.shutdown(wait=True)
                        executor = engine.start()
                        future = executor.submit(run_one, spec)
                    running[future] = (spec, executor)
                finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    spec, source = running.pop(future)
                    error = future.exception()
                    if error is None:
                        done[spec.key] = future.result()
                        out.append(done[spec.key])
                        bar.update()
                        continue
                    if isinstance(error, cf.BrokenExecutor) and source is executor:
                        executor.shutdown(wait=True)  # its workers are gone: this is quick
                        executor = engine.start()
                    message = f"{type(error).__name__}: {error}".replace("\n", " ")
                    out.append(_failure_record(spec, message))
                    if spec.attempt < ATTEMPTS:
                        note = f"(attempt {spec.attempt} of {ATTEMPTS}): {message}; retrying"
                        todo.appendleft(replace(spec, attempt=spec.attempt + 1))
                    else:
                        note = f"again: {message}"
                        failures.append((spec, message))
                    bar.write(f"run {spec.label()} failed {note}", file=sys.stderr)
        except BaseException:
            # Ctrl-C, a closed stdout or an error of the driver itself: stop the workers;
            # every run finished so far is already on disk, so the same command resumes.
            engine.stop(executor)
            raise
        finally:
            bar.close()
        executor.shutdown(wait=True)
    records = [done[spec.key] for spec in plan if spec.key in done]
    return SweepReport(list(plan), records, failures, skipped, time.perf_counter() - start)


def describe(plan: Sequence[RunSpec], data: tuple[Split, Split]) -> str:
    """Return one line naming the data, the model, the training settings and the seeds."""
    config = plan[0].config
    (X_train, _), (X_test, _) = data
    layers = "-".join(str(n) for n in (X_train.shape[1], *config.hidden, 10))
    seeds = sorted({spec.config.seed for spec in plan})
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
    return (
        f"{config.dataset}: {len(X_train)} training and {len(X_test)} test images; "
        f"MLP {layers} ({config.activation}), {config.optimizer} lr {config.lr}, "
        f"batch {config.batch_size}, {config.epochs} epoch{'s' if config.epochs > 1 else ''}; "
        f"{len(seeds)} runs per λ ({seed_text}); mean ± sample std"
    )


# ---- the command line ----------------------------------------------------------------


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``vecgrad-mnist sweep``: train's flags, with --l2 taking a list."""
    add_train_arguments(parser)
    # argparse before Python 3.13 takes "-1e-3" for an option, so "--l2 0 -1e-3" would not
    # reach our check that names the negative λ: teach it scientific notation, as 3.13 does.
    parser._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d*\.?\d+e[-+]?\d+$")
    # train's --l2, --seed and --out change meaning here: the parser is made with
    # conflict_handler="resolve", so these replace them.
    parser.add_argument(
        "--l2",
        type=float,
        nargs="+",
        required=True,
        metavar="λ",
        help="the L2 weights to compare, each once, e.g. 0 1e-7 1e-6 1e-5 1e-4 1e-3 1e-2",
    )
    parser.add_argument(
        "--runs", type=int, default=50, help="seeds per λ (%(default)s, as the course)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the first seed; runs use seed … seed+runs−1 (0)"
    )
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="train in N worker processes (default: one after another in this process)",
    )
    engines.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="train on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to try reaching the Dask scheduler (%(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out/sweep"), help="table and plot go here (%(default)s)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="JSON-lines file of every run, appended as runs finish; an existing one is "
        "resumed (default: OUT/results.jsonl)",
    )


def run_sweep(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """``vecgrad-mnist sweep``: check everything, run the missing runs, print the table.

    Exit status 0 when every run succeeded, 1 when some failed twice (the table shows the
    others), 2 for bad arguments (one line, before any training), 130 after Ctrl-C. A
    reader that stops reading (``| head``) ends the sweep quietly with 141 (128 + SIGPIPE,
    as a program killed by the broken pipe); the finished runs are kept.
    """
    try:
        with warnings.catch_warnings():  # a bad line of the results file: one line on stderr
            warnings.simplefilter("always", ResultsFileWarning)
            warnings.showwarning = _warn_in_one_line
            return _run_sweep(args, parser)
    except BrokenPipeError:
        # Nobody reads our output any more: no traceback, and none at exit while Python
        # flushes stdout into the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _run_sweep(args: argparse.Namespace, parser: argparse.ArgumentParser | None) -> int:
    results = args.results or args.out / "results.jsonl"
    try:
        config = config_from_flags(
            args,
            data_dir=args.data_dir.resolve() if args.data_dir else None,  # workers' cwd differs
            l2=0.0,  # each run sets its own λ
            out=None,
            progress=False,
        )
        validate_sweep(config, args.l2, args.runs)
        check_output_names(args.out, SWEEP_OUTPUTS)  # a directory named table.md: say so now
        if args.workers is not None and args.workers < 1:
            raise SweepError(f"sweep: --workers must be at least 1, got {args.workers}")
        fail = parse_fail_hook(os.environ.get(FAIL_ENV))
        data = load_data(config)
        fingerprint = data_fingerprint(data)
        plan = make_plan(
            config, args.l2, range(args.seed, args.seed + args.runs), fingerprint, fail
        )
        if args.dask:
            engine = dask_cluster(args.dask, args.connect_timeout)
        elif args.workers:
            engine = worker_processes(args.workers)
        else:
            keep_worker_data(config, data, fingerprint)
            engine = in_process()
        try:
            ResultsFile(results).close()  # creatable, writable and not locked by another sweep
        except BaseException:
            engine.close()
            raise
    except (ValueError, OSError) as error:  # SweepError is a ValueError
        message = str(error).replace("\n", " ")
        if parser is not None:
            parser.error(message)  # exits 2, before any training
        print(f"vecgrad-mnist sweep: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None

    with engine:
        print(describe(plan, data))
        print(f"{len(plan)} runs on {engine.name}; results in {results}", flush=True)
        try:
            report = sweep(plan, results, engine, progress=not args.no_progress)
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: the finished runs are in {results}; "
                "the same command resumes the sweep",
                file=sys.stderr,
            )
            return 130
    trained = len(report.records) - report.skipped
    print(
        f"trained {_runs(trained)} in {report.seconds:.1f} s ({_runs(report.skipped)} "
        f"already done, {_runs(len(report.failures))} failed twice)"
    )

    rows = summarize(report.records, args.l2)
    course = config.dataset == "mnist" and config.model == "mlp"  # the course's numbers: its MLP
    table = markdown_table(rows, config.dataset, course)
    (X_train, _), _ = data

    def write(folder: Path) -> list[Path]:
        with atomic_write(folder / "table.md", "w") as file:
            file.write(f"{describe(plan, data)}\n\n{table}")
        n = len(X_train)
        return [
            folder / "table.md",
            plot_sweep(rows, folder / "l2_sweep.png", config.dataset, n, course),
        ]

    # The table and its plot replace the last ones together (see train_mnist.publish).
    table_path, plot_path = publish(args.out, write, SWEEP_OUTPUTS)
    print(f"\n{table}\nwrote {table_path}\nwrote {plot_path}\nresults: {results}", flush=True)
    if report.failures:
        print(f"runs that failed twice: {len(report.failures)}", file=sys.stderr)
        for spec, message in report.failures:
            print(f"  {spec.label()}: {message}", file=sys.stderr)
        print("the same command retries them and keeps the others", file=sys.stderr)
        return 1
    return 0


def _warn_in_one_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _runs(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'}"
