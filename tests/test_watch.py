"""`watch` end to end against the loopback simulator."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from arkor_cli_studio.simulator import Fault
from tests.helpers import TOKEN, cli_command, subprocess_env

FAST = {"ARKOR_STUDIO_RETRY_SCALE": "0.01"}


def at(seconds: int) -> str:
    return f"2026-03-01T12:{seconds // 60:02d}:{seconds % 60:02d}Z"


def now() -> str:
    """The time now, as the server stamps an event that just happened."""
    from arkor_cli_studio.simulator import iso

    return iso()


def lifecycle(
    sim, job_id="j1", *, steps=10, name="my run", config=None, finish=True, ended_at=None
):
    """A run; `ended_at`: its training.completed's time (default: a fixed past
    time; `now()` for an ending that is news to a watch starting now)."""
    sim.add_job(job_id, name=name, status="queued", config=config or {"maxSteps": steps})
    sim.emit(job_id, "training.started", {"metadata": {"gpu": "A100"}}, timestamp=at(0))
    for i in range(1, steps + 1):
        sim.emit(job_id, "training.log", {"step": i, "loss": 1 / i}, timestamp=at(2 * i))
    if finish:
        sim.emit(
            job_id,
            "training.completed",
            {"artifacts": [{"pathname": "a"}]},
            timestamp=ended_at or at(59),
        )
        sim.end(job_id)


def json_events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_full_lifecycle_plain_with_odd_frames(arkor):
    sim = arkor.sim
    sim.add_job("j1", name="my run", config={"maxSteps": 4})
    sim.emit("j1", "training.started", {"metadata": {"gpu": "A100"}}, timestamp=at(0))
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.5}, timestamp=at(2))
    sim.emit("j1", "training.log", {"step": 2, "evalLoss": 0.61234}, timestamp=at(4))  # eval-only
    sim.emit("j1", "training.log", {"step": 3, "loss": None, "evalLoss": None}, timestamp=at(6))
    sim.emit("j1", "training.log", {"loss": 0.25}, timestamp=at(7))  # missing step
    sim.emit("j1", "training.log", raw_data='{"step": 9, "loss": 1e309}')  # overflow: absent
    sim.emit("j1", "brand.new.event", {"x": 1})  # unknown: skipped
    sim.emit("j1", "training.log", raw_data="{not json")  # malformed: skipped
    sim.emit("j1", "checkpoint.saved", {"step": 4}, timestamp=at(8))
    sim.emit("j1", "training.log", {"step": 4, "loss": 0.2, "evalLoss": 0.3}, timestamp=at(10))
    sim.emit("j1", "training.completed", {"artifacts": [{}, {}]}, timestamp=at(12))
    sim.end("j1")
    result = arkor.cli("watch", "j1", "--plain")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    events = [line for line in lines if "  progress  " not in line]
    assert events == [
        "Watching my run (j1), completed",  # the first line names the job
        "2026-03-01 12:00:00  training.started    GPU A100",  # summed up, not raw JSON
        "2026-03-01 12:00:02  training.log        step=1 loss=0.5000",
        "2026-03-01 12:00:04  training.log        step=2 evalLoss=0.6123",
        "2026-03-01 12:00:06  training.log        step=3",
        "2026-03-01 12:00:07  training.log        step=- loss=0.2500",
        "-                    training.log        step=9",
        "ALERT nan at step 9: loss is Infinity",  # the default `nan` rule, in turn
        "2026-03-01 12:00:08  checkpoint.saved    step=4",
        "2026-03-01 12:00:10  training.log        step=4 loss=0.2000 evalLoss=0.3000",
        "2026-03-01 12:00:12  training.completed  2 artifacts",
        "Job my run completed in 12s · 4 steps (0.4 steps/s) · loss 0.2000 · "
        "evalLoss 0.3000 · 2 artifacts",
    ]
    assert "\x1b" not in result.output and TOKEN not in result.output


def test_json_is_the_complete_history_as_records(arkor):
    lifecycle(arkor.sim, steps=700)  # more than the 500-entry log
    result = arkor.cli("watch", "j1", "--json")
    assert result.code == 0, result.stderr
    records = json_events(result.stdout)
    assert [r["event"] for r in records[:2]] == ["training.started", "training.log"]
    assert len(records) == 1 + 700 + 1 + 1 + 1  # ... the end sentinel, then the summary
    assert records[-2] == {"event": "end", "id": "703", "data": {}}
    assert records[-1]["event"] == "summary"
    assert records[-1]["outcome"] == "completed" and records[-1]["exitCode"] == 0
    assert records[1] == {
        "event": "training.log",
        "id": "2",
        "data": {"type": "training.log", "jobId": "j1", "timestamp": at(2), "step": 1, "loss": 1.0},
    }
    assert "completed" in result.stderr  # the summary is a human message: stderr


def test_plain_progress_lines_every_ten_percent(arkor):
    lifecycle(arkor.sim, steps=50)
    result = arkor.cli("watch", "j1", "--plain")
    progress = [line for line in result.stdout.splitlines() if "  progress  " in line]
    assert [line.split("  progress  ")[1] for line in progress] == [
        f"step {s}/50 ({s * 2}%) 0.5 steps/s ETA {format_eta((50 - s) * 2)}"
        for s in range(5, 51, 5)
    ]
    assert "steps (0.5 steps/s)" in result.stdout.splitlines()[-1]


def format_eta(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def test_failed_job_exits_1_and_cancelled_exits_3(arkor):
    sim = arkor.sim
    lifecycle(sim, "bad", steps=3, finish=False)
    sim.emit("bad", "training.failed", {"error": "CUDA OOM"}, timestamp=at(30))
    sim.end("bad")
    result = arkor.cli("watch", "bad", "--plain")
    assert result.code == 1
    assert "training.failed     CUDA OOM" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Job my run failed")

    lifecycle(sim, "gone", steps=3, finish=False)
    sim.cancel("gone")  # the stream just ends: no terminal event
    result = arkor.cli("watch", "gone", "--plain")
    assert result.code == 3, result.output
    assert result.stdout.splitlines()[-1].startswith("Job my run cancelled")


def test_terminal_event_then_close_ends_without_reconnecting(arkor):
    sim = arkor.sim
    lifecycle(sim, steps=2, finish=False)
    sim.emit("j1", "training.completed", {}, timestamp=at(9))
    sim.emit("j1", "training.log", {"step": 99})  # never sent: the fault closes first
    # no `end`: the server just closes after the terminal event
    sim.add_fault("stream:j1", Fault(close_after=4), times=3)
    result = arkor.cli("watch", "j1", "--plain", **FAST)
    assert result.code == 0
    assert len(sim.stream_requests("j1")) == 1


def test_disconnects_every_n_events_exactly_once_with_last_event_id(arkor):
    sim = arkor.sim
    lifecycle(sim, steps=20)
    sim.add_fault("stream:j1", Fault(drop_after=5), times=2)
    sim.add_fault("stream:j1", Fault(drop_after=5, mid_frame=True), times=1)
    sim.add_fault("stream:j1", Fault(close_after=5), times=1)
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == 0, result.stderr
    records = json_events(result.stdout)
    assert records[-1]["event"] == "summary"
    ids = [r["id"] for r in records[:-1]]
    assert ids == [str(i) for i in range(1, 24)]  # every event exactly once, in order
    sent = [r.headers.get("last-event-id") for r in sim.stream_requests("j1")]
    assert sent == [None, "5", "10", "15", "20"]
    assert result.stderr.count("stream interrupted") == 4
    assert result.stderr.count("stream resumed") == 4


def test_transient_errors_retry_and_show_interrupted_lines(arkor):
    sim = arkor.sim
    lifecycle(sim, steps=2)
    sim.add_fault("stream:j1", Fault(status=503), times=2)
    sim.add_fault("stream:j1", Fault(status=429, headers={"Retry-After": "2"}))
    started = time.monotonic()
    result = arkor.cli("watch", "j1", "--plain", **FAST)
    assert result.code == 0, result.output
    assert time.monotonic() - started < 5
    out = result.stdout
    assert out.count("stream interrupted: simulated 503") == 2
    assert "stream interrupted: simulated 429; retrying in 2s" in out
    assert out.count("stream resumed") == 1
    assert len(sim.stream_requests("j1")) == 4


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [(410, 5, "simulated 410"), (426, 4, "no longer supported"), (401, 4, "simulated 401")],
)
def test_permanent_errors_end_at_once(arkor, status, code, message):
    lifecycle(arkor.sim, steps=1)
    arkor.sim.add_fault("stream:j1", Fault(status=status), times=5)
    result = arkor.cli("watch", "j1", "--plain", **FAST)
    assert result.code == code
    assert message in result.stderr
    assert len(arkor.sim.stream_requests("j1")) == 1  # no retry loop


def test_max_retries_gives_up_with_exit_5(arkor):
    lifecycle(arkor.sim, steps=1)
    arkor.sim.add_fault("stream:j1", Fault(status=503), times=10)
    result = arkor.cli("watch", "j1", "--plain", "--max-retries", "2", **FAST)
    assert result.code == 5
    assert "Gave up on the event stream of j1 after 3 failed attempts" in result.stderr
    assert len(arkor.sim.stream_requests("j1")) == 3


def test_mistyped_id_does_not_spin(arkor):
    lifecycle(arkor.sim, steps=1)
    result = arkor.cli("watch", "nope", "--plain", **FAST)
    assert result.code == 1
    assert "No job nope in acme/demo" in result.stderr
    assert len(arkor.sim.stream_requests("nope")) == 1


def test_live_job_followed_while_it_runs(arkor):
    sim = arkor.sim
    sim.add_job("live", name="live run", config={"maxSteps": 5})

    def feed() -> None:
        sim.wait_for(lambda: sim.stream_requests("live"))
        sim.emit("live", "training.started", {})
        for i in range(1, 6):
            time.sleep(0.02)
            sim.emit("live", "training.log", {"step": i, "loss": 1 / i})
        sim.emit("live", "training.completed", {})
        sim.end("live")

    threading.Thread(target=feed, daemon=True).start()
    result = arkor.cli("watch", "live", "--plain")
    assert result.code == 0
    assert result.stdout.count("training.log") == 5


def _fake(tmp: Path, name: str) -> Path:
    log = tmp / f"{name}.argv"
    script = tmp / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


HOSTILE = 'x" & do shell script "touch /tmp/pwned" & "\x1b]0;t\x07'


def test_notification_argv_with_a_hostile_name(arkor, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = _fake(bin_dir, "notify-send")
    lifecycle(arkor.sim, name=HOSTILE, steps=2, ended_at=now())
    path = f"{bin_dir}:{os.environ['PATH']}"
    result = arkor.cli("watch", "j1", "--plain", "--notify", PATH=path)
    assert result.code == 0
    (argv,) = [json.loads(line) for line in log.read_text().splitlines()]
    title = '✓ x" & do shell script "touch /tmp/pwned" & "'
    assert argv == ["-a", "arkor-studio", "-u", "normal", "--", title, "Training completed."]
    # off by default when stdout is not a terminal, and with --no-notify
    arkor.cli("watch", "j1", "--plain", PATH=path)
    arkor.cli("watch", "j1", "--plain", "--no-notify", PATH=path)
    assert len(log.read_text().splitlines()) == 1


def test_osascript_gets_the_text_as_arguments(arkor, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = _fake(bin_dir, "osascript")
    sim = arkor.sim
    lifecycle(sim, name=HOSTILE, steps=1, finish=False)
    sim.emit("j1", "training.failed", {"error": "boom"}, timestamp=now())
    sim.end("j1")
    result = arkor.cli("watch", "j1", "--plain", "--notify", PATH=str(bin_dir))
    assert result.code == 1
    (argv,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert argv[-2:] == ['✗ x" & do shell script "touch /tmp/pwned" & "', "Training failed: boom"]
    assert all("pwned" not in part for part in argv[:-2])  # never in the script source


def test_head_closes_the_pipe_quietly(arkor):
    lifecycle(arkor.sim, steps=2000)
    command = " ".join([*cli_command(), *arkor.args(("watch", "j1", "--plain"))])
    proc = subprocess.run(
        ["bash", "-c", f'{command} | head -3; echo "status=${{PIPESTATUS[0]}}" >&2'],
        env=subprocess_env(arkor.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(proc.stdout.splitlines()) == 3
    assert proc.stderr.strip() == "status=141"


def test_ctrl_c_exits_130_without_traceback(arkor):
    lifecycle(arkor.sim, steps=3, finish=False)  # never ends
    proc = arkor.popen("watch", "j1", "--plain")
    assert proc.stdout is not None
    for _ in range(4):
        proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "Traceback" not in stderr


def test_live_view_under_a_pseudo_terminal(arkor, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = _fake(bin_dir, "notify-send")
    sim = arkor.sim
    lifecycle(sim, steps=30, config={"maxSteps": 30, "model": "base-model"}, ended_at=now())
    run = arkor.pty("watch", "j1", columns=100, rows=30, PATH=f"{bin_dir}:{os.environ['PATH']}")
    code = run.wait(timeout=30)
    out = run.text
    assert code == 0, out[-2000:]
    assert "my run" in out and "Training loss" in out and "base-model" in out
    assert "100%" in out and "training.completed" in out
    assert "\x1b]0;✓ my run\x07" in out  # the terminal title
    assert len(log.read_text().splitlines()) == 1  # notifications default on for a terminal
    assert "Traceback" not in out


def test_ctrl_c_in_the_live_view(arkor):
    lifecycle(arkor.sim, steps=5, finish=False)  # never ends
    run = arkor.pty("watch", "j1", "--no-notify", columns=90, rows=24)
    assert run.read_until(lambda out: b"Training loss" in out)
    run.signal(signal.SIGINT)
    assert run.wait(timeout=20) == 130
    assert "Traceback" not in run.text


def test_json_records_keep_the_servers_data_text():
    from arkor_cli_studio.model import event_from_record, parse_event
    from arkor_cli_studio.render.lines import record_line

    one_line = parse_event("training.log", "7", '{"step": 1, "loss": 1e309}', keep_raw=True)
    assert one_line is not None
    line = record_line(one_line)
    assert line == '{"event":"training.log","id":"7","data":{"step": 1, "loss": 1e309}}\n'
    assert event_from_record(json.loads(line)) == one_line
    two_lines = parse_event("training.log", "8", '{"step": 2,\n"loss": 0.5}', keep_raw=True)
    assert two_lines is not None
    assert record_line(two_lines) == (
        '{"event":"training.log","id":"8","data":{"step":2,"loss":0.5}}\n'
    )


def test_json_stays_valid_with_non_finite_numbers():
    from arkor_cli_studio.model import parse_event
    from arkor_cli_studio.render.lines import record_line

    def strict(line: str) -> dict:
        def refuse(name: str) -> None:
            raise AssertionError(f"{name} is not JSON: {line!r}")

        return json.loads(line, parse_constant=refuse)

    def log(data: str):  # type: ignore[no-untyped-def]
        return parse_event("training.log", "9", data, keep_raw=True)

    multi = log('{"step": 3,\n"loss": 1e309}')
    nan = log('{"step": 4, "loss": NaN, "e": -Infinity}')
    named = log('{"note": "NaN in a string", "loss": 0.5}')
    assert multi is not None and nan is not None and named is not None
    assert strict(record_line(multi))["data"] == {"step": 3, "loss": None}
    assert strict(record_line(nan))["data"] == {"step": 4, "loss": None, "e": None}
    assert strict(record_line(named))["data"] == {"note": "NaN in a string", "loss": 0.5}


# --------------------------------------------------------------------------
# --advanced: Studio's Advanced panel (the numbers of `stats`)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
FRAME_START = re.compile(r"\r(?:\x1b\[2K\x1b\[1A)+\x1b\[2K")


def last_frame(output: bytes) -> str:
    """The last frame Rich's Live drew (each redraw moves up over the last one)."""
    text = output.decode("utf-8", "replace")
    return ANSI.sub("", FRAME_START.split(text)[-1]).replace("\r", "")


