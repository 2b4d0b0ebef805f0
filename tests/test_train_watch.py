"""`train --watch`: the job's watch beside arkor start's passthrough (fake arkor + simulator)."""

from __future__ import annotations

import io
import os
import signal

from rich.console import Console

from arkor_cli_studio.render.passthrough import TerminalPassthrough, display_line
from tests import fake_arkor
from tests.helpers import start_pty
from tests.test_train import EXPECTED_STDOUT, gone, tp  # noqa: F401  (tp is a fixture)
from tests.test_watch import lifecycle

WATCH = ("--watch", "--no-manifest", "--no-notify")


# ---- piped: arkor's bytes on stdout, the watch's lines on stderr ---------------------


def test_piped_stdout_is_byte_exact_and_the_exit_status_is_arkors(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=3, name="watched run")
    result = tp.run(*WATCH, FAKE_EXIT="3")  # the job completed; arkor start says 3
    assert result.code == 3, result.err
    assert result.stdout == EXPECTED_STDOUT  # not one byte of the watch on stdout
    err = result.err
    assert "training.started" in err and "step=3 loss=0.3333" in err
    assert "training.completed" in err and "watched run" in err  # the summary line
    for piece in fake_arkor.START_STDERR:  # arkor's own stderr is untouched
        assert piece in result.stderr
    assert "arkor start failed (exit status 3)." in err
    assert "still" not in err and "Traceback" not in err


