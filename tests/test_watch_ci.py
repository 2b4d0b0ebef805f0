"""Where a run is watched from, end to end against the loopback simulator:
GitHub Actions, scripts and agents (--json's last record, --once, --quiet,
--tail/--since), notifications (terminal, webhook), --accessible."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

from tests import gha_runner, xychart
from tests.test_watch import FAST, at, lifecycle
from tests.test_webhook import Receiver

MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def commands(stdout: str) -> list[str]:
    return [parsed.name for line in stdout.splitlines() if (parsed := gha_runner.parse(line))]


def visible(stdout: str) -> list[str]:
    """The log's lines with every group collapsed (titles and annotations shown)."""
    out, inside = [], False
    for line in stdout.splitlines():
        parsed = gha_runner.parse(line)
        if parsed is not None and parsed.name == "group":
            out.append(line)
            inside = True
        elif parsed is not None and parsed.name == "endgroup":
            inside = False
        elif not inside or (parsed is not None and parsed.name in ("error", "warning")):
            out.append(line)
    return out


# ---- GitHub Actions ---------------------------------------------------------------


def test_github_actions_is_detected_and_writes_groups_and_the_summary(arkor, tmp_path: Path):
    lifecycle(arkor.sim, steps=20)
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    result = arkor.cli("watch", "j1", GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
    assert result.code == 0, result.output
    names = commands(result.stdout)
    assert names[0] == "group" and names.count("group") == names.count("endgroup")
    assert "::group::Training run" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Job my run completed in")
    text = summary.read_text()
    assert text.startswith("earlier step\n## ✅ my run: completed\n")  # appended
    (chart,) = MERMAID.findall(text)
    assert xychart.check(chart).x_range == (1.0, 20.0)


def test_nothing_of_it_outside_github_actions(arkor, tmp_path: Path):
    lifecycle(arkor.sim, steps=5)
    summary = tmp_path / "step-summary.md"
    result = arkor.cli("watch", "j1", "--plain", GITHUB_STEP_SUMMARY=str(summary))
    assert result.code == 0
    assert "::" not in result.stdout and not summary.exists()
    forced_off = arkor.cli(
        "watch", "j1", "--ci", "none", GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary)
    )
    assert "::" not in forced_off.stdout and not summary.exists()
    forced_on = arkor.cli("watch", "j1", "--ci", "github")
    assert "::group::" in forced_on.stdout


def test_a_failed_job_is_an_error_annotation(arkor):
    lifecycle(arkor.sim, steps=3, finish=False)
    arkor.sim.emit(
        "j1", "training.failed", {"error": "CUDA OOM\n::error::x 100%"}, timestamp=at(30)
    )
    arkor.sim.end("j1")
    result = arkor.cli("watch", "j1", "--ci", "github")
    assert result.code == 1
    last = gha_runner.parse(result.stdout.splitlines()[-1])
    assert last is not None and last.name == "error"
    assert last.properties == {"title": "Training failed"}
    assert last.data == "CUDA OOM ::error::x 100%"
    assert commands(result.stdout).count("error") == 1


def test_a_dropped_stream_is_one_warning(arkor):
    from arkor_cli_studio.simulator import Fault

    lifecycle(arkor.sim, steps=10)
    arkor.sim.add_fault("stream:j1", Fault(drop_after=4))
    result = arkor.cli("watch", "j1", "--ci", "github", **FAST)
    assert result.code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert warnings[0].startswith("::warning title=Event stream interrupted::")


def test_an_alert_is_a_warning_annotation(arkor):
    lifecycle(arkor.sim, steps=10)
    result = arkor.cli("watch", "j1", "--ci", "github", "--alert", "loss>0.6")
    assert result.code == 0, result.output
    warnings = [gha_runner.parse(line) for line in result.stdout.splitlines()]
    alerts = [w for w in warnings if w is not None and w.name == "warning"]
    assert alerts and alerts[0].properties == {"title": "Training alert"}
    assert alerts[0].data.startswith("loss>0.6 at step 1: ")


def test_a_two_hour_demo_run_in_ci_mode_has_a_short_visible_log(arkor, tmp_path: Path):
    """4,800 steps of ~1.5 s (over two hours of run time), played at 4000x."""
    summary = tmp_path / "summary.md"
    result = arkor.run(
        "demo", "--steps", "4800", "--speed", "4000", "--ci", "github",
        "--summary-file", str(summary), timeout=120,
    )  # fmt: skip
    assert result.code == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    shown = visible(result.stdout)
    assert len(lines) > 4800
    assert len(shown) < 100, shown
    assert sum("  progress  " in line for line in shown) == 10
    charts = [xychart.check(block) for block in MERMAID.findall(summary.read_text())]
    assert len(charts[0].lines[0]) <= 100