def with_evals(sim, job_id="j1", *, steps=40, finish=True):
    """A run with training and eval points (one eval-only frame every 10 steps)."""
    sim.add_job(job_id, name="my run", status="queued", config={"maxSteps": steps})
    sim.emit(job_id, "training.started", {}, timestamp=at(0))
    for i in range(1, steps + 1):
        data: dict[str, object] = {"step": i, "loss": 2.0 / i + (0.3 if i % 7 == 0 else 0.0)}
        if i % 5 == 0:
            data["evalLoss"] = 1.5 / i + 0.2
        sim.emit(job_id, "training.log", data, timestamp=at(i))
        if i % 10 == 0:
            sim.emit(job_id, "training.log", {"step": i, "evalLoss": 1.0 / i}, timestamp=at(i))
    if finish:
        sim.emit(job_id, "training.completed", {"artifacts": []}, timestamp=at(59))
        sim.end(job_id)


def card_lines(stats_stdout: str) -> list[str]:
    """`stats`' cards without its title line (which names the source)."""
    lines = stats_stdout.splitlines()
    assert lines[0].startswith("Job j1 · completed")
    return lines[1:]


def test_plain_advanced_prints_the_cards_of_stats_after_the_summary(arkor):
    with_evals(arkor.sim)
    result = arkor.cli("watch", "j1", "--plain", "--advanced")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("Job my run completed"))
    stats = arkor.cli("stats", "j1")
    assert stats.code == 0, stats.stderr
    assert lines[summary + 1 :] == card_lines(stats.stdout)  # the same numbers, the same cards
    assert re.search(r"│ Points +40 │ │ Points +12 │", result.stdout)
    assert "So far" not in result.stdout and "\x1b" not in result.output
    plain = arkor.cli("watch", "j1", "--plain").stdout.splitlines()
    assert plain == lines[: summary + 1]  # without --advanced: just the summary


