"""`watch --alert`: the alert rules end to end, against the simulator over real HTTP/SSE."""

from __future__ import annotations

import json
import math
import time

import pytest

from arkor_cli_studio.simulator import Fault
from tests.test_watch import at, json_events


def started(sim, job_id: str = "j1", *, steps: int = 100) -> None:
    sim.add_job(job_id, name="my run", status="queued", config={"maxSteps": steps})
    sim.emit(job_id, "training.started", {}, timestamp=at(0))


def logs(sim, job_id: str, losses: list[float], *, first: int = 1) -> None:
    for offset, loss in enumerate(losses):
        step = first + offset
        sim.emit(job_id, "training.log", {"step": step, "loss": loss}, timestamp=at(step))


def finish(sim, job_id: str = "j1") -> None:
    sim.emit(job_id, "training.completed", {}, timestamp=at(200))
    sim.end(job_id)


def cancel_requests(sim, job_id: str = "j1") -> list:
    return [r for r in sim.requests if r.method == "POST" and r.path.endswith(f"/{job_id}/cancel")]


# --------------------------------------------------------------------------
# Showing: plain lines, JSON records, once per condition


def test_plain_an_alert_line_right_after_the_event_that_fired_it(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [1.0, 1.5, 2.5, 3.0, 1.0, 2.2])
    finish(sim)
    result = arkor.cli("watch", "j1", "--plain", "--alert", "loss>2")
    assert result.code == 0, result.stderr  # notify: the watch goes on to the end
    lines = [line for line in result.stdout.splitlines() if "progress" not in line]
    alerts = [i for i, line in enumerate(lines) if line.startswith("ALERT")]
    assert [lines[i] for i in alerts] == [
        "ALERT loss>2 at step 3: loss 2.5 > 2",
        "ALERT loss>2 at step 6: loss 2.2 > 2",  # again: it cleared at step 5
    ]
    assert [lines[i - 1].split()[-2:] for i in alerts] == [
        ["step=3", "loss=2.5000"],
        ["step=6", "loss=2.2000"],
    ]


def test_json_alert_records_in_turn_with_the_events_and_stats_file_skips_them(arkor, tmp_path):
    sim = arkor.sim
    started(sim)
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.9}, timestamp=at(1))
    sim.emit("j1", "training.log", raw_data='{"step": 2, "loss": NaN}')
    sim.emit("j1", "training.log", {"step": 3, "loss": 0.8}, timestamp=at(3))
    finish(sim)
    result = arkor.cli("watch", "j1", "--json", "--alert", "nan")
    assert result.code == 0, result.stderr
    records = json_events(result.stdout)  # every line is valid JSON
    names = [r["event"] for r in records]
    assert names.index("alert") == names.index("training.log") + 2  # right after step 2
    alert = records[names.index("alert")]
    assert alert == {
        "event": "alert",
        "rule": "nan",
        "step": 2,
        "values": {"loss": "NaN"},
        "message": "loss is NaN",
    }
    ndjson = tmp_path / "run.ndjson"
    ndjson.write_text(result.stdout)
    stats = arkor.cli("stats", "--file", str(ndjson), "--json")
    assert stats.code == 0 and "skipped" not in stats.stderr, stats.stderr


def test_default_rules_apply_without_flags_and_none_turns_them_off(arkor):
    sim = arkor.sim
    started(sim)
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.9}, timestamp=at(1))
    sim.emit("j1", "training.log", raw_data='{"step": 2, "loss": Infinity}')
    finish(sim)
    result = arkor.cli("watch", "j1", "--plain")
    assert "ALERT nan at step 2: loss is Infinity" in result.stdout
    quiet = arkor.cli("watch", "j1", "--plain", "--alert", "none")
    assert "ALERT" not in quiet.stdout and quiet.code == 0


def test_diverge_over_http_fires_once_for_a_run_that_blows_up(arkor):
    sim = arkor.sim
    started(sim)
    losses = [2.0 * 0.97**s for s in range(60)]
    losses += [losses[-1] * 1.2**k for k in range(1, 25)]
    logs(sim, "j1", losses)
    finish(sim)
    result = arkor.cli("watch", "j1", "--plain")  # diverge is a default rule
    alerts = [line for line in result.stdout.splitlines() if line.startswith("ALERT")]
    assert len(alerts) == 1 and alerts[0].startswith("ALERT diverge at step ")


# --------------------------------------------------------------------------
# Acting: exit, cancel