def test_summary_file_without_github(arkor, tmp_path: Path):
    lifecycle(arkor.sim, steps=12)
    path = tmp_path / "out" / "summary.md"
    result = arkor.cli("watch", "j1", "--plain", "--summary-file", str(path))
    assert result.code == 0
    assert "could not write the job summary" in result.stderr  # no such folder
    path.parent.mkdir()
    result = arkor.cli("watch", "j1", "--plain", "--summary-file", str(path))
    assert result.code == 0 and result.stderr == ""
    assert path.read_text().startswith("## ✅ my run: completed\n")


# ---- the last NDJSON record, whatever the ending -------------------------------------


@pytest.mark.parametrize(("end", "code"), [("completed", 0), ("failed", 1), ("cancelled", 3)])
def test_json_ends_with_the_summary_record(arkor, end: str, code: int):
    lifecycle(arkor.sim, steps=6, finish=False)
    if end == "completed":
        arkor.sim.emit("j1", "training.completed", {}, timestamp=at(40))
    elif end == "failed":
        arkor.sim.emit("j1", "training.failed", {"error": "boom"}, timestamp=at(40))
    else:
        arkor.sim.cancel("j1")
    arkor.sim.end("j1")
    result = arkor.cli("watch", "j1", "--json")
    assert result.code == code
    *events, last = records(result.stdout)
    assert all(r["event"] != "summary" for r in events)
    assert last["event"] == "summary"
    assert (last["outcome"], last["exitCode"], last["step"]) == (end, code, 6)
    assert last["jobId"] == "j1" and last["name"] == "my run"


def test_json_ends_with_the_summary_record_on_ctrl_c(arkor):
    lifecycle(arkor.sim, steps=3, finish=False)  # never ends
    proc = arkor.popen("watch", "j1", "--json")
    assert proc.stdout is not None
    for _ in range(4):
        proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130, stderr
    last = json.loads(stdout.splitlines()[-1])
    assert last["event"] == "summary"
    assert (last["outcome"], last["exitCode"], last["step"]) == ("interrupted", 130, 3)


def test_json_ends_with_the_summary_record_on_sigterm(arkor):
    lifecycle(arkor.sim, steps=3, finish=False)
    proc = arkor.popen("watch", "j1", "--json")
    assert proc.stdout is not None
    for _ in range(4):
        proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert json.loads(stdout.splitlines()[-1])["outcome"] == "terminated"


# ---- --once, --quiet, --tail, --since ---------------------------------------------------


def test_once_on_a_finished_job(arkor):
    lifecycle(arkor.sim, steps=8)
    result = arkor.cli("watch", "j1", "--once")
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert len([line for line in lines if "  training." in line]) == 5  # recent events
    assert lines[-2].startswith("Job my run completed in")
    assert lines[-1] == "Phase: Completed"


def test_once_on_a_running_job_exits_7_at_once(arkor):
    """The job's stream stays open (pings): --once still answers, exit 7."""
    lifecycle(arkor.sim, steps=4, finish=False, config={"maxSteps": 10})
    arkor.sim.update_job("j1", status="running")
    result = arkor.run("watch", "j1", "--once", "--json", "--tail", "2", timeout=20)
    assert result.code == 7, result.stderr
    *recent, last = records(result.stdout)
    assert [r["data"]["step"] for r in recent] == [3, 4]
    assert last["event"] == "summary"
    assert (last["outcome"], last["exitCode"], last["step"]) == ("running", 7, 4)
    assert last["phase"] == "Training run" and last["percent"] == 40.0
    plain = arkor.run("watch", "j1", "--once", timeout=20)
    assert plain.code == 7 and plain.stdout.splitlines()[-1].endswith("(still going: exit 7)")


def test_quiet_prints_only_the_summary(arkor):
    lifecycle(arkor.sim, steps=8)
    plain = arkor.cli("watch", "j1", "--quiet")
    assert plain.code == 0
    (line,) = plain.stdout.splitlines()
    assert line.startswith("Job my run completed in")
    as_json = arkor.cli("watch", "j1", "--quiet", "--json")
    (record,) = records(as_json.stdout)
    assert record["event"] == "summary" and record["outcome"] == "completed"


def test_tail_starts_from_the_last_events(arkor):
    lifecycle(arkor.sim, steps=30)
    result = arkor.cli("watch", "j1", "--plain", "--tail", "3")
    assert result.code == 0
    lines = result.stdout.splitlines()
    events = [line for line in lines if "  training." in line]
    assert len(events) == 3
    assert "step=29" in events[0] and "training.completed" in events[-1]
    assert lines[-1].startswith("Job my run completed in 59s · 30 steps")  # the whole run's
    as_json = records(arkor.cli("watch", "j1", "--json", "--tail", "2").stdout)
    assert [r["event"] for r in as_json] == ["training.completed", "end", "summary"]


