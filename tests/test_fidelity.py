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