def test_json_advanced_keeps_stdout_ndjson_and_puts_the_cards_on_stderr(arkor):
    with_evals(arkor.sim)
    result = arkor.cli("watch", "j1", "--json", "--advanced")
    assert result.code == 0, result.stderr
    assert result.stdout == arkor.cli("watch", "j1", "--json").stdout
    json_events(result.stdout)  # every line JSON
    err = result.stderr.splitlines()
    assert err[0] == "Watching my run (j1), completed"  # on stderr: stdout stays NDJSON
    assert err[1].startswith("Job my run completed")
    assert err[2:] == card_lines(arkor.cli("stats", "j1").stdout)


def card_values(stats: dict) -> dict[str, str]:
    """The card rows `stats --json` implies, formatted as the cards show them."""
    from arkor_cli_studio.render.stats import format_value

    return {
        "Points": f"{stats['count']:,}",
        "Mean ± 95% CI": f"{format_value(stats['mean'])} ± {format_value(stats['ci95HalfWidth'])}",
        "Std dev": format_value(stats["stddev"]),
        "Variance": format_value(stats["variance"]),
        "p90": format_value(stats["p90"]),
        "p95": format_value(stats["p95"]),
    }


def panel_rows(frame: str) -> list[dict[str, str]]:
    """The (training, eval) cards of the Advanced panel in a drawn frame."""
    cards: list[dict[str, str]] = [{}, {}]
    for line in frame.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        for index, cell in enumerate(cells[:2]):
            match = re.fullmatch(r"(Points|Mean ± 95% CI|Std dev|Variance|p90|p95)\s+(.+)", cell)
            if match:
                cards[index][match.group(1)] = match.group(2)
    return cards


