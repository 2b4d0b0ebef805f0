"""End to end: the job page as Studio computes it (issue 15) and times at the
edge of the calendar (issue 17.6), against the simulator."""

from __future__ import annotations

import signal

from tests.helpers import cli_command
from tests.test_faults import Watched

WEST = "America/New_York"  # west of UTC: year 1 moved to local time underflows
EDGE_LATE = "9999-12-31T23:59:59-05:00"  # in UTC: year 10000
EDGE_EARLY = "0001-01-01T00:00:00Z"


def edge_job(sim) -> None:  # type: ignore[no-untyped-def]
    sim.add_job(
        "edge",
        name="edgy",
        status="queued",
        created_at=EDGE_LATE,
        detail_events=True,
        config={"model": "m"},
    )
    sim.emit("edge", "training.started", {}, timestamp=EDGE_EARLY)
    sim.emit("edge", "training.log", {"step": 1, "loss": 0.5}, timestamp=EDGE_LATE)
    sim.emit("edge", "training.completed", {"artifacts": []}, timestamp=EDGE_EARLY)
    sim.update_job("edge", startedAt=EDGE_EARLY, completedAt=EDGE_LATE)
    sim.end("edge")


def test_times_at_the_calendars_edge_do_not_stop_any_command(arkor):
    edge_job(arkor.sim)
    env = {"TZ": WEST}
    for args in (
        ("jobs",),
        ("jobs", "--json"),
        ("show", "edge"),
        ("watch", "edge", "--plain"),
        ("wait", "edge"),
    ):
        result = arkor.run(*args, **env)
        assert result.code == 0, (args, result.stderr)
        assert "Error" not in result.stderr and "unexpected" not in result.stderr, result.stderr
    shown = arkor.run("show", "edge", **env).stdout
    assert "Created     N/A" in shown and "Started     N/A" in shown
    plain = arkor.run("watch", "edge", "--plain", **env).stdout
    assert "training.completed" in plain and "Job edgy completed" in plain
    lines = [line for line in plain.splitlines() if "training." in line]
    assert all(line.startswith("-  ") for line in lines)  # no time to show: `-`, aligned
    # jobs --follow keeps polling: it draws the table, then is stopped by a signal
    run = Watched(
        [*cli_command(), *arkor.args(("jobs", "--follow", "--interval", "1"))], {**arkor.env, **env}
    )
    try:
        run.wait_for("edgy")
        run.wait_for("edgy")
        assert run.stop(signal.SIGINT) == 130
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert "Error" not in run.stderr and "unexpected" not in run.stderr, run.stderr
    # and the keyboard board of `jobs --follow` on a terminal
    board = arkor.pty("jobs", "--follow", columns=100, rows=24, **env)
    assert board.read_until(lambda out: b"edgy" in out)
    board.signal(signal.SIGINT)
    assert board.wait(timeout=20) == 130
    assert "unexpected" not in board.text and "Traceback" not in board.text


# --------------------------------------------------------------------------
# Notifications: only endings that are news; a minimal environment


def recording_notifier(tmp_path):  # type: ignore[no-untyped-def]
    """A notify-send that records its argv and environment, one JSON line a call."""
    import os
    import stat
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "notify.log"
    script = bin_dir / "notify-send"
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps([sys.argv[1:], dict(os.environ)]) + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{bin_dir}:{os.environ['PATH']}", log


def calls(log) -> list:  # type: ignore[no-untyped-def]
    import json

    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_replayed_ending_is_shown_not_announced(arkor, tmp_path):
    path, log = recording_notifier(tmp_path)
    sim = arkor.sim
    sim.add_job("old", name="yesterday", status="queued")
    sim.emit("old", "training.started", {}, timestamp="2026-11-30T08:00:00Z")
    sim.emit("old", "training.completed", {"artifacts": []}, timestamp="2026-11-30T08:10:00Z")
    sim.end("old")
    result = arkor.cli("watch", "old", "--plain", "--notify", PATH=path)
    assert result.code == 0 and "Job yesterday completed" in result.stdout  # shown
    assert calls(log) == []  # not announced


def test_an_ending_while_watched_is_announced_with_a_minimal_environment(arkor, tmp_path):
    import threading
    import time

    path, log = recording_notifier(tmp_path)
    sim = arkor.sim
    sim.add_job("live", name="now", status="queued")
    sim.emit("live", "training.started", {})

    def finish() -> None:
        # Once the watch follows the stream; the failure comes without error
        # text (nothing invented). The simulator's job says error "failed" for
        # a failed event without one, and a poll after the event would read
        # it: it is cleared in the same step.
        sim.wait_for(lambda: sim.stream_requests("live"), timeout=30)
        time.sleep(0.3)
        with sim.changed:
            sim.emit("live", "training.failed", {})
            sim.update_job("live", error=None)
        sim.end("live")

    threading.Thread(target=finish, daemon=True).start()
    result = arkor.run(
        "watch", "live", "--plain", "--notify", PATH=path, ARKOR_STUDIO_TOKEN="sekrit-studio-tok"
    )
    assert result.code == 1
    ((argv, env),) = calls(log)
    assert argv[-2:] == ["✗ now", "Training failed."]
    assert "ARKOR_STUDIO_TOKEN" not in env and "sekrit-studio-tok" not in str(env)
    assert not any(key.startswith("ARKOR") for key in env)
    assert env["PATH"] == path  # what it needs to run is still there