def test_on_alert_exit_stops_watching_with_exit_6_and_leaves_the_job_alone(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [1.0, 5.0, 6.0])  # never finishes
    result = arkor.run("watch", "j1", "--plain", "--alert", "loss>4", "--on-alert", "exit")
    assert result.code == 6, result.stderr
    assert "ALERT loss>4 at step 2: loss 5 > 4" in result.stdout
    assert "stopped watching" in result.stderr and "Traceback" not in result.stderr
    assert cancel_requests(sim) == []
    assert sim.jobs["j1"].job["status"] == "running"


def test_on_alert_cancel_sends_one_cancel_and_exits_6(arkor):
    sim = arkor.sim
    started(sim)
    # Two rules fire on the same event, and more alerts would follow.
    logs(sim, "j1", [1.0, 5.0, 6.0, 1.0, 7.0])
    result = arkor.run(
        "watch", "j1", "--json", "--alert", "loss>4", "--alert", "loss>3", "--on-alert", "cancel"
    )
    assert result.code == 6, result.stderr
    assert len(cancel_requests(sim)) == 1
    assert sim.jobs["j1"].job["status"] == "cancelled"
    records = json_events(result.stdout)
    assert [r["rule"] for r in records if r["event"] == "alert"] == ["loss>4", "loss>3"]
    assert "cancelled job j1" in result.stderr


def test_on_alert_cancel_that_fails_says_so_with_the_errors_exit_code(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [5.0])
    sim.add_fault("cancel:j1", Fault(status=500, body='{"error": "busy"}'))
    result = arkor.run("watch", "j1", "--plain", "--alert", "loss>4", "--on-alert", "cancel")
    assert result.code == 1, result.stderr
    assert "could not be cancelled" in result.stderr and "busy" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(cancel_requests(sim)) == 1


def test_on_alert_cancel_is_refused_in_studio_mode_before_anything_is_sent(studio_arkor):
    sim = studio_arkor.sim
    started(sim)
    before = len(sim.requests)
    result = studio_arkor.cli("watch", "j1", "--plain", "--on-alert", "cancel")
    assert result.code == 2
    assert "cancel" in result.stderr and "Traceback" not in result.stderr
    assert len(sim.requests) == before


# --------------------------------------------------------------------------
# stall: within DURATION + 1 s, over a real stream


def test_stall_fires_within_duration_plus_a_second(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [1.0, 0.9])
    begun = time.monotonic()
    result = arkor.run(
        "watch", "j1", "--json", "--alert", "stall:1s", "--on-alert", "exit", timeout=60
    )
    took = time.monotonic() - begun
    assert result.code == 6, result.stderr
    (alert,) = [r for r in json_events(result.stdout) if r["event"] == "alert"]
    assert alert["rule"] == "stall:1s" and alert["step"] == 2
    # The silence the rule measured: at least DURATION, at most DURATION + 1 s
    # (one tick), plus scheduling slack on a loaded machine.
    assert 1.0 <= alert["values"]["seconds"] <= 2.5
    assert took > 1.0


def test_stall_does_not_count_the_warm_up(arkor):
    sim = arkor.sim
    sim.add_job("q1", name="queued", status="queued")
    proc = arkor.popen("watch", "q1", "--json", "--alert", "stall:1s")
    try:
        time.sleep(2.5)  # queued: no stall however long
        sim.emit("q1", "training.completed", {}, timestamp=at(3))
        sim.end("q1")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert '"event":"alert"' not in out.replace(" ", "")


# --------------------------------------------------------------------------
# Usage and configuration errors: one line, the documented code, nothing sent


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--alert", "los>2"], "Not an alert rule: 'los>2'"),
        (["--alert", "stall:soon"], "stall:DURATION needs a duration"),
        (["--on-alert", "kill"], "'kill' is not one of 'notify', 'exit', 'cancel'"),
    ],
)
def test_bad_alert_options_exit_2_with_one_line(arkor, args, says):
    started(arkor.sim)
    before = len(arkor.sim.requests)
    result = arkor.cli("watch", "j1", *args)
    assert result.code == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(arkor.sim.requests) == before


def test_project_file_rules_and_overrides(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [1.0, 3.0])
    finish(sim)
    (arkor.project / ".arkor-studio.toml").write_text(
        '[alerts]\nrules = ["loss>2"]\non-alert = "exit"\n'
    )
    result = arkor.cli("watch", "j1", "--plain")
    assert result.code == 6 and "ALERT loss>2 at step 2" in result.stdout
    flags = arkor.cli("watch", "j1", "--plain", "--alert", "loss>5", "--on-alert", "notify")
    assert flags.code == 0 and "ALERT" not in flags.stdout


