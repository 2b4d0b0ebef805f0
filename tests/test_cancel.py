from __future__ import annotations

import time

from arkor_cli_studio.simulator import Fault
from tests.helpers import TOKEN

PROMPT = b"[y/N]"


def _posts(sim):  # type: ignore[no-untyped-def]
    return [r.path for r in sim.requests if r.method == "POST"]


def test_yes_cancels_and_prints_the_refetched_status(arkor):
    arkor.sim.add_job("job-1", name="faq-bot", status="running")
    result = arkor.cli("cancel", "--yes", "job-1")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "Job faq-bot (job-1) is now cancelled."
    assert arkor.sim.jobs["job-1"].job["status"] == "cancelled"
    calls = [(r.method, r.path) for r in arkor.sim.requests]
    assert calls == [
        ("GET", "/v1/jobs/job-1"),
        ("POST", "/v1/jobs/job-1/cancel"),
        ("GET", "/v1/jobs/job-1"),  # the new status is read back, not assumed
    ]
    post = arkor.sim.requests[1]
    assert post.query == {"orgSlug": "acme", "projectSlug": "demo"}
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in result.output
    assert arkor.cli("cancel", "-y", "job-1").stdout.startswith("Job faq-bot (job-1) is already")


def test_cancel_accepted_but_not_yet_effective(arkor):
    arkor.sim.add_job("job-1", status="queued")
    arkor.sim.add_fault("cancel:job-1", Fault(status=202, body="{}"))  # accepted, async
    result = arkor.cli("cancel", "-y", "job-1")
    assert result.code == 0
    assert "is still queued: the cancel was accepted" in result.stdout


def test_already_finished_sends_nothing_and_needs_no_terminal(arkor):
    for status in ("completed", "failed", "cancelled"):
        arkor.sim.add_job(status, status=status)
        result = arkor.cli("cancel", status)  # no --yes, no terminal: still fine
        assert result.code == 0, result.stderr
        assert f"is already {status}: nothing to cancel." in result.stdout
    assert _posts(arkor.sim) == []


def test_no_terminal_without_yes_refuses_with_exit_2(arkor):
    arkor.sim.add_job("job-1", status="running")
    result = arkor.run("cancel", "job-1")  # a real process, pipes for stdio
    assert result.code == 2
    assert "not both a terminal" in result.stderr and "--yes" in result.stderr
    assert result.stdout == ""
    assert _posts(arkor.sim) == [] and arkor.sim.jobs["job-1"].job["status"] == "running"


def test_confirmation_on_a_terminal_answered_yes(arkor):
    arkor.sim.add_job("job-1", name="faq-bot", status="queued", created_at=time.time() - 5)
    run = arkor.pty("cancel", "job-1", NO_COLOR="1")
    assert run.read_until(lambda out: PROMPT in out), run.text
    prompt = run.text
    assert "faq-bot" in prompt and "job-1" in prompt and "Warming up GPU" in prompt
    assert _posts(arkor.sim) == []  # nothing sent before the answer
    run.send(b"y\n")
    assert run.wait() == 0, run.text
    assert "is now cancelled" in run.text
    assert _posts(arkor.sim) == ["/v1/jobs/job-1/cancel"]


def test_confirmation_on_a_terminal_answered_no(arkor):
    arkor.sim.add_job("job-1", name="faq-bot", status="running")
    run = arkor.pty("cancel", "job-1")
    assert run.read_until(lambda out: PROMPT in out), run.text
    assert "currently running" in run.text
    run.send(b"n\n")
    assert run.wait() == 1
    assert "Not cancelled" in run.text
    assert _posts(arkor.sim) == [] and arkor.sim.jobs["job-1"].job["status"] == "running"


def test_confirmation_end_of_input_declines(arkor):
    arkor.sim.add_job("job-1", status="running")
    run = arkor.pty("cancel", "job-1")
    assert run.read_until(lambda out: PROMPT in out), run.text
    run.send(b"\x04")  # Ctrl-D on an empty line: EOF
    assert run.wait() == 1
    assert _posts(arkor.sim) == []


def test_prompt_shows_hostile_names_as_text(arkor):
    arkor.sim.add_job("job-1", name="x\x1b]0;pwned\x07\x1b[2J\x9b31m[bold]y", status="running")
    run = arkor.pty("--no-color", "cancel", "job-1")
    assert run.read_until(lambda out: PROMPT in out), run.text
    run.send(b"n\n")
    run.wait()
    assert b"\x1b]0" not in run.output and b"\x07" not in run.output
    assert b"\x1b[2J" not in run.output and "\x9b" not in run.text
    assert "[bold]y" in run.text


def test_unknown_id_is_exit_1_and_nothing_is_posted(arkor):
    result = arkor.cli("cancel", "-y", "nope")
    assert result.code == 1 and "No job nope in acme/demo" in result.stderr
    assert _posts(arkor.sim) == []


def test_auth_and_api_errors(arkor):
    arkor.sim.add_job("job-1", status="running")
    arkor.sim.add_fault("detail:job-1", Fault(status=401, body='{"error":"token expired"}'))
    result = arkor.cli("cancel", "-y", "job-1")
    assert result.code == 4 and "token expired" in result.stderr
    assert _posts(arkor.sim) == []

    arkor.sim.add_fault("cancel:job-1", Fault(status=403, body='{"error":"not your job"}'))
    result = arkor.cli("cancel", "-y", "job-1")
    assert result.code == 4 and "not your job" in result.stderr

    arkor.sim.add_fault("cancel:job-1", Fault(status=409, body='{"error":"job is finishing"}'))
    result = arkor.cli("cancel", "-y", "job-1")
    assert result.code == 1 and "job is finishing" in result.stderr
    assert arkor.sim.jobs["job-1"].job["status"] == "running"


def test_status_read_back_failing_still_reports_the_cancel(arkor):
    arkor.sim.add_job("job-1", status="running")
    # The first detail request takes a no-op fault (no status: answered
    # normally); the read-back after the POST gets the 503.
    arkor.sim.add_fault("detail:job-1", Fault())
    arkor.sim.add_fault("detail:job-1", Fault(status=503, body='{"error":"busy"}'))
    result = arkor.cli("cancel", "-y", "job-1")
    assert result.code == 0
    assert "Cancel requested for job-1; could not read its new status: busy" in result.stderr
    assert arkor.sim.jobs["job-1"].job["status"] == "cancelled"


def test_id_with_reserved_characters(arkor):
    odd = "a/b c?d#e"
    arkor.sim.add_job(odd, status="running")
    result = arkor.cli("cancel", "-y", odd)
    assert result.code == 0, result.stderr
    assert _posts(arkor.sim) == ["/v1/jobs/a%2Fb%20c%3Fd%23e/cancel"]
    assert arkor.sim.jobs[odd].job["status"] == "cancelled"


def test_bad_id_and_help(arkor):
    assert arkor.cli("cancel", "-y", "..").code == 2
    assert arkor.sim.requests == []
    result = arkor.cli("cancel", "--help")
    assert result.code == 0 and "Examples:" in result.stdout and "--yes" in result.stdout


def test_ctrl_c_at_the_prompt_is_exit_130_and_sends_nothing(arkor):
    arkor.sim.add_job("job-1", status="running")
    run = arkor.pty("cancel", "job-1")
    assert run.read_until(lambda out: PROMPT in out), run.text
    run.signal()
    assert run.wait() == 130
    assert "Traceback" not in run.text
    assert _posts(arkor.sim) == []
