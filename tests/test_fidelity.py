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
    for args in (("jobs",), ("jobs", "--json"), ("show", "edge"), ("watch", "edge", "--plain")):
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
        time.sleep(1.0)
        sim.emit("live", "training.failed", {})  # no error text: nothing invented
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