def test_since_starts_from_a_time(arkor):
    lifecycle(arkor.sim, steps=30)
    result = arkor.cli("watch", "j1", "--plain", "--since", "2026-03-01T12:00:50Z")
    events = [line for line in result.stdout.splitlines() if "  training." in line]
    assert "step=25" in events[0] and len(events) == 7
    bad = arkor.cli("watch", "j1", "--since", "yesterday-ish")
    assert bad.code == 2 and "--since needs a time" in bad.stderr


# ---- notifications -----------------------------------------------------------------


def ends_now(sim) -> None:
    """A job whose end is news (its terminal event is newer than the watch's
    start, less Studio's grace): notifications are only for those."""
    lifecycle(sim, steps=5, finish=False)
    sim.emit("j1", "training.completed", {"artifacts": [{"pathname": "a"}]})
    sim.end("j1")


def test_terminal_notification_over_ssh_inside_tmux(arkor):
    ends_now(arkor.sim)
    run = arkor.pty(
        "watch", "j1", "--plain",
        SSH_CONNECTION="10.0.0.2 51000 10.0.0.1 22", TMUX="/tmp/tmux-0/default,1,0",
        TERM_PROGRAM="tmux", LC_TERMINAL="iTerm2",
    )  # fmt: skip
    assert run.wait(timeout=30) == 0
    out = bytes(run.output)
    assert b"\x1bPtmux;\x1b\x1b]9;\xe2\x9c\x93 my run: Training completed.\x07\x1b\\\x07" in out


def test_notify_terminal_without_tmux_and_no_notify(arkor):
    ends_now(arkor.sim)
    run = arkor.pty("watch", "j1", "--plain", "--notify", "terminal", TERM="foot")
    assert run.wait(timeout=30) == 0
    assert b"\x1b]777;notify;\xe2\x9c\x93 my run;Training completed.\x07\x07" in bytes(run.output)
    quiet = arkor.pty("watch", "j1", "--plain", "--no-notify", TERM="foot")
    assert quiet.wait(timeout=30) == 0
    assert b"777;notify" not in bytes(quiet.output) and b"\x1b]0;" not in bytes(quiet.output)


def test_webhook_is_posted_once_without_the_token(arkor):
    from tests.helpers import TOKEN

    lifecycle(arkor.sim, steps=5)
    with Receiver() as receiver:
        result = arkor.cli("watch", "j1", "--plain", "--notify-webhook", receiver.url)
    assert result.code == 0, result.output
    (request,) = receiver.requests
    body = json.loads(request["body"])
    assert body["text"].startswith("✅ Job my run completed in")
    assert (body["jobId"], body["outcome"], body["exitCode"], body["step"]) == (
        "j1",
        "completed",
        0,
        5,
    )
    assert TOKEN not in json.dumps(request["headers"]) and TOKEN not in request["body"].decode()
    assert receiver.url not in result.output


def test_a_failing_webhook_is_one_warning_and_keeps_the_exit_code(arkor):
    lifecycle(arkor.sim, steps=3, finish=False)
    arkor.sim.emit("j1", "training.failed", {"error": "boom"}, timestamp=at(30))
    arkor.sim.end("j1")
    with Receiver(status=500) as receiver:
        result = arkor.cli("watch", "j1", "--plain", ARKOR_STUDIO_NOTIFY_WEBHOOK=receiver.url)
    assert result.code == 1  # the job's outcome, not the webhook's
    assert result.stderr.splitlines() == [
        "arkor-studio: warning: the webhook notification was not delivered (HTTP 500)."
    ]
    assert "SECRET" not in result.output


def test_a_bad_webhook_url_is_a_usage_error_that_does_not_show_it(arkor):
    result = arkor.cli("watch", "j1", "--notify-webhook", "ftp://hooks/SECRET")
    assert result.code == 2 and "SECRET" not in result.output


# ---- --accessible ------------------------------------------------------------------------


def test_accessible_in_a_terminal_moves_no_cursor(arkor):
    lifecycle(arkor.sim, steps=10)
    arkor.sim.emit("j1", "checkpoint.saved", {"step": 10}, timestamp=at(50))
    run = arkor.pty("watch", "j1", "--no-notify", ACCESSIBLE="1")
    assert run.wait(timeout=30) == 0
    text = run.text
    assert "\x1b[" not in text and "\x1b]" not in text  # no cursor movement, no colour
    assert "Phase: training." in text and "Phase: the end." in text
    assert "Training completed, 1 artifact." in text
    assert "Status: completed. Job my run completed" in text
    assert os.linesep in text or "\n" in text