def test_a_bad_project_file_exits_4_naming_it(arkor):
    started(arkor.sim)
    path = arkor.project / ".arkor-studio.toml"
    path.write_text('[alerts]\nrules = ["diverge:0"]\n')
    before = len(arkor.sim.requests)
    result = arkor.cli("watch", "j1", "--plain")
    assert result.code == 4
    assert str(path) in result.stderr and "diverge:K" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the line and its hint
    assert len(arkor.sim.requests) == before


# --------------------------------------------------------------------------
# The live view: the banner, on a terminal


def test_live_banner_on_a_terminal(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [1.0, 1.2, 2.5])  # never finishes
    run = arkor.pty("watch", "j1", "--alert", "loss>2", "--no-notify", columns=100, rows=30)
    try:
        assert run.read_until(lambda out: b"ALERT loss>2 at step 3" in out), run.text[-3000:]
        logs(sim, "j1", [1.0], first=4)  # the condition clears: the banner says so
        assert run.read_until(lambda out: b"(cleared)" in out), run.text[-3000:]
    finally:
        run.signal()
    assert run.wait(timeout=20) == 130
    assert "Traceback" not in run.text


def test_live_exit_on_alert_leaves_the_banner_and_says_why(arkor):
    sim = arkor.sim
    started(sim)
    logs(sim, "j1", [1.0, math.pi])
    run = arkor.pty(
        "watch", "j1", "--alert", "loss>3", "--on-alert", "exit", "--no-notify", rows=30
    )
    assert run.wait(timeout=30) == 6
    assert "ALERT loss>3 at step 2" in run.text and "stopped watching" in run.text


def test_the_records_are_json_the_alert_record_keeps_finite_numbers():
    from arkor_cli_studio.alerts import AlertWatch
    from tests.test_alerts import log

    watch = AlertWatch.from_texts(["diverge", "plateau:3", "eval_rises:1", "loss<1"])
    for step, loss in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 9, 9, 9], 1):
        for alert in watch.observe(log(step, loss, eval_loss=step)):
            json.dumps(alert.record(), allow_nan=False)
    assert {a.rule for a in watch.fired} == {"diverge", "plateau:3", "eval_rises:1", "loss<1"}


def test_tab_completes_rules_and_actions():
    from tests.test_completions import _complete

    result = _complete("bash", COMP_WORDS="arkor-studio watch j --on-alert ", COMP_CWORD="4")
    assert result.stdout.split() == ["notify", "exit", "cancel"]
    result = _complete("bash", COMP_WORDS="arkor-studio watch j --alert pl", COMP_CWORD="4")
    assert result.stdout.split() == ["plateau:200", "plateau:200:1%"]


# --------------------------------------------------------------------------
# demo --scenario: runs that go wrong, through the real client and watch


SPEEDS = {"stall": "50"}  # the stall is a real-time silence: not too fast


@pytest.mark.parametrize("kind", ["nan", "diverge", "plateau", "stall", "overfit"])
def test_demo_scenarios_fire_their_rule(tmp_path, kind):
    from arkor_cli_studio.demo import Scenario
    from tests.helpers import run_subprocess
    from tests.test_demo import _env

    speed = SPEEDS.get(kind, "200")
    result = run_subprocess(
        ["demo", "--scenario", kind, "--json", "--speed", speed, "--no-notify"],
        _env(tmp_path),
        timeout=90,
    )
    assert result.code == 0, result.stderr  # notify: the run goes on to its end
    records = [json.loads(line) for line in result.stdout.splitlines()]
    fired = [r["rule"] for r in records if r["event"] == "alert"]
    (rule,) = Scenario(kind=kind, speed=float(speed)).alert_rules()
    assert fired == [rule], fired
    assert "end" in [r["event"] for r in records]  # (then the summary record)
    assert f"goes wrong ({kind})" in result.stderr


def test_demo_scenario_with_on_alert_cancel_exits_6(tmp_path):
    from tests.helpers import run_subprocess
    from tests.test_demo import _env

    result = run_subprocess(
        ["demo", "--scenario", "diverge", "--plain", "--speed", "200", "--on-alert", "cancel"],
        _env(tmp_path),
        timeout=60,
    )
    assert result.code == 6, result.stderr
    assert "ALERT diverge at step" in result.stdout
    assert "cancelled job" in result.stderr


def test_demo_alert_flags_replace_the_scenarios_rule(tmp_path):
    from tests.helpers import run_inprocess
    from tests.test_demo import _env

    env = _env(tmp_path)
    result = run_inprocess(
        ["demo", "--scenario", "overfit", "--plain", "--speed", "500", "--alert", "loss>100"], env
    )
    assert result.code == 0 and "ALERT" not in result.stdout
    assert run_inprocess(["demo", "--alert", "bogus"], env).code == 2