def test_under_github_actions_the_watch_is_grouped_with_a_job_summary(tp, sim, tmp_path):  # noqa: F811
    lifecycle(sim, "job-42", steps=3, name="watched run")
    summary = tmp_path / "summary.md"
    result = tp.run(*WATCH, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
    assert result.stdout == EXPECTED_STDOUT  # arkor's bytes, untouched
    err = result.err
    assert "::group::Training run" in err and "::endgroup::" in err
    assert "Job watched run completed in" in err
    assert summary.read_text().startswith("## ✅ watched run: completed\n")


def test_job_still_running_when_arkor_start_ends(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=2, finish=False)
    result = tp.run(*WATCH, ARKOR_STUDIO_WATCH_DRAIN="0.2")
    assert result.code == 0, result.err
    assert result.stdout == EXPECTED_STDOUT
    assert "job job-42 is still running; arkor start has ended" in result.err
    assert "Follow it with: arkor-studio watch job-42" in result.err


def test_a_failing_watch_never_changes_the_run(tp, sim):  # noqa: F811
    # No such job in the simulator: the watch gives up (not found); the run goes on.
    result = tp.run(*WATCH, FAKE_EXIT="4")
    assert result.code == 4
    assert result.stdout == EXPECTED_STDOUT
    assert "--watch stopped following job-42: " in result.err
    assert "(arkor start was not affected)" in result.err
    assert "Traceback" not in result.err


def test_no_started_job_line_means_nothing_to_follow(tp, sim):  # noqa: F811
    result = tp.run(*WATCH, FAKE_BYTES="5")  # prints "Start" and exits
    assert result.code == 0 and result.stdout == b"Start"
    assert "printed no `Started job <id>` line" in result.err


def test_sigterm_with_watch_still_stops_the_child(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=2, finish=False)
    proc = tp.popen(*WATCH, FAKE_SLEEP="1")
    child = tp.wait_for_child()
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert tp.received() == ["TERM"] and gone(child)
    assert out == EXPECTED_STDOUT + b"sleeping\n"
    assert b"Traceback" not in err and not tp.lock_file().exists()


# ---- on a terminal: the live view, arkor's output above it -------------------------


def test_live_view_under_a_pty_with_arkors_lines_above(tp, sim, tmp_path):  # noqa: F811
    lifecycle(sim, "job-42", steps=4, name="watched run", finish=False,
              config={"maxSteps": 10, "model": "base-model"})  # fmt: skip
    go = tmp_path / "go"
    env = {**tp.env, "FAKE_WAIT_FILE": str(go), "ARKOR_STUDIO_WATCH_DRAIN": "0.3"}
    run = start_pty(["-C", str(tp.project), "train", *WATCH], env, columns=100, rows=30)
    assert run.read_until(lambda out: b"Training loss" in out and b"base-model" in out), run.text
    go.touch()  # arkor prints "after the wait" while the view is up, then exits
    assert run.wait() == 0, run.text
    out = run.text
    assert "Started job job-42" in out
    assert "step=1 loss=0.5" in out and "Job job-42 finished" in out
    assert "stderr tail, no newline" in out  # arkor's stderr reaches the terminal too
    after = out.index("after the wait ✓\r\n")  # the check mark was split across writes
    # Printed above the view: the frame is drawn again below the line.
    assert after < out.rindex("Training loss") < out.index("job job-42 is still running")
    assert "Traceback" not in out


def test_ctrl_c_with_the_live_view_reaches_the_child_once(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=2, finish=False)
    env = {**tp.env, "FAKE_SLEEP": "1"}
    run = start_pty(["-C", str(tp.project), "train", *WATCH], env, columns=90, rows=24)
    assert run.read_until(lambda out: b"Training loss" in out and b"sleeping" in out), run.text
    child = int(tp.pidfile.read_text())
    run.send(b"\x03")
    assert run.wait() == 130, run.text
    assert tp.received() == ["INT"] and gone(child)
    assert "interrupted; arkor start stopped." in run.text
    assert "still running" not in run.text and "Traceback" not in run.text


# ---- the passthrough itself -------------------------------------------------------------


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=60, color_system=None, force_terminal=False)
    return console, buffer


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def test_passthrough_raw_then_lines_then_raw_again():
    console, shown = _console()
    read, write = os.pipe()
    try:
        sink = TerminalPassthrough(console, partial_after=60)
        feed = sink.stream(write)
        feed(b"before \xff raw\n")
        assert _read_all(read) == b"before \xff raw\n"  # untouched until the view starts
        woken = []
        sink.go_live(lambda: woken.append(1))
        feed(b"caf\xc3")  # a character split across chunks
        feed(b"\xa9 ok\r\nnext \x1b]0;title\x07\x1b[31mred\x1b[0m\nhalf a li")
        assert woken and _read_all(read) == b""  # nothing raw while the view is up
        sink.drain()
        assert shown.getvalue() == "café ok\nnext red\n"  # the partial line is not due yet
        feed(b"ne \xe2\x9c")  # ... and now a character cut at the end of the view
        sink.go_raw()
        assert _read_all(read) == b"half a line \xe2\x9c"  # handed back as bytes
        feed(b"\x93 after\n")
        assert _read_all(read) == b"\x93 after\n"
    finally:
        os.close(read)
        os.close(write)


def test_passthrough_shows_a_pending_partial_line_after_a_while():
    console, shown = _console()
    sink = TerminalPassthrough(console, partial_after=0)
    feed = sink.stream(1)
    sink.go_live(lambda: None)
    feed(b"10%\r20%\r30%")
    sink.drain()
    assert shown.getvalue() == "30%\n"


def test_display_line_keeps_colours_and_drops_other_escapes():
    line = display_line("a\x1b[2Jb\x1b]0;t\x07 \x1b[32mgreen\x1b[0m\x07\r")  # CRLF, split at LF
    assert line.plain == "ab green"
    assert [(span.start, span.end, str(span.style)) for span in line.spans] == [(3, 8, "color(2)")]
    assert display_line("progress 10%\rprogress 90%").plain == "progress 90%"