def test_live_advanced_panel_shows_the_numbers_of_stats_json_and_a_toggles_it(arkor):
    import termios

    with_evals(arkor.sim, steps=40, finish=False)  # running: the history, then quiet
    expected = json.loads(arkor.cli("stats", "j1", "--json").stdout)
    assert expected["complete"] is False
    want = [card_values(expected["loss"]), card_values(expected["evalLoss"])]
    run = arkor.pty("watch", "j1", "--advanced", "--no-notify", columns=120, rows=50)

    def shown(out: bytes) -> bool:
        frame = last_frame(out)
        return "Events (" in frame and panel_rows(frame) == want

    def hidden(out: bytes) -> bool:
        frame = last_frame(out)
        return "Events (" in frame and "Mean ± 95% CI" not in frame

    assert run.read_until(shown), last_frame(run.output)
    frame = last_frame(run.output)
    assert "So far: the run has not finished" in frame and "[a] Advanced" in frame
    lflag = run.termios()[3]
    assert not lflag & termios.ICANON and not lflag & termios.ECHO  # cbreak while watching
    run.send(b"a")
    assert run.read_until(hidden), last_frame(run.output)
    run.send(b"A")
    assert run.read_until(shown), last_frame(run.output)
    run.signal(signal.SIGINT)
    assert run.wait(timeout=20) == 130
    assert run.final_termios is not None
    lflag = run.final_termios[3]
    assert lflag & termios.ICANON and lflag & termios.ECHO  # restored on Ctrl-C
    assert "Traceback" not in run.text


