"""vecgrad-mnist sweep: the same table on every engine, resuming after a kill, retries, errors."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vecgrad.apps.sweep import (
    SweepError,
    add_sweep_arguments,
    config_hash,
    data_fingerprint,
    in_process,
    keep_worker_data,
    make_plan,
    parse_fail_hook,
    run_sweep,
    sweep,
)
from vecgrad.apps.sweep_results import (
    ResultsFile,
    ResultsFileError,
    ResultsFileWarning,
    finished_runs,
    read_results,
)
from vecgrad.apps.sweep_table import (
    COURSE_MNIST,
    Row,
    format_l2,
    markdown_table,
    plot_sweep,
    summarize,
    sweep_figure,
    zero_position,
)
from vecgrad.apps.train_mnist import Config, load_data

# The module of the `vecgrad-mnist` dispatcher: the tests run `python -m CLI_MODULE sweep ...`
# and call its main().
CLI_MODULE = "vecgrad.apps.cli"
main = importlib.import_module(CLI_MODULE).main
REPO = Path(__file__).resolve().parents[2]
MNIST_5K = REPO.parent / "shared" / "data" / "mnist-5k"
SMALL = ["--l2", "0", "1e-3", "--runs", "2", "--epochs", "1"]  # the acceptance sweep: 2 × 2


def needs_mnist() -> None:
    if not (MNIST_5K / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the shared MNIST subset is not at {MNIST_5K}")


def command(*args: str | Path, out: Path) -> list[str]:
    """``python -m CLI_MODULE sweep`` on the 5k MNIST subset, writing into ``out``."""
    return [
        sys.executable,
        "-m",
        CLI_MODULE,
        "sweep",
        "--data-dir",
        str(MNIST_5K),
        "--no-progress",
        "--out",
        str(out),
        *map(str, args),
    ]


def environment(**extra: str) -> dict:
    """The subprocess environment: one BLAS thread (as the workers), no leftover test hook."""
    env = {k: v for k, v in os.environ.items() if k != "VECGRAD_SWEEP_FAIL"}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def run_command(*args: str | Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(*args, out=out),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=REPO,
        env=environment(**env),
    )


def ok_records(path: Path) -> list[dict]:
    return [r for r in read_results(path) if r["status"] == "ok"]


def accuracies(path: Path) -> dict[tuple[float, int], float]:
    return {(r["l2"], r["seed"]): r["test_accuracy"] for r in ok_records(path)}


def table_of(out: Path) -> str:
    return (out / "table.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mnist():
    """(config, data, fingerprint) for 1-epoch runs on the 5k subset, kept for in-process runs."""
    needs_mnist()
    config = Config(data_dir=MNIST_5K, epochs=1, out=None, progress=False)
    data = load_data(config)
    fingerprint = data_fingerprint(data)
    keep_worker_data(config, data, fingerprint)
    return config, data, fingerprint


# ---- acceptance: one table, three engines ------------------------------------------


def test_in_process_two_workers_and_a_dask_cluster_give_the_same_table(tmp_path):
    needs_mnist()
    distributed = pytest.importorskip("distributed")
    here = run_command(*SMALL, out=tmp_path / "here")
    assert here.returncode == 0, here.stderr
    pool = run_command(*SMALL, "--workers", "2", out=tmp_path / "pool")
    assert pool.returncode == 0, pool.stderr
    with (
        distributed.LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dask = run_command(*SMALL, "--dask", cluster.scheduler_address, out=tmp_path / "dask")
        assert dask.returncode == 0, dask.stderr
        dask_pids = set(client.run(os.getpid).values())

    tables = [table_of(tmp_path / name) for name in ("here", "pool", "dask")]
    assert tables[0] == tables[1] == tables[2]
    description, table = tables[0].split("\n\n")
    assert description in here.stdout and table in here.stdout  # printed as written
    # All three ran with one BLAS thread per process, so the runs agree to the bit.
    runs = [accuracies(tmp_path / name / "results.jsonl") for name in ("here", "pool", "dask")]
    assert len(runs[0]) == 4 and runs[0] == runs[1] == runs[2]
    # Each engine really ran the runs where it says: the cluster's workers for Dask.
    workers = {r["worker"].rsplit(":", 1)[1] for r in ok_records(tmp_path / "dask/results.jsonl")}
    assert {int(pid) for pid in workers} <= dask_pids

    # The table against numpy, from the per-run accuracies (sample std, n − 1).
    lines = tables[0].splitlines()
    for l2, name in ((0.0, "0"), (1e-3, "1e-3")):
        values = 100 * np.array([runs[0][(l2, seed)] for seed in (0, 1)])
        row = f"| {name} | {values.mean():.2f} ± {values.std(ddof=1):.2f} | 2 | "
        assert any(line.startswith(row) for line in lines), (row, tables[0])
    assert "97.23" in tables[0] and "96.74" in tables[0]  # the course's column for MNIST
    png = (tmp_path / "dask" / "l2_sweep.png").read_bytes()
    assert png.startswith(b"\x89PNG")


# ---- resuming: a raising worker, a killed sweep, a cut-short line ---------------------


def test_a_raising_run_is_retried_once_and_a_restart_finishes_without_redoing_runs(mnist, tmp_path):
    config, data, fingerprint = mnist
    seeds = [0, 1]
    messages: list[str] = []
    broken = make_plan(
        config, [0, 1e-3], seeds, fingerprint, fail={(0.0, 0): "once", (1e-3, 1): "always"}
    )
    results = tmp_path / "results.jsonl"
    report = sweep(broken, results, in_process(), log=messages.append)

    # "once" succeeded on its retry; "always" failed twice and is reported, not dropped.
    assert [(spec.key[1:], message) for spec, message in report.failures] == [
        ((1e-3, 1), "RuntimeError: VECGRAD_SWEEP_FAIL asked run λ=1e-3 seed 1 to fail (always)")
    ]
    assert len(report.records) == 3
    failed = [r for r in read_results(results) if r["status"] == "failed"]
    assert sorted((r["l2"], r["seed"], r["attempt"]) for r in failed) == [
        (0.0, 0, 1),
        (1e-3, 1, 1),
        (1e-3, 1, 2),
    ]
    assert all("RuntimeError" in r["error"] for r in failed)
    first = ok_records(results)

    # The restart (the hook gone) trains only the missing run.
    plan = make_plan(config, [0, 1e-3], seeds, fingerprint)
    report = sweep(plan, results, in_process(), log=messages.append)
    assert report.skipped == 3 and not report.failures
    assert messages == [f"resuming: 3 of 4 runs are already in {results}"]
    final = ok_records(results)
    assert final[:3] == first  # the finished runs were kept as they were, not trained again
    assert sorted((r["l2"], r["seed"]) for r in final) == [(0.0, 0), (0.0, 1), (1e-3, 0), (1e-3, 1)]

    # And the table is the one of a sweep that never failed.
    clean = sweep(plan, tmp_path / "clean.jsonl", in_process(), log=messages.append)
    assert markdown_table(summarize(report.records, [0, 1e-3]), "mnist") == markdown_table(
        summarize(clean.records, [0, 1e-3]), "mnist"
    )


def children_of(pid: int) -> dict[int, str]:
    """Return {pid: command line} of the live processes whose parent is ``pid`` (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                stat = (entry / "stat").read_text()
                command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:  # it ended meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = command_line
    return found


def alive(pid: int) -> bool:
    """Is ``pid`` a running process? (a zombie has ended; it only waits to be reaped)"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_sweep(flags: list[str], out: Path) -> subprocess.Popen:
    """Start the sweep command in its own session (so the test can signal its whole group)."""
    return subprocess.Popen(
        command(*flags, out=out),
        cwd=REPO,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_workers(driver: subprocess.Popen, results: Path, finished: int) -> dict[int, str]:
    """Wait until ``finished`` runs are saved; return the driver's children then.

    Two workers and at least one resource tracker, whatever engine the sweep uses.
    """
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and driver.poll() is None:
        if results.exists() and results.read_bytes().count(b'"status": "ok"') >= finished:
            break
        time.sleep(0.01)
    children = children_of(driver.pid)
    assert driver.poll() is None, "the sweep ended before the test could stop it"
    assert len([c for c in children.values() if "resource_tracker" not in c]) == 2, children
    assert any("resource_tracker" in c for c in children.values()), children
    return children


def assert_all_end(pids: Iterable[int], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    left = {pid: (Path(f"/proc/{pid}/cmdline").read_bytes()[:120]) for pid in pids if alive(pid)}
    assert not left, f"still running {seconds} s after the driver was stopped: {left}"


def stop_group(process: subprocess.Popen) -> None:
    """Whatever the test saw, leave no process of this sweep behind."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes in /proc")