def test_many_plain_lines_are_one_segment_and_stay_safe():
    """Issue 22, item 4: a drain of many plain lines is one print of one
    segment (made safe in one pass); lines with colours or carriage returns
    keep their own path, in order."""
    from arkor_cli_studio.render.passthrough import _PlainLines, above_view

    lines = [f"step {i} loss=0.{i}" for i in range(2000)]
    one = above_view(lines)
    assert isinstance(one, _PlainLines) and one.text == "\n".join(lines)
    mixed = ["a\x07b", "\x1b[32mgreen\x1b[0m", "c\x7f\u202ed", "10%\r90%", "e\tf"]
    console, shown = _console()
    console.print(above_view(mixed))
    assert shown.getvalue() == "ab\ngreen\ncd\n90%\ne\tf\n"


def test_the_frame_is_rendered_once_however_often_lines_go_above_it():
    """Rich's Live renders its frame again at every print above it: the frame
    is rendered once per size and replayed, with the very same output."""
    import io

    from rich.console import Console
    from rich.text import Text

    from arkor_cli_studio.render.live import RenderedOnce

    class Counting:
        renders = 0

        def __rich_console__(self, console, options):  # type: ignore[no-untyped-def]
            Counting.renders += 1
            yield Text("line one\n\x1b literal, wrapped when it is much too long for the width")
            yield Text("last", style="bold")

    def out(renderable, width=30):  # type: ignore[no-untyped-def]
        console = Console(
            file=io.StringIO(), width=width, force_terminal=True, color_system="standard"
        )
        console.print(renderable)
        return console.file.getvalue()

    direct = out(Counting())
    frame = RenderedOnce(Counting())
    Counting.renders = 0
    assert [out(frame) for _ in range(5)] == [direct] * 5
    assert Counting.renders == 1
    assert out(frame, width=50) == out(Counting(), width=50) and Counting.renders == 3


# ---- alerts: `train --watch --alert ... --on-alert ...` -------------------------------


def test_train_watch_shows_alerts_and_the_run_goes_on(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=3, name="watched run")  # losses 1, 0.5, 0.3333
    result = tp.run(*WATCH, "--alert", "loss>0.6", FAKE_EXIT="0")
    assert result.code == 0, result.err  # notify: nothing changes the run
    assert result.stdout == EXPECTED_STDOUT  # arkor's bytes, untouched
    err = result.err.splitlines()
    step1 = next(i for i, line in enumerate(err) if "step=1 loss=1.0000" in line)
    assert "ALERT loss>0.6 at step 1: loss 1 > 0.6" in err[step1 + 1 : step1 + 3]


def test_train_watch_on_alert_exit_stops_arkor_start_and_exits_6(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=3, finish=False)
    proc = tp.popen(*WATCH, "--alert", "loss>0.6", "--on-alert", "exit", FAKE_SLEEP="1")
    _out, err = proc.communicate(timeout=30)
    text = err.decode("utf-8", "replace")
    assert proc.returncode == 6, text
    assert "ALERT loss>0.6 at step 1: loss 1 > 0.6" in text
    assert "stopped arkor start (the job goes on); exit status 6." in text
    assert tp.received() == ["TERM"]  # arkor start stopped as on SIGTERM
    assert [r for r in sim.requests if r.method == "POST"] == []  # the job is left alone
    assert "Traceback" not in text


def test_train_watch_on_alert_cancel_cancels_once_and_exits_6(tp, sim):  # noqa: F811
    lifecycle(sim, "job-42", steps=3, finish=False)
    proc = tp.popen(*WATCH, "--alert", "loss>0.6", "--on-alert", "cancel", FAKE_SLEEP="1")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 6, err.decode("utf-8", "replace")
    posts = [r.path for r in sim.requests if r.method == "POST"]
    assert posts == ["/v1/jobs/job-42/cancel"]
    assert sim.jobs["job-42"].job["status"] == "cancelled"
    assert "cancelled job job-42" in err.decode("utf-8", "replace")


def test_train_alert_options_need_watch(tp, sim):  # noqa: F811
    result = tp.run("--no-manifest", "--no-notify", "--alert", "nan")
    assert result.code == 2 and "need --watch" in result.err
    assert tp.calls() == []  # arkor was never run
