"""The jobs board: its keys as plain values (board.py), and under a pseudo-terminal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from arkor_cli_studio.board import Board
from arkor_cli_studio.keys import decode_keys
from arkor_cli_studio.model import Job

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def job(job_id, name, status, minutes_ago=10, started=None):
    created = NOW - timedelta(minutes=minutes_ago)
    return Job(
        job_id,
        name,
        status,
        created_at=created,
        started_at=created + timedelta(minutes=1) if status != "queued" else None,
        completed_at=None if status in ("queued", "running") else created + timedelta(minutes=5),
    )


JOBS = [
    job("j4", "delta sweep", "running", 1),
    job("j3", "charlie", "failed", 20),
    job("j2", "bravo sweep", "completed", 30),
    job("j1", "alpha", "queued", 40),
]


def keys(board, *pressed):
    return [board.key(k, NOW) for k in pressed]


def test_decode_keys_names_the_special_keys():
    assert decode_keys("jk\x1b[A\x1b[B\x1bOA\r\n\x7f\x1b") == [
        "j", "k", "up", "down", "up", "enter", "enter", "backspace", "esc",
    ]  # fmt: skip
    assert decode_keys("\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[C\x1b[D") == [
        "pgup", "pgdn", "home", "end", "right", "left",
    ]  # fmt: skip
    assert decode_keys("\x1b[15~a\x1b[1;5Cb") == ["a", "b"]  # F5, Ctrl-Right: skipped
    assert decode_keys("\x03\x00x") == ["x"]  # no control character gets through


def test_select_moves_and_stays_on_its_job_across_polls():
    board = Board()
    board.update(JOBS)
    assert board.selected_job(NOW).id == "j4"
    keys(board, "down", "j")
    assert board.selected_job(NOW).id == "j2"
    keys(board, "up")
    assert board.selected_job(NOW).id == "j3"
    keys(board, "down", "down", "down", "down")  # stops at the end
    assert board.selected_job(NOW).id == "j1"
    keys(board, "k", "home")
    assert board.selected_job(NOW).id == "j4"
    keys(board, "end")
    assert board.selected_job(NOW).id == "j1"
    # A new job arrives on top: the selection stays on j1.
    board.update([job("j5", "echo", "queued", 0), *JOBS])
    assert board.selected_job(NOW).id == "j1"
    # j1 disappears: the selection goes back to the top.
    board.update(JOBS[:3])
    assert board.selected_job(NOW).id == "j4"


def test_enter_opens_and_quit():
    board = Board()
    board.update(JOBS)
    assert keys(board, "j", "enter") == [None, "open"]
    assert board.selected == "j3"
    assert keys(board, "q") == ["quit"]
    assert keys(board, "esc") == ["quit"]


def test_cancel_asks_first():
    board = Board()
    board.update(JOBS)
    assert keys(board, "c") == [None]
    assert board.confirm == "j4"
    assert keys(board, "n") == [None]
    assert board.confirm is None and board.message == "Not cancelled."
    assert keys(board, "c", "y") == [None, "cancel"]
    assert board.selected == "j4"
    # A finished job has nothing to cancel.
    keys(board, "j")
    assert keys(board, "c") == [None]
    assert board.confirm is None and "nothing to cancel" in board.message


def test_filter_as_you_type():
    board = Board()
    board.update(JOBS)
    keys(board, "/", "s", "w", "e", "e", "p")
    assert board.editing_filter
    assert [j.id for j in board.rows(NOW)] == ["j4", "j2"]
    keys(board, "backspace", "backspace", "backspace", "backspace", "backspace")
    assert board.filter == "" and len(board.rows(NOW)) == 4
    keys(board, "c", "h", "enter")  # letters are text while editing, not keys
    assert not board.editing_filter and board.confirm is None
    assert [j.id for j in board.rows(NOW)] == ["j3"]
    # While not editing, letters are keys again: j moves.
    board.filter = "J1"  # ids match too, case-insensitively
    assert [j.id for j in board.rows(NOW)] == ["j1"]
    assert keys(board, "esc") == [None]  # Esc first clears the filter...
    assert board.filter == ""
    assert keys(board, "esc") == ["quit"]  # ...then quits


def test_sort_cycles():
    board = Board()
    board.update(JOBS)
    keys(board, "s")
    assert board.sort == "status"
    assert [j.status for j in board.rows(NOW)] == ["running", "queued", "failed", "completed"]
    keys(board, "s")
    assert [j.name for j in board.rows(NOW)] == ["alpha", "bravo sweep", "charlie", "delta sweep"]
    keys(board, "s")
    assert board.sort == "duration"
    # From startedAt: j4 has run 0 min (started 1 min after its creation a
    # minute ago), j3 and j2 4 min each; j1 never started: last.
    assert [j.id for j in board.rows(NOW)] == ["j3", "j2", "j4", "j1"]
    keys(board, "s")
    assert board.sort == "created"


def test_help_toggles_and_any_key_closes_it():
    board = Board()
    board.update(JOBS)
    keys(board, "?")
    assert board.help
    assert keys(board, "?") == [None]
    assert not board.help
    keys(board, "?")
    assert keys(board, "j") == [None]  # closes help and moves
    assert board.selected == "j3"


def test_window_scrolls_to_the_selection():
    many = [job(f"j{i:03d}", f"run {i}", "completed", i) for i in range(100)]
    board = Board()
    board.update(many)
    rows, top = board.window(NOW, 10)
    assert top == 0 and len(rows) == 10
    for _ in range(15):
        board.key("down", NOW)
    rows, top = board.window(NOW, 10)
    assert rows[-1].id == "j015" and top == 6
    board.key("pgup", NOW, page=10)
    rows, top = board.window(NOW, 10)
    assert rows[0].id == "j005"


def test_counts_by_status():
    board = Board()
    board.update([*JOBS, job("j0", "x", "failed", 50)])
    assert board.counts(NOW) == [("running", 1), ("queued", 1), ("failed", 2), ("completed", 1)]


@pytest.mark.parametrize("key", ["x", "1", "left"])
def test_other_keys_do_nothing(key):
    board = Board()
    board.update(JOBS)
    assert board.key(key, NOW) is None
    assert board.selected_job(NOW).id == "j4"


# ---- under a pseudo-terminal, against the simulator ------------------------------

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def last_frame(run) -> str:
    """The text of the last frame drawn (Live redraws from the top left)."""
    text = run.text
    start = max(text.rfind("\x1b[H"), 0)
    return ANSI.sub("", text[start:])


FOOTERS = ("q quit", "Type to filter", "[y/N]", "Cancel requested", "Sorted by", "Press any key")


def complete(frame: str) -> bool:
    """The frame has been read to its last line (a pty read can stop mid-frame)."""
    return any(footer in frame for footer in FOOTERS)


def wait_frame(run, predicate, timeout=20):
    ok = run.read_until(lambda _: complete(last_frame(run)) and predicate(last_frame(run)), timeout)
    assert ok, last_frame(run)
    return last_frame(run)


def sim_jobs(sim):
    def at(s):
        return f"2026-03-01T12:00:{s:02d}Z"

    sim.add_job("j-alpha", name="alpha", status="completed", startedAt=at(1), completedAt=at(9))
    sim.add_job("j-bravo", name="bravo sweep", status="failed", startedAt=at(1), completedAt=at(5))
    sim.add_job("j-live", name="delta sweep", config={"maxSteps": 10})
    sim.emit("j-live", "training.started", {})
    for step, loss in enumerate([2.0, 1.5, 1.2, 1.0, 0.9], 1):
        sim.emit("j-live", "training.log", {"step": step, "loss": loss})


@pytest.mark.slow
def test_board_keys_under_a_terminal(arkor):
    import termios

    sim_jobs(arkor.sim)
    run = arkor.pty("jobs", "--follow", "--interval", "1", columns=120, rows=20)
    before = run.termios()
    frame = wait_frame(run, lambda f: "Jobs · 3" in f and "5/10" in f)
    assert "running 1 · failed 1 · completed 1" in frame
    # The running job shows its progress and a sparkline of its loss.
    live_row = next(line for line in frame.splitlines() if "delta sweep" in line)
    assert "5/10" in live_row and any(c in live_row for c in "▁▂▃▄▅▆▇█")
    assert "▶" in next(line for line in frame.splitlines() if "alpha" in line)  # server's order
    run.send(b"j")
    wait_frame(run, lambda f: "▶" in next((ln for ln in f.splitlines() if "bravo" in ln), ""))
    run.send(b"/sweep")
    frame = wait_frame(run, lambda f: "/ sweep" in f)
    assert "alpha" not in frame and "bravo sweep" in frame and "delta sweep" in frame
    run.send(b"\r")  # keep the filter
    run.send(b"\x1b")  # Esc clears it
    wait_frame(run, lambda f: "alpha" in f and "/ sweep" not in f)
    run.send(b"s")
    wait_frame(run, lambda f: "sorted by status" in f)
    run.send(b"?")
    wait_frame(run, lambda f: "Keys" in f and "filter by name or ID" in f)
    run.send(b"x")
    wait_frame(run, lambda f: "Keys" not in f)
    # Cancel the running job (first when sorted by status): asks, then sends one request.
    run.send(b"gc")
    wait_frame(run, lambda f: "Cancel job j-live? [y/N]" in f)
    run.send(b"y")
    wait_frame(run, lambda f: "Cancel requested for j-live." in f)
    assert arkor.sim.wait_for(lambda: arkor.sim.jobs["j-live"].job["status"] == "cancelled")
    posts = [r.path for r in arkor.sim.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].startswith("/v1/jobs/j-live/cancel")
    run.send(b"q")
    assert run.wait() == 0
    final = run.final_termios
    assert final[3] & termios.ECHO and final[3] & termios.ICANON  # restored
    assert final[3] == before[3]
    assert "\x1b[?1049l" in run.text  # the alternate screen was left


@pytest.mark.slow
def test_board_ctrl_c_restores_the_terminal(arkor):
    import signal
    import termios

    sim_jobs(arkor.sim)
    run = arkor.pty("jobs", "--follow", columns=100, rows=20)
    wait_frame(run, lambda f: "Jobs · 3" in f)
    run.signal(signal.SIGINT)
    assert run.wait() == 130
    assert run.final_termios[3] & termios.ECHO and run.final_termios[3] & termios.ICANON


@pytest.mark.slow
def test_board_no_keys_is_the_plain_table(arkor):
    sim_jobs(arkor.sim)
    run = arkor.pty("jobs", "--follow", "--no-keys", columns=100, rows=20)
    run.read_until(lambda out: b"Updated" in out)
    assert "▶" not in run.text and "q quit" not in run.text
    run.signal()
    assert run.wait() == 130


def test_board_draws_only_the_rows_that_fit():
    from arkor_cli_studio.render.board import board_lines

    many = [job(f"j{i:05d}", f"run {i}", "completed", i) for i in range(20_000)]
    board = Board()
    board.update(many)
    lines = board_lines(board, NOW, 100, 24)
    assert len(lines) <= 24
    text = "\n".join(line.plain for line in lines)
    assert "j00000" in text and "more below" in text and "j19999" not in text
    assert max(line.cell_len for line in lines) <= 100


class CountingBoard(Board):
    """A board that counts its filter-and-sort passes."""

    passes = 0

    def rows(self, now):  # type: ignore[no-untyped-def]
        self.passes += 1
        return super().rows(now)


def test_one_frame_filters_and_sorts_the_jobs_once():
    from arkor_cli_studio.render.board import board_lines, board_view

    board = CountingBoard()
    board.update([job(f"j{i:05d}", f"run {i}", "completed", i) for i in range(50)])
    board.sort = "status"
    board_lines(board, NOW, 100, 24)
    assert board.passes == 1
    rows = board.rows(NOW)  # the command's frame: rows once, for the streams and the view
    board.passes = 0
    board.window(NOW, 20, rows)
    plain = board_lines(board, NOW, 100, 24, rows)
    assert board.passes == 0
    again = board_lines(board, NOW, 100, 24)
    assert [line.plain for line in plain] == [line.plain for line in again]
    board_view(board, NOW, 100, 24, error="busy", rows=rows)
    assert board.passes == 1  # (the comparison's own pass above)


def test_duration_is_the_jobs_lists_studio_rule():
    """An ended job without completedAt has no Duration (N/A, Studio's
    `jobDurationMs`), not 0s; a queued job does not tick; they sort last."""
    from arkor_cli_studio.render.board import board_lines

    created = NOW - timedelta(minutes=30)
    started = created + timedelta(minutes=1)
    board = Board()
    board.update(
        [
            Job("ended", "no end time", "failed", created_at=created, started_at=started),
            Job("queued", "started, queued", "queued", created_at=created, started_at=started),
            Job("done", "done", "completed", created_at=created, started_at=started,
                completed_at=started + timedelta(minutes=2)),
            Job("running", "running", "running", created_at=created, started_at=started),
        ]
    )  # fmt: skip
    text = {line.plain.split()[-1]: line.plain for line in board_lines(board, NOW, 120, 20)[2:6]}
    assert " N/A " in text["ended"] and " 0s " not in text["ended"]
    assert " N/A " in text["queued"]
    assert " 2m00s " in text["done"] and " 29m00s " in text["running"]
    board.sort = "duration"
    assert [j.id for j in board.rows(NOW)] == ["running", "done", "ended", "queued"]


@pytest.mark.parametrize("width", [200, 120, 100, 80, 60, 50, 40])
def test_board_never_cuts_an_id(width):
    from arkor_cli_studio.render.board import board_lines

    board = Board()
    board.update([*JOBS, job("cm9x2k7q40001demo8r3tv5wz", "a very long job name " * 3, "running")])
    live = board.live_for("cm9x2k7q40001demo8r3tv5wz")
    live.step, live.total = 3, 10
    live.losses.extend([1.0, 0.8, 0.9])
    lines = board_lines(board, NOW, width, 20)
    assert all(line.cell_len <= width for line in lines)
    text = "\n".join(line.plain for line in lines)
    for j in [*JOBS, board.jobs[-1]]:
        assert j.id in text
    if width >= 120:
        assert "Created" in text and "3/10" in text
    if width <= 60:
        assert "Created" not in text


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_board_signals_restore_the_terminal(arkor, signame):
    import signal

    sim_jobs(arkor.sim)
    run = arkor.pty("jobs", "--follow", columns=100, rows=20)
    before = run.termios()
    wait_frame(run, lambda f: "Jobs · 3" in f)
    run.signal(getattr(signal, signame))
    code = run.wait()
    assert code == {"SIGTERM": 143, "SIGHUP": 129}[signame], code
    assert run.final_termios[3] == before[3]
    assert "\x1b[?1049l" in run.text


@pytest.mark.slow
def test_board_enter_opens_the_live_view_and_q_comes_back(arkor):
    sim_jobs(arkor.sim)
    run = arkor.pty("jobs", "--follow", columns=110, rows=40)
    wait_frame(run, lambda f: "Jobs · 3" in f and "5/10" in f)
    run.send(b"jj")  # the running job, third in the server's order
    wait_frame(run, lambda f: "▶" in next((ln for ln in f.splitlines() if "delta" in ln), ""))
    run.send(b"\r")
    # The job's page, as `watch` draws it: its chart legend and latest step.
    run.read_until(lambda out: b"Training loss" in out and b"step 5" in out)
    assert "Training loss" in run.text
    mark = len(run.output)
    run.send(b"q")  # back to the board, the job still running
    run.read_until(lambda out: b"Jobs \xc2\xb7 3" in out[mark:])
    assert "Jobs · 3" in bytes(run.output[mark:]).decode("utf-8", "replace")
    assert arkor.sim.jobs["j-live"].job["status"] == "running"
    run.send(b"q")
    assert run.wait() == 0
