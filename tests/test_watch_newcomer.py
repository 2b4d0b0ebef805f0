"""`watch` for a newcomer (issue 16 items 2, 4-7): the first line names the
job, the warm-up is said (and a heartbeat), training.started summed up,
--plain --json refused, TERM=dumb gets lines, Ctrl-C says how to come back."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.test_watch import lifecycle


def test_plain_and_json_together_is_a_usage_error(arkor):
    lifecycle(arkor.sim)
    result = arkor.cli("watch", "j1", "--plain", "--json")
    assert result.code == 2 and result.stdout == ""
    assert "--plain and --json can't be used together" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_first_line_names_the_job_and_started_is_summed_up(arkor):
    sim = arkor.sim
    sim.add_job("j1", name="gemma-sft", status="running", config={"maxSteps": 2})
    metadata = {"gpu": "NVIDIA L4 (24 GB)", "totalParameters": 268_098_176, "precision": "bf16"}
    sim.emit("j1", "training.started", {"metadata": metadata})
    sim.emit("j1", "training.log", {"step": 1, "loss": 1.0})
    sim.emit("j1", "training.completed", {"artifacts": []})
    sim.end("j1")
    lines = arkor.cli("watch", "j1", "--plain").stdout.splitlines()
    assert lines[0] == "Watching gemma-sft (j1), completed"
    assert lines[1].endswith(
        "training.started    GPU NVIDIA L4 (24 GB) · 268.1M parameters · precision bf16"
    )
    assert max(map(len, lines)) < 120  # no 300-character raw JSON line
    records = arkor.cli("watch", "j1", "--json").stdout
    assert '"metadata":{"gpu":"NVIDIA L4 (24 GB)"' in records  # JSON keeps the data as sent


def test_warm_up_is_said_and_a_heartbeat_follows(arkor, monkeypatch):
    from arkor_cli_studio.session.sinks import LinesSink

    monkeypatch.setattr(LinesSink, "heartbeat", 0.5)
    sim = arkor.sim
    sim.add_job("j1", name="queued-run", status="queued", config={"maxSteps": 1})

    def later() -> None:
        time.sleep(3.5)
        sim.emit("j1", "training.started", {})
        sim.emit("j1", "training.log", {"step": 1, "loss": 0.5})
        sim.emit("j1", "training.completed", {"artifacts": []})
        sim.end("j1")

    thread = threading.Thread(target=later)
    thread.start()
    try:
        result = arkor.cli("watch", "j1", "--plain")
    finally:
        thread.join()
    lines = result.stdout.splitlines()
    assert lines[0] == "Watching queued-run (j1), Warming up GPU"
    assert lines[1].endswith("  warming up: waiting for a GPU"), lines
    assert any(line.endswith("so far)") and "still warming up (" in line for line in lines[2:4])
    started = next(i for i, line in enumerate(lines) if "training.started" in line)
    assert not any("warming up" in line for line in lines[started:])  # quiet once it runs


def test_no_warm_up_line_for_a_running_job(arkor):
    lifecycle(arkor.sim, steps=3)
    out = arkor.cli("watch", "j1", "--plain").stdout
    assert "warming up" not in out


def test_dumb_terminal_gets_plain_lines(arkor):
    lifecycle(arkor.sim, steps=5)
    run = arkor.pty("watch", "j1", "--no-notify", columns=80, rows=24, TERM="dumb")
    assert run.wait(timeout=30) == 0
    out = run.text
    assert "training.log        step=5 loss=0.2000" in out
    assert "Job my run completed" in out
    assert "\x1b[" not in out  # no cursor movement, no colours: a dumb terminal


@pytest.mark.parametrize("elsewhere", [False, True])
def test_ctrl_c_says_the_job_is_still_running_and_how_to_come_back(arkor, elsewhere):
    lifecycle(arkor.sim, steps=5, finish=False)
    run = arkor.pty("watch", "j1", "--no-notify", columns=100, rows=30)
    assert run.read_until(lambda out: b"step=5" in out)
    run.signal(signal.SIGINT)
    assert run.wait(timeout=20) == 130
    text = run.text.replace("\r", "")
    assert (
        f"Stopped watching. Job my run is still running; watch it again with: "
        f"arkor-studio -C {arkor.project} watch j1"
    ) in text
    assert "Traceback" not in text


def test_ctrl_c_after_the_end_says_nothing_more(arkor):
    lifecycle(arkor.sim, steps=3)
    proc = arkor.popen("watch", "j1", "--plain")
    proc.wait(timeout=30)
    assert "still running" not in (proc.stderr.read() if proc.stderr else "")