def test_live_key_shows_the_panel_without_advanced_and_sigterm_restores_the_terminal(arkor):
    import termios

    with_evals(arkor.sim, steps=12, finish=False)
    run = arkor.pty("watch", "j1", "--no-notify", columns=100, rows=40)
    assert run.read_until(lambda out: "[a] Advanced" in last_frame(out))
    assert "Mean ± 95% CI" not in last_frame(run.output)  # off by default
    run.send(b"a")
    assert run.read_until(lambda out: panel_rows(last_frame(out))[0].get("Points") == "12")
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=20) == 143  # SIGTERM unwinds (terminal restored), exit 128 + 15
    assert run.final_termios is not None
    lflag = run.final_termios[3]
    assert lflag & termios.ICANON and lflag & termios.ECHO


@pytest.mark.parametrize(("columns", "rows"), [(80, 24), (60, 15), (200, 60)])
def test_live_advanced_fits_small_and_large_terminals(arkor, columns, rows):
    with_evals(arkor.sim, steps=40)
    run = arkor.pty("watch", "j1", "--advanced", "--no-notify", columns=columns, rows=rows)
    assert run.wait(timeout=30) == 0
    frame = last_frame(run.output).rstrip("\n")
    lines = frame.split("\n")
    assert len(lines) <= rows - 1
    assert all(len(line) <= columns for line in lines), frame
    if rows >= 60:
        expected = json.loads(arkor.cli("stats", "j1", "--json").stdout)
        assert panel_rows(frame) == [
            card_values(expected["loss"]),
            card_values(expected["evalLoss"]),
        ]
        assert "So far" not in frame  # the run is over: final numbers
    else:
        assert "Training loss  n 40" in frame and "Eval loss      n 12" in frame