def test_sigkill_of_the_driver_ends_its_workers_and_the_sweep_resumes(tmp_path):
    needs_mnist()
    flags = ["--l2", "0", "1e-2", "--runs", "8", "--epochs", "4", "--workers", "2"]
    out = tmp_path / "killed"
    results = out / "results.jsonl"
    driver = start_sweep(flags, out)
    try:
        children = wait_for_workers(driver, results, finished=3)
        os.kill(driver.pid, signal.SIGKILL)  # the driver alone: it can clean nothing up
        assert driver.wait(timeout=30) == -signal.SIGKILL
        assert_all_end(children)  # both workers and the resource tracker
    finally:
        stop_group(driver)
    before = ok_records(results)
    assert 3 <= len(before) < 16, "the sweep was not killed midway"

    again = run_command(*flags, out=out)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {len(before)} of 16 runs are already in" in again.stdout
    after = ok_records(results)
    assert after[: len(before)] == before
    keys = [(r["l2"], r["seed"]) for r in after]
    assert len(keys) == len(set(keys)) == 16  # none trained twice, none missing

    whole = run_command(*flags, out=tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    assert table_of(out) == table_of(tmp_path / "whole")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes in /proc")
@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c in a terminal", "kill -INT"])
def test_ctrl_c_stops_the_workers_keeps_the_file_whole_and_the_same_command_resumes(
    tmp_path, to_group
):
    needs_mnist()
    # Runs of several seconds: the workers must stop in the middle of one, not after it.
    flags = ["--l2", "0", "1e-2", "--runs", "2", "--epochs", "20", "--workers", "2"]
    out = tmp_path / "interrupted"
    results = out / "results.jsonl"
    driver = start_sweep(flags, out)
    try:
        children = wait_for_workers(driver, results, finished=1)
        signalled = time.monotonic()
        if to_group:  # as a terminal does: the whole process group
            os.killpg(driver.pid, signal.SIGINT)
        else:
            os.kill(driver.pid, signal.SIGINT)
        _, stderr = driver.communicate(timeout=60)
        assert time.monotonic() - signalled < 5, "the driver waited for the runs to finish"
        assert driver.returncode == 130, stderr
        assert "interrupted: the finished runs are in" in stderr
        assert "Traceback" not in stderr
        assert_all_end(children)
    finally:
        stop_group(driver)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every line a whole, valid record
        before = ok_records(results)
    assert 1 <= len(before) < 4

    again = run_command(*flags, out=out)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {len(before)} of 4 runs are already in" in again.stdout
    keys = [(r["l2"], r["seed"]) for r in ok_records(results)]
    assert len(keys) == len(set(keys)) == 4


def test_a_worker_process_that_dies_is_replaced_and_its_run_retried(tmp_path):
    needs_mnist()
    result = run_command(
        *SMALL, "--workers", "2", out=tmp_path / "out", VECGRAD_SWEEP_FAIL="0:1:crash"
    )
    assert result.returncode == 0, result.stderr
    records = read_results(tmp_path / "out" / "results.jsonl")
    assert len([r for r in records if r["status"] == "ok"]) == 4
    died = [r for r in records if r["status"] == "failed"]
    assert died and all("TerminatedWorkerError" in r["error"] for r in died)
    assert all("EXIT(17)" in r["error"] for r in died)  # the exit status of the crash
    assert "retrying" in result.stderr


def test_a_cut_short_last_line_is_ignored_with_a_warning_and_kept_apart(mnist, tmp_path):
    config, data, fingerprint = mnist
    plan = make_plan(config, [0, 1e-4], [0, 1], fingerprint)
    results = tmp_path / "results.jsonl"
    sweep(plan, results, in_process(), log=lambda _: None)
    text = results.read_bytes()
    last = text.rstrip(b"\n").rfind(b"\n") + 1
    results.write_bytes(text[: last + 40])  # as if killed in the middle of the 4th line

    with pytest.warns(ResultsFileWarning, match="line 4 was cut short"):
        report = sweep(plan, results, in_process(), log=lambda _: None)
    assert report.skipped == 3 and len(report.records) == 4
    lines = results.read_bytes().split(b"\n")
    assert lines[3] == text[last : last + 40]  # the fragment stays on its own line
    assert json.loads(lines[4])["seed"] == 1 and lines[5] == b""
    with pytest.warns(ResultsFileWarning, match="line 4 is damaged"):
        assert len(finished_runs(read_results(results))) == 4


def test_a_parsable_but_wrong_record_is_reported_and_its_run_trained_again(tmp_path):
    needs_mnist()
    out = tmp_path / "out"
    first = run_command(*SMALL, out=out)
    assert first.returncode == 0, first.stderr
    results = out / "results.jsonl"
    lines = results.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4

    def spoilt(record: dict, **changes) -> str:
        record = {**record, **changes}
        return json.dumps({k: v for k, v in record.items() if v != "<drop>"})

    results.write_text(
        "\n".join(
            [
                spoilt(records[0], l2="abc"),
                spoilt(records[1], test_accuracy=None),
                spoilt(records[2], test_accuracy=math.nan),  # json writes NaN, json reads it
                spoilt(records[3], test_accuracy="<drop>"),  # a planned run without accuracy
                spoilt(records[3], status="failed", error="x", attempt=0),
                "[1, 2]",
                spoilt(records[3], status="maybe"),
                spoilt(records[3], seed=True),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    again = run_command(*SMALL, out=out)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    retrained = "it is ignored and the run it claims is trained again"
    for problem in [
        f'line 1 has "l2": "abc", not a finite number ≥ 0; {retrained}',
        f'line 2 has "test_accuracy": null, not a number in [0, 1]; {retrained}',
        f'line 3 has "test_accuracy": NaN, not a number in [0, 1]; {retrained}',
        f'line 4 has no "test_accuracy"; {retrained}',
        'line 5 has "attempt": 0, not an integer ≥ 1; it is ignored',
        "line 6 is [1, 2], not a JSON object; it is ignored",
        'line 7 has "status": "maybe", not "ok" or "failed"; it is ignored',
        f'line 8 has "seed": true, not an integer ≥ 0; {retrained}',
    ]:
        assert f"warning: {results}: {problem}\n" in again.stderr, (problem, again.stderr)
    assert "resuming" not in again.stdout  # none of the bad lines counted as done
    with pytest.warns(ResultsFileWarning):  # the bad lines stay in the file, ignored
        assert sorted(accuracies(results)) == [(0.0, 0), (0.0, 1), (1e-3, 0), (1e-3, 1)]
    assert table_of(out).split("\n\n")[1] in first.stdout  # the table of the first sweep


def test_a_reader_that_stops_reading_ends_the_sweep_quietly(tmp_path):
    needs_mnist()
    for buffering in ("1", ""):  # stdout unbuffered, then block-buffered into the pipe
        process = subprocess.Popen(
            command(*SMALL, out=tmp_path / f"out{buffering}"),
            cwd=REPO,
            env=environment(PYTHONUNBUFFERED=buffering),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = process.stdout.readline()
        process.stdout.close()  # as `vecgrad-mnist sweep ... | head -1` does
        stderr = process.stderr.read()
        process.wait(timeout=120)
        assert first.startswith("mnist: 5000 training and 10000 test images")
        assert stderr == ""  # no BrokenPipeError, no traceback
        assert process.returncode == 128 + signal.SIGPIPE


def test_a_results_file_is_written_by_one_sweep_at_a_time(tmp_path):
    with ResultsFile(tmp_path / "results.jsonl"):
        with pytest.raises(ResultsFileError, match="is in use by another sweep"):
            ResultsFile(tmp_path / "results.jsonl")
    ResultsFile(tmp_path / "results.jsonl").close()  # free again once the first is closed


# ---- bad arguments: one line, exit 2, nothing started -------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--l2", "0", "-1e-3"], "every L2 weight λ must be finite and ≥ 0, got -0.001"),
        (["--l2", "-0.5", "0"], "every L2 weight λ must be finite and ≥ 0, got -0.5"),
        (["--l2", "nan"], "every L2 weight λ must be finite and ≥ 0, got nan"),
        (["--l2", "0", "--runs", "0"], "--runs must be at least 1, got 0"),
        (["--l2", "0", "--workers", "0"], "--workers must be at least 1, got 0"),
        (["--l2", "0", "--epochs", "0"], "sweep: epochs must be at least 1, got 0"),
        (["--l2", "0", "--dask", "127.0.0.1:8786"], "wants a scheduler address like tcp://"),
        (["--l2", "0", "--workers", "2", "--dask", "tcp://a:1"], "not allowed with argument"),
        (["--l2", "0", "1e-3", "0.001"], "sweep: λ = 1e-3 is given twice; give each λ once"),
        (["--l2", "0", "1e-2", "0"], "sweep: λ = 0 is given twice; give each λ once"),
        (["--runs", "3"], "the following arguments are required: --l2"),
    ],
)
def test_bad_arguments_exit_2_in_one_line_before_any_work(flags, message, tmp_path, capsys):
    needs_mnist()
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--data-dir", str(MNIST_5K), "--out", str(out), *flags])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not out.exists()


def test_run_sweep_refuses_bad_arguments_without_a_parser_too(tmp_path, capsys):
    """A dispatcher may call ``run_sweep(args)`` alone: still exit 2 and one line."""
    parser = argparse.ArgumentParser(conflict_handler="resolve")
    add_sweep_arguments(parser)
    args = parser.parse_args(
        ["--data-dir", str(tmp_path), "--out", str(tmp_path / "o"), "--l2", "0", "1e-3", "0"]
    )
    with pytest.raises(SystemExit) as exit_info:
        run_sweep(args)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "vecgrad-mnist sweep: error: sweep: λ = 0 is given twice; give each λ once\n"
    )
    assert not (tmp_path / "o").exists()


def test_an_unreachable_scheduler_is_refused_quickly_before_any_work(tmp_path, capsys):
    needs_mnist()
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["sweep", "--data-dir", str(MNIST_5K), "--out", str(tmp_path / "out"), "--l2", "0"]
            + ["--dask", address, "--connect-timeout", "1"]
        )
    assert exit_info.value.code == 2
    assert time.perf_counter() - start < 15
    error = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in error
    assert not (tmp_path / "out").exists()


def test_a_missing_data_directory_and_a_bad_test_hook_are_refused(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--data-dir", str(tmp_path / "nowhere"), "--l2", "0"])
    assert exit_info.value.code == 2
    assert "nowhere' does not exist" in capsys.readouterr().err
    monkeypatch.setenv("VECGRAD_SWEEP_FAIL", "1e-3:x:once")
    with pytest.raises(SystemExit):
        main(["sweep", "--data-dir", str(tmp_path), "--l2", "0", "--out", str(tmp_path / "o")])
    assert "'1e-3:x:once' is not λ:seed:mode" in capsys.readouterr().err


# ---- the pieces: plan, hash, hook, table, plot ---------------------------------------


def test_the_plan_is_lambda_by_seed_in_ascending_lambda_and_refuses_repeats(mnist):
    config, _, fingerprint = mnist
    plan = make_plan(config, [1e-2, 0, 1e-5], range(3, 6), fingerprint)
    assert [spec.key[1:] for spec in plan] == [
        (l2, seed) for l2 in (0.0, 1e-5, 1e-2) for seed in (3, 4, 5)
    ]
    assert all(spec.config.out is None and not spec.config.progress for spec in plan)
    with pytest.raises(SweepError, match="λ = 1e-2 is given twice"):
        make_plan(config, [1e-2, 0, 0.01], range(3), fingerprint)


def test_the_config_hash_names_what_changes_a_run_and_nothing_else():
    base = Config(data_dir=Path("a"), epochs=3)
    digest = config_hash(base, "data1")
    for same in (
        replace(base, l2=1e-3),
        replace(base, seed=7),
        replace(base, out=None),
        replace(base, progress=False),
        replace(base, data_dir=Path("elsewhere")),  # the fingerprint names the data
    ):
        assert config_hash(same, "data1") == digest
    for other in (
        replace(base, epochs=4),
        replace(base, lr=0.05),
        replace(base, hidden=(50,)),
        replace(base, batch_size=50),
        replace(base, dataset="fashion-mnist"),
    ):
        assert config_hash(other, "data1") != digest
    assert config_hash(base, "data2") != digest


def test_the_data_fingerprint_sees_one_changed_pixel(mnist):
    _, data, fingerprint = mnist
    (X, y), test = data
    X = X.copy()
    X[123, 456] += 0.5
    assert data_fingerprint(((X, y), test)) != fingerprint
    assert data_fingerprint(data) == fingerprint


def test_the_fail_hook_parses_items_and_refuses_bad_ones():
    assert parse_fail_hook("1e-3:4:once, 0:1:always,") == {
        (1e-3, 4): "once",
        (0.0, 1): "always",
    }
    assert parse_fail_hook(None) == {}
    for bad in ("1e-3:4", "1e-3:4:sometimes", "x:1:once", "0:1:once:extra"):
        with pytest.raises(SweepError, match="is not λ:seed:mode"):
            parse_fail_hook(bad)


def test_summarize_is_mean_and_sample_std_whatever_the_finishing_order():
    rng = np.random.default_rng(0)
    values = {(l2, seed): float(rng.uniform(0.8, 0.99)) for l2 in (0.0, 1e-4) for seed in range(5)}
    records = [
        {"config_hash": "h", "l2": l2, "seed": seed, "status": "ok", "test_accuracy": acc}
        for (l2, seed), acc in values.items()
    ]
    records.append({"config_hash": "h", "l2": 1e-4, "seed": 9, "status": "failed"})
    rows = summarize(records, [1e-4, 0])
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    assert summarize(shuffled, [0, 1e-4]) == rows
    for row in rows:
        expected = 100 * np.array([values[(row.l2, seed)] for seed in range(5)])
        assert row.runs == 5
        assert math.isclose(row.mean, expected.mean(), rel_tol=1e-12)
        assert math.isclose(row.std, expected.std(ddof=1), rel_tol=1e-12)
    assert [row.l2 for row in rows] == [0.0, 1e-4]


def test_the_table_reads_like_the_course():
    rows = [
        Row(0.0, 50, 97.2345, 0.1234),
        Row(1e-3, 1, 96.5, math.nan),
        Row(2e-3, 0, *[math.nan] * 2),
    ]
    assert markdown_table(rows, "mnist").splitlines() == [
        "| λ (L2) | test accuracy (%), mean ± std | runs | course: full MNIST, 50 runs (%) |",
        "| ---: | ---: | ---: | ---: |",
        "| 0 | 97.23 ± 0.12 | 50 | 97.23 |",
        "| 1e-3 | 96.50 | 1 | 96.74 |",
        "| 2e-3 | — | 0 | — |",
    ]
    fashion = markdown_table(rows[:1], "fashion-mnist").splitlines()
    assert fashion[0] == "| λ (L2) | test accuracy (%), mean ± std | runs |"
    lenet = markdown_table(rows[:1], "mnist", course=False).splitlines()  # not the course's MLP
    assert lenet[0] == fashion[0] and lenet[2] == fashion[2]
    assert fashion[2] == "| 0 | 97.23 ± 0.12 | 50 |"
    assert [format_l2(x) for x in COURSE_MNIST] == [
        "0",
        "1e-7",
        "1e-6",
        "1e-5",
        "1e-4",
        "1e-3",
        "1e-2",
    ]
    assert format_l2(3e-4) == "3e-4" and format_l2(0.5) == "5e-1" and format_l2(1.5e-3) == "0.0015"


def test_the_plot_draws_lambda_zero_one_decade_left_and_writes_a_png(tmp_path):
    assert zero_position([0, 1e-7, 1e-2]) == pytest.approx(1e-8)
    assert zero_position([0]) == 1.0
    rows = [Row(l2, 5, 90 + i, 0.2) for i, l2 in enumerate(COURSE_MNIST)]
    for dataset in ("mnist", "fashion-mnist"):
        path = plot_sweep(rows, tmp_path / f"{dataset}.png", dataset)
        assert path.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fashion-mnist.png", "mnist.png"]


def test_the_plot_legend_covers_no_line_and_names_the_data_by_its_size():
    five_k = (90.49, 90.49, 90.49, 90.49, 90.48, 90.42, 89.59)  # the README's 5k column
    rows = [Row(l2, 50, mean, 0.2) for l2, mean in zip(COURSE_MNIST, five_k)]
    figure = sweep_figure(rows, "mnist", train_images=5000)
    figure.draw_without_rendering()
    (ax,), (legend,) = figure.axes, figure.legends
    box = legend.get_window_extent()
    assert not box.overlaps(ax.get_window_extent())
    for line in ax.get_lines():  # ours and the course's, sampled along every segment
        xy = ax.transData.transform(line.get_xydata())
        for a, b in zip(xy[:-1], xy[1:]):
            assert not any(box.contains(*(a + t * (b - a))) for t in np.linspace(0, 1, 50))
    assert sorted(text.get_text() for text in legend.get_texts()) == [
        "course: full MNIST, 60,000 training images (mean of 50 runs)",
        "vecgrad: MNIST, 5,000 training images (mean ± std over seeds)",
    ]
    assert ax.get_title() == "Test accuracy against λ (MNIST)"
