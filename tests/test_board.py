"""The jobs board: its keys as plain values (board.py), and under a pseudo-terminal."""

from __future__ import annotations

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
