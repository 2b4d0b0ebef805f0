"""`wait` end to end against the loopback simulator (real HTTP, real SSE)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from arkor_cli_studio.batch import exit_code, parse_duration, worst
from arkor_cli_studio.simulator import Fault
from tests.helpers import TOKEN

FAST = {"ARKOR_STUDIO_RETRY_SCALE": "0.01"}


def at(seconds: int) -> str:
    return f"2026-03-01T12:{seconds // 60:02d}:{seconds % 60:02d}Z"


def started(sim, job_id, steps=3):
    sim.add_job(job_id, name=f"run {job_id}", config={"maxSteps": 10})
    sim.emit(job_id, "training.started", {}, timestamp=at(0))
    for step in range(1, steps + 1):
        sim.emit(job_id, "training.log", {"step": step, "loss": 1 / step}, timestamp=at(step))


def finish(sim, job_id, outcome):
    if outcome == "completed":
        sim.emit(job_id, "training.completed", {"artifacts": [{"pathname": "a"}]}, timestamp=at(30))
        sim.end(job_id)
    elif outcome == "failed":
        sim.emit(job_id, "training.failed", {"error": "CUDA out of memory"}, timestamp=at(30))
        sim.end(job_id)
    elif outcome == "cancelled":
        sim.cancel(job_id)


def later(seconds, fn, *args):
    timer = threading.Timer(seconds, fn, args)
    timer.daemon = True
    timer.start()
    return timer


@pytest.mark.parametrize(
    "outcomes, code",
    [
        (("completed", "completed", "completed"), 0),
        (("completed", "failed"), 1),
        (("completed", "cancelled"), 3),
        (("cancelled", "failed", "completed"), 1),
        (("cancelled", "cancelled"), 3),
    ],
)
def test_exit_status_is_the_worst_outcome(arkor, outcomes, code):
    ids = [f"j{i}" for i in range(len(outcomes))]
    for job_id, outcome in zip(ids, outcomes, strict=True):
        started(arkor.sim, job_id)
        finish(arkor.sim, job_id, outcome)
    result = arkor.cli("wait", *ids)
    assert result.code == code, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(ids)
    for job_id, outcome in zip(ids, outcomes, strict=True):
        line = next(line for line in lines if line.startswith(f"Job run {job_id} "))
        assert line.startswith(f"Job run {job_id} {outcome}")
    if len(ids) > 1:
        assert f"{len(ids)} jobs: " in result.stderr


@pytest.mark.slow
def test_lines_come_as_jobs_end_and_streams_resume(arkor):
    sim = arkor.sim
    for job_id in ("a", "b"):
        started(sim, job_id)
    # b's first connection drops after one frame: it must resume, not fail.
    sim.add_fault("stream:b", Fault(drop_after=1))
    later(0.5, finish, sim, "a", "completed")
    later(1.5, finish, sim, "b", "completed")
    proc = arkor.popen("wait", "a", "b", **FAST)
    first = proc.stdout.readline()
    assert first.startswith("Job run a completed"), first
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("Job run b completed")
    assert "stream interrupted" in err
    assert len(sim.stream_requests("b")) >= 2
    assert TOKEN not in out + err


def test_timeout_is_exit_7_and_says_which(arkor):
    started(arkor.sim, "a")
    finish(arkor.sim, "a", "completed")
    started(arkor.sim, "slow")
    begin = time.monotonic()
    result = arkor.cli("wait", "a", "slow", "--timeout", "1s")
    assert time.monotonic() - begin < 10
    assert result.code == 7, result.output
    assert "Job run a completed" in result.stdout
    assert "Job run slow timed out" in result.stdout
    assert "step" in result.stdout.splitlines()[-1]  # how far it got


def test_timeout_does_not_hide_a_failure(arkor):
    started(arkor.sim, "bad")
    finish(arkor.sim, "bad", "failed")
    started(arkor.sim, "slow")
    result = arkor.cli("wait", "bad", "slow", "--timeout", "1s")
    assert result.code == 1


def test_fail_fast_stops_at_the_first_failure(arkor):
    sim = arkor.sim
    started(sim, "ok")
    started(sim, "bad")
    later(0.5, finish, sim, "bad", "failed")
    begin = time.monotonic()
    result = arkor.cli("wait", "ok", "bad", "--fail-fast")
    assert time.monotonic() - begin < 10
    assert result.code == 1, result.output
    assert "Job run bad failed" in result.stdout
    assert "Job run ok not waited for" in result.stdout
    assert not [r for r in sim.requests if r.method == "POST"]  # nothing cancelled


def test_fail_fast_cancel_rest_cancels_the_others_once(arkor):
    sim = arkor.sim
    started(sim, "ok1")
    started(sim, "ok2")
    started(sim, "bad")
    later(0.5, finish, sim, "bad", "failed")
    result = arkor.cli("wait", "ok1", "bad", "ok2", "--fail-fast", "--cancel-rest", "--json")
    assert result.code == 1, result.output
    posts = [r.path for r in sim.requests if r.method == "POST"]
    assert sorted(p.split("/")[3] for p in posts) == ["ok1", "ok2"]
    assert all(p.endswith("/cancel") for p in posts)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["jobId"]: r["outcome"] for r in records} == {
        "bad": "failed",
        "ok1": "cancelled",
        "ok2": "cancelled",
    }
    assert all(r["event"] == "summary" for r in records)
    assert sim.jobs["ok1"].job["status"] == "cancelled"


def test_json_records_carry_the_summary(arkor):
    started(arkor.sim, "a", steps=5)
    finish(arkor.sim, "a", "completed")
    started(arkor.sim, "b", steps=2)
    finish(arkor.sim, "b", "failed")
    result = arkor.cli("wait", "a", "b", "--json")
    assert result.code == 1
    records = {r["jobId"]: r for r in map(json.loads, result.stdout.splitlines())}
    a, b = records["a"], records["b"]
    assert a["outcome"] == "completed" and a["exitCode"] == 0
    assert a["step"] == 5 and a["loss"] == pytest.approx(0.2) and a["artifacts"] == 1
    assert b["outcome"] == "failed" and b["exitCode"] == 1 and b["name"] == "run b"


def test_all_running(arkor):
    sim = arkor.sim
    started(sim, "done")
    finish(sim, "done", "completed")
    started(sim, "live1")
    started(sim, "live2")
    later(0.5, finish, sim, "live1", "completed")
    later(0.8, finish, sim, "live2", "completed")
    result = arkor.cli("wait", "--all-running")
    assert result.code == 0, result.output
    assert sorted(line.split()[2] for line in result.stdout.splitlines()) == ["live1", "live2"]
    assert not sim.stream_requests("done")


def test_all_running_with_nothing_running(arkor):
    started(arkor.sim, "done")
    finish(arkor.sim, "done", "completed")
    result = arkor.cli("wait", "--all-running")
    assert result.code == 0 and "nothing to wait for" in result.stderr


def test_unknown_job_fails_before_following(arkor):
    started(arkor.sim, "a")
    result = arkor.cli("wait", "a", "nope")
    assert result.code == 1
    assert "nope" in result.stderr and "Traceback" not in result.output
    assert not arkor.sim.stream_requests()


def test_a_lost_stream_is_exit_5(arkor):
    started(arkor.sim, "a")
    finish(arkor.sim, "a", "completed")
    started(arkor.sim, "gone")
    arkor.sim.add_fault("stream:gone", Fault(status=410, body='{"error":"stream expired"}'))
    result = arkor.cli("wait", "a", "gone")
    assert result.code == 5, result.output
    assert "Job run gone lost (stream expired)" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "Give the jobs"),
        (("a", "--all-running"), "not both"),
        (("a", "--cancel-rest"), "goes with --fail-fast"),
        (("a", "--timeout", "soon"), "--timeout takes a duration"),
        (("a", "--timeout", "0s"), "--timeout takes a duration"),
    ],
)
def test_usage_errors(arkor, args, message):
    result = arkor.cli("wait", *args)
    assert result.code == 2, result.output
    assert message in result.stderr
    assert arkor.sim.requests == []


@pytest.mark.slow
def test_ctrl_c_names_the_jobs_still_running(arkor):
    import signal

    started(arkor.sim, "live")
    proc = arkor.popen("wait", "live")
    assert arkor.sim.wait_for(lambda: arkor.sim.stream_requests("live"))
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert "Job live is still running; to wait again: arkor-studio wait live" in err


@pytest.mark.slow
def test_many_jobs_one_connection_each(arkor):
    sim = arkor.sim
    ids = [f"j{i:02d}" for i in range(30)]
    for job_id in ids:
        started(sim, job_id, steps=1)
    proc = arkor.popen("wait", *ids, "--json")
    assert sim.wait_for(lambda: len({r.path for r in sim.stream_requests()}) == len(ids), 20)
    for job_id in ids:
        finish(sim, job_id, "completed")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == len(ids)
    assert len(sim.stream_requests()) == len(ids)  # one connection each, no retries


# ---- the pure rules -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("1h30m", 5400),
        ("2.5h", 9000),
        ("1d", 86400),
        ("500ms", 0.5),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5s", "1x", "h", "1h 30m", "inf", "nan"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_worst_outcome_order():
    assert worst(["completed", "timed out", "lost", "cancelled", "failed"]) == "failed"
    assert worst(["completed", "timed out", "lost", "cancelled"]) == "cancelled"
    assert worst(["timed out", "lost"]) == "lost"
    assert exit_code(["completed", "timed out"]) == 7
    assert exit_code([]) == 0
