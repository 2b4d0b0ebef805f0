"""`train` exits by the job's outcome (arkor start exits 0 for a failed job too), and
no process of the run outlives it (process group, leftovers, a pipe held open).

arkor's `core/runner.ts` prints `Job <id> finished with status=<status>` after
`trainer.wait()` and never throws on a failed job: the fake `arkor start`
(FAKE_OUTCOME) and the fake Studio (TrainScript) print that line the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import ModeArkor
from tests.helpers import cli_command, subprocess_env
from tests.studio_server import TrainScript
from tests.test_train import (
    EXPECTED_STDOUT,
    Run,
    fake_notify_send,
    gone,
    notifications,
    tp,  # noqa: F401  (a fixture)
)
from tests.test_watch import at, lifecycle

OUTCOMES = [("completed", 0), ("failed", 1), ("cancelled", 3)]


def outcome_stdout(status: str | None) -> bytes:
    lines = EXPECTED_STDOUT.rsplit(b"Job job-42", 1)[0]
    return lines + (f"Job job-42 finished with status={status}\n".encode() if status else b"")


def end_job(sim, status: str) -> None:  # type: ignore[no-untyped-def]
    lifecycle(sim, "job-42", steps=2, name="run 42", finish=False)
    if status == "completed":
        sim.emit("job-42", "training.completed", {"artifacts": []}, timestamp=at(59))
    elif status == "failed":
        sim.emit("job-42", "training.failed", {"error": "CUDA out of memory"}, timestamp=at(59))
    if status == "cancelled":
        sim.cancel("job-42")
    else:
        sim.end("job-42")


def studio_train(sa: ModeArkor, status: str | None, exit: int, *args: str, **env: str) -> Run:
    assert sa.studio is not None
    sa.studio.train = TrainScript(chunks=[outcome_stdout(status)], exit=exit)
    proc = subprocess.run(
        [*cli_command(), *sa.args(("train", *args))],
        env=subprocess_env({**sa.env, **env}),
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("watch", [False, True], ids=["no-watch", "watch"])
@pytest.mark.parametrize(("status", "code"), OUTCOMES)
def test_direct_train_exits_by_the_jobs_outcome(tp, sim, status, code, watch):  # noqa: F811
    end_job(sim, status)
    args = ["--no-manifest", "--no-notify", *(["--watch"] if watch else [])]
    result = tp.run(*args, FAKE_OUTCOME=status)  # arkor start itself exits 0
    assert result.code == code, result.err
    assert result.stdout == outcome_stdout(status)  # still byte for byte
    last = result.err.rstrip()
    if status == "completed":
        assert last.endswith("Job job-42 completed (arkor start exited with status 0).")
    else:
        assert last.endswith(
            f"Job job-42 {status} (arkor start exited with status 0, as it does whatever "
            f"the outcome); exit status {code}."
        )
    if watch:
        assert f"training.{'failed' if status == 'failed' else 'started'}" in result.err


@pytest.mark.parametrize("watch", [False, True], ids=["no-watch", "watch"])
@pytest.mark.parametrize(("status", "code"), OUTCOMES)
def test_studio_train_exits_by_the_jobs_outcome(studio_arkor, status, code, watch):
    end_job(studio_arkor.sim, status)
    args = ["--no-notify", *(["--watch"] if watch else [])]
    result = studio_train(studio_arkor, status, 0, *args)
    assert result.code == code, result.err
    assert result.stdout == outcome_stdout(status)
    assert f"Job job-42 {status} (arkor start exited with status 0" in result.err


def test_arkors_own_failure_stands_and_no_outcome_line_is_arkors_code(tp):  # noqa: F811
    # arkor start failed itself (e.g. network) after the line: its code stands.
    result = tp.run("--no-manifest", "--no-notify", FAKE_OUTCOME="completed", FAKE_EXIT="2")
    assert result.code == 2
    assert "arkor start failed (exit status 2)." in result.err
    # arkor died before the end: no outcome line, its code (here 0) stands.
    result = tp.run("--no-manifest", "--no-notify", FAKE_OUTCOME="none")
    assert result.code == 0
    assert result.stdout == outcome_stdout(None)
    assert "without reporting the job's outcome" in result.err


def test_studio_exit_status_stands_and_no_outcome_line_is_its_code(studio_arkor):
    result = studio_train(studio_arkor, "failed", 7, "--no-notify")
    assert result.code == 7
    result = studio_train(studio_arkor, None, 0, "--no-notify")
    assert result.code == 0 and "without reporting the job's outcome" in result.err


def test_the_notification_tells_the_outcome(tp, tmp_path):  # noqa: F811
    path, record = fake_notify_send(tmp_path)
    assert tp.run("--notify", "--no-manifest", PATH=path, FAKE_OUTCOME="failed").code == 1
    [failed] = notifications(record)
    assert failed[-4:] == ["critical", "--", "Training failed", "project: the job failed"]


def test_the_notification_tells_the_outcome_through_studio(studio_arkor, tmp_path):
    path, record = fake_notify_send(tmp_path)
    assert studio_train(studio_arkor, "cancelled", 0, "--notify", PATH=path).code == 3
    [cancelled] = notifications(record)
    assert cancelled[-4:] == [
        "normal",
        "--",
        "Training cancelled",
        "my-trainer: the job was cancelled",
    ]


def test_the_outcome_line_is_found_however_the_bytes_are_split():
    from arkor_cli_studio.start_output import OutcomeScanner

    data = (
        b"Started job j1\nJob j1 finished with status=completed (not this one: echoed)\n"
        b"\x1b[2mJob j1 finished with status=failed\x1b[0m\r\ntail"
    )
    for size in range(1, len(data) + 1):
        scanner = OutcomeScanner()
        for i in range(0, len(data), size):
            scanner.feed(data[i : i + size])
        assert (scanner.status, scanner.job_id) == ("failed", "j1"), size
    scanner = OutcomeScanner(max_line=64)
    scanner.feed(b"x" * 100 + b" Job j finished with status=failed\n")
    assert scanner.status is None  # an over-long line is skipped, memory stays bounded


# ---- 17.9: the process group ---------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_reach_arkors_worker_too(tp, sig):  # noqa: F811
    proc = tp.popen("--no-manifest", "--no-notify", FAKE_SLEEP="1", FAKE_WORKER="1")
    child = tp.wait_for_child()
    worker = int(tp.pidfile.with_name(tp.pidfile.name + ".worker").read_text())
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + sig, err
    assert sorted(tp.received()) == ["TERM", "worker:TERM"]
    assert gone(child) and gone(worker)


def test_ctrl_c_is_one_sigint_to_the_group(tp):  # noqa: F811
    proc = tp.popen("--no-manifest", "--no-notify", FAKE_SLEEP="1", FAKE_WORKER="1")
    child = tp.wait_for_child()
    worker = int(tp.pidfile.with_name(tp.pidfile.name + ".worker").read_text())
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert sorted(tp.received()) == ["INT", "worker:INT"]  # one each, no second SIGINT
    assert gone(child) and gone(worker)


def test_a_worker_that_ignores_term_is_killed_with_the_group(tp):  # noqa: F811
    proc = tp.popen(
        "--no-manifest", "--no-notify", FAKE_SLEEP="1", FAKE_WORKER="1", FAKE_IGNORE="TERM",
        ARKOR_STUDIO_STOP_GRACE="0.5",
    )  # fmt: skip
    tp.wait_for_child()
    worker = int(tp.pidfile.with_name(tp.pidfile.name + ".worker").read_text())
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert gone(worker)


def test_nothing_arkor_start_left_in_its_group_outlives_train(tp):  # noqa: F811
    """arkor start exits 0 but leaves a process that holds its stdout: it is
    stopped, and train ends at once (not after the leftover's 60 s)."""
    started = time.monotonic()
    result = tp.run("--no-manifest", "--no-notify", FAKE_LEAVE="group", timeout=30)
    assert result.code == 0, result.err
    assert time.monotonic() - started < 15
    left = int(tp.pidfile.with_name(tp.pidfile.name + ".left").read_text())
    assert gone(left)
    assert result.stdout == EXPECTED_STDOUT


# ---- 17.10: a pipe held open by a process outside the group --------------------------


def _daemon(tp) -> int:  # type: ignore[no-untyped-def]  # noqa: F811
    return int(tp.pidfile.with_name(tp.pidfile.name + ".left").read_text())


@pytest.mark.parametrize("watch", [False, True], ids=["no-watch", "watch"])
def test_train_ends_within_the_drain_time_when_a_daemon_holds_stdout(tp, sim, watch):  # noqa: F811
    end_job(sim, "completed")
    args = ["--no-manifest", "--no-notify", *(["--watch"] if watch else [])]
    started = time.monotonic()
    result = tp.run(*args, FAKE_LEAVE="daemon", ARKOR_STUDIO_WATCH_DRAIN="1", timeout=40)
    took = time.monotonic() - started
    try:
        assert result.code == 0, result.err
        assert took < 20, took  # the daemon sleeps 60 s: we did not wait for it
        assert result.stdout == EXPECTED_STDOUT  # what came before the exit is all there
    finally:
        os.kill(_daemon(tp), signal.SIGKILL)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_are_honoured_while_a_daemon_holds_stdout(tp, sig, code):  # noqa: F811
    proc = tp.popen(
        "--no-manifest", "--no-notify", "--watch", FAKE_LEAVE="daemon",
        ARKOR_STUDIO_WATCH_DRAIN="60",
    )  # fmt: skip
    left = tp.pidfile.with_name(tp.pidfile.name + ".left")
    deadline = time.monotonic() + 20
    while not left.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        time.sleep(0.3)  # arkor start has exited; train drains the held pipe
        assert proc.poll() is None
        proc.send_signal(sig)
        proc.communicate(timeout=10)  # well within the 60 s drain
        assert proc.returncode == code
    finally:
        os.kill(_daemon(tp), signal.SIGKILL)
