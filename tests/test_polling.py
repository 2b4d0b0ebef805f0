"""`polling.polls`: the one loop behind every `jobs --follow` mode, against the
loopback server in both modes; and the piped mode's lines that it feeds."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

from arkor_cli_studio.commands.jobs import Filter
from arkor_cli_studio.polling import Poll, polls
from arkor_cli_studio.simulator import Fault
from tests.helpers import cli_command, subprocess_env


def _scripted(steps: list[Callable[[], None]], waits: list[float]) -> Callable[[float], bool]:
    """A `wait` that records each interval and changes the server between polls;
    False (the end) once the steps are done."""
    pending = list(steps)

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if not pending:
            return False
        pending.pop(0)()
        return True

    return wait


def test_each_answer_and_each_failure_is_one_poll_then_one_wait(mode_arkor):
    sim = mode_arkor.sim
    sim.add_job("j1", name="alpha", status="running")
    sim.add_job("j2", name="beta")
    sim.add_job("j3", name="gamma", status="running")
    waits: list[float] = []
    wait = _scripted(
        [
            lambda: sim.add_fault("jobs", Fault(status=400, body='{"error": "bad \\u001b[31m"}')),
            lambda: sim.update_job("j2", status="running"),
            lambda: sim.update_job("j1", status="completed"),
        ],
        waits,
    )
    chosen = Filter({"running"}, None, None)
    backend = mode_arkor.backend()
    try:
        started = time.monotonic()
        got = list(polls(backend.list_jobs, chosen, 7.5, wait=wait))
    finally:
        backend.close()
    assert waits == [7.5] * 4  # one wait after every poll, the last one said stop
    assert [None if p.jobs is None else [j.id for j in p.jobs] for p in got] == [
        ["j1", "j3"],
        None,  # the failed poll: no list, its message instead
        ["j1", "j2", "j3"],  # the next one recovers
        ["j2", "j3"],
    ]
    assert [p.total for p in got] == [3, 0, 3, 3]  # before the filter
    assert got[0].error is None and got[2].error is None
    assert got[1].error is not None and "bad" in got[1].error
    stamps = [p.at for p in got]
    assert started <= stamps[0] <= stamps[1] <= stamps[2] <= stamps[3] <= time.monotonic()


def test_a_filter_that_hides_every_job_still_counts_them(arkor):
    arkor.sim.add_job("j1", name="alpha")
    backend = arkor_backend(arkor)
    try:
        (poll,) = polls(backend.list_jobs, Filter(None, "zzz", None), 1.0, wait=lambda _: False)
    finally:
        backend.close()
    assert poll == Poll([], 1, None, poll.at)  # "No matches.", not "No jobs yet."


def test_other_errors_end_the_loop_unless_tolerated():
    def broken() -> list:  # type: ignore[type-arg]
        raise ValueError("not a list")

    every = polls(broken, list, 1.0, wait=lambda _: True)
    with pytest.raises(ValueError):
        next(every)
    # the board tolerates anything: the error is shown, the board lives on
    every = polls(broken, list, 1.0, wait=lambda _: True, tolerate=Exception)
    assert [next(every).error for _ in range(2)] == ["ValueError: not a list"] * 2


def arkor_backend(arkor):  # type: ignore[no-untyped-def]
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.config import Settings
    from tests.helpers import patched_environ

    with patched_environ(arkor.env):
        return connect(Settings(project=arkor.project, env=dict(arkor.env)))


def test_piped_follow_prints_the_table_then_what_changed(arkor):
    """`jobs --follow | ...`: the table once, then a stamped line per new job,
    status change and vanished job; a failed poll and the recovery on stderr."""
    sim = arkor.sim
    hour_ago = time.time() - 3600  # queued, not warming up
    sim.add_job("j1", name="alpha", status="running", created_at=hour_ago)
    sim.add_job("j2", name="beta", created_at=hour_ago)
    proc = subprocess.Popen(
        [*cli_command(), *arkor.args(("jobs", "--follow", "--interval", "1"))],
        env=subprocess_env(arkor.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    for stream, tag in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(
            target=lambda s=stream, t=tag: [lines.put(f"{t} {x.rstrip()}") for x in s],
            daemon=True,
        ).start()

    def next_line() -> str:
        return lines.get(timeout=20)

    try:
        assert next_line().split() == ["out", "Status", "Name", "Duration", "Created", "ID"]
        assert next_line().split()[:3] == ["out", "running", "alpha"]
        assert next_line().split()[:3] == ["out", "queued", "beta"]
        sim.add_job("j3", name="gamma", created_at=hour_ago)
        assert next_line().split()[3:] == ["new", "j3", "queued", "gamma"]
        sim.update_job("j2", status="running")
        assert next_line().split()[3:] == ["status", "j2", "queued", "->", "running", "beta"]
        sim.add_fault("jobs", Fault(status=400, body='{"error": "busy"}'))
        failed = next_line()
        assert failed.startswith("err ") and "poll failed: " in failed and "busy" in failed
        assert next_line().endswith("  poll recovered")
        sim.remove_job("j1")
        assert next_line().split()[3:] == ["gone", "j1", "running", "alpha"]
    finally:
        proc.kill()
        proc.wait()