def test_the_title_mark_is_cleared_when_watch_exits(arkor, tmp_path):
    path, log = recording_notifier(tmp_path)
    sim = arkor.sim
    sim.add_job("t", name="titled", status="queued")
    sim.emit("t", "training.started", {})
    sim.emit("t", "training.completed", {"artifacts": []})  # stamped now: news
    sim.end("t")
    run = arkor.pty("watch", "t", columns=90, rows=24, PATH=path)
    assert run.wait(timeout=30) == 0
    out = bytes(run.output)
    push, mark, pop = (
        out.find(b"\x1b[22;0t"),
        out.find("\x1b]0;✓ titled\x07".encode()),
        out.rfind(b"\x1b[23;0t"),
    )
    assert 0 <= push < mark < pop  # the old title saved, the mark set, then put back
    assert len(calls(log)) == 1


# --------------------------------------------------------------------------
# watch --advanced --last N: Studio's cards, saying what they cover


def test_watch_advanced_last_n_gives_studios_cards(arkor):
    sim = arkor.sim
    sim.add_job("w", name="win", status="queued")
    sim.emit("w", "training.started", {})
    for step in range(1, 11):
        sim.emit("w", "training.log", {"step": step, "loss": 1.0 / step})
        if step % 5 == 0:
            sim.emit("w", "training.log", {"step": step, "evalLoss": 2.0 / step})  # eval-only
    sim.emit("w", "training.log", {"loss": 0.001})  # no step: not a chart point
    sim.emit("w", "training.completed", {"artifacts": []})
    sim.end("w")
    whole = arkor.cli("watch", "w", "--plain", "--advanced").stdout
    assert "Training loss · whole run" in whole
    assert "│ Points                           11 │" in whole  # every frame with a loss
    out = arkor.cli("watch", "w", "--plain", "--advanced", "--last", "4").stdout
    assert "Training loss · last 4 points" in out and "Eval loss · last 4 points" in out
    # the last 4 chart frames: steps 8, 9, 10 and 10's eval frame, merged to 3 points
    assert "│ Points                            3 │ │ Points                            1 │" in out
    assert arkor.cli("watch", "w", "--plain", "--last", "0").code == 2


# --------------------------------------------------------------------------
# The chart cursor on a terminal


def test_chart_cursor_keys_on_a_terminal(arkor):
    import os
    import re

    def seen(text: str):  # type: ignore[no-untyped-def]
        """The frame's text so far, without colours, contains `text`."""
        return lambda out: text in re.sub(r"\x1b\[[0-9;]*m", "", out.decode(errors="ignore"))

    sim = arkor.sim
    sim.add_job("c", name="cursor", status="queued", config={"maxSteps": 100})
    sim.emit("c", "training.started", {})
    for step in range(1, 41):
        payload = {"step": step, "loss": 1.0 / step}
        if step % 10 == 0:
            payload["evalLoss"] = 2.0 / step
        sim.emit("c", "training.log", payload)
    run = arkor.pty("watch", "c", "--no-notify", columns=100, rows=40)
    try:
        assert run.read_until(seen("Latest  step 40 · loss 0.0250"))
        assert run.read_until(seen("←→ Home End: step"))  # the key help
        run.send(b"\x1b[H")  # Home: the first step
        assert run.read_until(seen("Cursor  step 1 · loss 1.0000"))
        run.send(b"\x1b[C" * 9)  # nine presses right: a step each here
        assert run.read_until(seen("Cursor  step 10 · loss 0.1000 · evalLoss 0.2000"))
        assert "┊" in run.text  # the vertical mark
        mark = len(run.output)
        run.send(b"\x1b")  # Esc: following the latest step again
        assert run.read_until(lambda out: seen("Latest  step 40")(out[mark:]))
        run.signal(signal.SIGINT)
        assert run.wait(timeout=20) == 130
    finally:
        if run.code is None:
            os.kill(run.pid, signal.SIGKILL)


def test_no_cursor_when_piped(arkor):
    sim = arkor.sim
    sim.add_job("p", name="piped", status="queued")
    sim.emit("p", "training.log", {"step": 1, "loss": 0.5})
    sim.emit("p", "training.completed", {"artifacts": []})
    sim.end("p")
    result = arkor.run("watch", "p")  # stdout a pipe: plain lines, no keys read
    assert result.code == 0 and "Cursor" not in result.stdout and "Home End" not in result.stdout


# --------------------------------------------------------------------------
# Item 1 end to end: the summary line, --json's summary and show say 22s


def test_duration_is_the_run_not_the_queue_everywhere(arkor):
    import json

    sim = arkor.sim
    sim.add_job("d", name="dur", status="queued", created_at="2026-03-01T12:00:00Z")
    sim.emit("d", "training.started", {}, timestamp="2026-03-01T12:01:40Z")  # 100 s queued
    sim.emit("d", "training.log", {"step": 1, "loss": 0.5}, timestamp="2026-03-01T12:01:50Z")
    sim.emit("d", "training.completed", {"artifacts": []}, timestamp="2026-03-01T12:02:02Z")
    sim.update_job("d", startedAt=None, completedAt=None)  # only the stream knows the times
    sim.end("d")
    plain = arkor.cli("watch", "d", "--plain")
    assert "Job dur completed in 22s" in plain.stdout, plain.stdout
    records = [json.loads(line) for line in arkor.cli("watch", "d", "--json").stdout.splitlines()]
    summaries = [r for r in records if r.get("event") == "summary"]
    assert [s["durationSeconds"] for s in summaries] in ([22.0], [])  # (when the record exists)
    sim.update_job("d", startedAt="2026-03-01T12:01:40Z", completedAt="2026-03-01T12:02:02Z")
    shown = arkor.cli("show", "d").stdout
    assert "Duration    22s" in shown and "Started     2026-03-01 12:01:40" in shown
